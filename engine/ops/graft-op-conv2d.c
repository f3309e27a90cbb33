/* conv2d on the device (im2col + CLBlast GEMM, 1×1 fast paths) and its plain-C reference. */
#include "graft-ops.h"
#include "graft-op-conv2d.h"
#include "graft-ops-gpu.h"
#include "graft-gemm.h"

#include <string.h>

#define DEFAULT_CHUNK_BYTES ((gsize) 128 << 20)
/* Fixed work-group sizes: PoCL compiles a kernel once per size, and these
 * kernels are memory-bound so the exact size matters little elsewhere. */
#define LOCAL_1D 64
#define DB_MAX_SLICES 64

/* The im2col scratch lives in slot 0; the db partial sums in slot 1. */
#define SLOT_COL 0
#define SLOT_DB  1

static gsize chunk_bytes_limit;

void
graft_conv2d_set_chunk_bytes (gsize bytes)
{
  chunk_bytes_limit = bytes;
}

typedef struct {
  int ho, wo, pad_top, pad_left;
  gsize kcols;     /* kh·kw·cin: columns of the im2col matrix */
  gsize rows_img;  /* ho·wo: GEMM rows per image */
  gboolean pointwise;  /* 1×1 stride 1: x already is the GEMM input */
  gboolean subsample;  /* 1×1 stride > 1: x on the stride grid */
  int chunk;       /* images per im2col GEMM */
} Geometry;

static void
geometry (const GraftConv2dShape *s, Geometry *g)
{
  g->ho = graft_window_out (s->h, s->kh, s->stride, s->explicit_pad, s->pad);
  g->wo = graft_window_out (s->w, s->kw, s->stride, s->explicit_pad, s->pad);
  g->pad_top = graft_window_pad_before (s->h, s->kh, s->stride, s->explicit_pad, s->pad);
  g->pad_left = graft_window_pad_before (s->w, s->kw, s->stride, s->explicit_pad, s->pad);
  g->kcols = (gsize) s->kh * s->kw * s->cin;
  g->rows_img = (gsize) g->ho * g->wo;
  /* A padded 1×1 convolution has border outputs of 0 (plus bias): the general path. */
  gboolean unpadded = !s->explicit_pad || s->pad == 0;
  g->pointwise = s->kh == 1 && s->kw == 1 && s->stride == 1 && unpadded;
  g->subsample = s->kh == 1 && s->kw == 1 && s->stride > 1 && unpadded;
  gsize limit = chunk_bytes_limit ? chunk_bytes_limit : DEFAULT_CHUNK_BYTES;
  gsize per_image = g->rows_img * g->kcols * sizeof (float);
  gsize chunk = per_image ? limit / per_image : (gsize) s->n;
  g->chunk = (int) CLAMP (chunk, 1, (gsize) MAX (s->n, 1));
}

static char *
shape_text (const GraftConv2dShape *s)
{
  g_autofree char *pad = s->explicit_pad ? g_strdup_printf ("padding %d", s->pad)
                                         : g_strdup ("\"same\"");
  return g_strdup_printf ("conv2d %d×%d×%d×%d → %d, kernel %d×%d stride %d %s", s->n, s->h, s->w,
                          s->cin, s->cout, s->kh, s->kw, s->stride, pad);
}

static gboolean
check_tensor (const GraftConv2dShape *s, const char *what, const GraftTensor *t, gsize want,
              GError **error)
{
  if (t == NULL || graft_tensor_numel (t) == want)
    return TRUE;
  g_autofree char *st = shape_text (s);
  g_autofree char *got = graft_tensor_shape_string (t);
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
               "%s: %s tensor is %s (%zu floats), expected %zu floats", st, what, got,
               graft_tensor_numel (t), want);
  return FALSE;
}

static gboolean
check_shapes (const GraftConv2dShape *s, const Geometry *g, const GraftTensor *x,
              const GraftTensor *w, const GraftTensor *b, const GraftTensor *y,
              const char *y_name, GError **error)
{
  if (s->n < 1 || s->h < 1 || s->w < 1 || s->cin < 1 || s->cout < 1 || s->kh < 1 ||
      s->kw < 1 || s->stride < 1)
    {
      g_autofree char *st = shape_text (s);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s: every size must be at least 1", st);
      return FALSE;
    }
  if (!graft_window_check ("conv2d", s->h, s->w, s->kh, s->kw, s->explicit_pad, s->pad, FALSE,
                           error))
    return FALSE;
  gsize nx = (gsize) s->n * s->h * s->w * s->cin;
  gsize ny = (gsize) s->n * g->rows_img * s->cout;
  gsize nw = g->kcols * s->cout;
  /* Kernels index in 32 bits. */
  if (MAX (MAX (nx, ny), MAX (nw, g->chunk * g->rows_img * g->kcols)) >= G_MAXINT32)
    {
      g_autofree char *st = shape_text (s);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s: a tensor of 2^31 floats or more is not supported; use a smaller batch",
                   st);
      return FALSE;
    }
  return check_tensor (s, "input", x, nx, error) &&
         check_tensor (s, "kernel", w, nw, error) &&
         check_tensor (s, "bias", b, (gsize) s->cout, error) &&
         check_tensor (s, y_name, y, ny, error);
}

