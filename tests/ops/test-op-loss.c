/* Cross-entropy losses: OpenCL against the C reference, hand values for stability, finite differences, accumulation. */
#include "graft-test.h"
#include "graft-ops.h"

static GraftContext *ctx;

typedef struct {
  int n, k;
  gboolean extreme;    /* some logits at ±80, where a naive formula overflows */
} LossCase;

static const LossCase cases[] = {
  { 37, 1, FALSE }, { 37, 1, TRUE }, { 200, 1, TRUE },
  { 1, 5, FALSE }, { 130, 5, FALSE }, { 130, 5, TRUE }, { 64, 2, TRUE },
};

static void
fill_case (GRand *r, const LossCase *lc, float *z, float *labels)
{
  gsize nz = (gsize) lc->n * lc->k;
  graft_test_fill_uniform (r, z, nz, -4, 4);
  if (lc->extreme)
    for (gsize i = 0; i < nz; i += 3)
      z[i] = g_rand_boolean (r) ? 80.0f : -80.0f;
  for (int i = 0; i < lc->n; i++)
    labels[i] = (float) g_rand_int_range (r, 0, lc->k == 1 ? 2 : lc->k);
}

/* Loss and accuracy straight from the definitions, in double, for stats. */
static void
direct_stats (const LossCase *lc, const float *z, const float *labels, double *loss, double *correct)
{
  *loss = 0;
  *correct = 0;
  for (int i = 0; i < lc->n; i++)
    {
      const float *zr = z + (gsize) i * lc->k;
      int y = (int) labels[i];
      if (lc->k == 1)
        {
          /* −log σ(z) or −log(1−σ(z)) = softplus(∓z), softplus(t) = log(1+e^t). */
          double t = y ? -zr[0] : zr[0];
          *loss += t > 30 ? t + log1p (exp (-t)) : log1p (exp (t));
          *correct += (zr[0] > 0) == (y == 1);
          continue;
        }
      double mx = -INFINITY;
      int arg = -1;
      for (int j = 0; j < lc->k; j++)
        if (arg < 0 || zr[j] > mx)
          mx = zr[arg = j];
      double se = 0;
      for (int j = 0; j < lc->k; j++)
        se += exp (zr[j] - mx);
      *loss += -(zr[y] - mx - log (se));
      *correct += arg == y;
    }
}

static void
test_device_vs_ref (gconstpointer data)
{
  const LossCase *lc = data;
  gsize nz = (gsize) lc->n * lc->k;
  g_autoptr (GRand) r = g_rand_new_with_seed (lc->n * 10 + lc->k + lc->extreme);
  g_autofree float *z = g_new (float, nz);
  g_autofree float *labels = g_new (float, lc->n);
  g_autofree float *dz_ref = g_new (float, nz);
  fill_case (r, lc, z, labels);
  float stats_ref[2] = { 0, 0 };
  graft_loss_forward_backward_ref (lc->n, lc->k, z, labels, dz_ref, stats_ref);

  g_autoptr (GError) error = NULL;
  g_autoptr (GraftTensor) tz = graft_test_upload (ctx, z, lc->n, 1, 1, lc->k);
  g_autoptr (GraftTensor) tl = graft_test_upload (ctx, labels, lc->n, 1, 1, 1);
  g_autoptr (GraftTensor) tdz = graft_test_upload (ctx, NULL, lc->n, 1, 1, lc->k);
  g_autoptr (GraftTensor) ts = graft_test_upload (ctx, NULL, 1, 1, 1, 2);
  g_assert_true (graft_loss_forward_backward (ctx, tz, tl, tdz, ts, &error));
  g_assert_no_error (error);
  g_autofree float *dz = graft_test_download (ctx, tdz);
  g_autofree float *stats = graft_test_download (ctx, ts);

  for (gsize i = 0; i < nz; i++)
    g_assert_true (isfinite (dz[i]));
  g_assert_true (isfinite (stats[0]));
  graft_test_assert_close ("dlogits", dz, dz_ref, nz, 1e-10);
  graft_test_assert_close ("loss sum", stats, stats_ref, 1, 1e-10);
  g_assert_cmpfloat (stats[1], ==, stats_ref[1]);

  double loss, correct;
  direct_stats (lc, z, labels, &loss, &correct);
  g_test_message ("loss sum %.6g (direct %.6g), correct %g (direct %g)", stats[0], loss,
                  stats[1], correct);
  g_assert_cmpfloat (fabs (stats_ref[0] - loss), <=, 1e-5 * MAX (1.0, loss));
  g_assert_cmpfloat (stats_ref[1], ==, correct);

  /* Each row of the mean-loss gradient sums to (Σσ or 1) − label over N: for
   * softmax the row sums to zero. */
  if (lc->k > 1)
    for (int i = 0; i < lc->n; i++)
      {
        double s = 0;
        for (int j = 0; j < lc->k; j++)
          s += dz[(gsize) i * lc->k + j];
        g_assert_cmpfloat (fabs (s), <=, 1e-6);
      }
}

