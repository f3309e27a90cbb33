/* InputLayer: the model's image input, {batch, S, S, 3} pixels / 255 (the loader's). */
#include "graft-model.h"
#include "graft-layer-onnx.h"

static gboolean
input_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  return TRUE;   /* set by graft_model_builder_add_input */
}

static gboolean
input_forward (GraftLayerPass *p, GError **error)
{
  return TRUE;
}

static void
input_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  /* The graph takes NHWC pixels in [0, 255]; the device model's input (the loader's) holds
   * pixels / 255, NCHW being the layout of every ONNX node after this one. */
  const char *name = graft_model_layer_name (m, i);
  const char *scale = graft_onnx_keep (g, g_strdup_printf ("%s/scale", name));
  const char *scaled = graft_onnx_keep (g, g_strdup_printf ("%s/scaled", name));
  gint64 one[] = { 1 };
  float *s = g_new (float, 1);
  *s = 1.0f / 255.0f;
  graft_onnx_initializer (g, scale, s, 1, one, 1);
  const char *mul[] = { "image", scale, NULL };
  graft_onnx_node (g, "Mul", scaled, scaled, mul, NULL);
  gint64 perm[] = { 0, 3, 1, 2 };
  GraftOnnxAttr *a[] = { graft_onnx_attr_ints (g, "perm", perm, 4), NULL };
  const char *t[] = { scaled, NULL };
  graft_onnx_node (g, "Transpose", name, name, t, a);
}

const GraftLayerClass graft_layer_input = {
  .name = "InputLayer",
  .base_name = "input_1",
  .min_inputs = 0,
  .max_inputs = 0,
  .infer_shape = input_infer_shape,
  .forward = input_forward,
  .onnx = input_onnx,
};
