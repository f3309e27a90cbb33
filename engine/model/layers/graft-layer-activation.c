/* Activation (ReLU). One that alone reads a BatchNormalization is applied by that BN (its
 * output aliases the BN's); one that alone feeds a separable convolution computed in one pass
 * is, outside training, applied by that convolution as it loads it (and writes nothing). */
#include "graft-model.h"
#include "graft-layer-onnx.h"

static gboolean
act_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  if (l->config.activation != GRAFT_ACTIVATION_RELU &&
      l->config.activation != GRAFT_ACTIVATION_RELU6)
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
  if (graft_layer_relu_folded (p->model, p->index, p->n, p->training))
    return TRUE;
  if (p->layer->config.activation == GRAFT_ACTIVATION_RELU6)
    return graft_relu6_forward (p->ctx, &p->x[0], &p->y, error);
  return graft_relu_forward (p->ctx, &p->x[0], &p->y, error);
}

static gboolean
act_backward (GraftLayerPass *p, GError **error)
{
  if (p->dx[0] != NULL && p->layer->config.activation == GRAFT_ACTIVATION_RELU6)
    return graft_relu6_backward (p->ctx, &p->y, &p->dy, p->dx[0], error);
  return p->dx[0] == NULL || graft_relu_backward (p->ctx, &p->y, &p->dy, p->dx[0], error);
}

static void
act_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  const GraftLayer *l = graft_model_layer (m, i);
  const char *ins[] = { graft_onnx_output (g, m, l->in[0]), NULL };
  if (l->config.activation == GRAFT_ACTIVATION_RELU6)
    {
      /* Clip with min and max as inputs (opset 11 and later). */
      gint64 one[] = { 1 };
      float *lo = g_new (float, 1), *hi = g_new (float, 1);
      *lo = 0.0f;
      *hi = 6.0f;
      const char *ln = graft_onnx_keep (g, g_strdup_printf ("%s/min", l->name));
      const char *hn = graft_onnx_keep (g, g_strdup_printf ("%s/max", l->name));
      graft_onnx_initializer (g, ln, lo, 1, one, 0);
      graft_onnx_initializer (g, hn, hi, 1, one, 0);
      const char *clip[] = { ins[0], ln, hn, NULL };
      graft_onnx_node (g, "Clip", l->name, graft_onnx_output (g, m, i), clip, NULL);
      return;
    }
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
