/* SeparableConv2D: a k×k depthwise convolution (stride 1, "same", no bias) then a pointwise 1×1
 * GEMM with bias. A 3×3 one on the tiled GEMM's devices computes both in one kernel
 * (graft_gemm_dw3: the depthwise output never goes through memory), applying a ReLU before it
 * in inference too; otherwise the depthwise output lives in a scratch buffer for the forward
 * pass. The backward pass recomputes it (a few percent of a step) rather than keeping it per
 * layer (1.4 GB at 180×180, batch 64). */
#include "graft-model.h"
#include "graft-layer-onnx.h"
#include "graft-gemm.h"

static int
ksize (const GraftLayer *l)
{
  return l->config.kernel > 0 ? l->config.kernel : 3;
}

static gboolean
sep_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  if (l->config.filters < 1)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "filters must be at least 1 (it is %d)", l->config.filters);
      return FALSE;
    }
  if (ksize (l) > 8 || l->config.stride > 1 || l->config.padding != GRAFT_PADDING_SAME)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "kernel, stride and padding: SeparableConv2D supports kernels up to 8×8 at "
                   "stride 1 with \"same\" padding (kernel %d, stride %d)", ksize (l),
                   l->config.stride);
      return FALSE;
    }
  l->h = in[0]->h;
  l->w = in[0]->w;
  l->c = l->config.filters;
  return TRUE;
}

static void
sep_declare_params (GraftModelBuilder *b, const GraftLayer *l, const GraftLayer *const *in)
{
  int k = ksize (l), cin = in[0]->c, f = l->config.filters;
  int ds[] = { k, k, cin, 1 }, ps[] = { 1, 1, cin, f }, bs[] = { f };
  graft_model_builder_param (b, GRAFT_PARAM_DEPTHWISE_KERNEL, 4, ds, k * k * cin, k * k);
  graft_model_builder_param (b, GRAFT_PARAM_POINTWISE_KERNEL, 4, ps, cin, f);
  if (!l->config.no_bias)
    graft_model_builder_param (b, GRAFT_PARAM_BIAS, 1, bs, 0, 0);
}

gboolean
graft_layer_separable_fused (GraftModel *m, guint i, int n)
{
  const GraftLayer *l = graft_model_layer (m, i);
  const GraftLayer *in = graft_model_layer (m, l->in[0]);
  return l->klass == &graft_layer_separable_conv2d && ksize (l) == 3 &&
         graft_gemm_dw3_covers (graft_model_context (m), (gsize) n * l->h * l->w, l->c, in->c);
}

gboolean
graft_layer_relu_folded (GraftModel *m, guint j, int n, gboolean training)
{
  const GraftLayer *r = graft_model_layer (m, j);
  if (training || r->alias || r->klass != &graft_layer_activation ||
      r->config.activation != GRAFT_ACTIVATION_RELU)
    return FALSE;
  int i = graft_layer_sole_consumer (m, j);
  return i >= 0 && graft_layer_separable_fused (m, i, n);
}

static gboolean
sep_forward (GraftLayerPass *p, GError **error)
{
  GraftModel *m = p->model;
  const GraftLayer *l = p->layer;
  const GraftTensor *x = &p->x[0];
  int h = x->ne[1], w = x->ne[2], c = x->ne[3];
  GraftDepthwiseShape ds = { p->n, h, w, c, ksize (l) };
  GraftTensor dwk = graft_layer_param (m, l, 0);
  GraftTensor pwk = graft_layer_param (m, l, 1);
  GraftTensor b = l->config.no_bias ? pwk : graft_layer_param (m, l, 2);
  const GraftTensor *bias = l->config.no_bias ? NULL : &b;
  if (graft_layer_separable_fused (m, p->index, p->n))
    {
      /* A ReLU before it that it applies itself: its input is read instead. */
      int r = l->in[0];
      gboolean relu_x = graft_layer_relu_folded (m, r, p->n, p->training);
      GraftTensor xr = relu_x ? graft_layer_act (m, graft_model_layer (m, r)->in[0], p->n) : *x;
      return graft_layer_gemm_forward_dw3 (p, &xr, relu_x, &dwk, &pwk, bias, error);
    }
  int mb = graft_layer_scratch_take (m, error);
  if (mb < 0)
    return FALSE;
  GraftTensor mid = graft_layer_view (graft_layer_scratch_mem (m, mb), 0, p->n, h, w, c);
  GraftConv2dShape ps = { p->n, h, w, c, l->c, 1, 1, 1 };
  gboolean ok = graft_depthwise_forward (p->ctx, &ds, x, &dwk, &mid, error) &&
                graft_layer_gemm_forward (p, &ps, &mid, &pwk, bias, error);
  graft_layer_scratch_give (m, mb);
  return ok;
}

