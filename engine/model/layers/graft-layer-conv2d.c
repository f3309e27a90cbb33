/* Conv2D: k×k kernel (HWIO), stride, TF "same" or symmetric explicit padding, optional bias;
 * one im2col + GEMM. */
#include "graft-model.h"
#include "graft-layer-onnx.h"

static int
ksize (const GraftLayer *l)
{
  return l->config.kernel > 0 ? l->config.kernel : 3;
}

static int
stride_of (const GraftLayer *l)
{
  return l->config.stride > 0 ? l->config.stride : 1;
}

static gboolean
conv2d_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  if (l->config.filters < 1)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "filters must be at least 1 (it is %d)", l->config.filters);
      return FALSE;
    }
  const int *pd = l->config.pad;
  gboolean exp = l->config.padding != GRAFT_PADDING_SAME;
  int pad = l->config.padding == GRAFT_PADDING_EXPLICIT ? pd[0] : 0;
  if (exp && l->config.padding == GRAFT_PADDING_EXPLICIT &&
      (pd[1] != pad || pd[2] != pad || pd[3] != pad))
    {
      g_set_error_literal (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                           "padding: Conv2D supports the same explicit padding on every side");
      return FALSE;
    }
  int s = stride_of (l);
  if (!graft_window_check ("padding", in[0]->h, in[0]->w, ksize (l), ksize (l), exp, pad, FALSE,
                           error))
    return FALSE;
  l->h = graft_window_out (in[0]->h, ksize (l), s, exp, pad);
  l->w = graft_window_out (in[0]->w, ksize (l), s, exp, pad);
  l->c = l->config.filters;
  return TRUE;
}

static void
conv2d_declare_params (GraftModelBuilder *b, const GraftLayer *l, const GraftLayer *const *in)
{
  int k = ksize (l), cin = in[0]->c, f = l->config.filters;
  int ks[] = { k, k, cin, f }, bs[] = { f };
  graft_model_builder_param (b, GRAFT_PARAM_KERNEL, 4, ks, k * k * cin, k * k * f);
  if (!l->config.no_bias)
    graft_model_builder_param (b, GRAFT_PARAM_BIAS, 1, bs, 0, 0);
}

static GraftConv2dShape
shape (GraftLayerPass *p)
{
  const GraftLayer *l = p->layer;
  const GraftTensor *x = &p->x[0];
  GraftConv2dShape s = { p->n, x->ne[1], x->ne[2], x->ne[3], l->c, ksize (l), ksize (l),
                         stride_of (l), l->config.padding != GRAFT_PADDING_SAME,
                         l->config.padding == GRAFT_PADDING_EXPLICIT ? l->config.pad[0] : 0 };
  return s;
}

static gboolean
conv2d_forward (GraftLayerPass *p, GError **error)
{
  GraftConv2dShape s = shape (p);
  return graft_layer_kernel_forward (p, &s, error);
}

static gboolean
conv2d_backward (GraftLayerPass *p, GError **error)
{
  GraftConv2dShape s = shape (p);
  return graft_layer_kernel_backward (p, &s, error);
}

static guint
conv2d_gemms (GraftModel *m, const GraftLayer *l, GraftLayerGemm out[2])
{
  int k = ksize (l), cin = graft_model_layer (m, l->in[0])->c;
  out[0] = (GraftLayerGemm) { (gsize) l->h * l->w, l->c, k * k * cin };
  return 1;
}

static void
conv2d_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  const GraftLayer *l = graft_model_layer (m, i);
  const GraftLayer *in = graft_model_layer (m, l->in[0]);
  const char *name = l->name;
  const GraftParam *p = graft_model_param (m, l->first_param);
  const float *src = graft_model_host_params (m) + p->offset;
  int k = ksize (l), cin = p->shape[2], cout = p->shape[3];
  float *dst = g_new (float, p->count);
  for (int o = 0; o < cout; o++)
    for (int ci = 0; ci < cin; ci++)
      for (int y = 0; y < k; y++)
        for (int xx = 0; xx < k; xx++)
          dst[((gsize) (o * cin + ci) * k + y) * k + xx] =
            src[((gsize) (y * k + xx) * cin + ci) * cout + o];
  gint64 dims[] = { cout, cin, k, k };
  const char *wn = graft_onnx_keep (g, g_strdup_printf ("%s/kernel", name));
  graft_onnx_initializer (g, wn, dst, p->count, dims, 4);
  const char *bn = NULL;
  if (!l->config.no_bias)
    {
      bn = graft_onnx_keep (g, g_strdup_printf ("%s/bias", name));
      graft_onnx_param_copy (g, m, i, 1, bn);
    }
  graft_onnx_conv (g, name, graft_onnx_output (g, m, l->in[0]), wn, bn,
                   graft_onnx_output (g, m, i), &l->config, in->h, in->w, k, 1);
}

const GraftLayerClass graft_layer_conv2d = {
  .name = "Conv2D",
  .base_name = "conv2d",
  .min_inputs = 1,
  .max_inputs = 1,
  .gemm_store = TRUE,
  .infer_shape = conv2d_infer_shape,
  .declare_params = conv2d_declare_params,
  .forward = conv2d_forward,
  .backward = conv2d_backward,
  .gemms = conv2d_gemms,
  .onnx = conv2d_onnx,
};
