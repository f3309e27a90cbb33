/* Depthwise convolution: OpenCL against the C reference for every output, and the reference
 * backward against finite differences of the reference forward. */
#include "graft-test.h"
#include "graft-ops.h"
#include "test-op-view.h"

#include <string.h>

static GraftContext *ctx;

typedef struct {
  GraftDepthwiseShape s;
  char *shape;
  float *x, *w, *dy;
} Case;

static gsize
x_numel (const GraftDepthwiseShape *s)
{
  return (gsize) s->n * s->h * s->w * s->c;
}

static int
out_h (const GraftDepthwiseShape *s)
{
  int ho, wo;
  graft_depthwise_out (s, &ho, &wo);
  return ho;
}

static int
out_w (const GraftDepthwiseShape *s)
{
  int ho, wo;
  graft_depthwise_out (s, &ho, &wo);
  return wo;
}

static gsize
y_numel (const GraftDepthwiseShape *s)
{
  return (gsize) s->n * out_h (s) * out_w (s) * s->c;
}

static gsize
w_numel (const GraftDepthwiseShape *s)
{
  return (gsize) s->k * s->k * s->c;
}

static void
test_forward (gconstpointer data)
{
  const Case *k = data;
  const GraftDepthwiseShape *s = &k->s;
  gsize ny = y_numel (s);
  g_autofree float *want = g_new (float, ny);
  graft_depthwise_forward_ref (s, k->x, k->w, want);

  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) tx = test_view_new (ctx, k->x, s->n, s->h, s->w, s->c);
  g_autoptr (TestView) tw = test_view_new (ctx, k->w, s->k, s->k, s->c, 1);
  g_autoptr (TestView) ty = test_view_new (ctx, NULL, s->n, out_h (s), out_w (s), s->c);
  graft_depthwise_forward (ctx, s, tx->view, tw->view, ty->view, &error);
  g_assert_no_error (error);
  g_autofree float *got = test_view_download (ctx, ty, "depthwise forward");
  graft_test_assert_close ("depthwise forward", got, want, ny, 1e-10);
}

/* which: 3 both gradients, 1 dx only, 2 dw only. */
static void
run_backward (const Case *k, int which)
{
  const GraftDepthwiseShape *s = &k->s;
  gsize nx = x_numel (s), nw = w_numel (s);
  g_autofree float *want_dx = g_new (float, nx);
  g_autofree float *want_dw = g_new (float, nw);
  graft_depthwise_backward_ref (s, k->x, k->w, k->dy, want_dx, want_dw);

  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) tx = test_view_new (ctx, k->x, s->n, s->h, s->w, s->c);
  g_autoptr (TestView) tw = test_view_new (ctx, k->w, s->k, s->k, s->c, 1);
  g_autoptr (TestView) tdy = test_view_new (ctx, k->dy, s->n, out_h (s), out_w (s), s->c);
  g_autoptr (TestView) tdx = test_view_new (ctx, NULL, s->n, s->h, s->w, s->c);
  g_autoptr (TestView) tdw = test_view_new (ctx, NULL, s->k, s->k, s->c, 1);
  graft_depthwise_backward (ctx, s, tx->view, tw->view, tdy->view,
                            (which & 1) ? tdx->view : NULL, (which & 2) ? tdw->view : NULL,
                            &error);
  g_assert_no_error (error);
  g_autofree float *got_dx = test_view_download (ctx, tdx, "depthwise dx");
  g_autofree float *got_dw = test_view_download (ctx, tdw, "depthwise dw");
  if (which & 1)
    graft_test_assert_close ("depthwise dx", got_dx, want_dx, nx, 1e-10);
  if (which & 2)
    graft_test_assert_close ("depthwise dw", got_dw, want_dw, nw, 1e-10);
  /* A gradient not asked for is left alone. */
  for (gsize i = 0; !(which & 1) && i < nx; i++)
    g_assert_cmpfloat (got_dx[i], ==, 0.0f);
  for (gsize i = 0; !(which & 2) && i < nw; i++)
    g_assert_cmpfloat (got_dw[i], ==, 0.0f);
}

static void
test_backward (gconstpointer data)
{
  run_backward (data, 3);
}

static void
test_backward_partial (gconstpointer data)
{
  run_backward (data, 1);
  run_backward (data, 2);
}

static double
loss_of (const GraftDepthwiseShape *s, const float *x, const float *w, const float *r,
         float *y)
{
  graft_depthwise_forward_ref (s, x, w, y);
  double l = 0;
  for (gsize j = 0; j < y_numel (s); j++)
    l += (double) y[j] * r[j];
  return l;
}

/* Central difference of L = Σ y·r in @v[i]; the step actually taken is measured after
 * rounding to float. */
