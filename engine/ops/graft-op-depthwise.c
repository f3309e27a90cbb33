/* Depthwise k×k stride-1 "same" convolution: OpenCL launches and the plain-C reference. */
#include "graft-ops.h"
#include "graft-ops-gpu.h"

/* Output pixels per first-stage item of the kernel gradient: enough items to fill a device,
 * few enough partials that the second stage stays short. */
/* DW_MAX_K in depthwise.cl: the kernel gradient keeps one row of taps in registers. */
#define DEPTHWISE_MAX_K 8

static int
depthwise_chunk (int pixels, int groups)
{
  int want_items = 16384;
  int chunks = MAX (1, want_items / MAX (groups, 1));
  chunks = MIN (chunks, MAX (1, pixels / 16));
  return (pixels + chunks - 1) / chunks;
}

static gboolean
depthwise_check (const GraftDepthwiseShape *s, const GraftTensor *w, GError **error)
{
  if (s->k > DEPTHWISE_MAX_K)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Depthwise convolution supports kernels up to %d×%d, not %d×%d",
                   DEPTHWISE_MAX_K, DEPTHWISE_MAX_K, s->k, s->k);
      return FALSE;
    }
  if (s->n < 1 || s->h < 1 || s->w < 1 || s->c < 1 || s->k < 1 || w == NULL
      || w->ne[0] != s->k || w->ne[1] != s->k || w->ne[2] != s->c || w->ne[3] != 1)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Depthwise convolution: kernel does not match %dx%d over %d channels",
                   s->k, s->k, s->c);
      return FALSE;
    }
  return TRUE;
}

/* The row-walking 3×3 kernels take 32-bit offsets; they carry the most channels per work-item
 * (16, 8, 4, 2 or 1) that divide c. Returns that vector width, 0 when they do not apply. */
static int
dw3_width (const GraftDepthwiseShape *s, const GraftTensor *a, const GraftTensor *b)
{
  gsize numel = (gsize) s->n * s->h * s->w * s->c;
  if (s->k != 3 || a->off + numel >= G_MAXUINT32 || b->off + numel >= G_MAXUINT32)
    return 0;
  return graft_channel_vector (s->c, 16);
}

/* The forward convolution and the input gradient share one kernel (flip = 1 for the latter). */
static gboolean
depthwise_same_conv (GraftContext *ctx, const char *op, const GraftDepthwiseShape *s,
                     const GraftTensor *in, const GraftTensor *w, GraftTensor *out, int flip,
                     GError **error)
{
  int v = dw3_width (s, in, out);
  if (v > 0)
    {
      cl_kernel k = graft_vector_kernel (ctx, "depthwise", "depthwise3_conv", v, error);
      cl_ulong in_off = in->off, w_off = w->off, out_off = out->off;
      size_t global[2] = { s->c / v, (size_t) s->n * s->h };
      return k != NULL &&
             graft_kernel_args (k, error, GA (in->mem), GA (in_off), GA (w->mem), GA (w_off),
                                GA (out->mem), GA (out_off), GA (s->n), GA (s->h), GA (s->w),
                                GA (s->c), GA (flip), 0) &&
             graft_launch (ctx, op, k, 2, global, NULL, error);
    }
  gboolean vec = s->c % 4 == 0;
  cl_kernel k = graft_context_kernel (ctx, "depthwise", vec ? "depthwise_conv4" : "depthwise_conv",
                                      error);
  if (k == NULL)
    return FALSE;
  cl_ulong in_off = in->off, w_off = w->off, out_off = out->off;
  int pad = graft_same_pad_before (s->h, s->k, 1);
  int padx = graft_same_pad_before (s->w, s->k, 1);
  /* Stride 1: the padding before depends on k only, so rows and columns agree. */
  g_assert (pad == padx);
  if (!graft_kernel_args (k, error, GA (in->mem), GA (in_off), GA (w->mem), GA (w_off),
                          GA (out->mem), GA (out_off), GA (s->n), GA (s->h), GA (s->w),
                          GA (s->c), GA (s->k), GA (pad), GA (flip), 0))
    return FALSE;
  size_t global[3] = { vec ? s->c / 4 : s->c, s->w, (size_t) s->n * s->h };
  return graft_launch (ctx, op, k, 3, global, NULL, error);
}

gboolean
graft_depthwise_forward (GraftContext *ctx, const GraftDepthwiseShape *s, const GraftTensor *x,
                         const GraftTensor *w, GraftTensor *y, GError **error)
{
  if (!depthwise_check (s, w, error))
    return FALSE;
  if (graft_kernels_gpu (ctx) && graft_depthwise_gpu_takes (s))
    return graft_depthwise_forward_gpu (ctx, s, x, w, y, error);
  return depthwise_same_conv (ctx, "depthwise_forward", s, x, w, y, 0, error);
}

