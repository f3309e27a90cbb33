/* InputLayer: the model's image input, {batch, S, S, 3} floats in [0, 1] (the loader's). */
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
  /* NHWC pixels → NCHW, the layout of every ONNX node after it. */
  gint64 perm[] = { 0, 3, 1, 2 };
  GraftOnnxAttr *a[] = { graft_onnx_attr_ints (g, "perm", perm, 4), NULL };
  const char *t[] = { "image", NULL };
  const char *name = graft_model_layer_name (m, i);
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
