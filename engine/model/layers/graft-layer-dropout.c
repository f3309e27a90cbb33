/* Dropout: in training, keeps each value with probability 1 − rate (counter RNG keyed by the
 * seed and step, so backward recomputes the same mask); the identity otherwise. */
#include "graft-model.h"
#include "graft-layer-onnx.h"

static gboolean
dropout_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  if (!(l->config.rate >= 0 && l->config.rate < 1))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "dropout must be at least 0 and below 1 (it is %g)", l->config.rate);
      return FALSE;
    }
  l->h = in[0]->h;
  l->w = in[0]->w;
  l->c = in[0]->c;
  return TRUE;
}

static gboolean
dropout_forward (GraftLayerPass *p, GError **error)
{
  double rate = p->layer->config.rate;
  if (p->training && rate > 0)
    return graft_dropout_forward (p->ctx, rate, p->seed, p->step, &p->x[0], &p->y, error);
  return graft_tensor_copy (p->ctx, &p->x[0], &p->y, error);
}

static gboolean
dropout_backward (GraftLayerPass *p, GError **error)
{
  double rate = p->layer->config.rate;
  if (p->dx[0] == NULL)
    return TRUE;
  return rate > 0 ? graft_dropout_backward (p->ctx, rate, p->seed, p->step, &p->dy, p->dx[0], error)
                  : graft_tensor_copy (p->ctx, &p->dy, p->dx[0], error);
}

static void
dropout_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  /* Inference: dropout is the identity. */
  const GraftLayer *l = graft_model_layer (m, i);
  const char *ins[] = { graft_onnx_output (g, m, l->in[0]), NULL };
  graft_onnx_node (g, "Identity", l->name, graft_onnx_output (g, m, i), ins, NULL);
}

const GraftLayerClass graft_layer_dropout = {
  .name = "Dropout",
  .base_name = "dropout",
  .min_inputs = 1,
  .max_inputs = 1,
  .infer_shape = dropout_infer_shape,
  .forward = dropout_forward,
  .backward = dropout_backward,
  .onnx = dropout_onnx,
};