static double
central_difference (const GraftDepthwiseShape *s, float *x, float *w, float *v, gsize i,
                    const float *r, float *y)
{
  const float h = 1e-2f;
  float keep = v[i];
  v[i] = keep + h;
  double up = v[i];
  double lp = loss_of (s, x, w, r, y);
  v[i] = keep - h;
  double down = v[i];
  double lm = loss_of (s, x, w, r, y);
  v[i] = keep;
  return (lp - lm) / (up - down);
}

/* The reference backward against finite differences of the reference forward (the forward
 * is linear in x and in w, so the differences are exact up to rounding). */
static void
test_reference_gradient (gconstpointer data)
{
  const Case *k = data;
  const GraftDepthwiseShape *s = &k->s;
  gsize nx = x_numel (s), nw = w_numel (s);
  g_autofree float *x = g_memdup2 (k->x, sizeof (float) * nx);
  g_autofree float *w = g_memdup2 (k->w, sizeof (float) * nw);
  g_autofree float *y = g_new (float, y_numel (s));
  g_autofree float *dx = g_new (float, nx);
  g_autofree float *dw = g_new (float, nw);
  graft_depthwise_backward_ref (s, x, w, k->dy, dx, dw);
  g_autoptr (GRand) pick = g_rand_new_with_seed (11);
  for (int t = 0; t < 16; t++)
    {
      gsize i = (gsize) g_rand_int_range (pick, 0, (gint32) nx);
      double fd = central_difference (s, x, w, x, i, k->dy, y);
      if (fabs (fd - dx[i]) > 1e-3 * MAX (1.0, fabs (dx[i])))
        g_error ("depthwise reference dx[%" G_GSIZE_FORMAT "] = %g, finite differences %g", i,
                 dx[i], fd);
      gsize j = (gsize) g_rand_int_range (pick, 0, (gint32) nw);
      fd = central_difference (s, x, w, w, j, k->dy, y);
      if (fabs (fd - dw[j]) > 1e-3 * MAX (1.0, fabs (dw[j])))
        g_error ("depthwise reference dw[%" G_GSIZE_FORMAT "] = %g, finite differences %g", j,
                 dw[j], fd);
    }
}

/* Explicit padding p against an independent construction: the same convolution at padding 0
 * over the input with p zero rows and columns added on every side. */
static void
test_explicit_pad_is_zero_border (gconstpointer data)
{
  const Case *k = data;
  const GraftDepthwiseShape *s = &k->s;
  int pd = s->pad, hp = s->h + 2 * pd, wp = s->w + 2 * pd;
  g_autofree float *xp = g_new0 (float, (gsize) s->n * hp * wp * s->c);
  for (int n = 0; n < s->n; n++)
    for (int y = 0; y < s->h; y++)
      memcpy (xp + (((gsize) n * hp + y + pd) * wp + pd) * s->c,
              k->x + (((gsize) n * s->h + y) * s->w) * s->c, sizeof (float) * s->w * s->c);
  GraftDepthwiseShape sv = *s;
  sv.h = hp;
  sv.w = wp;
  sv.pad = 0;
  g_assert_cmpint (out_h (&sv), ==, out_h (s));
  g_assert_cmpint (out_w (&sv), ==, out_w (s));
  gsize ny = y_numel (s);
  g_autofree float *want = g_new (float, ny);
  graft_depthwise_forward_ref (&sv, xp, k->w, want);
  g_autofree float *ref = g_new (float, ny);
  graft_depthwise_forward_ref (s, k->x, k->w, ref);
  graft_test_assert_close ("depthwise reference (explicit padding)", ref, want, ny, 1e-10);
  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) tx = test_view_new (ctx, k->x, s->n, s->h, s->w, s->c);
  g_autoptr (TestView) tw = test_view_new (ctx, k->w, s->k, s->k, s->c, 1);
  g_autoptr (TestView) ty = test_view_new (ctx, NULL, s->n, out_h (s), out_w (s), s->c);
  g_assert_true (graft_depthwise_forward (ctx, s, tx->view, tw->view, ty->view, &error));
  g_assert_no_error (error);
  g_autofree float *got = test_view_download (ctx, ty, "depthwise forward");
  graft_test_assert_close ("depthwise forward (explicit padding)", got, want, ny, 1e-10);
}

/* A stride-2 "same" 3×3 over an even image pads one row and column after only (TensorFlow),
 * written out for one 4×4 single-channel image of ones with a kernel of ones. */
