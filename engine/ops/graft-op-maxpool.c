/* Max pooling k×k stride s, "same" or explicit padding: OpenCL forward and backward, and the C
 * reference. */
#include "graft-ops.h"
#include "graft-ops-gpu.h"

#include <string.h>

static int
pool_oh (const GraftPoolShape *s)
{
  return graft_window_out (s->h, s->k, s->stride, s->explicit_pad, s->pad);
}

static int
pool_ow (const GraftPoolShape *s)
{
  return graft_window_out (s->w, s->k, s->stride, s->explicit_pad, s->pad);
}

static int
pool_pad_t (const GraftPoolShape *s)
{
  return graft_window_pad_before (s->h, s->k, s->stride, s->explicit_pad, s->pad);
}

static int
pool_pad_l (const GraftPoolShape *s)
{
  return graft_window_pad_before (s->w, s->k, s->stride, s->explicit_pad, s->pad);
}

static gboolean
check_pool (const GraftPoolShape *s, const GraftTensor *x, const GraftTensor *y,
            const char *yname, GError **error)
{
  if (s->n <= 0 || s->h <= 0 || s->w <= 0 || s->c <= 0 || s->k <= 0 || s->stride <= 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "maxpool: invalid shape n=%d h=%d w=%d c=%d k=%d stride=%d", s->n, s->h,
                   s->w, s->c, s->k, s->stride);
      return FALSE;
    }
  if (!graft_window_check ("maxpool", s->h, s->w, s->k, s->k, s->explicit_pad, s->pad, TRUE,
                           error))
    return FALSE;
  int oh = pool_oh (s), ow = pool_ow (s);
  if (x->ne[0] != s->n || x->ne[1] != s->h || x->ne[2] != s->w || x->ne[3] != s->c ||
      y->ne[0] != s->n || y->ne[1] != oh || y->ne[2] != ow || y->ne[3] != s->c)
    {
      g_autofree char *xs = graft_tensor_shape_string (x);
      g_autofree char *ys = graft_tensor_shape_string (y);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "maxpool %d×%d stride %d: input %s and %s %s do not match "
                   "%d×%d×%d×%d -> %d×%d×%d×%d",
                   s->k, s->k, s->stride, xs, yname, ys, s->n, s->h, s->w, s->c, s->n, oh, ow,
                   s->c);
      return FALSE;
    }
  return TRUE;
}

static gboolean
fits32 (const GraftTensor *x)
{
  return graft_tensor_numel (x) < G_MAXINT32;
}

/* The vector kernels work in 32-bit indices and carry the most channels per work-item (16, 8,
 * 4, 2 or 1) that divide c. Returns that width, 0 when they do not apply. */
static int
vec_width (const GraftPoolShape *s, const GraftTensor *x)
{
  if (!fits32 (x))
    return 0;
  return graft_channel_vector (s->c, 16);
}

/* Every max-pool kernel ends with the same ten geometry arguments, n, h, w, c, oh, ow, k, s,
 * pad_t, pad_l: sets them from argument @first on. */
static gboolean
geometry_args (cl_kernel k, cl_uint first, const GraftPoolShape *s, GError **error)
{
  const cl_int v[10] = {
    s->n, s->h, s->w, s->c,
    pool_oh (s), pool_ow (s), s->k, s->stride, pool_pad_t (s), pool_pad_l (s),
  };
  for (cl_uint i = 0; i < G_N_ELEMENTS (v); i++)
    if (!graft_cl_check (clSetKernelArg (k, first + i, sizeof v[i], &v[i]), "clSetKernelArg",
                         error))
      return FALSE;
  return TRUE;
}

/* The vector forward; with @arg it records arg-max positions too. */
static gboolean
forward_vec (GraftContext *ctx, const GraftPoolShape *s, const GraftTensor *x, GraftTensor *y,
             cl_mem arg, gsize arg_off, int v, GError **error)
{
  cl_kernel k = graft_vector_kernel (ctx, "maxpool", "maxpool_forward", v, error);
  if (k == NULL)
    return FALSE;
  cl_ulong xo = x->off, yo = y->off, ao = arg ? arg_off : 0;
  cl_int want_arg = arg != NULL;
  /* Any valid buffer stands in for an unused arg. */
  cl_mem amem = arg ? arg : y->mem;
  if (!graft_kernel_args (k, error, GA (x->mem), GA (xo), GA (y->mem), GA (yo), GA (amem),
                          GA (ao), GA (want_arg), (size_t) 0) ||
      !geometry_args (k, 7, s, error))
    return FALSE;
  size_t global[2] = { (size_t) s->c / v, (size_t) s->n * pool_oh (s) };
  return graft_launch (ctx, "maxpool_forward", k, 2, global, NULL, error);
}

