/* Max pooling k×k stride s "same": OpenCL forward, gather-form backward, and the C reference. */
#include "graft-ops.h"

#include <string.h>

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
  int oh = graft_same_out (s->h, s->stride), ow = graft_same_out (s->w, s->stride);
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

/* Scratch slot of the backward pass's arg-max indices; slots 0 and 1 belong to
 * conv2d, batch norm and depthwise, which never run inside this op. */
#define SLOT_IDX 2

static gboolean
fits32 (const GraftTensor *x)
{
  return graft_tensor_numel (x) < G_MAXINT32;
}

/* Forward in 32-bit index arithmetic: the maxima into @y, or the arg-max
 * cells into @idx when @y is NULL. */
static gboolean
forward32 (GraftContext *ctx, const GraftPoolShape *s, const GraftTensor *x, GraftTensor *y,
           cl_mem idx, GError **error)
{
  cl_kernel k = graft_context_kernel (ctx, "maxpool", "maxpool_forward32", error);
  if (k == NULL)
    return FALSE;
  cl_int n = s->n, h = s->h, w = s->w, c = s->c, ks = s->k, st = s->stride;
  cl_int oh = graft_same_out (h, st), ow = graft_same_out (w, st);
  cl_int pt = graft_same_pad_before (h, ks, st), pl = graft_same_pad_before (w, ks, st);
  cl_ulong xo = x->off, yo = y ? y->off : 0;
  cl_int want_idx = y == NULL;
  /* The unused output still needs a valid buffer argument. */
  cl_mem ymem = y ? y->mem : idx, imem = y ? y->mem : idx;
  if (!graft_kernel_args (k, error, GA (x->mem), GA (xo), GA (ymem), GA (yo), GA (imem),
                          GA (want_idx), GA (n), GA (h), GA (w), GA (c), GA (oh), GA (ow),
                          GA (ks), GA (st), GA (pt), GA (pl), (size_t) 0))
    return FALSE;
  size_t lc = c >= 64 ? 64 : (size_t) c;
  size_t global[3] = { (size_t) c, (size_t) ow, (size_t) n * oh }, local[3] = { lc, 1, 1 };
  return graft_launch (ctx, y ? "maxpool_forward" : "maxpool_argmax", k, 3, global, local,
                       error);
}

/* The eight-channel kernels: for c a multiple of 8 in 32-bit index range. */
static gboolean
use_v8 (const GraftPoolShape *s, const GraftTensor *x)
{
  return s->c % 8 == 0 && fits32 (x);
}

static gboolean
forward_v8 (GraftContext *ctx, const GraftPoolShape *s, const GraftTensor *x, GraftTensor *y,
            GError **error)
{
  cl_kernel k = graft_context_kernel (ctx, "maxpool", "maxpool_forward_v8", error);
  if (k == NULL)
    return FALSE;
  cl_int n = s->n, h = s->h, w = s->w, c = s->c, ks = s->k, st = s->stride;
  cl_int oh = graft_same_out (h, st), ow = graft_same_out (w, st);
  cl_int pt = graft_same_pad_before (h, ks, st), pl = graft_same_pad_before (w, ks, st);
  cl_ulong xo = x->off, yo = y->off;
  if (!graft_kernel_args (k, error, GA (x->mem), GA (xo), GA (y->mem), GA (yo), GA (n), GA (h),
                          GA (w), GA (c), GA (oh), GA (ow), GA (ks), GA (st), GA (pt), GA (pl),
                          (size_t) 0))
    return FALSE;
  size_t global[3] = { (size_t) c / 8, (size_t) ow, (size_t) n * oh };
  return graft_launch (ctx, "maxpool_forward", k, 3, global, NULL, error);
}

