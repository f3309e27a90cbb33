/* Max pooling: OpenCL against the C reference (with ties), the reference against hand values and finite differences. */
#include <math.h>
#include <string.h>

#include "graft-test.h"
#include "graft-ops.h"

static GraftContext *ctx;

typedef struct {
  GraftPoolShape s;
  gboolean ties;       /* values drawn from a few integers, so windows hold equal maxima */
  gboolean negative;   /* all inputs below zero: a zero-padded pool would return 0 at borders */
} PoolCase;

static const PoolCase cases[] = {
  { { 2, 7, 9, 3, 3, 2 }, FALSE, FALSE },
  { { 2, 7, 9, 3, 2, 2 }, FALSE, FALSE },
  { { 1, 1, 1, 2, 3, 2 }, FALSE, TRUE },
  { { 1, 1, 1, 2, 2, 2 }, FALSE, TRUE },
  { { 1, 2, 2, 1, 3, 2 }, FALSE, TRUE },
  { { 1, 2, 2, 1, 2, 2 }, FALSE, FALSE },
  { { 1, 45, 45, 4, 3, 2 }, FALSE, TRUE },
  { { 2, 45, 45, 3, 3, 2 }, TRUE, FALSE },
  { { 3, 7, 9, 5, 3, 2 }, TRUE, FALSE },
  { { 3, 8, 5, 5, 2, 2 }, TRUE, TRUE },
  { { 2, 6, 7, 3, 3, 1 }, TRUE, FALSE },
  /* Channels in sixteens and eights: the widest vector kernels, with 2×2, 3×3 (stride 1 and 2)
   * and 5×5 windows. */
  { { 2, 7, 9, 32, 3, 2 }, TRUE, FALSE },
  { { 2, 7, 9, 8, 3, 2 }, TRUE, FALSE },
  { { 1, 11, 10, 16, 3, 2 }, FALSE, TRUE },
  { { 2, 9, 9, 8, 2, 2 }, FALSE, FALSE },
  { { 2, 6, 7, 8, 3, 1 }, TRUE, TRUE },
  { { 1, 9, 9, 24, 5, 2 }, FALSE, FALSE },
  { { 1, 45, 45, 8, 3, 2 }, TRUE, FALSE },
  /* PyTorch's explicit padding: ResNet's 3×3 s2 p1 on odd and even sizes (negative inputs:
   * padding never wins), 2×2 s2 p1, 3×3 s1 p1, 5×5 s2 p2, and no padding ("valid"). */
  { { 2, 17, 17, 64, 3, 2, TRUE, 1 }, FALSE, TRUE },
  { { 2, 8, 9, 3, 3, 2, TRUE, 1 }, FALSE, TRUE },
  { { 2, 7, 9, 8, 3, 2, TRUE, 1 }, TRUE, FALSE },
  { { 1, 7, 6, 5, 2, 2, TRUE, 1 }, FALSE, TRUE },
  { { 2, 6, 7, 16, 3, 1, TRUE, 1 }, FALSE, FALSE },
  { { 1, 9, 11, 4, 5, 2, TRUE, 2 }, FALSE, TRUE },
  { { 2, 7, 8, 3, 3, 2, TRUE, 0 }, FALSE, FALSE },
  { { 1, 1, 1, 2, 3, 2, TRUE, 1 }, FALSE, TRUE },
};

static gsize
in_numel (const GraftPoolShape *s)
{
  return (gsize) s->n * s->h * s->w * s->c;
}

static int
out_h (const GraftPoolShape *s)
{
  return graft_window_out (s->h, s->k, s->stride, s->explicit_pad, s->pad);
}

static int
out_w (const GraftPoolShape *s)
{
  return graft_window_out (s->w, s->k, s->stride, s->explicit_pad, s->pad);
}

static gsize
out_numel (const GraftPoolShape *s)
{
  return (gsize) s->n * out_h (s) * out_w (s) * s->c;
}

static char *
case_name (const char *what, const PoolCase *pc)
{
  const GraftPoolShape *s = &pc->s;
  g_autofree char *pad = s->explicit_pad ? g_strdup_printf ("p%d", s->pad) : g_strdup ("");
  return g_strdup_printf ("/maxpool/%s/%dx%dx%dx%d-k%ds%d%s%s%s", what, s->n, s->h, s->w, s->c,
                          s->k, s->stride, pad, pc->ties ? "-ties" : "",
                          pc->negative ? "-negative" : "");
}

