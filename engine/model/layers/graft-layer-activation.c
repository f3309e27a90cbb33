/* Activation (ReLU). One that alone reads a BatchNormalization is applied by that BN (its
 * output aliases the BN's). */
#include "graft-model.h"
#include "graft-layer-onnx.h"

static gboolean
act_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  if (l->config.activation != GRAFT_ACTIVATION_RELU)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "activation: unknown activation %d", l->config.activation);
      return FALSE;
    }
  l->h = in[0]->h;
  l->w = in[0]->w;
  l->c = in[0]->c;
  return TRUE;
}

static void
act_plan (GraftModel *m, guint i)
{
  GraftLayer *l = graft_model_layer (m, i), *in = graft_model_layer (m, l->in[0]);
  if (l->config.activation == GRAFT_ACTIVATION_RELU && in->klass == &graft_layer_batchnorm &&
      in->consumers == 1)
    {
      in->fused_relu = TRUE;
      l->alias = TRUE;
    }
}

static gboolean
act_forward (GraftLayerPass *p, GError **error)
{
  return graft_relu_forward (p->ctx, &p->x[0], &p->y, error);
}

static gboolean
act_backward (GraftLayerPass *p, GError **error)
{
  return p->dx[0] == NULL || graft_relu_backward (p->ctx, &p->y, &p->dy, p->dx[0], error);
}

static void
act_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  const GraftLayer *l = graft_model_layer (m, i);
  const char *ins[] = { graft_onnx_output (g, m, l->in[0]), NULL };
  graft_onnx_node (g, "Relu", l->name, graft_onnx_output (g, m, i), ins, NULL);
}

const GraftLayerClass graft_layer_activation = {
  .name = "Activation",
  .base_name = "activation",
  .min_inputs = 1,
  .max_inputs = 1,
  .infer_shape = act_infer_shape,
  .plan = act_plan,
  .forward = act_forward,
  .backward = act_backward,
  .onnx = act_onnx,
};