/* dx = 0, then one scatter launch per phase of non-overlapping windows (see maxpool.cl). */
static gboolean
backward_v8 (GraftContext *ctx, const GraftPoolShape *s, const GraftTensor *x,
             const GraftTensor *dy, GraftTensor *dx, GError **error)
{
  cl_kernel kz = graft_context_kernel (ctx, "maxpool", "maxpool_zero_v8", error);
  cl_kernel k = kz ? graft_context_kernel (ctx, "maxpool", "maxpool_backward_v8", error) : NULL;
  if (k == NULL)
    return FALSE;
  cl_ulong xo = x->off, dyo = dy->off, dxo = dx->off;
  cl_uint count8 = (cl_uint) (graft_tensor_numel (dx) / 8);
  size_t zglobal = count8;
  if (!graft_kernel_args (kz, error, GA (dx->mem), GA (dxo), GA (count8), (size_t) 0) ||
      !graft_launch (ctx, "maxpool_backward", kz, 1, &zglobal, NULL, error))
    return FALSE;
  cl_int n = s->n, h = s->h, w = s->w, c = s->c, ks = s->k, st = s->stride;
  cl_int oh = graft_same_out (h, st), ow = graft_same_out (w, st);
  cl_int pt = graft_same_pad_before (h, ks, st), pl = graft_same_pad_before (w, ks, st);
  cl_int p = (ks + st - 1) / st;
  for (cl_int py = 0; py < MIN (p, oh); py++)
    for (cl_int px = 0; px < MIN (p, ow); px++)
      {
        size_t global[3] = { (size_t) c / 8, (size_t) ((ow - px + p - 1) / p),
                             (size_t) n * ((oh - py + p - 1) / p) };
        if (!graft_kernel_args (k, error, GA (x->mem), GA (xo), GA (dy->mem), GA (dyo),
                                GA (dx->mem), GA (dxo), GA (n), GA (h), GA (w), GA (c), GA (oh),
                                GA (ow), GA (ks), GA (st), GA (pt), GA (pl), GA (p), GA (py),
                                GA (px), (size_t) 0) ||
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
  if (use_v8 (s, x))
    return forward_v8 (ctx, s, x, y, error);
  if (fits32 (x))
    return forward32 (ctx, s, x, y, NULL, error);
  cl_kernel k = graft_context_kernel (ctx, "maxpool", "maxpool_forward", error);
  if (k == NULL)
    return FALSE;
  cl_int n = s->n, h = s->h, w = s->w, c = s->c, ks = s->k, st = s->stride;
  cl_int oh = graft_same_out (h, st), ow = graft_same_out (w, st);
  cl_int pt = graft_same_pad_before (h, ks, st), pl = graft_same_pad_before (w, ks, st);
  cl_ulong xo = x->off, yo = y->off;
  if (!graft_kernel_args (k, error, GA (x->mem), GA (xo), GA (y->mem), GA (yo), GA (n), GA (h),
                          GA (w), GA (c), GA (oh), GA (ow), GA (ks), GA (st), GA (pt), GA (pl),
                          (size_t) 0))
    return FALSE;
  size_t global = graft_tensor_numel (y), local = 64;
  return graft_launch (ctx, "maxpool_forward", k, 1, &global, &local, error);
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
  if (use_v8 (s, x))
    return backward_v8 (ctx, s, x, dy, dx, error);
  if (fits32 (x))
    {
      /* Arg-max indices once per window, then a gather that reads one index per window. */
      cl_mem idx = graft_context_scratch (ctx, SLOT_IDX, sizeof (cl_int) * graft_tensor_numel (dy),
                                          error);
      if (idx == NULL || !forward32 (ctx, s, x, NULL, idx, error))
        return FALSE;
      cl_kernel kb = graft_context_kernel (ctx, "maxpool", "maxpool_backward32", error);
      if (kb == NULL)
        return FALSE;
      cl_int n = s->n, h = s->h, w = s->w, c = s->c, ks = s->k, st = s->stride;
      cl_int oh = graft_same_out (h, st), ow = graft_same_out (w, st);
      cl_int pt = graft_same_pad_before (h, ks, st), pl = graft_same_pad_before (w, ks, st);
      cl_ulong dyo = dy->off, dxo = dx->off;
      if (!graft_kernel_args (kb, error, GA (idx), GA (dy->mem), GA (dyo), GA (dx->mem), GA (dxo),
                              GA (n), GA (h), GA (w), GA (c), GA (oh), GA (ow), GA (ks), GA (st),
                              GA (pt), GA (pl), (size_t) 0))
        return FALSE;
      size_t lc = c >= 64 ? 64 : (size_t) c;
      size_t global[3] = { (size_t) c, (size_t) w, (size_t) n * h }, local[3] = { lc, 1, 1 };
      return graft_launch (ctx, "maxpool_backward", kb, 3, global, local, error);
    }
  cl_kernel k = graft_context_kernel (ctx, "maxpool", "maxpool_backward", error);
  if (k == NULL)
    return FALSE;
  cl_int n = s->n, h = s->h, w = s->w, c = s->c, ks = s->k, st = s->stride;
  cl_int oh = graft_same_out (h, st), ow = graft_same_out (w, st);
  cl_int pt = graft_same_pad_before (h, ks, st), pl = graft_same_pad_before (w, ks, st);
  cl_ulong xo = x->off, dyo = dy->off, dxo = dx->off;
  if (!graft_kernel_args (k, error, GA (x->mem), GA (xo), GA (dy->mem), GA (dyo), GA (dx->mem),
                          GA (dxo), GA (n), GA (h), GA (w), GA (c), GA (oh), GA (ow), GA (ks),
                          GA (st), GA (pt), GA (pl), (size_t) 0))
    return FALSE;
  size_t global = graft_tensor_numel (dx), local = 64;
  return graft_launch (ctx, "maxpool_backward", k, 1, &global, &local, error);
}

/* Index into x of the window's arg-max: first maximum in row-major order,
 * cells outside the image skipped. */
static gsize
window_argmax (const GraftPoolShape *s, const float *x, int b, int oy, int ox, int ch)
{
  int pt = graft_same_pad_before (s->h, s->k, s->stride);
  int pl = graft_same_pad_before (s->w, s->k, s->stride);
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
  int oh = graft_same_out (s->h, s->stride), ow = graft_same_out (s->w, s->stride);
  for (int b = 0; b < s->n; b++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        for (int ch = 0; ch < s->c; ch++)
          y[(((gsize) b * oh + oy) * ow + ox) * s->c + ch] = x[window_argmax (s, x, b, oy, ox, ch)];
}

void
graft_maxpool_backward_ref (const GraftPoolShape *s, const float *x, const float *dy, float *dx)
{
  int oh = graft_same_out (s->h, s->stride), ow = graft_same_out (s->w, s->stride);
  memset (dx, 0, sizeof (float) * s->n * s->h * s->w * s->c);
  for (int b = 0; b < s->n; b++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        for (int ch = 0; ch < s->c; ch++)
          dx[window_argmax (s, x, b, oy, ox, ch)] +=
            dy[(((gsize) b * oh + oy) * ow + ox) * s->c + ch];
}