/* dx = 0, then one scatter launch per phase of non-overlapping windows (see maxpool.cl). */
static gboolean
backward_vec (GraftContext *ctx, const GraftPoolShape *s, const GraftTensor *x,
              const GraftTensor *dy, GraftTensor *dx, int v, GError **error)
{
  cl_kernel kz = graft_context_kernel (ctx, "maxpool", "maxpool_zero", error);
  cl_kernel k = kz ? graft_vector_kernel (ctx, "maxpool", "maxpool_backward", v, error) : NULL;
  if (k == NULL)
    return FALSE;
  cl_ulong xo = x->off, dyo = dy->off, dxo = dx->off;
  cl_uint count = (cl_uint) graft_tensor_numel (dx);
  size_t zglobal = (count + 3) / 4;
  if (!graft_kernel_args (kz, error, GA (dx->mem), GA (dxo), GA (count), (size_t) 0) ||
      !graft_launch (ctx, "maxpool_backward", kz, 1, &zglobal, NULL, error))
    return FALSE;
  int oh = pool_oh (s), ow = pool_ow (s);
  cl_int p = (s->k + s->stride - 1) / s->stride;
  if (!graft_kernel_args (k, error, GA (x->mem), GA (xo), GA (dy->mem), GA (dyo), GA (dx->mem),
                          GA (dxo), (size_t) 0) ||
      !geometry_args (k, 6, s, error) ||
      !graft_cl_check (clSetKernelArg (k, 16, sizeof p, &p), "clSetKernelArg", error))
    return FALSE;
  for (cl_int py = 0; py < MIN (p, oh); py++)
    for (cl_int px = 0; px < MIN (p, ow); px++)
      {
        size_t global[3] = { (size_t) s->c / v, (size_t) ((ow - px + p - 1) / p),
                             (size_t) s->n * ((oh - py + p - 1) / p) };
        if (!graft_cl_check (clSetKernelArg (k, 17, sizeof py, &py), "clSetKernelArg", error) ||
            !graft_cl_check (clSetKernelArg (k, 18, sizeof px, &px), "clSetKernelArg", error) ||
            !graft_launch (ctx, "maxpool_backward", k, 3, global, NULL, error))
          return FALSE;
      }
  return TRUE;
}

gboolean
graft_maxpool_forward (GraftContext *ctx, const GraftPoolShape *s, const GraftTensor *x,
                       GraftTensor *y, GError **error)
{
  if (!check_pool (s, x, y, "output", error))
    return FALSE;
  if (graft_kernels_gpu (ctx) && !s->explicit_pad && graft_maxpool_gpu_takes (s, x))
    return graft_maxpool_forward_gpu (ctx, s, x, y, NULL, 0, error);
  int v = vec_width (s, x);
  if (v > 0)
    return forward_vec (ctx, s, x, y, NULL, 0, v, error);
  cl_kernel k = graft_context_kernel (ctx, "maxpool", "maxpool_forward", error);
  cl_ulong xo = x->off, yo = y->off;
  if (k == NULL ||
      !graft_kernel_args (k, error, GA (x->mem), GA (xo), GA (y->mem), GA (yo), (size_t) 0) ||
      !geometry_args (k, 4, s, error))
    return FALSE;
  size_t global = graft_tensor_numel (y), local = 64;
  return graft_launch (ctx, "maxpool_forward", k, 1, &global, &local, error);
}

/* The recorded-position variants need the vector kernels and a position that fits a byte. */
static gboolean
check_arg (const GraftPoolShape *s, const GraftTensor *x, GError **error)
{
  if (s->k <= GRAFT_MAXPOOL_ARG_MAX_K && vec_width (s, x) > 0)
    return TRUE;
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
               "maxpool %d×%d over %zu elements: recorded arg-max positions need k ≤ %d and "
               "fewer than 2^31 elements", s->k, s->k, graft_tensor_numel (x),
               GRAFT_MAXPOOL_ARG_MAX_K);
  return FALSE;
}

gboolean
graft_maxpool_forward_arg (GraftContext *ctx, const GraftPoolShape *s, const GraftTensor *x,
                           GraftTensor *y, cl_mem arg, gsize arg_off, GError **error)
{
  if (!check_pool (s, x, y, "output", error) || !check_arg (s, x, error))
    return FALSE;
  if (graft_kernels_gpu (ctx) && !s->explicit_pad && graft_maxpool_gpu_takes (s, x))
    return graft_maxpool_forward_gpu (ctx, s, x, y, arg, arg_off, error);
  return forward_vec (ctx, s, x, y, arg, arg_off, vec_width (s, x), error);
}