static void
fill_input (GRand *r, const PoolCase *pc, float *x, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      double v = pc->ties ? (double) g_rand_int_range (r, 0, 3) : g_rand_double_range (r, -1, 1);
      x[i] = (float) (pc->negative ? v - 5.0 : v);
    }
}

static void
test_device_vs_ref (gconstpointer data)
{
  const PoolCase *pc = data;
  const GraftPoolShape *s = &pc->s;
  int oh = out_h (s), ow = out_w (s);
  gsize nx = in_numel (s), ny = out_numel (s);
  g_autoptr (GRand) r = g_rand_new_with_seed (7 + s->h * 31 + s->k);
  g_autofree float *x = g_new (float, nx);
  g_autofree float *dy = g_new (float, ny);
  g_autofree float *y_ref = g_new (float, ny);
  g_autofree float *dx_ref = g_new (float, nx);
  fill_input (r, pc, x, nx);
  graft_test_fill_uniform (r, dy, ny, -1, 1);
  graft_maxpool_forward_ref (s, x, y_ref);
  graft_maxpool_backward_ref (s, x, dy, dx_ref);

  g_autoptr (GError) error = NULL;
  g_autoptr (GraftTensor) tx = graft_test_upload (ctx, x, s->n, s->h, s->w, s->c);
  g_autoptr (GraftTensor) ty = graft_test_upload (ctx, NULL, s->n, oh, ow, s->c);
  g_autoptr (GraftTensor) tdy = graft_test_upload (ctx, dy, s->n, oh, ow, s->c);
  g_autoptr (GraftTensor) tdx = graft_test_upload (ctx, NULL, s->n, s->h, s->w, s->c);
  graft_tensor_fill (ctx, tdx, 123.0f, &error); /* backward must overwrite */
  g_assert_no_error (error);
  g_assert_true (graft_maxpool_forward (ctx, s, tx, ty, &error));
  g_assert_no_error (error);
  g_assert_true (graft_maxpool_backward (ctx, s, tx, tdy, tdx, &error));
  g_assert_no_error (error);
  g_autofree float *y = graft_test_download (ctx, ty);
  g_autofree float *dx = graft_test_download (ctx, tdx);
  graft_test_assert_close ("forward", y, y_ref, ny, 1e-10);
  graft_test_assert_close ("backward", dx, dx_ref, nx, 1e-10);
  /* With ties a different pick moves a whole dy to another cell: require every cell to agree
   * up to the rounding of a sum of at most k² terms taken in another order. */
  for (gsize i = 0; i < nx; i++)
    if (fabs (dx[i] - dx_ref[i]) > 1e-6 * (1.0 + fabs (dx_ref[i])))
      g_error ("backward: dx[%zu] = %g, reference %g", i, dx[i], dx_ref[i]);
  /* Every dy lands somewhere, exactly once. */
  double sum_dy = 0, sum_dx = 0;
  for (gsize i = 0; i < ny; i++)
    sum_dy += dy[i];
  for (gsize i = 0; i < nx; i++)
    sum_dx += dx[i];
  g_assert_cmpfloat_with_epsilon (sum_dx, sum_dy, 1e-4);

  /* The training pair: the forward records arg-max positions, the backward gathers from them
   * in the reference's window order, so both must agree with the reference exactly. */
  cl_mem arg = graft_context_alloc (ctx, ny + 5, &error);
  g_assert_no_error (error);
  g_autoptr (GraftTensor) ty2 = graft_test_upload (ctx, NULL, s->n, oh, ow, s->c);
  g_autoptr (GraftTensor) tdx2 = graft_test_upload (ctx, NULL, s->n, s->h, s->w, s->c);
  graft_tensor_fill (ctx, tdx2, 123.0f, &error);
  g_assert_no_error (error);
  g_assert_true (graft_maxpool_forward_arg (ctx, s, tx, ty2, arg, 5, &error));
  g_assert_no_error (error);
  g_assert_true (graft_maxpool_backward_arg (ctx, s, arg, 5, tdy, tdx2, &error));
  g_assert_no_error (error);
  g_autofree float *y2 = graft_test_download (ctx, ty2);
  g_autofree float *dx2 = graft_test_download (ctx, tdx2);
  clReleaseMemObject (arg);
  for (gsize i = 0; i < ny; i++)
    if (y2[i] != y_ref[i])
      g_error ("forward with arg-max: y[%zu] = %g, reference %g", i, y2[i], y_ref[i]);
  for (gsize i = 0; i < nx; i++)
    if (dx2[i] != dx_ref[i])
      g_error ("backward from arg-max: dx[%zu] = %g, reference %g", i, dx2[i], dx_ref[i]);
}

