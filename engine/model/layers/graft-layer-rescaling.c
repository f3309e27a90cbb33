/* Rescaling: y = x·scale + offset. The model's input already holds pixels / 255 (the loader
 * divides, and so does the ONNX graph's input), so Keras' Rescaling(1/255) is the identity: its
 * output is its input's buffer. */
#include "graft-model.h"
#include "graft-layer-onnx.h"

#include <math.h>

static gboolean
rescaling_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  if (fabs (l->config.scale * 255.0 - 1.0) > 1e-9 || l->config.offset != 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "scale and offset: only Rescaling (1/255, 0) of the input pixels is "
                   "supported (got %g, %g)", l->config.scale, l->config.offset);
      return FALSE;
    }
  l->h = in[0]->h;
  l->w = in[0]->w;
  l->c = in[0]->c;
  return TRUE;
}

static void
rescaling_plan (GraftModel *m, guint i)
{
  graft_model_layer (m, i)->alias = TRUE;
}

static gboolean
rescaling_forward (GraftLayerPass *p, GError **error)
{
  return TRUE;   /* an alias: never called */
}

static void
rescaling_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  /* As on the device: the input layer's nodes already divided by 255. */
  const GraftLayer *l = graft_model_layer (m, i);
  const char *ins[] = { graft_onnx_output (g, m, l->in[0]), NULL };
  graft_onnx_node (g, "Identity", l->name, graft_onnx_output (g, m, i), ins, NULL);
}

const GraftLayerClass graft_layer_rescaling = {
  .name = "Rescaling",
  .base_name = "rescaling",
  .min_inputs = 1,
  .max_inputs = 1,
  .infer_shape = rescaling_infer_shape,
  .plan = rescaling_plan,
  .forward = rescaling_forward,
  .onnx = rescaling_onnx,
};
