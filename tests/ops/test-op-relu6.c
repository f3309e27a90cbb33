/* ReLU6: OpenCL against the C reference and against min(max(x, 0), 6) written here, in
 * place, the gradient at the clips (none at exactly 0 or 6, as PyTorch's hardtanh), and the
 * reference backward against finite differences. */
#include "graft-test.h"
#include "graft-ops.h"
#include "test-op-view.h"

static GraftContext *ctx;

typedef struct {
  int n, h, w, c;
} Case;

static gsize
case_numel (const Case *k)
{
  return (gsize) k->n * k->h * k->w * k->c;
}

/* Values in [−2, 9] at least 0.05 away from both kinks, so finite differences stay on one side;
 * every 17th is exactly 0 or 6. */
static float *
case_input (const Case *k, guint32 seed, gboolean kinks)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  gsize n = case_numel (k);
  float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    {
      float v;
      do
        v = (float) g_rand_double_range (r, -2.0, 9.0);
      while (fabsf (v) < 0.05f || fabsf (v - 6.0f) < 0.05f);
      if (kinks && i % 17 == 3)
        v = (i / 17) % 2 ? 6.0f : 0.0f;
      x[i] = v;
    }
  return x;
}

static void
test_forward (gconstpointer data)
{
  const Case *k = data;
  gsize n = case_numel (k);
  g_autofree float *x = case_input (k, 1, TRUE);
  g_autofree float *want = g_new (float, n);
  g_autofree float *clip = g_new (float, n);
  graft_relu6_forward_ref (n, x, want);
  for (gsize i = 0; i < n; i++)
    clip[i] = fminf (fmaxf (x[i], 0.0f), 6.0f);
  graft_test_assert_close ("relu6 reference", want, clip, n, 0.0);

  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) tx = test_view_new (ctx, x, k->n, k->h, k->w, k->c);
  g_autoptr (TestView) ty = test_view_new (ctx, NULL, k->n, k->h, k->w, k->c);
  g_assert_true (graft_relu6_forward (ctx, tx->view, ty->view, &error));
  g_assert_no_error (error);
  g_autofree float *got = test_view_download (ctx, ty, "relu6 forward");
  graft_test_assert_close ("relu6 forward", got, clip, n, 0.0);

  g_assert_true (graft_relu6_forward (ctx, tx->view, tx->view, &error));
  g_assert_no_error (error);
  g_autofree float *inplace = test_view_download (ctx, tx, "relu6 forward in place");
  graft_test_assert_close ("relu6 forward in place", inplace, clip, n, 0.0);
}

static void
test_backward (gconstpointer data)
{
  const Case *k = data;
  gsize n = case_numel (k);
  g_autofree float *x = case_input (k, 2, TRUE);
  g_autofree float *dy = case_input (k, 3, FALSE);
  g_autofree float *y = g_new (float, n);
  g_autofree float *want = g_new (float, n);
  graft_relu6_forward_ref (n, x, y);
  graft_relu6_backward_ref (n, y, dy, want);
  /* Written out: the gradient passes strictly between the clips only. */
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (want[i], ==, x[i] > 0 && x[i] < 6 ? dy[i] : 0.0f);

  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) ty = test_view_new (ctx, y, k->n, k->h, k->w, k->c);
  g_autoptr (TestView) tdy = test_view_new (ctx, dy, k->n, k->h, k->w, k->c);
  g_autoptr (TestView) tdx = test_view_new (ctx, NULL, k->n, k->h, k->w, k->c);
  g_assert_true (graft_relu6_backward (ctx, ty->view, tdy->view, tdx->view, &error));
  g_assert_no_error (error);
  g_autofree float *got = test_view_download (ctx, tdx, "relu6 backward");
  graft_test_assert_close ("relu6 backward", got, want, n, 0.0);

  g_assert_true (graft_relu6_backward (ctx, ty->view, tdy->view, tdy->view, &error));
  g_assert_no_error (error);
  g_autofree float *inplace = test_view_download (ctx, tdy, "relu6 backward in place");
  graft_test_assert_close ("relu6 backward in place", inplace, want, n, 0.0);
}

/* L(x) = Σ relu6(x)·r; its finite differences must match the reference backward. */
static void
test_reference_gradient (gconstpointer data)
{
  const Case *k = data;
  gsize n = case_numel (k);
  g_autofree float *x = case_input (k, 4, FALSE);
  g_autofree float *r = case_input (k, 5, FALSE);
  g_autofree float *y = g_new (float, n);
  g_autofree float *dx = g_new (float, n);
  graft_relu6_forward_ref (n, x, y);
  graft_relu6_backward_ref (n, y, r, dx);
  g_autoptr (GRand) pick = g_rand_new_with_seed (6);
  const float h = 1e-2f;
  for (int s = 0; s < 24; s++)
    {
      gsize i = (gsize) g_rand_int_range (pick, 0, (gint32) n);
      double loss[2];
      for (int side = 0; side < 2; side++)
        {
          float keep = x[i];
          x[i] = keep + (side ? -h : h);
          graft_relu6_forward_ref (n, x, y);
          x[i] = keep;
          loss[side] = 0;
          for (gsize j = 0; j < n; j++)
            loss[side] += (double) y[j] * r[j];
        }
      double fd = (loss[0] - loss[1]) / (2.0 * h);
      if (fabs (fd - dx[i]) > 1e-3 * MAX (1.0, fabs (dx[i])))
        g_error ("relu6 reference gradient at %" G_GSIZE_FORMAT ": %g, finite differences %g",
                 i, dx[i], fd);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  /* Sizes on and off multiples of 4 (the 4-wide kernels). */
  static const Case cases[] = {
    { 1, 1, 1, 1 }, { 1, 7, 9, 13 }, { 3, 5, 5, 16 }, { 2, 3, 3, 96 }, { 3, 1, 1, 3 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *k = &cases[i];
      g_autofree char *shape = g_strdup_printf ("%dx%dx%dx%d", k->n, k->h, k->w, k->c);
      g_autofree char *fwd = g_strdup_printf ("/op/relu6/fwd/%s", shape);
      g_autofree char *bwd = g_strdup_printf ("/op/relu6/bwd/%s", shape);
      g_autofree char *grad = g_strdup_printf ("/op/relu6/ref-grad/%s", shape);
      g_test_add_data_func (fwd, k, test_forward);
      g_test_add_data_func (bwd, k, test_backward);
      g_test_add_data_func (grad, k, test_reference_gradient);
    }
  int rc = g_test_run ();
  graft_context_free (ctx);
  return rc;
}
