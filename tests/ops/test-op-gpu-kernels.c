/* The GPU-shaped kernels (forced with GRAFT_KERNELS=gpu, so they run on any device) at sizes
 * that span many work-groups, reduction chunks and partial channel blocks, against the C
 * reference; and their reductions give the same bits run to run: batch normalisation's
 * statistics and gradients, and the depthwise kernel gradient, each computed five times. */
#include "graft-test.h"
#include "graft-ops.h"
#include "graft-kernel-variants.h"
#include "test-op-view.h"

#include <string.h>

#define REPEATS 5

static GraftContext *ctx;

typedef struct {
  int n, h, w, c;
  gboolean relu;
} Shape;

static void
assert_same_bits (const char *what, const float *a, const float *b, gsize n, int run)
{
  if (memcmp (a, b, n * sizeof (float)) == 0)
    return;
  gsize i = 0;
  while (i < n && memcmp (&a[i], &b[i], sizeof (float)) == 0)
    i++;
  g_error ("%s: run %d differs from run 0 at element %zu (%.9g against %.9g)", what, run, i,
           b[i], a[i]);
}

static void
test_batchnorm (gconstpointer data)
{
  const Shape *sh = data;
  GraftBatchNormShape s = { sh->n * sh->h * sh->w, sh->c, 1e-3f, 0.9f, sh->relu };
  gsize n = (gsize) s.rows * s.c, c = s.c;
  g_autoptr (GRand) r = g_rand_new_with_seed (77);
  g_autofree float *x = g_new (float, n), *dy = g_new (float, n);
  g_autofree float *gamma = g_new (float, c), *beta = g_new (float, c);
  g_autofree float *mm = g_new (float, c), *mv = g_new (float, c);
  graft_test_fill_uniform (r, x, n, 2, 4);
  graft_test_fill_uniform (r, dy, n, -1, 1);
  graft_test_fill_uniform (r, gamma, c, 0.5, 1.5);
  graft_test_fill_uniform (r, beta, c, -0.5, 0.5);
  graft_test_fill_uniform (r, mm, c, -0.5, 0.5);
  graft_test_fill_uniform (r, mv, c, 0.5, 2);

  g_autofree float *want_y = g_new (float, n), *want_mean = g_new (float, c);
  g_autofree float *want_inv = g_new (float, c);
  g_autofree float *want_mm = g_memdup2 (mm, sizeof (float) * c);
  g_autofree float *want_mv = g_memdup2 (mv, sizeof (float) * c);
  g_autofree float *want_dx = g_new (float, n), *want_dg = g_new (float, c);
  g_autofree float *want_db = g_new (float, c);
  graft_batchnorm_forward_train_ref (&s, x, gamma, beta, want_mm, want_mv, want_y, want_mean,
                                     want_inv);
  graft_batchnorm_backward_train_ref (&s, x, want_y, gamma, want_mean, want_inv, dy, want_dx,
                                      want_dg, want_db);

  g_autoptr (TestView) tx = test_view_new (ctx, x, sh->n, sh->h, sh->w, sh->c);
  g_autoptr (TestView) tdy = test_view_new (ctx, dy, sh->n, sh->h, sh->w, sh->c);
  g_autoptr (TestView) tg = test_view_new (ctx, gamma, 1, 1, 1, sh->c);
  g_autoptr (TestView) tb = test_view_new (ctx, beta, 1, 1, 1, sh->c);
  g_autoptr (TestView) ty = test_view_new (ctx, NULL, sh->n, sh->h, sh->w, sh->c);
  g_autoptr (TestView) tdx = test_view_new (ctx, NULL, sh->n, sh->h, sh->w, sh->c);
  g_autoptr (TestView) tmean = test_view_new (ctx, NULL, 1, 1, 1, sh->c);
  g_autoptr (TestView) tinv = test_view_new (ctx, NULL, 1, 1, 1, sh->c);
  g_autoptr (TestView) tdg = test_view_new (ctx, NULL, 1, 1, 1, sh->c);
  g_autoptr (TestView) tdb = test_view_new (ctx, NULL, 1, 1, 1, sh->c);
  /* results[run][output] */
  float *results[REPEATS][7];
  const char *names[7] = { "y", "saved mean", "saved invstd", "moving mean", "moving variance",
                           "dx", "dgamma" };
  for (int run = 0; run < REPEATS; run++)
    {
      g_autoptr (GError) error = NULL;
      /* The moving statistics start from the same values every run. */
      g_autoptr (TestView) tmm = test_view_new (ctx, mm, 1, 1, 1, sh->c);
      g_autoptr (TestView) tmv = test_view_new (ctx, mv, 1, 1, 1, sh->c);
      g_assert_true (graft_batchnorm_forward_train (ctx, &s, tx->view, tg->view, tb->view,
                                                    tmm->view, tmv->view, ty->view,
                                                    tmean->view, tinv->view, &error));
      g_assert_no_error (error);
      g_assert_true (graft_batchnorm_backward_train (ctx, &s, tx->view, tb->view, tg->view,
                                                     tmean->view, tinv->view, tdy->view,
                                                     tdx->view, tdg->view, tdb->view, &error));
      g_assert_no_error (error);
      results[run][0] = test_view_download (ctx, ty, names[0]);
      results[run][1] = test_view_download (ctx, tmean, names[1]);
      results[run][2] = test_view_download (ctx, tinv, names[2]);
      results[run][3] = test_view_download (ctx, tmm, names[3]);
      results[run][4] = test_view_download (ctx, tmv, names[4]);
      results[run][5] = test_view_download (ctx, tdx, names[5]);
      results[run][6] = test_view_download (ctx, tdg, names[6]);
    }
  for (int run = 0; run < REPEATS; run++)
    for (int o = 0; o < 7; o++)
      {
        gsize len = o == 0 || o == 5 ? n : c;
        if (run > 0)
          assert_same_bits (names[o], results[0][o], results[run][o], len, run);
      }
  graft_test_assert_close ("y", results[0][0], want_y, n, 1e-10);
  graft_test_assert_close ("saved mean", results[0][1], want_mean, c, 1e-10);
  graft_test_assert_close ("saved invstd", results[0][2], want_inv, c, 1e-10);
  graft_test_assert_close ("moving mean", results[0][3], want_mm, c, 1e-10);
  graft_test_assert_close ("moving variance", results[0][4], want_mv, c, 1e-10);
  graft_test_assert_close ("dx", results[0][5], want_dx, n, 1e-8);
  graft_test_assert_close ("dgamma", results[0][6], want_dg, c, 1e-8);
  g_autofree float *got_db = test_view_download (ctx, tdb, "dbeta");
  graft_test_assert_close ("dbeta", got_db, want_db, c, 1e-8);
  for (int run = 0; run < REPEATS; run++)
    for (int o = 0; o < 7; o++)
      g_free (results[run][o]);
}