static gboolean
launch_1d (GraftContext *ctx, const char *op, cl_kernel k, gsize total, GError **error)
{
  size_t global = total, local = LOCAL_1D;
  return graft_launch (ctx, op, k, 1, &global, &local, error);
}

/* Fills @col (scratch) with the GEMM input for images [n0, n0+nb): the im2col
 * matrix, or x on the stride grid for 1×1 stride > 1. */
/* { channels, width, images·height } with up to 64 channels per work group. */
static gboolean
launch_pixels (GraftContext *ctx, const char *op, cl_kernel k, int c, int w, gsize nh,
               GError **error)
{
  size_t global[3] = { (size_t) c, (size_t) w, nh }, local[3] = { c >= 64 ? 64 : (size_t) c, 1, 1 };
  return graft_launch (ctx, op, k, 3, global, local, error);
}

static gboolean
build_col (GraftContext *ctx, const GraftConv2dShape *s, const Geometry *g,
           const GraftTensor *x, int n0, int nb, cl_mem col, GError **error)
{
  cl_ulong x_off = x->off + (gsize) n0 * s->h * s->w * s->cin, col_off = 0;
  cl_uint total = (cl_uint) ((gsize) nb * g->rows_img * g->kcols);
  cl_kernel k;
  if (g->subsample && graft_kernels_gpu (ctx))
    return graft_conv2d_subsample_gpu (ctx, x->mem, x_off, col, nb, s->h, s->w, s->cin, g->ho,
                                       g->wo, s->stride, FALSE, error);
  if (g->subsample)
    {
      int v = graft_channel_vector (s->cin, 8);
      k = graft_vector_kernel (ctx, "conv2d", "conv2d_subsample", v, error);
      if (k == NULL ||
          !graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (col), GA (col_off),
                              GA (s->h), GA (s->w), GA (s->cin), GA (g->ho), GA (g->wo),
                              GA (s->stride), GA (total), 0))
        return FALSE;
      return launch_pixels (ctx, "conv2d-subsample", k, s->cin / v, g->wo, (gsize) nb * g->ho,
                            error);
    }
  /* Few input channels: a work-item per col row; otherwise one per element, so that
   * neighbouring items still read neighbouring channels. */
  gboolean by_rows = s->cin <= 16;
  /* The last argument: col rows for the row kernel, col elements for the other. */
  cl_uint count = by_rows ? (cl_uint) ((gsize) nb * g->rows_img) : total;
  k = graft_context_kernel (ctx, "conv2d", by_rows ? "conv2d_im2col_rows" : "conv2d_im2col",
                            error);
  if (k == NULL ||
      !graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (col), GA (col_off), GA (s->h),
                          GA (s->w), GA (s->cin), GA (g->ho), GA (g->wo), GA (s->kh),
                          GA (s->kw), GA (s->stride), GA (g->pad_top), GA (g->pad_left),
                          GA (count), 0))
    return FALSE;
  if (by_rows)
    {
      size_t global[2] = { (size_t) g->wo, (size_t) nb * g->ho };
      return graft_launch (ctx, "conv2d-im2col", k, 2, global, NULL, error);
    }
  return launch_1d (ctx, "conv2d-im2col", k, total, error);
}

/* dx for images [n0, n0+nb) from dcol (scratch): gather col2im, or the
 * inverse of the stride-grid subsample. */