static gboolean
sep_backward (GraftLayerPass *p, GError **error)
{
  GraftModel *m = p->model;
  const GraftLayer *l = p->layer;
  const GraftTensor *x = &p->x[0];
  int h = x->ne[1], w = x->ne[2], c = x->ne[3];
  GraftDepthwiseShape ds = { p->n, h, w, c, ksize (l) };
  GraftConv2dShape ps = { p->n, h, w, c, l->c, 1, 1, 1 };
  GraftTensor dwk = graft_layer_param (m, l, 0);
  GraftTensor pwk = graft_layer_param (m, l, 1);
  GraftTensor s0, s1, s2;
  gboolean ok = TRUE;
  gboolean need_mid = p->dx[0] != NULL || !l->frozen;
  int mb = need_mid ? graft_layer_scratch_take (m, error) : -1;
  if (need_mid && mb < 0)
    return FALSE;
  GraftTensor dmid = graft_layer_view (mb >= 0 ? graft_layer_scratch_mem (m, mb) : NULL, 0,
                                        p->n, h, w, c);
  /* The pointwise kernel's gradient needs the depthwise output again. */
  int fb = l->frozen ? -1 : graft_layer_scratch_take (m, error);
  if (!l->frozen && fb < 0)
    {
      graft_layer_scratch_give (m, mb);
      return FALSE;
    }
  GraftTensor mid = graft_layer_view (fb >= 0 ? graft_layer_scratch_mem (m, fb) : NULL, 0, p->n,
                                       h, w, c);
  if (fb >= 0)
    ok = graft_depthwise_forward (p->ctx, &ds, x, &dwk, &mid, error);
  GraftTensor *db = ok && !l->config.no_bias ? graft_layer_bias_grad (p, 2, &s2, &ok, error)
                                             : NULL;
  ok = ok &&
       graft_conv2d_backward (p->ctx, &ps, &mid, &pwk, &p->dy, need_mid ? &dmid : NULL,
                              graft_layer_param_grad (m, l, 1, &s1), db, error) &&
       (!need_mid ||
        graft_depthwise_backward (p->ctx, &ds, x, &dwk, &dmid, p->dx[0],
                                  graft_layer_param_grad (m, l, 0, &s0), error));
  graft_layer_scratch_give (m, mb);
  graft_layer_scratch_give (m, fb);
  return ok;
}

static guint
sep_gemms (GraftModel *m, const GraftLayer *l, GraftLayerGemm out[2])
{
  int cin = graft_model_layer (m, l->in[0])->c;
  out[0] = (GraftLayerGemm) { (gsize) l->h * l->w, l->c, cin };
  return 1;
}

static void
sep_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  const GraftLayer *l = graft_model_layer (m, i);
  const GraftLayer *in = graft_model_layer (m, l->in[0]);
  const char *name = l->name;
  const GraftParam *pd = graft_model_param (m, l->first_param);
  const GraftParam *pp = graft_model_param (m, l->first_param + 1);
  const float *dsrc = graft_model_host_params (m) + pd->offset;
  const float *psrc = graft_model_host_params (m) + pp->offset;
  int k = ksize (l), kk = k * k, cin = pd->shape[2], cout = pp->shape[3];
  float *dw = g_new (float, pd->count);
  for (int ci = 0; ci < cin; ci++)
    for (int y = 0; y < k; y++)
      for (int xx = 0; xx < k; xx++)
        dw[(gsize) ci * kk + y * k + xx] = dsrc[(gsize) (y * k + xx) * cin + ci];
  float *pw = g_new (float, pp->count);
  for (int o = 0; o < cout; o++)
    for (int ci = 0; ci < cin; ci++)
      pw[(gsize) o * cin + ci] = psrc[(gsize) ci * cout + o];
  const char *dn = graft_onnx_keep (g, g_strdup_printf ("%s/depthwise_kernel", name));
  const char *pn = graft_onnx_keep (g, g_strdup_printf ("%s/pointwise_kernel", name));
  const char *mid = graft_onnx_keep (g, g_strdup_printf ("%s/depthwise", name));
  gint64 ddims[] = { cin, 1, k, k }, pdims[] = { cout, cin, 1, 1 };
  graft_onnx_initializer (g, dn, dw, pd->count, ddims, 4);
  graft_onnx_initializer (g, pn, pw, pp->count, pdims, 4);
  const char *bn = NULL;
  if (!l->config.no_bias)
    {
      bn = graft_onnx_keep (g, g_strdup_printf ("%s/bias", name));
      graft_onnx_param_copy (g, m, i, 2, bn);
    }
  GraftLayerConfig one = { .kernel = 1 };
  graft_onnx_conv (g, mid, graft_onnx_output (g, m, l->in[0]), dn, NULL, mid, &l->config, in->h,
                   in->w, k, cin);
  graft_onnx_conv (g, name, mid, pn, bn, graft_onnx_output (g, m, i), &one, in->h, in->w, 1, 1);
}

const GraftLayerClass graft_layer_separable_conv2d = {
  .name = "SeparableConv2D",
  .base_name = "separable_conv2d",
  .min_inputs = 1,
  .max_inputs = 1,
  .gemm_store = TRUE,
  .infer_shape = sep_infer_shape,
  .declare_params = sep_declare_params,
  .forward = sep_forward,
  .backward = sep_backward,
  .gemms = sep_gemms,
  .onnx = sep_onnx,
};
