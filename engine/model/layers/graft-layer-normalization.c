/* Normalization: the per-channel input normalisation ImageNet models expect,
 * y = (x − mean_c) / std_c over pixels in [0, 1] with torchvision's ImageNet mean (0.485, 0.456,
 * 0.406) and std (0.229, 0.224, 0.225). No parameters: the constants live in the layer's device
 * state and go through the inference batch normalisation (γ 1, β 0, variance std², ε 0). It
 * reads the image, so it passes no gradient. In ONNX (NCHW): Sub mean, then Div std. */
#include "graft-model.h"
#include "graft-layer-onnx.h"

static const float imagenet_mean[3] = { 0.485f, 0.456f, 0.406f };
static const float imagenet_std[3] = { 0.229f, 0.224f, 0.225f };

static gboolean
norm_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  if (in[0]->c != 3)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Normalization: the ImageNet normalisation needs 3 channels (the input has %d)",
                   in[0]->c);
      return FALSE;
    }
  l->h = in[0]->h;
  l->w = in[0]->w;
  l->c = in[0]->c;
  return TRUE;
}

/* l->stats: γ, β, mean, variance, 3 floats each. */
static gboolean
norm_bind (GraftModel *m, GraftLayer *l, int batch, guint64 *bytes, GError **error)
{
  GraftContext *ctx = graft_model_context (m);
  float host[12];
  for (int c = 0; c < 3; c++)
    {
      host[c] = 1.0f;
      host[3 + c] = 0.0f;
      host[6 + c] = imagenet_mean[c];
      host[9 + c] = imagenet_std[c] * imagenet_std[c];
    }
  if ((l->stats = graft_context_alloc (ctx, sizeof host, error)) == NULL)
    return FALSE;
  *bytes += sizeof host;
  GraftTensor t = graft_layer_view (l->stats, 0, 1, 1, 1, 12);
  return graft_tensor_write (ctx, &t, host, error);
}

static gboolean
norm_forward (GraftLayerPass *p, GError **error)
{
  const GraftLayer *l = p->layer;
  GraftBatchNormShape s = { p->n * l->h * l->w, 3, 0.0f, 0.0f, FALSE };
  GraftTensor v[4];
  for (int i = 0; i < 4; i++)
    v[i] = graft_layer_view (l->stats, 3 * i, 1, 1, 1, 3);
  return graft_batchnorm_forward_infer (p->ctx, &s, &p->x[0], &v[0], &v[1], &v[2], &v[3], &p->y,
                                        error);
}

static void
norm_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  const GraftLayer *l = graft_model_layer (m, i);
  gint64 dims[] = { 1, 3, 1, 1 };
  float *mean = g_memdup2 (imagenet_mean, sizeof imagenet_mean);
  float *std = g_memdup2 (imagenet_std, sizeof imagenet_std);
  const char *mn = graft_onnx_keep (g, g_strdup_printf ("%s/mean", l->name));
  const char *sn = graft_onnx_keep (g, g_strdup_printf ("%s/std", l->name));
  const char *centred = graft_onnx_keep (g, g_strdup_printf ("%s/centred", l->name));
  graft_onnx_initializer (g, mn, mean, 3, dims, 4);
  graft_onnx_initializer (g, sn, std, 3, dims, 4);
  const char *sub[] = { graft_onnx_output (g, m, l->in[0]), mn, NULL };
  graft_onnx_node (g, "Sub", centred, centred, sub, NULL);
  const char *div[] = { centred, sn, NULL };
  graft_onnx_node (g, "Div", l->name, graft_onnx_output (g, m, i), div, NULL);
}

const GraftLayerClass graft_layer_normalization = {
  .name = "Normalization",
  .base_name = "normalization",
  .min_inputs = 1,
  .max_inputs = 1,
  .infer_shape = norm_infer_shape,
  .bind = norm_bind,
  .forward = norm_forward,
  .onnx = norm_onnx,
};