gboolean
graft_maxpool_backward_arg (GraftContext *ctx, const GraftPoolShape *s, cl_mem arg,
                            gsize arg_off, const GraftTensor *dy, GraftTensor *dx, GError **error)
{
  if (dx == NULL)
    return TRUE;
  if (!check_pool (s, dx, dy, "gradient", error) || !check_arg (s, dx, error))
    return FALSE;
  if (graft_kernels_gpu (ctx) && !s->explicit_pad && graft_maxpool_gpu_takes (s, dx))
    return graft_maxpool_backward_arg_gpu (ctx, s, arg, arg_off, dy, dx, error);
  int v = vec_width (s, dx);
  cl_kernel k = graft_vector_kernel (ctx, "maxpool", "maxpool_backward_arg", v, error);
  cl_ulong ao = arg_off, dyo = dy->off, dxo = dx->off;
  if (k == NULL ||
      !graft_kernel_args (k, error, GA (arg), GA (ao), GA (dy->mem), GA (dyo), GA (dx->mem),
                          GA (dxo), (size_t) 0) ||
      !geometry_args (k, 6, s, error))
    return FALSE;
  size_t global[3] = { (size_t) s->c / v, (size_t) s->w, (size_t) s->n * s->h };
  return graft_launch (ctx, "maxpool_backward", k, 3, global, NULL, error);
}

gboolean
graft_maxpool_backward (GraftContext *ctx, const GraftPoolShape *s, const GraftTensor *x,
                        const GraftTensor *dy, GraftTensor *dx, GError **error)
{
  if (dx == NULL)
    return TRUE;
  if (!check_pool (s, x, dy, "gradient", error))
    return FALSE;
  if (!graft_tensor_same_shape (x, dx))
    {
      g_autofree char *xs = graft_tensor_shape_string (x);
      g_autofree char *ds = graft_tensor_shape_string (dx);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "maxpool backward: input gradient %s does not match input %s", ds, xs);
      return FALSE;
    }
  if (graft_kernels_gpu (ctx) && !s->explicit_pad && graft_maxpool_gpu_takes (s, x))
    return graft_maxpool_backward_gpu (ctx, s, x, dy, dx, error);
  int v = vec_width (s, x);
  if (v > 0)
    return backward_vec (ctx, s, x, dy, dx, v, error);
  cl_kernel k = graft_context_kernel (ctx, "maxpool", "maxpool_backward", error);
  cl_ulong xo = x->off, dyo = dy->off, dxo = dx->off;
  if (k == NULL ||
      !graft_kernel_args (k, error, GA (x->mem), GA (xo), GA (dy->mem), GA (dyo), GA (dx->mem),
                          GA (dxo), (size_t) 0) ||
      !geometry_args (k, 6, s, error))
    return FALSE;
  size_t global = graft_tensor_numel (dx), local = 64;
  return graft_launch (ctx, "maxpool_backward", k, 1, &global, &local, error);
}

/* Index into x of the window's arg-max: first maximum in row-major order,
 * cells outside the image skipped. */
static gsize
window_argmax (const GraftPoolShape *s, const float *x, int b, int oy, int ox, int ch)
{
  int pt = pool_pad_t (s), pl = pool_pad_l (s);
  gsize best_i = G_MAXSIZE;
  for (int dr = 0; dr < s->k; dr++)
    for (int dc = 0; dc < s->k; dc++)
      {
        int r = oy * s->stride - pt + dr, q = ox * s->stride - pl + dc;
        if (r < 0 || r >= s->h || q < 0 || q >= s->w)
          continue;
        gsize i = (((gsize) b * s->h + r) * s->w + q) * s->c + ch;
        if (best_i == G_MAXSIZE || x[i] > x[best_i])
          best_i = i;
      }
  return best_i;
}

void
graft_maxpool_forward_ref (const GraftPoolShape *s, const float *x, float *y)
{
  int oh = pool_oh (s), ow = pool_ow (s);
  for (int b = 0; b < s->n; b++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        for (int ch = 0; ch < s->c; ch++)
          y[(((gsize) b * oh + oy) * ow + ox) * s->c + ch] = x[window_argmax (s, x, b, oy, ox, ch)];
}

void
graft_maxpool_backward_ref (const GraftPoolShape *s, const float *x, const float *dy, float *dx)
{
  int oh = pool_oh (s), ow = pool_ow (s);
  memset (dx, 0, sizeof (float) * s->n * s->h * s->w * s->c);
  for (int b = 0; b < s->n; b++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        for (int ch = 0; ch < s->c; ch++)
          dx[window_argmax (s, x, b, oy, ox, ch)] +=
            dy[(((gsize) b * oh + oy) * ow + ox) * s->c + ch];
}