static void
test_same_stride2_written_out (void)
{
  GraftDepthwiseShape s = { 1, 4, 4, 1, 3, 2 };
  float x[16], w[9], y[4];
  for (int i = 0; i < 16; i++)
    x[i] = 1;
  for (int i = 0; i < 9; i++)
    w[i] = 1;
  graft_depthwise_forward_ref (&s, x, w, y);
  /* Windows rows 0..2 and 2..4 (row 4 is padding): 9, 6 / 6, 4. */
  const float want[4] = { 9, 6, 6, 4 };
  graft_test_assert_close ("same stride 2", y, want, 4, 0.0);
  s.explicit_pad = TRUE;
  s.pad = 1;
  graft_depthwise_forward_ref (&s, x, w, y);
  /* PyTorch padding 1: windows rows −1..1 and 1..3: 4, 6 / 6, 9. */
  const float want_pt[4] = { 4, 6, 6, 9 };
  graft_test_assert_close ("explicit padding 1 stride 2", y, want_pt, 4, 0.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  /* n, h, w, c, k: odd sizes, 1×1 images, channel counts off and on multiples of 4, even and
   * larger kernels (k = 2 pads only after); every 3×3 case takes the
   * row-walking kernels (16, 8, 4, 2 or 1 channels per item), also on images one row high or one
   * column wide. */
  static const GraftDepthwiseShape shapes[] = {
    { 3, 7, 9, 13, 3 }, { 1, 7, 9, 16, 3 }, { 1, 1, 1, 5, 3 }, { 3, 1, 1, 128, 3 },
    { 1, 9, 7, 128, 3 }, { 3, 5, 6, 3, 5 }, { 1, 4, 5, 4, 2 }, { 2, 6, 6, 8, 1 },
    { 2, 2, 5, 8, 3 },   { 2, 6, 1, 24, 3 }, { 2, 1, 4, 8, 3 },  { 2, 5, 4, 6, 3 },
    { 1, 6, 5, 12, 3 },
    /* Stride 2 (MobileNetV2) with PyTorch's padding 1 and with "same"; explicit padding at
     * stride 1 that is not "same" (0, or 2 for a 3×3); padding past the last window. */
    { 2, 9, 11, 16, 3, 2, TRUE, 1 }, { 2, 8, 8, 13, 3, 2, TRUE, 1 }, { 1, 7, 6, 5, 3, 2 },
    { 2, 8, 9, 8, 3, 2 },             { 2, 7, 9, 12, 3, 1, TRUE, 0 }, { 1, 5, 6, 3, 3, 1, TRUE, 2 },
    { 2, 9, 7, 8, 5, 2, TRUE, 2 },    { 1, 8, 8, 4, 3, 3, TRUE, 1 },  { 1, 5, 5, 16, 3, 1, TRUE, 1 },
    { 2, 1, 1, 8, 3, 2, TRUE, 1 },
  };
  g_autoptr (GPtrArray) cases = g_ptr_array_new ();
  g_autoptr (GRand) r = g_rand_new_with_seed (1234);
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      Case *k = g_new0 (Case, 1);
      k->s = shapes[i];
      g_autofree char *pad = k->s.explicit_pad ? g_strdup_printf ("p%d", k->s.pad) : g_strdup ("");
      k->shape = g_strdup_printf ("%dx%dx%dx%d-k%d%s%s", k->s.n, k->s.h, k->s.w, k->s.c, k->s.k,
                                  k->s.stride > 1 ? (k->s.stride == 2 ? "s2" : "s3") : "", pad);
      k->x = g_new (float, x_numel (&k->s));
      k->w = g_new (float, w_numel (&k->s));
      k->dy = g_new (float, y_numel (&k->s));
      graft_test_fill_uniform (r, k->x, x_numel (&k->s), -1, 1);
      graft_test_fill_uniform (r, k->w, w_numel (&k->s), -1, 1);
      graft_test_fill_uniform (r, k->dy, y_numel (&k->s), -1, 1);
      g_ptr_array_add (cases, k);
      g_autofree char *fwd = g_strdup_printf ("/op/depthwise/fwd/%s", k->shape);
      g_autofree char *bwd = g_strdup_printf ("/op/depthwise/bwd/%s", k->shape);
      g_autofree char *part = g_strdup_printf ("/op/depthwise/bwd-one-grad/%s", k->shape);
      g_autofree char *grad = g_strdup_printf ("/op/depthwise/ref-grad/%s", k->shape);
      g_test_add_data_func (fwd, k, test_forward);
      g_test_add_data_func (bwd, k, test_backward);
      g_test_add_data_func (part, k, test_backward_partial);
      g_test_add_data_func (grad, k, test_reference_gradient);
      if (k->s.explicit_pad)
        {
          g_autofree char *zb = g_strdup_printf ("/op/depthwise/explicit-pad/%s", k->shape);
          g_test_add_data_func (zb, k, test_explicit_pad_is_zero_border);
        }
    }
  g_test_add_func ("/op/depthwise/same-stride2-written-out", test_same_stride2_written_out);
  int rc = g_test_run ();
  for (guint i = 0; i < cases->len; i++)
    {
      Case *k = cases->pdata[i];
      g_free (k->shape);
      g_free (k->x);
      g_free (k->w);
      g_free (k->dy);
      g_free (k);
    }
  graft_context_free (ctx);
  return rc;
}