/* Hand-computed: 3×3 image x = −1 … −9, k3 s2 "same" pads one cell before
 * (top/left) and one after, and padded cells must not win over negatives. */
static void
test_ref_hand (void)
{
  GraftPoolShape s = { 1, 3, 3, 1, 3, 2 };
  float x[9], y[4], dx[9];
  for (int i = 0; i < 9; i++)
    x[i] = (float) -(i + 1);
  graft_maxpool_forward_ref (&s, x, y);
  const float want[4] = { -1, -2, -4, -5 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (y[i], ==, want[i]);
  const float dy[4] = { 1, 10, 100, 1000 };
  graft_maxpool_backward_ref (&s, x, dy, dx);
  const float want_dx[9] = { 1, 10, 0, 100, 1000, 0, 0, 0, 0 };
  for (int i = 0; i < 9; i++)
    g_assert_cmpfloat (dx[i], ==, want_dx[i]);
  /* Ties: the first maximum in row-major window order takes the gradient. */
  for (int i = 0; i < 9; i++)
    x[i] = 2.0f;
  graft_maxpool_backward_ref (&s, x, dy, dx);
  /* Window (oy, ox) starts at row 2·oy − 1, col 2·ox − 1; its first valid cell
   * is (oy, ox) here, where taking the last maximum would pick (oy+1, ox+1). */
  const float want_tie[9] = { 1, 10, 0, 100, 1000, 0, 0, 0, 0 };
  for (int i = 0; i < 9; i++)
    g_assert_cmpfloat (dx[i], ==, want_tie[i]);
}

/* Hand-computed: 4×4 image x = −1 … −16, k3 s2. PyTorch's padding 1 gives windows from rows
 * −1 and 1; "same" pads one row and column after only, windows from rows 0 and 2. */
static void
test_ref_hand_explicit (void)
{
  GraftPoolShape s = { 1, 4, 4, 1, 3, 2, TRUE, 1 };
  float x[16], y[4];
  for (int i = 0; i < 16; i++)
    x[i] = (float) -(i + 1);
  graft_maxpool_forward_ref (&s, x, y);
  const float want[4] = { -1, -2, -5, -6 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (y[i], ==, want[i]);
  s.explicit_pad = FALSE;
  s.pad = 0;
  graft_maxpool_forward_ref (&s, x, y);
  const float want_same[4] = { -1, -3, -9, -11 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (y[i], ==, want_same[i]);
}

/* Explicit padding p against an independent construction: no padding over the input with p
 * rows and columns of −∞ added on every side. */
static void
test_explicit_pad_is_minus_inf_border (gconstpointer data)
{
  const PoolCase *pc = data;
  const GraftPoolShape *s = &pc->s;
  int pd = s->pad, hp = s->h + 2 * pd, wp = s->w + 2 * pd;
  gsize nx = in_numel (s), ny = out_numel (s);
  g_autoptr (GRand) r = g_rand_new_with_seed (5);
  g_autofree float *x = g_new (float, nx);
  fill_input (r, pc, x, nx);
  g_autofree float *xp = g_new (float, (gsize) s->n * hp * wp * s->c);
  for (gsize i = 0; i < (gsize) s->n * hp * wp * s->c; i++)
    xp[i] = -INFINITY;
  for (int n = 0; n < s->n; n++)
    for (int yy = 0; yy < s->h; yy++)
      memcpy (xp + (((gsize) n * hp + yy + pd) * wp + pd) * s->c,
              x + (((gsize) n * s->h + yy) * s->w) * s->c, sizeof (float) * s->w * s->c);
  GraftPoolShape sv = *s;
  sv.h = hp;
  sv.w = wp;
  sv.pad = 0;
  g_assert_cmpint (out_h (&sv), ==, out_h (s));
  g_assert_cmpint (out_w (&sv), ==, out_w (s));
  g_autofree float *want = g_new (float, ny);
  graft_maxpool_forward_ref (&sv, xp, want);
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftTensor) tx = graft_test_upload (ctx, x, s->n, s->h, s->w, s->c);
  g_autoptr (GraftTensor) ty = graft_test_upload (ctx, NULL, s->n, out_h (s), out_w (s), s->c);
  g_assert_true (graft_maxpool_forward (ctx, s, tx, ty, &error));
  g_assert_no_error (error);
  g_autofree float *got = graft_test_download (ctx, ty);
  for (gsize i = 0; i < ny; i++)
    if (got[i] != want[i])
      g_error ("explicit padding: y[%zu] = %g, over a −∞ border %g", i, got[i], want[i]);
}

/* Padding over half the window (PyTorch refuses it too) is refused by name. */
static void
test_bad_padding (void)
{
  g_autoptr (GError) error = NULL;
  GraftPoolShape s = { 1, 5, 5, 2, 3, 2, TRUE, 2 };
  g_autoptr (GraftTensor) tx = graft_test_upload (ctx, NULL, 1, 5, 5, 2);
  g_autoptr (GraftTensor) ty = graft_test_upload (ctx, NULL, 1, 4, 4, 2);
  g_assert_false (graft_maxpool_forward (ctx, &s, tx, ty, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "more than half"));
}

static double
weighted_output (const GraftPoolShape *s, const float *x, const float *dy, float *y)
{
  graft_maxpool_forward_ref (s, x, y);
  double acc = 0;
  for (gsize i = 0; i < out_numel (s); i++)
    acc += (double) dy[i] * y[i];
  return acc;
}

/* Reference backward against central differences of sum(dy·y); inputs are
 * distinct and far apart, so the step never changes an arg-max. */
static void
test_ref_finite_diff (gconstpointer data)
{
  const PoolCase *pc = data;
  const GraftPoolShape *s = &pc->s;
  gsize nx = in_numel (s), ny = out_numel (s);
  g_autoptr (GRand) r = g_rand_new_with_seed (99);
  g_autofree float *x = g_new (float, nx);
  g_autofree float *dy = g_new (float, ny);
  g_autofree float *y = g_new (float, ny);
  g_autofree float *dx = g_new (float, nx);
  g_autofree float *fd = g_new (float, nx);
  for (gsize i = 0; i < nx; i++)
    x[i] = (float) (0.0625 * i - 0.03125 * nx);
  for (gsize i = nx - 1; i > 0; i--)
    {
      gsize j = g_rand_int_range (r, 0, (gint32) i + 1);
      float t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
  graft_test_fill_uniform (r, dy, ny, -1, 1);
  graft_maxpool_backward_ref (s, x, dy, dx);
  const float eps = 1.0f / 128;
  for (gsize i = 0; i < nx; i++)
    {
      float keep = x[i];
      x[i] = keep + eps;
      double up = weighted_output (s, x, dy, y);
      x[i] = keep - eps;
      double down = weighted_output (s, x, dy, y);
      x[i] = keep;
      fd[i] = (float) ((up - down) / (2.0 * eps));
    }
  graft_test_assert_close ("backward vs finite differences", dx, fd, nx, 1e-8);
}

static void
test_bad_shape (void)
{
  g_autoptr (GError) error = NULL;
  GraftPoolShape s = { 1, 5, 5, 2, 3, 2 };
  g_autoptr (GraftTensor) tx = graft_test_upload (ctx, NULL, 1, 5, 5, 2);
  g_autoptr (GraftTensor) ty = graft_test_upload (ctx, NULL, 1, 2, 2, 2);
  g_assert_false (graft_maxpool_forward (ctx, &s, tx, ty, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  g_test_add_func ("/maxpool/ref/hand-3x3-k3s2", test_ref_hand);
  g_test_add_func ("/maxpool/bad-shape", test_bad_shape);
  g_test_add_func ("/maxpool/ref/hand-4x4-k3s2-explicit", test_ref_hand_explicit);
  g_test_add_func ("/maxpool/bad-padding", test_bad_padding);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = case_name ("device-vs-ref", &cases[i]);
      g_test_add_data_func (name, &cases[i], test_device_vs_ref);
      if (!cases[i].ties && in_numel (&cases[i].s) <= 1000)
        {
          g_autofree char *fdname = case_name ("ref-grad", &cases[i]);
          g_test_add_data_func (fdname, &cases[i], test_ref_finite_diff);
        }
      if (cases[i].s.explicit_pad)
        {
          g_autofree char *pname = case_name ("explicit-pad", &cases[i]);
          g_test_add_data_func (pname, &cases[i], test_explicit_pad_is_minus_inf_border);
        }
    }
  int rc = g_test_run ();
  graft_context_free (ctx);
  return rc;
}