static gboolean
scatter_col (GraftContext *ctx, const GraftConv2dShape *s, const Geometry *g, cl_mem dcol,
             int n0, int nb, GraftTensor *dx, GError **error)
{
  cl_ulong dx_off = dx->off + (gsize) n0 * s->h * s->w * s->cin, dcol_off = 0;
  cl_uint total = (cl_uint) ((gsize) nb * s->h * s->w * s->cin);
  cl_kernel k;
  if (g->subsample && graft_kernels_gpu (ctx))
    return graft_conv2d_subsample_gpu (ctx, dx->mem, dx_off, dcol, nb, s->h, s->w, s->cin,
                                       g->ho, g->wo, s->stride, TRUE, error);
  if (g->subsample)
    {
      int v = graft_channel_vector (s->cin, 8);
      k = graft_vector_kernel (ctx, "conv2d", "conv2d_unsubsample", v, error);
      if (k == NULL ||
          !graft_kernel_args (k, error, GA (dcol), GA (dcol_off), GA (dx->mem), GA (dx_off),
                              GA (s->h), GA (s->w), GA (s->cin), GA (g->ho), GA (g->wo),
                              GA (s->stride), GA (total), 0))
        return FALSE;
      return launch_pixels (ctx, "conv2d-unsubsample", k, s->cin / v, s->w, (gsize) nb * s->h,
                            error);
    }
  k = graft_context_kernel (ctx, "conv2d", "conv2d_col2im", error);
  if (k == NULL ||
      !graft_kernel_args (k, error, GA (dcol), GA (dcol_off), GA (dx->mem), GA (dx_off),
                          GA (s->h), GA (s->w), GA (s->cin), GA (g->ho), GA (g->wo), GA (s->kh),
                          GA (s->kw), GA (s->stride), GA (g->pad_top), GA (g->pad_left),
                          GA (total), 0))
    return FALSE;
  return launch_1d (ctx, "conv2d-col2im", k, total, error);
}

/* y rows = epilogue (a [rows, kcols] · W): the bias (or a folded BN) goes in with the product. */
static gboolean
forward_gemm (GraftContext *ctx, const GraftConv2dShape *s, gsize rows, gsize kcols, cl_mem a,
              gsize a_off, const GraftTensor *w, const GraftGemmEpilogue *ep, cl_mem y,
              gsize y_off, GError **error)
{
  return graft_gemm_epilogue (ctx, "conv2d-fwd-gemm", rows, s->cout, kcols, a, a_off, kcols,
                              w->mem, w->off, s->cout, y, y_off, s->cout, ep, error);
}

static gboolean
conv_forward (GraftContext *ctx, const GraftConv2dShape *s, const GraftTensor *x,
              const GraftTensor *w, const GraftTensor *b, const GraftGemmEpilogue *ep,
              GraftTensor *y, GError **error)
{
  Geometry g;
  geometry (s, &g);
  if (!check_shapes (s, &g, x, w, b, y, "output", error))
    return FALSE;
  if (g.pointwise)
    /* x is already the [N·H·W, Cin] matrix (also dense layers, x {N,1,1,Cin}). */
    return forward_gemm (ctx, s, (gsize) s->n * g.rows_img, s->cin, x->mem, x->off, w, ep,
                         y->mem, y->off, error);
  cl_mem col = graft_context_scratch (ctx, SLOT_COL,
                                      g.chunk * g.rows_img * g.kcols * sizeof (float), error);
  if (col == NULL)
    return FALSE;
  for (int n0 = 0; n0 < s->n; n0 += g.chunk)
    {
      int nb = MIN (g.chunk, s->n - n0);
      gsize rows = nb * g.rows_img;
      /* The addend's rows of these images, like the output's. */
      GraftGemmEpilogue e = *ep;
      e.addend_off += n0 * g.rows_img * s->cout;
      if (!build_col (ctx, s, &g, x, n0, nb, col, error) ||
          !forward_gemm (ctx, s, rows, g.kcols, col, 0, w, &e, y->mem,
                         y->off + n0 * g.rows_img * s->cout, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
graft_conv2d_forward (GraftContext *ctx, const GraftConv2dShape *s, const GraftTensor *x,
                      const GraftTensor *w, const GraftTensor *b, GraftTensor *y, GError **error)
{
  GraftGemmEpilogue ep = { NULL, 0, b ? b->mem : NULL, b ? b->off : 0, FALSE };
  return conv_forward (ctx, s, x, w, b, &ep, y, error);
}

gboolean
graft_conv2d_forward_affine (GraftContext *ctx, const GraftConv2dShape *s, const GraftTensor *x,
                             const GraftTensor *w, const GraftTensor *scale,
                             const GraftTensor *shift, gboolean relu, GraftTensor *y,
                             GError **error)
{
  /* The shift stands where the bias would, for the shape check. */
  if (scale == NULL || shift == NULL || graft_tensor_numel (scale) != (gsize) s->cout)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "conv2d with a per-channel affine: scale and shift need %d values", s->cout);
      return FALSE;
    }
  GraftGemmEpilogue ep = { scale->mem, scale->off, shift->mem, shift->off, relu };
  return conv_forward (ctx, s, x, w, shift, &ep, y, error);
}

gboolean
graft_conv2d_forward_add (GraftContext *ctx, const GraftConv2dShape *s, const GraftTensor *x,
                          const GraftTensor *w, const GraftTensor *b, const GraftTensor *addend,
                          GraftTensor *y, GError **error)
{
  if (addend == NULL || y == NULL || graft_tensor_numel (addend) != graft_tensor_numel (y))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "conv2d with a residual sum: the addend must have the output's shape");
      return FALSE;
    }
  GraftGemmEpilogue ep = { NULL, 0, b ? b->mem : NULL, b ? b->off : 0, FALSE, addend->mem,
                           addend->off };
  return conv_forward (ctx, s, x, w, b, &ep, y, error);
}