/* Reference gradient against central differences of the reference mean loss. */
static void
test_ref_finite_diff (gconstpointer data)
{
  const LossCase *lc = data;
  gsize nz = (gsize) lc->n * lc->k;
  g_autoptr (GRand) r = g_rand_new_with_seed (17 + lc->k);
  g_autofree float *z = g_new (float, nz);
  g_autofree float *labels = g_new (float, lc->n);
  g_autofree float *dz = g_new (float, nz);
  g_autofree float *fd = g_new (float, nz);
  fill_case (r, lc, z, labels);
  float stats[2] = { 0, 0 };
  graft_loss_forward_backward_ref (lc->n, lc->k, z, labels, dz, stats);
  const float eps = 1.0f / 256;
  for (int i = 0; i < lc->n; i++)
    for (int j = 0; j < lc->k; j++)
      {
        /* Only row i depends on z[i, j]: difference that row's loss alone so
         * the float sum of the others does not drown the change. */
        float *zr = z + (gsize) i * lc->k;
        float keep = zr[j];
        float up[2] = { 0, 0 }, down[2] = { 0, 0 };
        zr[j] = keep + eps;
        graft_loss_forward_backward_ref (1, lc->k, zr, labels + i, NULL, up);
        zr[j] = keep - eps;
        graft_loss_forward_backward_ref (1, lc->k, zr, labels + i, NULL, down);
        zr[j] = keep;
        fd[(gsize) i * lc->k + j] = (float) (((double) up[0] - down[0]) / (2.0 * eps) / lc->n);
      }
  graft_test_assert_close ("dlogits vs finite differences", dz, fd, nz, 1e-6);
}

