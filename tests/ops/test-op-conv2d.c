/* conv2d: OpenCL forward/backward vs the C reference, and the reference's backward vs finite differences. */
#include "graft-test.h"
#include "graft-ops.h"
#include "graft-op-conv2d.h"

#include <string.h>

static GraftContext *ctx;

typedef struct {
  GraftConv2dShape s;
  gboolean bias;
  char name[64];
} Case;

/* n, h, w, cin, cout, kh, kw, stride, bias */
static Case cases[] = {
  { { 1, 7, 9, 3, 5, 3, 3, 1 }, TRUE, "" },      /* first layer, Cin = 3 */
  { { 3, 7, 9, 5, 13, 3, 3, 2 }, TRUE, "" },     /* odd sizes, stride 2 */
  { { 2, 37, 41, 3, 16, 3, 3, 2 }, TRUE, "" },   /* the model's first layer, small */
  { { 1, 8, 8, 4, 6, 3, 3, 2 }, FALSE, "" },     /* even size: all padding after */
  { { 1, 1, 1, 13, 5, 3, 3, 1 }, TRUE, "" },     /* 1×1 spatial under a 3×3 kernel */
  { { 2, 5, 6, 3, 4, 5, 5, 3 }, TRUE, "" },      /* kernel 5, stride 3 */
  { { 1, 6, 7, 3, 2, 2, 3, 1 }, FALSE, "" },     /* even, non-square kernel */
  { { 3, 7, 9, 13, 5, 1, 1, 1 }, TRUE, "" },     /* pointwise */
  { { 3, 7, 9, 13, 5, 1, 1, 2 }, FALSE, "" },    /* residual projection 1×1 s2 */
  { { 1, 37, 41, 5, 3, 1, 1, 2 }, TRUE, "" },    /* 1×1 s2 on odd sizes */
  { { 3, 1, 1, 37, 3, 1, 1, 1 }, TRUE, "" },     /* dense */
  { { 1, 1, 1, 16, 1, 1, 1, 1 }, TRUE, "" },     /* dense to one logit */
  { { 3, 67, 61, 5, 6, 1, 1, 1 }, TRUE, "" },    /* pointwise over 12,261 pixels: dW split along K */
  { { 2, 91, 93, 3, 4, 3, 3, 1 }, TRUE, "" },    /* im2col over 16,926 pixels: dW split along K */
  /* Wide enough for the tiled GEMM (N ≥ 32) on CPU devices, channels in eights. */
  { { 2, 9, 11, 16, 40, 1, 1, 2 }, TRUE, "" },   /* residual projection, eight-channel subsample */
  { { 2, 8, 8, 12, 9, 1, 1, 2 }, TRUE, "" },     /* four-channel subsample */
  { { 1, 9, 7, 6, 35, 1, 1, 2 }, FALSE, "" },    /* two-channel subsample */
  { { 2, 13, 11, 24, 64, 1, 1, 1 }, TRUE, "" },  /* pointwise */
  { { 2, 9, 7, 8, 33, 3, 3, 1 }, TRUE, "" },     /* im2col, an edge tile in N */
  /* PyTorch's explicit padding (ResNet, MobileNetV2), odd sizes. */
  { { 2, 33, 35, 3, 8, 7, 7, 2, TRUE, 3 }, FALSE, "" },   /* ResNet stem 7×7 s2 p3 */
  { { 2, 9, 11, 6, 7, 3, 3, 2, TRUE, 1 }, TRUE, "" },     /* 3×3 s2 p1 */
  { { 1, 9, 7, 20, 33, 3, 3, 1, TRUE, 1 }, FALSE, "" },   /* 3×3 s1 p1, many channels */
  { { 2, 9, 11, 16, 40, 1, 1, 2, TRUE, 0 }, FALSE, "" },  /* 1×1 s2 p0: the subsample */
  { { 2, 6, 5, 3, 4, 3, 3, 1, TRUE, 0 }, TRUE, "" },      /* no padding ("valid") */
  { { 1, 5, 6, 3, 4, 1, 1, 1, TRUE, 1 }, TRUE, "" },      /* padded 1×1: a border of bias */
  { { 2, 8, 8, 4, 5, 3, 3, 3, TRUE, 2 }, FALSE, "" },     /* padding past the last window */
  { { 1, 2, 3, 3, 4, 5, 5, 1, TRUE, 2 }, TRUE, "" },      /* kernel larger than the image */
  /* ResNet-18's layer3.0 at 33×33 input: 5×5 → 3×3 over 128 channels, and its shortcut. */
  { { 3, 5, 5, 128, 256, 3, 3, 2, TRUE, 1 }, FALSE, "" },
  { { 3, 5, 5, 128, 256, 1, 1, 2, TRUE, 0 }, FALSE, "" },
};