/* db = column sums of dy viewed as [rows, cout], in two stages so that long
 * columns still spread over many work groups. */
static gboolean
bias_grad (GraftContext *ctx, const GraftConv2dShape *s, gsize rows, const GraftTensor *dy,
           GraftTensor *db, GError **error)
{
  cl_int slices = (cl_int) CLAMP ((rows + 255) / 256, 1, DB_MAX_SLICES);
  cl_int rows_per_slice = (cl_int) ((rows + slices - 1) / slices);
  cl_int nrows = (cl_int) rows;
  cl_mem partial = graft_context_scratch (ctx, SLOT_DB,
                                          (gsize) slices * s->cout * sizeof (float), error);
  if (partial == NULL)
    return FALSE;
  cl_kernel k1 = graft_context_kernel (ctx, "conv2d", "conv2d_db_partial", error);
  cl_ulong dy_off = dy->off;
  if (k1 == NULL ||
      !graft_kernel_args (k1, error, GA (dy->mem), GA (dy_off), GA (partial), GA (s->cout),
                          GA (nrows), GA (rows_per_slice), 0))
    return FALSE;
  size_t global[2] = { s->cout, (size_t) slices };
  if (!graft_launch (ctx, "conv2d-db", k1, 2, global, NULL, error))
    return FALSE;
  cl_kernel k2 = graft_context_kernel (ctx, "conv2d", "conv2d_db_final", error);
  cl_ulong db_off = db->off;
  if (k2 == NULL ||
      !graft_kernel_args (k2, error, GA (partial), GA (db->mem), GA (db_off), GA (s->cout),
                          GA (slices), 0))
    return FALSE;
  return launch_1d (ctx, "conv2d-db", k2, s->cout, error);
}