gboolean
graft_depthwise_backward (GraftContext *ctx, const GraftDepthwiseShape *s, const GraftTensor *x,
                          const GraftTensor *w, const GraftTensor *dy, GraftTensor *dx,
                          GraftTensor *dw, GError **error)
{
  if (!depthwise_check (s, w, error))
    return FALSE;
  if (graft_kernels_gpu (ctx) && graft_depthwise_gpu_takes (s))
    return graft_depthwise_backward_gpu (ctx, s, x, w, dy, dx, dw, error);
  if (dx && !depthwise_same_conv (ctx, "depthwise_backward_data", s, dy, w, dx, 1, error))
    return FALSE;
  if (dw == NULL)
    return TRUE;

  gboolean vec = s->c % 4 == 0;
  int pixels = s->n * s->h * s->w;
  int taps = s->k * s->k;
  int count = taps * s->c;
  cl_ulong x_off = x->off, dy_off = dy->off, dw_off = dw->off;
  int chunks;
  cl_mem partial;
  cl_kernel k;
  int v = dw3_width (s, x, dy);
  if (v > 0)
    {
      /* One partial kernel gradient per image. */
      chunks = s->n;
      partial = graft_context_scratch (ctx, 0, sizeof (float) * (gsize) chunks * count, error);
      k = partial ? graft_vector_kernel (ctx, "depthwise", "depthwise3_wgrad", v, error) : NULL;
      size_t g1[2] = { s->c / v, s->n };
      if (k == NULL ||
          !graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (dy->mem), GA (dy_off),
                              GA (partial), GA (s->n), GA (s->h), GA (s->w), GA (s->c), 0) ||
          !graft_launch (ctx, "depthwise_backward_filter", k, 2, g1, NULL, error))
        return FALSE;
    }
  else
    {
      int groups = (vec ? s->c / 4 : s->c) * s->k;
      int chunk = depthwise_chunk (pixels, groups);
      chunks = (pixels + chunk - 1) / chunk;
      partial = graft_context_scratch (ctx, 0, sizeof (float) * (gsize) chunks * count, error);
      if (partial == NULL)
        return FALSE;
      k = graft_context_kernel (ctx, "depthwise",
                                vec ? "depthwise_wgrad_partial4" : "depthwise_wgrad_partial",
                                error);
      if (k == NULL)
        return FALSE;
      int pad = graft_same_pad_before (s->h, s->k, 1);
      if (!graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (dy->mem), GA (dy_off),
                              GA (partial), GA (s->n), GA (s->h), GA (s->w), GA (s->c), GA (s->k),
                              GA (pad), GA (chunk), 0))
        return FALSE;
      size_t g1[3] = { vec ? s->c / 4 : s->c, s->k, chunks };
      if (!graft_launch (ctx, "depthwise_backward_filter", k, 3, g1, NULL, error))
        return FALSE;
    }

  k = graft_context_kernel (ctx, "depthwise", "depthwise_wgrad_sum", error);
  if (k == NULL)
    return FALSE;
  if (!graft_kernel_args (k, error, GA (partial), GA (dw->mem), GA (dw_off), GA (count),
                          GA (chunks), 0))
    return FALSE;
  size_t g2[1] = { count };
  return graft_launch (ctx, "depthwise_backward_filter", k, 1, g2, NULL, error);
}

void
graft_depthwise_forward_ref (const GraftDepthwiseShape *s, const float *x, const float *w,
                             float *y)
{
  int pad = graft_same_pad_before (s->h, s->k, 1);
  int padx = graft_same_pad_before (s->w, s->k, 1);
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->h; oy++)
      for (int ox = 0; ox < s->w; ox++)
        for (int c = 0; c < s->c; c++)
          {
            double acc = 0;
            for (int ky = 0; ky < s->k; ky++)
              for (int kx = 0; kx < s->k; kx++)
                {
                  int iy = oy - pad + ky, ix = ox - padx + kx;
                  if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                    continue;
                  acc += (double) x[(((gsize) n * s->h + iy) * s->w + ix) * s->c + c]
                         * w[((gsize) ky * s->k + kx) * s->c + c];
                }
            y[(((gsize) n * s->h + oy) * s->w + ox) * s->c + c] = (float) acc;
          }
}

void
graft_depthwise_backward_ref (const GraftDepthwiseShape *s, const float *x, const float *w,
                              const float *dy, float *dx, float *dw)
{
  int pad = graft_same_pad_before (s->h, s->k, 1);
  int padx = graft_same_pad_before (s->w, s->k, 1);
  gsize nx = (gsize) s->n * s->h * s->w * s->c;
  gsize nw = (gsize) s->k * s->k * s->c;
  g_autofree double *ax = dx ? g_new0 (double, nx) : NULL;
  g_autofree double *aw = dw ? g_new0 (double, nw) : NULL;
  /* Scatter form (the device uses the gather form), accumulated in double. */
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->h; oy++)
      for (int ox = 0; ox < s->w; ox++)
        for (int c = 0; c < s->c; c++)
          {
            double g = dy[(((gsize) n * s->h + oy) * s->w + ox) * s->c + c];
            for (int ky = 0; ky < s->k; ky++)
              for (int kx = 0; kx < s->k; kx++)
                {
                  int iy = oy - pad + ky, ix = ox - padx + kx;
                  if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                    continue;
                  gsize xi = (((gsize) n * s->h + iy) * s->w + ix) * s->c + c;
                  gsize wi = ((gsize) ky * s->k + kx) * s->c + c;
                  if (ax)
                    ax[xi] += g * w[wi];
                  if (aw)
                    aw[wi] += g * x[xi];
                }
          }
  for (gsize i = 0; dx && i < nx; i++)
    dx[i] = (float) ax[i];
  for (gsize i = 0; dw && i < nw; i++)
    dw[i] = (float) aw[i];
}