/* Host data of one case: x, w, b, dy and the reference results. */
typedef struct {
  gsize nx, nw, ny;
  float *x, *w, *b, *dy;
} Data;

static int
out_h (const GraftConv2dShape *s)
{
  return graft_window_out (s->h, s->kh, s->stride, s->explicit_pad, s->pad);
}

static int
out_w (const GraftConv2dShape *s)
{
  return graft_window_out (s->w, s->kw, s->stride, s->explicit_pad, s->pad);
}

static gsize
out_numel (const GraftConv2dShape *s)
{
  return (gsize) s->n * out_h (s) * out_w (s) *
         s->cout;
}

static void
data_init (Data *d, const Case *c, guint32 seed)
{
  const GraftConv2dShape *s = &c->s;
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  d->nx = (gsize) s->n * s->h * s->w * s->cin;
  d->nw = (gsize) s->kh * s->kw * s->cin * s->cout;
  d->ny = out_numel (s);
  d->x = g_new (float, d->nx);
  d->w = g_new (float, d->nw);
  d->b = c->bias ? g_new (float, s->cout) : NULL;
  d->dy = g_new (float, d->ny);
  graft_test_fill_uniform (r, d->x, d->nx, -1, 1);
  graft_test_fill_uniform (r, d->w, d->nw, -0.5, 0.5);
  if (d->b)
    graft_test_fill_uniform (r, d->b, s->cout, -1, 1);
  graft_test_fill_uniform (r, d->dy, d->ny, -1, 1);
}

static void
data_clear (Data *d)
{
  g_free (d->x);
  g_free (d->w);
  g_free (d->b);
  g_free (d->dy);
}

static void
upload_case (const Case *c, const Data *d, GraftTensor **x, GraftTensor **w, GraftTensor **b)
{
  const GraftConv2dShape *s = &c->s;
  *x = graft_test_upload (ctx, d->x, s->n, s->h, s->w, s->cin);
  *w = graft_test_upload (ctx, d->w, s->kh, s->kw, s->cin, s->cout);
  *b = d->b ? graft_test_upload (ctx, d->b, 1, 1, 1, s->cout) : NULL;
}

