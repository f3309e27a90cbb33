/* Dense: a (in, units) kernel and bias over a flat {N, 1, 1, C} input, run as a 1×1 conv2d. */
#include "graft-model.h"
#include "graft-layer-onnx.h"

static gboolean
dense_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  if (l->config.filters < 1)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "units must be at least 1 (it is %d)", l->config.filters);
      return FALSE;
    }
  if (in[0]->h != 1 || in[0]->w != 1)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "inputs: Dense needs a flat input, %s is %d×%d×%d (pool it first)",
                   in[0]->name, in[0]->h, in[0]->w, in[0]->c);
      return FALSE;
    }
  l->h = 1;
  l->w = 1;
  l->c = l->config.filters;
  return TRUE;
}

static void
dense_declare_params (GraftModelBuilder *b, const GraftLayer *l, const GraftLayer *const *in)
{
  int cin = in[0]->c, u = l->config.filters;
  int ks[] = { cin, u }, bs[] = { u };
  graft_model_builder_param (b, GRAFT_PARAM_KERNEL, 2, ks, cin, u);
  if (!l->config.no_bias)
    graft_model_builder_param (b, GRAFT_PARAM_BIAS, 1, bs, 0, 0);
}

static GraftConv2dShape
shape (GraftLayerPass *p)
{
  GraftConv2dShape s = { p->n, 1, 1, p->x[0].ne[3], p->layer->c, 1, 1, 1 };
  return s;
}

static gboolean
dense_forward (GraftLayerPass *p, GError **error)
{
  GraftConv2dShape s = shape (p);
  return graft_layer_kernel_forward (p, &s, error);
}

static gboolean
dense_backward (GraftLayerPass *p, GError **error)
{
  GraftConv2dShape s = shape (p);
  return graft_layer_kernel_backward (p, &s, error);
}

static guint
dense_gemms (GraftModel *m, const GraftLayer *l, GraftLayerGemm out[2])
{
  out[0] = (GraftLayerGemm) { 1, l->c, graft_model_layer (m, l->in[0])->c };
  return 1;
}

static void
dense_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  const GraftLayer *l = graft_model_layer (m, i);
  const GraftParam *p = graft_model_param (m, l->first_param);
  const float *src = graft_model_host_params (m) + p->offset;
  gint64 dims[] = { p->shape[0], p->shape[1] };
  const char *wn = graft_onnx_keep (g, g_strdup_printf ("%s/kernel", l->name));
  graft_onnx_initializer (g, wn, g_memdup2 (src, p->count * sizeof (float)), p->count, dims, 2);
  const char *ins[] = { graft_onnx_output (g, m, l->in[0]), wn, NULL, NULL };
  if (!l->config.no_bias)
    {
      ins[2] = graft_onnx_keep (g, g_strdup_printf ("%s/bias", l->name));
      graft_onnx_param_copy (g, m, i, 1, ins[2]);
    }
  graft_onnx_node (g, "Gemm", l->name, graft_onnx_output (g, m, i), ins, NULL);
}

const GraftLayerClass graft_layer_dense = {
  .name = "Dense",
  .base_name = "dense",
  .min_inputs = 1,
  .max_inputs = 1,
  .flat = TRUE,
  .gemm_store = TRUE,
  .infer_shape = dense_infer_shape,
  .declare_params = dense_declare_params,
  .forward = dense_forward,
  .backward = dense_backward,
  .gemms = dense_gemms,
  .onnx = dense_onnx,
};