static void
test_depthwise (gconstpointer data)
{
  const Shape *sh = data;
  GraftDepthwiseShape s = { sh->n, sh->h, sh->w, sh->c, 3 };
  gsize n = (gsize) s.n * s.h * s.w * s.c, nw = 9 * (gsize) s.c;
  g_autoptr (GRand) r = g_rand_new_with_seed (78);
  g_autofree float *x = g_new (float, n), *dy = g_new (float, n), *w = g_new (float, nw);
  graft_test_fill_uniform (r, x, n, -1, 1);
  graft_test_fill_uniform (r, dy, n, -1, 1);
  graft_test_fill_uniform (r, w, nw, -1, 1);
  g_autofree float *want_y = g_new (float, n), *want_dx = g_new (float, n);
  g_autofree float *want_dw = g_new (float, nw);
  graft_depthwise_forward_ref (&s, x, w, want_y);
  graft_depthwise_backward_ref (&s, x, w, dy, want_dx, want_dw);

  g_autoptr (TestView) tx = test_view_new (ctx, x, s.n, s.h, s.w, s.c);
  g_autoptr (TestView) tdy = test_view_new (ctx, dy, s.n, s.h, s.w, s.c);
  g_autoptr (TestView) tw = test_view_new (ctx, w, 3, 3, s.c, 1);
  g_autoptr (TestView) ty = test_view_new (ctx, NULL, s.n, s.h, s.w, s.c);
  g_autoptr (TestView) tdx = test_view_new (ctx, NULL, s.n, s.h, s.w, s.c);
  g_autoptr (TestView) tdw = test_view_new (ctx, NULL, 3, 3, s.c, 1);
  g_autofree float *first_dw = NULL;
  for (int run = 0; run < REPEATS; run++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (graft_depthwise_forward (ctx, &s, tx->view, tw->view, ty->view, &error));
      g_assert_no_error (error);
      g_assert_true (graft_depthwise_backward (ctx, &s, tx->view, tw->view, tdy->view, tdx->view,
                                               tdw->view, &error));
      g_assert_no_error (error);
      g_autofree float *got_dw = test_view_download (ctx, tdw, "dw");
      if (run == 0)
        {
          g_autofree float *got_y = test_view_download (ctx, ty, "y");
          g_autofree float *got_dx = test_view_download (ctx, tdx, "dx");
          graft_test_assert_close ("y", got_y, want_y, n, 1e-10);
          graft_test_assert_close ("dx", got_dx, want_dx, n, 1e-10);
          graft_test_assert_close ("dw", got_dw, want_dw, nw, 1e-9);
          first_dw = g_steal_pointer (&got_dw);
        }
      else
        assert_same_bits ("dw", first_dw, got_dw, nw, run);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("GRAFT_KERNELS", "gpu", TRUE);
  ctx = graft_test_context ();
  g_assert_true (graft_kernels_gpu (ctx));
  /* Many chunks of rows; channel counts that fill no work-group evenly. */
  static const Shape shapes[] = {
    { 8, 23, 21, 40, FALSE }, { 8, 23, 21, 40, TRUE }, { 4, 33, 17, 7, TRUE },
    { 2, 45, 45, 128, FALSE }, { 64, 3, 5, 33, TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      const Shape *sh = &shapes[i];
      g_autofree char *name = g_strdup_printf ("%dx%dx%dx%d%s", sh->n, sh->h, sh->w, sh->c,
                                               sh->relu ? "-relu" : "");
      g_autofree char *bn = g_strdup_printf ("/op/gpu-kernels/batchnorm/%s", name);
      g_test_add_data_func (bn, sh, test_batchnorm);
      if (!sh->relu)
        {
          g_autofree char *dw = g_strdup_printf ("/op/gpu-kernels/depthwise/%s", name);
          g_test_add_data_func (dw, sh, test_depthwise);
        }
    }
  int rc = g_test_run ();
  graft_context_free (ctx);
  return rc;
}
