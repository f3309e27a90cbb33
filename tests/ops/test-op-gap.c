/* Global average pooling: OpenCL vs the C reference, and the reference's backward vs finite differences. */
#include "graft-test.h"
#include "graft-ops.h"

static GraftContext *ctx;

/* n, h, w, c */
static const int shapes[][4] = {
  { 1, 1, 1, 1 }, { 3, 7, 9, 5 }, { 1, 12, 12, 13 }, { 2, 37, 41, 3 }, { 3, 1, 1, 16 },
  { 2, 12, 12, 1024 },
};

static void
test_forward (gconstpointer p)
{
  const int *s = p;
  int n = s[0], hw = s[1] * s[2], c = s[3];
  gsize nx = (gsize) n * hw * c, ny = (gsize) n * c;
  g_autoptr (GRand) r = g_rand_new_with_seed (1);
  g_autofree float *x = g_new (float, nx);
  g_autofree float *want = g_new (float, ny);
  graft_test_fill_uniform (r, x, nx, -1, 2);
  graft_gap_forward_ref (n, hw, c, x, want);
  g_autoptr (GraftTensor) dx = graft_test_upload (ctx, x, n, s[1], s[2], c);
  g_autoptr (GraftTensor) dy = graft_test_upload (ctx, NULL, n, 1, 1, c);
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_gap_forward (ctx, dx, dy, &error));
  g_assert_no_error (error);
  g_autofree float *got = graft_test_download (ctx, dy);
  graft_test_assert_close ("y", got, want, ny, 1e-10);
}

static void
test_backward (gconstpointer p)
{
  const int *s = p;
  int n = s[0], hw = s[1] * s[2], c = s[3];
  gsize nx = (gsize) n * hw * c, ny = (gsize) n * c;
  g_autoptr (GRand) r = g_rand_new_with_seed (2);
  g_autofree float *dy = g_new (float, ny);
  g_autofree float *want = g_new (float, nx);
  graft_test_fill_uniform (r, dy, ny, -1, 1);
  graft_gap_backward_ref (n, hw, c, dy, want);
  g_autoptr (GraftTensor) ddy = graft_test_upload (ctx, dy, n, 1, 1, c);
  g_autoptr (GraftTensor) ddx = graft_test_upload (ctx, NULL, n, s[1], s[2], c);
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_gap_backward (ctx, ddy, ddx, &error));
  g_assert_no_error (error);
  g_autofree float *got = graft_test_download (ctx, ddx);
  graft_test_assert_close ("dx", got, want, nx, 1e-10);
}

/* L = sum(y·r); checks dL/dx of the reference on sampled elements. */
static void
test_finite_diff (gconstpointer p)
{
  const int *s = p;
  int n = s[0], hw = s[1] * s[2], c = s[3];
  gsize nx = (gsize) n * hw * c, ny = (gsize) n * c;
  g_autoptr (GRand) r = g_rand_new_with_seed (3);
  g_autofree float *x = g_new (float, nx);
  g_autofree float *rr = g_new (float, ny);
  g_autofree float *y = g_new (float, ny);
  g_autofree float *dx = g_new (float, nx);
  graft_test_fill_uniform (r, x, nx, -1, 1);
  graft_test_fill_uniform (r, rr, ny, -1, 1);
  graft_gap_backward_ref (n, hw, c, rr, dx);
  for (int k = 0; k < 8; k++)
    {
      gsize i = k == 0 ? nx - 1 : (gsize) g_rand_int_range (r, 0, (gint32) nx);
      float keep = x[i], hi = keep + 0.25f, lo = keep - 0.25f;
      double l[2];
      for (int side = 0; side < 2; side++)
        {
          x[i] = side ? lo : hi;
          graft_gap_forward_ref (n, hw, c, x, y);
          l[side] = 0;
          for (gsize j = 0; j < ny; j++)
            l[side] += (double) y[j] * rr[j];
        }
      x[i] = keep;
      double fd = (l[0] - l[1]) / ((double) hi - lo);
      double err = fabs (fd - dx[i]) / MAX (MAX (fabs (fd), fabs (dx[i])), 1e-3);
      if (err > 1e-3)
        g_error ("dx[%zu]: backward %.8g, finite difference %.8g", i, dx[i], fd);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      const int *s = shapes[i];
      g_autofree char *name = g_strdup_printf ("%dx%dx%dx%d", s[0], s[1], s[2], s[3]);
      g_autofree char *fwd = g_strdup_printf ("/op/gap/fwd/%s", name);
      g_autofree char *bwd = g_strdup_printf ("/op/gap/bwd/%s", name);
      g_autofree char *fd = g_strdup_printf ("/op/gap/ref-grad/%s", name);
      g_test_add_data_func (fwd, s, test_forward);
      g_test_add_data_func (bwd, s, test_backward);
      g_test_add_data_func (fd, s, test_finite_diff);
    }
  int rc = g_test_run ();
  graft_context_free (ctx);
  return rc;
}
