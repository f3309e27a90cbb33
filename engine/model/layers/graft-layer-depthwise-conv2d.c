/* DepthwiseConv2D: a k×k depthwise convolution (depth multiplier 1, kernel (k, k, C, 1)), any
 * stride, TF "same" or symmetric explicit padding, no bias (config.no_bias must be set). */
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

static GraftDepthwiseShape
dw_shape (const GraftLayer *l, int n, int h, int w, int c)
{
  GraftDepthwiseShape s = { n, h, w, c, ksize (l), stride_of (l),
                            l->config.padding != GRAFT_PADDING_SAME,
                            l->config.padding == GRAFT_PADDING_EXPLICIT ? l->config.pad[0] : 0 };
  return s;
}

static gboolean
dw_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  const int *pd = l->config.pad;
  if (ksize (l) > 8)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "kernel: DepthwiseConv2D supports kernels up to 8×8 (it is %d)", ksize (l));
      return FALSE;
    }
  if (l->config.padding == GRAFT_PADDING_EXPLICIT &&
      (pd[1] != pd[0] || pd[2] != pd[0] || pd[3] != pd[0]))
    {
      g_set_error_literal (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                           "padding: DepthwiseConv2D supports the same explicit padding on "
                           "every side");
      return FALSE;
    }
  if (!l->config.no_bias)
    {
      g_set_error_literal (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                           "no_bias: DepthwiseConv2D has no bias");
      return FALSE;
    }
  GraftDepthwiseShape s = dw_shape (l, 1, in[0]->h, in[0]->w, in[0]->c);
  if (!graft_window_check ("padding", s.h, s.w, s.k, s.k, s.explicit_pad, s.pad, FALSE, error))
    return FALSE;
  graft_depthwise_out (&s, &l->h, &l->w);
  l->c = in[0]->c;
  return TRUE;
}

static void
dw_declare_params (GraftModelBuilder *b, const GraftLayer *l, const GraftLayer *const *in)
{
  int k = ksize (l), c = in[0]->c;
  int ds[] = { k, k, c, 1 };
  graft_model_builder_param (b, GRAFT_PARAM_DEPTHWISE_KERNEL, 4, ds, k * k * c, k * k);
}

static gboolean
dw_forward (GraftLayerPass *p, GError **error)
{
  const GraftTensor *x = &p->x[0];
  GraftDepthwiseShape s = dw_shape (p->layer, p->n, x->ne[1], x->ne[2], x->ne[3]);
  GraftTensor k = graft_layer_param (p->model, p->layer, 0);
  return graft_depthwise_forward (p->ctx, &s, x, &k, &p->y, error);
}

static gboolean
dw_backward (GraftLayerPass *p, GError **error)
{
  const GraftTensor *x = &p->x[0];
  GraftDepthwiseShape s = dw_shape (p->layer, p->n, x->ne[1], x->ne[2], x->ne[3]);
  GraftTensor k = graft_layer_param (p->model, p->layer, 0);
  GraftTensor s0;
  GraftTensor *dk = graft_layer_param_grad (p->model, p->layer, 0, &s0);
  if (p->dx[0] == NULL && dk == NULL)
    return TRUE;
  return graft_depthwise_backward (p->ctx, &s, x, &k, &p->dy, p->dx[0], dk, error);
}

static void
dw_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  const GraftLayer *l = graft_model_layer (m, i);
  const GraftLayer *in = graft_model_layer (m, l->in[0]);
  const GraftParam *pd = graft_model_param (m, l->first_param);
  const float *src = graft_model_host_params (m) + pd->offset;
  int k = ksize (l), kk = k * k, c = pd->shape[2];
  float *dw = g_new (float, pd->count);
  for (int ci = 0; ci < c; ci++)
    for (int y = 0; y < k; y++)
      for (int xx = 0; xx < k; xx++)
        dw[(gsize) ci * kk + y * k + xx] = src[(gsize) (y * k + xx) * c + ci];
  const char *dn = graft_onnx_keep (g, g_strdup_printf ("%s/depthwise_kernel", l->name));
  gint64 dims[] = { c, 1, k, k };
  graft_onnx_initializer (g, dn, dw, pd->count, dims, 4);
  graft_onnx_conv (g, l->name, graft_onnx_output (g, m, l->in[0]), dn, NULL,
                   graft_onnx_output (g, m, i), &l->config, in->h, in->w, k, c);
}

const GraftLayerClass graft_layer_depthwise_conv2d = {
  .name = "DepthwiseConv2D",
  .base_name = "depthwise_conv2d",
  .min_inputs = 1,
  .max_inputs = 1,
  .infer_shape = dw_infer_shape,
  .declare_params = dw_declare_params,
  .forward = dw_forward,
  .backward = dw_backward,
  .onnx = dw_onnx,
};
