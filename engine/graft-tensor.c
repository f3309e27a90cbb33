/* Float32 NHWC tensors over OpenCL buffers. */
#include "graft-tensor.h"

GraftTensor *
graft_tensor_new (GraftContext *ctx, int n, int h, int w, int c, GError **error)
{
  gsize numel = (gsize) n * h * w * c;
  cl_mem m = graft_context_alloc (ctx, numel * sizeof (float), error);
  if (m == NULL)
    return NULL;
  GraftTensor *t = graft_tensor_view (m, 0, n, h, w, c);
  t->owns = TRUE;
  return t;
}

GraftTensor *
graft_tensor_view (cl_mem mem, gsize off, int n, int h, int w, int c)
{
  GraftTensor *t = g_new0 (GraftTensor, 1);
  t->mem = mem;
  t->off = off;
  t->ne[0] = n;
  t->ne[1] = h;
  t->ne[2] = w;
  t->ne[3] = c;
  return t;
}

void
graft_tensor_free (GraftTensor *t)
{
  if (t == NULL)
    return;
  if (t->owns && t->mem)
    clReleaseMemObject (t->mem);
  g_free (t);
}

gboolean
graft_tensor_write (GraftContext *ctx, GraftTensor *t, const float *src, GError **error)
{
  gsize n = graft_tensor_numel (t);
  if (n == 0)
    return TRUE;
  return graft_cl_check (clEnqueueWriteBuffer (graft_context_queue (ctx), t->mem, CL_TRUE,
                                               t->off * sizeof (float), n * sizeof (float), src,
                                               0, NULL, NULL),
                         "clEnqueueWriteBuffer", error);
}

gboolean
graft_tensor_read (GraftContext *ctx, const GraftTensor *t, float *dst, GError **error)
{
  gsize n = graft_tensor_numel (t);
  if (n == 0)
    return TRUE;
  return graft_cl_check (clEnqueueReadBuffer (graft_context_queue (ctx), t->mem, CL_TRUE,
                                              t->off * sizeof (float), n * sizeof (float), dst,
                                              0, NULL, NULL),
                         "clEnqueueReadBuffer", error);
}

float *
graft_tensor_to_host (GraftContext *ctx, const GraftTensor *t, GError **error)
{
  float *h = g_new (float, MAX (graft_tensor_numel (t), 1));
  if (!graft_tensor_read (ctx, t, h, error))
    {
      g_free (h);
      return NULL;
    }
  return h;
}

gboolean
graft_tensor_fill (GraftContext *ctx, GraftTensor *t, float value, GError **error)
{
  gsize n = graft_tensor_numel (t);
  if (n == 0)
    return TRUE;
  return graft_cl_check (clEnqueueFillBuffer (graft_context_queue (ctx), t->mem, &value,
                                              sizeof value, t->off * sizeof (float),
                                              n * sizeof (float), 0, NULL, NULL),
                         "clEnqueueFillBuffer", error);
}

gboolean
graft_tensor_copy (GraftContext *ctx, const GraftTensor *src, GraftTensor *dst, GError **error)
{
  gsize n = graft_tensor_numel (src);
  if (n != graft_tensor_numel (dst))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Cannot copy %zu floats into a tensor of %zu", n, graft_tensor_numel (dst));
      return FALSE;
    }
  if (n == 0)
    return TRUE;
  return graft_cl_check (clEnqueueCopyBuffer (graft_context_queue (ctx), src->mem, dst->mem,
                                              src->off * sizeof (float), dst->off * sizeof (float),
                                              n * sizeof (float), 0, NULL, NULL),
                         "clEnqueueCopyBuffer", error);
}

gboolean
graft_tensor_same_shape (const GraftTensor *a, const GraftTensor *b)
{
  for (int i = 0; i < 4; i++)
    if (a->ne[i] != b->ne[i])
      return FALSE;
  return TRUE;
}

char *
graft_tensor_shape_string (const GraftTensor *t)
{
  return g_strdup_printf ("%d×%d×%d×%d", t->ne[0], t->ne[1], t->ne[2], t->ne[3]);
}