static void
test_forward (gconstpointer p)
{
  const Case *c = p;
  const GraftConv2dShape *s = &c->s;
  Data d;
  data_init (&d, c, 1);
  g_autofree float *want = g_new (float, d.ny);
  graft_conv2d_forward_ref (s, d.x, d.w, d.b, want);
  g_autoptr (GraftTensor) x = NULL, w = NULL, b = NULL;
  upload_case (c, &d, &x, &w, &b);
  g_autoptr (GraftTensor) y = graft_test_upload (ctx, NULL, s->n, out_h (s),
                                                 out_w (s), s->cout);
  g_autoptr (GError) error = NULL;
  gboolean ok = graft_conv2d_forward (ctx, s, x, w, b, y, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_autofree float *got = graft_test_download (ctx, y);
  graft_test_assert_close ("y", got, want, d.ny, 1e-10);
  data_clear (&d);
}

/* The convolution with an inference-mode batch normalisation (and ReLU on about half the cases)
 * folded into its GEMM: graft_batchnorm_fold + graft_conv2d_forward_affine against the
 * reference convolution followed by the reference BN, both plain C. */
static void
test_forward_bn_fold (gconstpointer p)
{
  const Case *c = p;
  const GraftConv2dShape *s = &c->s;
  Data d;
  data_init (&d, c, 3);
  int rows = (int) (d.ny / s->cout);
  GraftBatchNormShape bs = { rows, s->cout, 1e-3f, 0.99f, (s->n + s->h + s->cout) % 2 == 0 };
  g_autoptr (GRand) r = g_rand_new_with_seed (11);
  g_autofree float *gamma = g_new (float, s->cout);
  g_autofree float *beta = g_new (float, s->cout);
  g_autofree float *mm = g_new (float, s->cout);
  g_autofree float *mv = g_new (float, s->cout);
  graft_test_fill_uniform (r, gamma, s->cout, 0.5, 1.5);
  graft_test_fill_uniform (r, beta, s->cout, -0.5, 0.5);
  graft_test_fill_uniform (r, mm, s->cout, -0.5, 0.5);
  graft_test_fill_uniform (r, mv, s->cout, 0.2, 2.0);
  g_autofree float *conv = g_new (float, d.ny);
  g_autofree float *want = g_new (float, d.ny);
  graft_conv2d_forward_ref (s, d.x, d.w, d.b, conv);
  graft_batchnorm_forward_infer_ref (&bs, conv, gamma, beta, mm, mv, want);

  g_autoptr (GraftTensor) x = NULL, w = NULL, b = NULL;
  upload_case (c, &d, &x, &w, &b);
  g_autoptr (GraftTensor) tg = graft_test_upload (ctx, gamma, 1, 1, 1, s->cout);
  g_autoptr (GraftTensor) tb = graft_test_upload (ctx, beta, 1, 1, 1, s->cout);
  g_autoptr (GraftTensor) tm = graft_test_upload (ctx, mm, 1, 1, 1, s->cout);
  g_autoptr (GraftTensor) tv = graft_test_upload (ctx, mv, 1, 1, 1, s->cout);
  g_autoptr (GraftTensor) scale = graft_test_upload (ctx, NULL, 1, 1, 1, s->cout);
  g_autoptr (GraftTensor) shift = graft_test_upload (ctx, NULL, 1, 1, 1, s->cout);
  g_autoptr (GraftTensor) y = graft_test_upload (ctx, NULL, s->n, out_h (s),
                                                 out_w (s), s->cout);
  g_autoptr (GError) error = NULL;
  gboolean ok = graft_batchnorm_fold (ctx, &bs, tg, tb, tm, tv, b, scale, shift, &error) &&
                graft_conv2d_forward_affine (ctx, s, x, w, scale, shift, bs.relu, y, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_autofree float *got = graft_test_download (ctx, y);
  graft_test_assert_close ("conv+bn", got, want, d.ny, 1e-10);
  /* The folded vectors themselves, against the fold's reference. */
  g_autofree float *sc_want = g_new (float, s->cout);
  g_autofree float *sh_want = g_new (float, s->cout);
  graft_batchnorm_fold_ref (&bs, gamma, beta, mm, mv, d.b, sc_want, sh_want);
  g_autofree float *sc = graft_test_download (ctx, scale);
  g_autofree float *sh = graft_test_download (ctx, shift);
  graft_test_assert_close ("fold scale", sc, sc_want, s->cout, 1e-12);
  graft_test_assert_close ("fold shift", sh, sh_want, s->cout, 1e-12);
  data_clear (&d);
}

/* The convolution and the residual sum its output goes into, in one store
 * (graft_conv2d_forward_add): against the reference convolution plus the addend, with both GEMM
 * implementations (the tiled kernel's store, CLBlast then the epilogue kernel) and, with small
 * im2col chunks, one image at a time (each chunk's addend rows follow its output's). */
static void
test_forward_add (gconstpointer p)
{
  const Case *c = p;
  const GraftConv2dShape *s = &c->s;
  Data d;
  data_init (&d, c, 4);
  g_autoptr (GRand) r = g_rand_new_with_seed (13);
  g_autofree float *addend = g_new (float, d.ny);
  graft_test_fill_uniform (r, addend, d.ny, -1, 1);
  g_autofree float *want = g_new (float, d.ny);
  graft_conv2d_forward_ref (s, d.x, d.w, d.b, want);
  for (gsize i = 0; i < d.ny; i++)
    want[i] += addend[i];
  g_autoptr (GraftTensor) x = NULL, w = NULL, b = NULL;
  upload_case (c, &d, &x, &w, &b);
  g_autoptr (GraftTensor) ta = graft_test_upload (ctx, addend, s->n, out_h (s), out_w (s),
                                                  s->cout);
  GraftGemmImpl saved = graft_context_gemm_impl (ctx);
  for (int impl = 0; impl < 2; impl++)
    for (int chunked = 0; chunked < 2; chunked++)
      {
        g_autoptr (GraftTensor) y = graft_test_upload (ctx, NULL, s->n, out_h (s), out_w (s),
                                                       s->cout);
        graft_context_set_gemm_impl (ctx, impl ? GRAFT_GEMM_CLBLAST : GRAFT_GEMM_TILED);
        graft_conv2d_set_chunk_bytes (chunked ? 1 : 0);
        g_autoptr (GError) error = NULL;
        gboolean ok = graft_conv2d_forward_add (ctx, s, x, w, b, ta, y, &error);
        graft_conv2d_set_chunk_bytes (0);
        graft_context_set_gemm_impl (ctx, saved);
        g_assert_no_error (error);
        g_assert_true (ok);
        g_autofree float *got = graft_test_download (ctx, y);
        graft_test_assert_close (impl ? "conv+add (CLBlast)" : "conv+add (tiled)", got, want,
                                 d.ny, 1e-10);
      }
  data_clear (&d);
}

static void
test_backward (gconstpointer p)
{
  const Case *c = p;
  const GraftConv2dShape *s = &c->s;
  Data d;
  data_init (&d, c, 2);
  g_autofree float *dx_want = g_new (float, d.nx);
  g_autofree float *dw_want = g_new (float, d.nw);
  g_autofree float *db_want = g_new (float, s->cout);
  graft_conv2d_backward_ref (s, d.x, d.w, d.dy, dx_want, dw_want, db_want);
  g_autoptr (GraftTensor) x = NULL, w = NULL, b = NULL;
  upload_case (c, &d, &x, &w, &b);
  g_autoptr (GraftTensor) dy = graft_test_upload (ctx, d.dy, s->n, out_h (s),
                                                  out_w (s), s->cout);
  /* Gradients start as garbage: backward must overwrite, not accumulate. */
  g_autoptr (GraftTensor) dx = graft_test_upload (ctx, d.x, s->n, s->h, s->w, s->cin);
  g_autoptr (GraftTensor) dw = graft_test_upload (ctx, d.w, s->kh, s->kw, s->cin, s->cout);
  g_autoptr (GraftTensor) db = graft_test_upload (ctx, NULL, 1, 1, 1, s->cout);
  g_assert_true (graft_tensor_fill (ctx, db, 3.0f, NULL));
  g_autoptr (GError) error = NULL;
  gboolean ok = graft_conv2d_backward (ctx, s, x, w, dy, dx, dw, db, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_autofree float *dx_got = graft_test_download (ctx, dx);
  g_autofree float *dw_got = graft_test_download (ctx, dw);
  g_autofree float *db_got = graft_test_download (ctx, db);
  graft_test_assert_close ("dx", dx_got, dx_want, d.nx, 1e-10);
  graft_test_assert_close ("dw", dw_got, dw_want, d.nw, 1e-10);
  graft_test_assert_close ("db", db_got, db_want, s->cout, 1e-10);
  data_clear (&d);
}

/* L = sum(y·r) through the C reference forward, summed in double. */
static double
loss (const GraftConv2dShape *s, const float *x, const float *w, const float *b, const float *r,
      float *y, gsize ny)
{
  graft_conv2d_forward_ref (s, x, w, b, y);
  double l = 0;
  for (gsize i = 0; i < ny; i++)
    l += (double) y[i] * r[i];
  return l;
}

/* Central difference of L in one element of @v. L is linear in each element,
 * so with the exact float step the difference has no truncation error and a
 * wide step keeps rounding small. */
static double
central_diff (const GraftConv2dShape *s, const Data *d, float *v, gsize i, float *y)
{
  float keep = v[i];
  float hi = keep + 0.25f, lo = keep - 0.25f;
  v[i] = hi;
  double lp = loss (s, d->x, d->w, d->b, d->dy, y, d->ny);
  v[i] = lo;
  double lm = loss (s, d->x, d->w, d->b, d->dy, y, d->ny);
  v[i] = keep;
  return (lp - lm) / ((double) hi - lo);
}

static void
check_grad (const char *what, gsize i, double fd, double an)
{
  double err = fabs (fd - an) / MAX (MAX (fabs (fd), fabs (an)), 1e-2);
  if (err > 1e-3)
    g_error ("%s[%zu]: backward %.8g, finite difference %.8g (relative error %.3g)", what, i,
             an, fd, err);
}

static void
test_finite_diff (gconstpointer p)
{
  const Case *c = p;
  const GraftConv2dShape *s = &c->s;
  Data d;
  data_init (&d, c, 3);  /* d.dy plays the fixed random r of L = sum(y·r) */
  g_autofree float *dx = g_new (float, d.nx);
  g_autofree float *dw = g_new (float, d.nw);
  g_autofree float *db = g_new (float, s->cout);
  g_autofree float *y = g_new (float, d.ny);
  graft_conv2d_backward_ref (s, d.x, d.w, d.dy, dx, dw, db);
  g_autoptr (GRand) r = g_rand_new_with_seed (4);
  /* Samples plus the corners, where the "same" padding is most lopsided. */
  for (int k = 0; k < 10; k++)
    {
      gsize i = k == 0 ? 0 : k == 1 ? d.nx - 1 : (gsize) g_rand_int_range (r, 0, (gint32) d.nx);
      check_grad ("dx", i, central_diff (s, &d, d.x, i, y), dx[i]);
    }
  for (int k = 0; k < 10; k++)
    {
      gsize i = k == 0 ? 0 : k == 1 ? d.nw - 1 : (gsize) g_rand_int_range (r, 0, (gint32) d.nw);
      check_grad ("dw", i, central_diff (s, &d, d.w, i, y), dw[i]);
    }
  for (int k = 0; d.b && k < MIN (s->cout, 3); k++)
    check_grad ("db", k, central_diff (s, &d, d.b, k, y), db[k]);
  data_clear (&d);
}

/* Each NULL gradient is skipped (no kernel runs for it) and the others stay right. */
static void
test_null_grads (void)
{
  static const gboolean masks[][3] = {
    { TRUE, FALSE, FALSE }, { FALSE, TRUE, FALSE }, { FALSE, FALSE, TRUE },
    { FALSE, TRUE, TRUE }, { FALSE, FALSE, FALSE },
  };
  const Case *cs[] = { &cases[1], &cases[7], &cases[8] };
  for (guint ci = 0; ci < G_N_ELEMENTS (cs); ci++)
    {
      const Case *c = cs[ci];
      const GraftConv2dShape *s = &c->s;
      Data d;
      data_init (&d, c, 5);
      g_autofree float *dx_want = g_new (float, d.nx);
      g_autofree float *dw_want = g_new (float, d.nw);
      g_autofree float *db_want = g_new (float, s->cout);
      graft_conv2d_backward_ref (s, d.x, d.w, d.dy, dx_want, dw_want, db_want);
      g_autoptr (GraftTensor) x = NULL, w = NULL, b = NULL;
      upload_case (c, &d, &x, &w, &b);
      g_autoptr (GraftTensor) dy = graft_test_upload (ctx, d.dy, s->n,
                                                      out_h (s),
                                                      out_w (s), s->cout);
      for (guint m = 0; m < G_N_ELEMENTS (masks); m++)
        {
          g_autoptr (GraftTensor) dx = masks[m][0] ? graft_test_upload (ctx, NULL, s->n, s->h, s->w, s->cin) : NULL;
          g_autoptr (GraftTensor) dw = masks[m][1] ? graft_test_upload (ctx, NULL, s->kh, s->kw, s->cin, s->cout) : NULL;
          g_autoptr (GraftTensor) db = masks[m][2] ? graft_test_upload (ctx, NULL, 1, 1, 1, s->cout) : NULL;
          g_autoptr (GError) error = NULL;
          graft_context_set_profiling (ctx, TRUE);
          gboolean ok = graft_conv2d_backward (ctx, s, x, w, dy, dx, dw, db, &error);
          g_assert_no_error (error);
          g_assert_true (ok);
          g_autoptr (GHashTable) prof = graft_context_profile_collect (ctx);
          graft_context_set_profiling (ctx, FALSE);
          g_assert_true (!!g_hash_table_contains (prof, "conv2d-dx-gemm") == !!dx);
          g_assert_true (!!g_hash_table_contains (prof, "conv2d-dw-gemm") == !!dw);
          g_assert_true (!!g_hash_table_contains (prof, "conv2d-db") == !!db);
          if (dx)
            {
              g_autofree float *got = graft_test_download (ctx, dx);
              graft_test_assert_close ("dx", got, dx_want, d.nx, 1e-10);
            }
          if (dw)
            {
              g_autofree float *got = graft_test_download (ctx, dw);
              graft_test_assert_close ("dw", got, dw_want, d.nw, 1e-10);
            }
          if (db)
            {
              g_autofree float *got = graft_test_download (ctx, db);
              graft_test_assert_close ("db", got, db_want, s->cout, 1e-10);
            }
        }
      data_clear (&d);
    }
}

/* Tensors as views at odd offsets inside one buffer with sentinels around
 * them; small im2col chunks so the batch is done one image at a time. */
static void
test_views_and_chunks (gconstpointer p)
{
  const Case *c = p;
  const GraftConv2dShape *s = &c->s;
  Data d;
  data_init (&d, c, 6);
  g_autofree float *y_want = g_new (float, d.ny);
  g_autofree float *dx_want = g_new (float, d.nx);
  g_autofree float *dw_want = g_new (float, d.nw);
  g_autofree float *db_want = g_new (float, s->cout);
  graft_conv2d_forward_ref (s, d.x, d.w, d.b, y_want);
  graft_conv2d_backward_ref (s, d.x, d.w, d.dy, dx_want, dw_want, db_want);
  const gsize gap = 5;
  gsize sizes[] = { d.nx, d.nw, (gsize) s->cout, d.ny, d.ny, d.nx, d.nw, (gsize) s->cout };
  gsize offs[G_N_ELEMENTS (sizes)], total = gap;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      offs[i] = total;
      total += sizes[i] + gap;
    }
  g_autofree float *host = g_new (float, total);
  for (gsize i = 0; i < total; i++)
    host[i] = 1234.5f;
  memcpy (host + offs[0], d.x, d.nx * sizeof (float));
  memcpy (host + offs[1], d.w, d.nw * sizeof (float));
  if (d.b)
    memcpy (host + offs[2], d.b, s->cout * sizeof (float));
  memcpy (host + offs[4], d.dy, d.ny * sizeof (float));
  g_autoptr (GraftTensor) all = graft_test_upload (ctx, host, 1, 1, 1, (int) total);
  int ho = out_h (s), wo = out_w (s);
  g_autoptr (GraftTensor) x = graft_tensor_view (all->mem, offs[0], s->n, s->h, s->w, s->cin);
  g_autoptr (GraftTensor) w = graft_tensor_view (all->mem, offs[1], s->kh, s->kw, s->cin, s->cout);
  g_autoptr (GraftTensor) b = d.b ? graft_tensor_view (all->mem, offs[2], 1, 1, 1, s->cout) : NULL;
  g_autoptr (GraftTensor) y = graft_tensor_view (all->mem, offs[3], s->n, ho, wo, s->cout);
  g_autoptr (GraftTensor) dy = graft_tensor_view (all->mem, offs[4], s->n, ho, wo, s->cout);
  g_autoptr (GraftTensor) dx = graft_tensor_view (all->mem, offs[5], s->n, s->h, s->w, s->cin);
  g_autoptr (GraftTensor) dw = graft_tensor_view (all->mem, offs[6], s->kh, s->kw, s->cin, s->cout);
  g_autoptr (GraftTensor) db = graft_tensor_view (all->mem, offs[7], 1, 1, 1, s->cout);
  graft_conv2d_set_chunk_bytes (1);
  g_autoptr (GError) error = NULL;
  gboolean ok = graft_conv2d_forward (ctx, s, x, w, b, y, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  ok = graft_conv2d_backward (ctx, s, x, w, dy, dx, dw, db, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  graft_conv2d_set_chunk_bytes (0);
  g_autofree float *got = graft_test_download (ctx, all);
  graft_test_assert_close ("y", got + offs[3], y_want, d.ny, 1e-10);
  graft_test_assert_close ("dx", got + offs[5], dx_want, d.nx, 1e-10);
  graft_test_assert_close ("dw", got + offs[6], dw_want, d.nw, 1e-10);
  graft_test_assert_close ("db", got + offs[7], db_want, s->cout, 1e-10);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (gsize j = 0; j < gap; j++)
      g_assert_cmpfloat (got[offs[i] - gap + j], ==, 1234.5f);
  g_assert_cmpfloat (got[total - 1], ==, 1234.5f);
  data_clear (&d);
}

/* Explicit padding p against an independent construction: the same convolution without
 * padding over the input with p zero rows and columns added on every side. */
static void
test_explicit_pad_is_zero_border (gconstpointer p)
{
  const Case *c = p;
  const GraftConv2dShape *s = &c->s;
  if (!s->explicit_pad)
    return;
  Data d;
  data_init (&d, c, 8);
  int pd = s->pad, hp = s->h + 2 * pd, wp = s->w + 2 * pd;
  g_autofree float *xp = g_new0 (float, (gsize) s->n * hp * wp * s->cin);
  for (int n = 0; n < s->n; n++)
    for (int y = 0; y < s->h; y++)
      memcpy (xp + (((gsize) n * hp + y + pd) * wp + pd) * s->cin,
              d.x + (((gsize) n * s->h + y) * s->w) * s->cin, sizeof (float) * s->w * s->cin);
  GraftConv2dShape sv = *s;
  sv.h = hp;
  sv.w = wp;
  sv.pad = 0;
  g_assert_cmpint (out_h (&sv), ==, out_h (s));
  g_assert_cmpint (out_w (&sv), ==, out_w (s));
  g_autofree float *want = g_new (float, d.ny);
  graft_conv2d_forward_ref (&sv, xp, d.w, d.b, want);
  g_autoptr (GraftTensor) x = NULL, w = NULL, b = NULL;
  upload_case (c, &d, &x, &w, &b);
  g_autoptr (GraftTensor) y = graft_test_upload (ctx, NULL, s->n, out_h (s), out_w (s), s->cout);
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_conv2d_forward (ctx, s, x, w, b, y, &error));
  g_assert_no_error (error);
  g_autofree float *got = graft_test_download (ctx, y);
  graft_test_assert_close ("y (explicit padding)", got, want, d.ny, 1e-10);
  g_autofree float *ref = g_new (float, d.ny);
  graft_conv2d_forward_ref (s, d.x, d.w, d.b, ref);
  graft_test_assert_close ("reference y (explicit padding)", ref, want, d.ny, 1e-10);
  data_clear (&d);
}

/* Explicit padding that leaves no window, or is negative, is refused by name. */
static void
test_bad_padding (void)
{
  GraftConv2dShape s = { 1, 2, 2, 3, 4, 5, 5, 1, TRUE, 1 };
  g_autoptr (GraftTensor) x = graft_test_upload (ctx, NULL, 1, 2, 2, 3);
  g_autoptr (GraftTensor) w = graft_test_upload (ctx, NULL, 5, 5, 3, 4);
  g_autoptr (GraftTensor) y = graft_test_upload (ctx, NULL, 1, 1, 1, 4);
  g_autoptr (GError) error = NULL;
  g_assert_false (graft_conv2d_forward (ctx, &s, x, w, NULL, y, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "does not fit"));
  g_clear_error (&error);
  s.pad = -1;
  g_assert_false (graft_conv2d_forward (ctx, &s, x, w, NULL, y, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "padding -1"));
}

static void
test_bad_shape (void)
{
  GraftConv2dShape s = { 1, 5, 5, 3, 4, 3, 3, 1 };
  g_autoptr (GraftTensor) x = graft_test_upload (ctx, NULL, 1, 5, 5, 3);
  g_autoptr (GraftTensor) w = graft_test_upload (ctx, NULL, 3, 3, 3, 4);
  g_autoptr (GraftTensor) y = graft_test_upload (ctx, NULL, 1, 3, 3, 4);  /* should be 5×5 */
  g_autoptr (GError) error = NULL;
  g_assert_false (graft_conv2d_forward (ctx, &s, x, w, NULL, y, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "output"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Case *c = &cases[i];
      const GraftConv2dShape *s = &c->s;
      g_autofree char *k = s->kh == s->kw ? g_strdup_printf ("%d", s->kh)
                                          : g_strdup_printf ("%dx%d", s->kh, s->kw);
      g_autofree char *pad = s->explicit_pad ? g_strdup_printf ("p%d", s->pad) : g_strdup ("");
      g_snprintf (c->name, sizeof c->name, "%dx%dx%dx%d-k%ss%d%s-c%d%s", s->n, s->h, s->w,
                  s->cin, k, s->stride, pad, s->cout, c->bias ? "-bias" : "");
      g_autofree char *fwd = g_strdup_printf ("/op/conv2d/fwd/%s", c->name);
      g_autofree char *bwd = g_strdup_printf ("/op/conv2d/bwd/%s", c->name);
      g_autofree char *fd = g_strdup_printf ("/op/conv2d/ref-grad/%s", c->name);
      g_test_add_data_func (fwd, c, test_forward);
      g_test_add_data_func (bwd, c, test_backward);
      g_test_add_data_func (fd, c, test_finite_diff);
      g_autofree char *fold = g_strdup_printf ("/op/conv2d/fwd-bn-fold/%s", c->name);
      g_test_add_data_func (fold, c, test_forward_bn_fold);
      g_autofree char *add = g_strdup_printf ("/op/conv2d/fwd-add/%s", c->name);
      g_test_add_data_func (add, c, test_forward_add);
      if (s->explicit_pad)
        {
          g_autofree char *zb = g_strdup_printf ("/op/conv2d/explicit-pad/%s", c->name);
          g_test_add_data_func (zb, c, test_explicit_pad_is_zero_border);
        }
    }
  g_test_add_data_func ("/op/conv2d/views-chunks/2x33x35x3-k7s2p3-c8", &cases[19],
                        test_views_and_chunks);
  g_test_add_data_func ("/op/conv2d/views-chunks/3x7x9x5-k3s2-c13", &cases[1],
                        test_views_and_chunks);
  g_test_add_data_func ("/op/conv2d/views-chunks/3x7x9x13-k1s2-c5", &cases[8],
                        test_views_and_chunks);
  /* K past 2048 is cut into blocks: the folded BN and ReLU must act on the whole sum. */
  static Case long_k = { { 1, 3, 3, 2100, 32, 1, 1, 1 }, TRUE, "1x3x3x2100-k1s1-c32-bias" };
  g_test_add_data_func ("/op/conv2d/fwd-bn-fold/long-k", &long_k, test_forward_bn_fold);
  g_test_add_data_func ("/op/conv2d/fwd-add/long-k", &long_k, test_forward_add);
  g_test_add_func ("/op/conv2d/null-grads", test_null_grads);
  g_test_add_func ("/op/conv2d/bad-shape", test_bad_shape);
  g_test_add_func ("/op/conv2d/bad-padding", test_bad_padding);
  int rc = g_test_run ();
  graft_context_free (ctx);
  return rc;
}