/* Values known in closed form at the extremes, computed by hand. */
static void
test_extreme_hand (void)
{
  g_autoptr (GError) error = NULL;
  /* BCE: z = 80, y = 0 costs 80; z = −80, y = 1 costs 80; the two right answers ~0. */
  const float z1[4] = { 80, -80, 80, -80 }, l1[4] = { 0, 1, 1, 0 };
  g_autoptr (GraftTensor) tz = graft_test_upload (ctx, z1, 4, 1, 1, 1);
  g_autoptr (GraftTensor) tl = graft_test_upload (ctx, l1, 4, 1, 1, 1);
  g_autoptr (GraftTensor) tdz = graft_test_upload (ctx, NULL, 4, 1, 1, 1);
  g_autoptr (GraftTensor) ts = graft_test_upload (ctx, NULL, 1, 1, 1, 2);
  if (!graft_loss_forward_backward (ctx, tz, tl, tdz, ts, &error)) g_error ("%s", error->message);
  g_assert_no_error (error);
  float s[2], d[4];
  graft_tensor_read (ctx, ts, s, &error);
  graft_tensor_read (ctx, tdz, d, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (s[0], 160.0, 1e-3);
  g_assert_cmpfloat (s[1], ==, 2);
  /* (σ(z) − y)/N: +1/4, −1/4, ~0, ~0. */
  const float want[4] = { 0.25f, -0.25f, 0, 0 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (d[i], want[i], 1e-6);

  /* Softmax: logits (80, −80, 0, 0, 0) with label 1 cost 160 − log(1+…) ≈ 160;
   * (1, 3, 3, 0, 0) has its first maximum at 1, so label 2 is wrong and label 1 right. */
  const float z5[15] = { 80, -80, 0, 0, 0, 1, 3, 3, 0, 0, 1, 3, 3, 0, 0 };
  const float l5[3] = { 1, 2, 1 };
  g_autoptr (GraftTensor) tz5 = graft_test_upload (ctx, z5, 3, 1, 1, 5);
  g_autoptr (GraftTensor) tl5 = graft_test_upload (ctx, l5, 3, 1, 1, 1);
  g_autoptr (GraftTensor) ts5 = graft_test_upload (ctx, NULL, 1, 1, 1, 2);
  g_assert_true (graft_loss_forward_backward (ctx, tz5, tl5, NULL, ts5, &error));
  g_assert_no_error (error);
  graft_tensor_read (ctx, ts5, s, &error);
  g_assert_no_error (error);
  double row23 = 2 * (log (exp (1.0) + 2 * exp (3.0) + 2.0) - 3.0);
  g_assert_cmpfloat_with_epsilon (s[0], 160.0 + row23, 1e-3);
  g_assert_cmpfloat (s[1], ==, 1);
}

/* stats is added to, so two batches give the sum of both on top of what was there. */
static void
test_accumulate (void)
{
  LossCase lc = { 50, 5, FALSE };
  g_autoptr (GRand) r = g_rand_new_with_seed (3);
  float za[250], zb[250], la[50], lb[50];
  fill_case (r, &lc, za, la);
  fill_case (r, &lc, zb, lb);
  float want[2] = { 1.5f, 2.0f };
  graft_loss_forward_backward_ref (50, 5, za, la, NULL, want);
  graft_loss_forward_backward_ref (50, 5, zb, lb, NULL, want);
  double la_sum, la_ok, lb_sum, lb_ok;
  direct_stats (&lc, za, la, &la_sum, &la_ok);
  direct_stats (&lc, zb, lb, &lb_sum, &lb_ok);
  g_assert_cmpfloat_with_epsilon (want[0], 1.5 + la_sum + lb_sum, 1e-3);
  g_assert_cmpfloat (want[1], ==, 2.0 + la_ok + lb_ok);

  g_autoptr (GError) error = NULL;
  const float init[2] = { 1.5f, 2.0f };
  g_autoptr (GraftTensor) ta = graft_test_upload (ctx, za, 50, 1, 1, 5);
  g_autoptr (GraftTensor) tb = graft_test_upload (ctx, zb, 50, 1, 1, 5);
  g_autoptr (GraftTensor) tla = graft_test_upload (ctx, la, 50, 1, 1, 1);
  g_autoptr (GraftTensor) tlb = graft_test_upload (ctx, lb, 50, 1, 1, 1);
  g_autoptr (GraftTensor) tdz = graft_test_upload (ctx, NULL, 50, 1, 1, 5);
  /* stats as a view at an offset, as a trainer may keep it beside other counters. */
  g_autoptr (GraftTensor) back = graft_test_upload (ctx, NULL, 1, 1, 1, 8);
  g_autoptr (GraftTensor) ts = graft_tensor_view (back->mem, 3, 1, 1, 1, 2);
  graft_tensor_write (ctx, ts, init, &error);
  g_assert_no_error (error);
  g_assert_true (graft_loss_forward_backward (ctx, ta, tla, tdz, ts, &error));
  g_assert_true (graft_loss_forward_backward (ctx, tb, tlb, NULL, ts, &error));
  g_assert_no_error (error);
  g_autofree float *all = graft_test_download (ctx, back);
  g_assert_cmpfloat_with_epsilon (all[3], want[0], 1e-4 * want[0]);
  g_assert_cmpfloat (all[4], ==, want[1]);
  for (int i = 0; i < 8; i++)
    if (i != 3 && i != 4)
      g_assert_cmpfloat (all[i], ==, 0.0f);
}

static void
test_bad_shape (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftTensor) tz = graft_test_upload (ctx, NULL, 4, 1, 1, 3);
  g_autoptr (GraftTensor) tl = graft_test_upload (ctx, NULL, 5, 1, 1, 1);
  g_autoptr (GraftTensor) ts = graft_test_upload (ctx, NULL, 1, 1, 1, 2);
  g_assert_false (graft_loss_forward_backward (ctx, tz, tl, NULL, ts, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/loss/device-vs-ref/n%d-k%d%s", cases[i].n,
                                               cases[i].k, cases[i].extreme ? "-extreme" : "");
      g_test_add_data_func (name, &cases[i], test_device_vs_ref);
      if (!cases[i].extreme)
        {
          g_autofree char *fd = g_strdup_printf ("/loss/ref-grad/n%d-k%d", cases[i].n, cases[i].k);
          g_test_add_data_func (fd, &cases[i], test_ref_finite_diff);
        }
    }
  g_test_add_func ("/loss/extreme-hand", test_extreme_hand);
  g_test_add_func ("/loss/accumulate", test_accumulate);
  g_test_add_func ("/loss/bad-shape", test_bad_shape);
  int rc = g_test_run ();
  graft_context_free (ctx);
  return rc;
}
