/* MaxPooling2D: k×k windows, stride (0 → k), TF "same" padding with −∞. The training forward
 * records each output's arg-max as a byte, so that the backward pass neither reads the input
 * again nor zeroes its gradient first; otherwise backward recomputes it from x. */
#include "graft-model.h"
#include "graft-layer-onnx.h"

static int
ksize (const GraftLayer *l)
{
  return l->config.kernel > 0 ? l->config.kernel : 2;
}

static int
stride_of (const GraftLayer *l)
{
  return l->config.stride > 0 ? l->config.stride : ksize (l);
}

static gboolean
pool_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  if (l->config.padding != GRAFT_PADDING_SAME)
    {
      g_set_error_literal (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                           "padding: MaxPooling2D supports only \"same\" padding");
      return FALSE;
    }
  l->h = graft_same_out (in[0]->h, stride_of (l));
  l->w = graft_same_out (in[0]->w, stride_of (l));
  l->c = in[0]->c;
  return TRUE;
}

static gboolean
pool_bind (GraftModel *m, GraftLayer *l, int batch, guint64 *bytes, GError **error)
{
  gsize per = (gsize) batch * l->h * l->w * l->c;
  if (ksize (l) > GRAFT_MAXPOOL_ARG_MAX_K || per >= G_MAXINT32)
    return TRUE;
  if ((l->arg = graft_context_alloc (graft_model_context (m), per, error)) == NULL)
    return FALSE;
  *bytes += per;
  return TRUE;
}

static GraftPoolShape
shape (GraftLayerPass *p)
{
  const GraftTensor *x = &p->x[0];
  GraftPoolShape s = { p->n, x->ne[1], x->ne[2], x->ne[3], ksize (p->layer),
                       stride_of (p->layer) };
  return s;
}

static gboolean
pool_forward (GraftLayerPass *p, GError **error)
{
  GraftLayer *l = p->layer;
  GraftPoolShape s = shape (p);
  l->arg_valid = p->training && l->arg;
  return l->arg_valid ? graft_maxpool_forward_arg (p->ctx, &s, &p->x[0], &p->y, l->arg, 0, error)
                      : graft_maxpool_forward (p->ctx, &s, &p->x[0], &p->y, error);
}

static gboolean
pool_backward (GraftLayerPass *p, GError **error)
{
  if (p->dx[0] == NULL)
    return TRUE;
  GraftLayer *l = p->layer;
  GraftPoolShape s = shape (p);
  return l->arg_valid ? graft_maxpool_backward_arg (p->ctx, &s, l->arg, 0, &p->dy, p->dx[0], error)
                      : graft_maxpool_backward (p->ctx, &s, &p->x[0], &p->dy, p->dx[0], error);
}

static void
pool_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  const GraftLayer *l = graft_model_layer (m, i), *in = graft_model_layer (m, l->in[0]);
  int k = ksize (l), st = stride_of (l);
  gint64 pads[4], ks[] = { k, k }, sts[] = { st, st };
  graft_onnx_pads (&l->config, in->h, in->w, k, st, pads);
  GraftOnnxAttr *a[] = { graft_onnx_attr_ints (g, "kernel_shape", ks, 2),
                         graft_onnx_attr_ints (g, "strides", sts, 2),
                         graft_onnx_attr_ints (g, "pads", pads, 4), NULL };
  const char *ins[] = { graft_onnx_output (g, m, l->in[0]), NULL };
  graft_onnx_node (g, "MaxPool", l->name, graft_onnx_output (g, m, i), ins, a);
}

const GraftLayerClass graft_layer_maxpool = {
  .name = "MaxPooling2D",
  .base_name = "max_pooling2d",
  .min_inputs = 1,
  .max_inputs = 1,
  .infer_shape = pool_infer_shape,
  .bind = pool_bind,
  .forward = pool_forward,
  .backward = pool_backward,
  .onnx = pool_onnx,
};