gboolean
graft_conv2d_backward (GraftContext *ctx, const GraftConv2dShape *s, const GraftTensor *x,
                       const GraftTensor *w, const GraftTensor *dy, GraftTensor *dx,
                       GraftTensor *dw, GraftTensor *db, GError **error)
{
  Geometry g;
  geometry (s, &g);
  if (!check_shapes (s, &g, x, w, db, dy, "output gradient", error) ||
      !check_tensor (s, "input gradient", dx, graft_tensor_numel (x), error) ||
      !check_tensor (s, "kernel gradient", dw, graft_tensor_numel (w), error))
    return FALSE;
  gsize rows_all = s->n * g.rows_img;
  if (db && !bias_grad (ctx, s, rows_all, dy, db, error))
    return FALSE;
  if (g.pointwise)
    {
      /* dW = xᵀ·dY, dX = dY·Wᵀ with x itself as the [N·H·W, Cin] matrix. */
      if (dw && !graft_gemm_tn (ctx, "conv2d-dw-gemm", s->cin, s->cout, rows_all, x->mem,
                                x->off, s->cin, dy->mem, dy->off, s->cout, 0.0f, dw->mem,
                                dw->off, s->cout, error))
        return FALSE;
      if (dx && !graft_gemm (ctx, "conv2d-dx-gemm", FALSE, TRUE, rows_all, s->cin, s->cout,
                             1.0f, dy->mem, dy->off, s->cout, w->mem, w->off, s->cout, 0.0f,
                             dx->mem, dx->off, s->cin, error))
        return FALSE;
      return TRUE;
    }
  if (dw == NULL && dx == NULL)
    return TRUE;
  cl_mem col = graft_context_scratch (ctx, SLOT_COL,
                                      g.chunk * g.rows_img * g.kcols * sizeof (float), error);
  if (col == NULL)
    return FALSE;
  /* One scratch buffer serves both col (for dW) and dcol (for dX): the queue
   * is in order, so dcol overwrites col only after the dW GEMM has read it. */
  for (int n0 = 0; n0 < s->n; n0 += g.chunk)
    {
      int nb = MIN (g.chunk, s->n - n0);
      gsize rows = nb * g.rows_img;
      gsize dy_off = dy->off + n0 * g.rows_img * s->cout;
      if (dw)
        {
          if (!build_col (ctx, s, &g, x, n0, nb, col, error) ||
              !graft_gemm_tn (ctx, "conv2d-dw-gemm", g.kcols, s->cout, rows, col, 0, g.kcols,
                              dy->mem, dy_off, s->cout, n0 == 0 ? 0.0f : 1.0f, dw->mem,
                              dw->off, s->cout, error))
            return FALSE;
        }
      if (dx)
        {
          if (!graft_gemm (ctx, "conv2d-dx-gemm", FALSE, TRUE, rows, g.kcols, s->cout, 1.0f,
                           dy->mem, dy_off, s->cout, w->mem, w->off, s->cout, 0.0f, col, 0,
                           g.kcols, error) ||
              !scatter_col (ctx, s, &g, col, n0, nb, dx, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* ---- reference ---- */

void
graft_conv2d_forward_ref (const GraftConv2dShape *s, const float *x, const float *w,
                          const float *b, float *y)
{
  Geometry g;
  geometry (s, &g);
  g_autofree double *acc = g_new (double, s->cout);
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < g.ho; oy++)
      for (int ox = 0; ox < g.wo; ox++)
        {
          for (int co = 0; co < s->cout; co++)
            acc[co] = b ? b[co] : 0.0;
          for (int ky = 0; ky < s->kh; ky++)
            {
              int iy = oy * s->stride - g.pad_top + ky;
              if (iy < 0 || iy >= s->h)
                continue;
              for (int kx = 0; kx < s->kw; kx++)
                {
                  int ix = ox * s->stride - g.pad_left + kx;
                  if (ix < 0 || ix >= s->w)
                    continue;
                  const float *xp = x + (((gsize) n * s->h + iy) * s->w + ix) * s->cin;
                  const float *wp = w + ((gsize) ky * s->kw + kx) * s->cin * s->cout;
                  for (int ci = 0; ci < s->cin; ci++)
                    for (int co = 0; co < s->cout; co++)
                      acc[co] += (double) xp[ci] * wp[(gsize) ci * s->cout + co];
                }
            }
          float *yp = y + (((gsize) n * g.ho + oy) * g.wo + ox) * s->cout;
          for (int co = 0; co < s->cout; co++)
            yp[co] = (float) acc[co];
        }
}

void
graft_conv2d_backward_ref (const GraftConv2dShape *s, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db)
{
  Geometry g;
  geometry (s, &g);
  gsize nx = (gsize) s->n * s->h * s->w * s->cin;
  gsize nw = g.kcols * s->cout;
  g_autofree double *dxd = dx ? g_new0 (double, nx) : NULL;
  g_autofree double *dwd = dw ? g_new0 (double, nw) : NULL;
  g_autofree double *dbd = db ? g_new0 (double, s->cout) : NULL;
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < g.ho; oy++)
      for (int ox = 0; ox < g.wo; ox++)
        {
          const float *dyp = dy + (((gsize) n * g.ho + oy) * g.wo + ox) * s->cout;
          if (dbd)
            for (int co = 0; co < s->cout; co++)
              dbd[co] += dyp[co];
          for (int ky = 0; ky < s->kh; ky++)
            {
              int iy = oy * s->stride - g.pad_top + ky;
              if (iy < 0 || iy >= s->h)
                continue;
              for (int kx = 0; kx < s->kw; kx++)
                {
                  int ix = ox * s->stride - g.pad_left + kx;
                  if (ix < 0 || ix >= s->w)
                    continue;
                  gsize xi = (((gsize) n * s->h + iy) * s->w + ix) * s->cin;
                  gsize wi = ((gsize) ky * s->kw + kx) * s->cin * s->cout;
                  for (int ci = 0; ci < s->cin; ci++)
                    {
                      double xv = x[xi + ci], dxa = 0;
                      for (int co = 0; co < s->cout; co++)
                        {
                          gsize k = wi + (gsize) ci * s->cout + co;
                          if (dwd)
                            dwd[k] += xv * dyp[co];
                          dxa += (double) w[k] * dyp[co];
                        }
                      if (dxd)
                        dxd[xi + ci] += dxa;
                    }
                }
            }
        }
  for (gsize i = 0; dx && i < nx; i++)
    dx[i] = (float) dxd[i];
  for (gsize i = 0; dw && i < nw; i++)
    dw[i] = (float) dwd[i];
  for (int i = 0; db && i < s->cout; i++)
    db[i] = (float) dbd[i];
}
