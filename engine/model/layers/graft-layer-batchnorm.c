/* BatchNormalization over the channels: batch statistics in training (unless frozen), moving
 * statistics in inference. A BN that alone reads a GEMM-store layer's output and runs in
 * inference mode is folded into that layer's GEMM (graft_layer_gemm_forward), which writes the
 * BN's output directly; a BN followed only by a ReLU applies it itself (graft-layer-activation.c). */
#include "graft-model.h"
#include "graft-layer-onnx.h"

static gboolean
bn_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  if (l->config.epsilon < 0 || !(l->config.momentum >= 0 && l->config.momentum < 1))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "epsilon must be at least 0 and momentum in [0, 1) (they are %g, %g)",
                   l->config.epsilon, l->config.momentum);
      return FALSE;
    }
  l->h = in[0]->h;
  l->w = in[0]->w;
  l->c = in[0]->c;
  return TRUE;
}

static void
bn_declare_params (GraftModelBuilder *b, const GraftLayer *l, const GraftLayer *const *in)
{
  int s[] = { in[0]->c };
  graft_model_builder_param (b, GRAFT_PARAM_GAMMA, 1, s, 0, 0);
  graft_model_builder_param (b, GRAFT_PARAM_BETA, 1, s, 0, 0);
  graft_model_builder_param (b, GRAFT_PARAM_MOVING_MEAN, 1, s, 0, 0);
  graft_model_builder_param (b, GRAFT_PARAM_MOVING_VARIANCE, 1, s, 0, 0);
}

static gboolean
bn_bind (GraftModel *m, GraftLayer *l, int batch, guint64 *bytes, GError **error)
{
  GraftContext *ctx = graft_model_context (m);
  gsize size = 2 * (gsize) l->c * sizeof (float);
  if ((l->stats = graft_context_alloc (ctx, size, error)) == NULL)
    return FALSE;
  *bytes += size;
  return TRUE;
}

static gboolean
bn_forward (GraftLayerPass *p, GError **error)
{
  GraftModel *m = p->model;
  GraftLayer *l = p->layer;
  if (graft_layer_bn_folded (m, p->index, p->training))
    return TRUE;   /* the layer before applied it */
  GraftBatchNormShape s = graft_layer_bn_shape (m, l, p->n);
  GraftTensor g = graft_layer_param (m, l, 0);
  GraftTensor be = graft_layer_param (m, l, 1);
  GraftTensor mm = graft_layer_param (m, l, 2);
  GraftTensor mv = graft_layer_param (m, l, 3);
  if (graft_layer_bn_training (l, p->training))
    {
      GraftTensor sm = graft_layer_view (l->stats, 0, 1, 1, 1, l->c);
      GraftTensor si = graft_layer_view (l->stats, l->c, 1, 1, 1, l->c);
      return graft_batchnorm_forward_train (p->ctx, &s, &p->x[0], &g, &be, &mm, &mv, &p->y, &sm,
                                            &si, error);
    }
  return graft_batchnorm_forward_infer (p->ctx, &s, &p->x[0], &g, &be, &mm, &mv, &p->y, error);
}

static gboolean
bn_backward (GraftLayerPass *p, GError **error)
{
  GraftModel *m = p->model;
  GraftLayer *l = p->layer;
  GraftBatchNormShape s = graft_layer_bn_shape (m, l, p->n);
  GraftTensor g = graft_layer_param (m, l, 0);
  GraftTensor s0, s1;
  if (!l->frozen)
    {
      GraftTensor sm = graft_layer_view (l->stats, 0, 1, 1, 1, l->c);
      GraftTensor si = graft_layer_view (l->stats, l->c, 1, 1, 1, l->c);
      GraftTensor be = graft_layer_param (m, l, 1);
      return graft_batchnorm_backward_train (p->ctx, &s, &p->x[0], &be, &g, &sm, &si, &p->dy,
                                             p->dx[0], graft_layer_param_grad (m, l, 0, &s0),
                                             graft_layer_param_grad (m, l, 1, &s1), error);
    }
  if (p->dx[0] == NULL)
    return TRUE;
  GraftTensor mv = graft_layer_param (m, l, 3);
  return graft_batchnorm_backward_infer (p->ctx, &s, &p->y, &g, &mv, &p->dy, p->dx[0], error);
}

static void
bn_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  const GraftLayer *l = graft_model_layer (m, i);
  const char *ins[6] = { graft_onnx_output (g, m, l->in[0]) };
  for (int q = 0; q < 4; q++)
    {
      const GraftParam *p = graft_model_param (m, l->first_param + q);
      ins[q + 1] = graft_onnx_keep (g, g_strdup (p->full_name));
      graft_onnx_param_copy (g, m, i, q, ins[q + 1]);
    }
  GraftOnnxAttr *a[] = { graft_onnx_attr_float (g, "epsilon", graft_layer_bn_shape (m, l, 1).eps),
                         NULL };
  graft_onnx_node (g, "BatchNormalization", l->name, graft_onnx_output (g, m, i), ins, a);
}

const GraftLayerClass graft_layer_batchnorm = {
  .name = "BatchNormalization",
  .base_name = "batch_normalization",
  .min_inputs = 1,
  .max_inputs = 1,
  .infer_shape = bn_infer_shape,
  .declare_params = bn_declare_params,
  .bind = bn_bind,
  .forward = bn_forward,
  .backward = bn_backward,
  .onnx = bn_onnx,
};
