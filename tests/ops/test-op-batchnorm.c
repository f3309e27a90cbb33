/* Batch normalisation (with and without fused ReLU): OpenCL against the C reference for every
 * output in training and inference, the moving-variance rule against statistics computed
 * here, and the reference backward against finite differences of the reference forward. */
#include "graft-test.h"
#include "graft-ops.h"
#include "test-op-view.h"

#include <string.h>

static GraftContext *ctx;

typedef struct {
  int n, h, w, c;
  float offset;  /* added to x: a large mean must not spoil the variance */
  gboolean relu;
} Shape;

typedef struct {
  Shape sh;
  GraftBatchNormShape s;
  char *name;
  float *x, *gamma, *beta, *mmean, *mvar, *dy;
} Case;

static gsize
numel (const Case *k)
{
  return (gsize) k->s.rows * k->s.c;
}

static TestView *
upload_x (const Case *k, const float *data)
{
  return test_view_new (ctx, data, k->sh.n, k->sh.h, k->sh.w, k->sh.c);
}

static TestView *
upload_vec (const Case *k, const float *data)
{
  return test_view_new (ctx, data, 1, 1, 1, k->s.c);
}

static void
test_train_forward (gconstpointer data)
{
  const Case *k = data;
  gsize n = numel (k), c = k->s.c;
  g_autofree float *y = g_new (float, n);
  g_autofree float *mean = g_new (float, c);
  g_autofree float *inv = g_new (float, c);
  g_autofree float *mm = g_memdup2 (k->mmean, sizeof (float) * c);
  g_autofree float *mv = g_memdup2 (k->mvar, sizeof (float) * c);
  graft_batchnorm_forward_train_ref (&k->s, k->x, k->gamma, k->beta, mm, mv, y, mean, inv);

  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) tx = upload_x (k, k->x);
  g_autoptr (TestView) tg = upload_vec (k, k->gamma);
  g_autoptr (TestView) tb = upload_vec (k, k->beta);
  g_autoptr (TestView) tmm = upload_vec (k, k->mmean);
  g_autoptr (TestView) tmv = upload_vec (k, k->mvar);
  g_autoptr (TestView) ty = upload_x (k, NULL);
  g_autoptr (TestView) tmean = upload_vec (k, NULL);
  g_autoptr (TestView) tinv = upload_vec (k, NULL);
  graft_batchnorm_forward_train (ctx, &k->s, tx->view, tg->view, tb->view, tmm->view, tmv->view,
                                 ty->view, tmean->view, tinv->view, &error);
  g_assert_no_error (error);
  g_autofree float *got_y = test_view_download (ctx, ty, "y");
  g_autofree float *got_mean = test_view_download (ctx, tmean, "saved mean");
  g_autofree float *got_inv = test_view_download (ctx, tinv, "saved invstd");
  g_autofree float *got_mm = test_view_download (ctx, tmm, "moving mean");
  g_autofree float *got_mv = test_view_download (ctx, tmv, "moving variance");
  graft_test_assert_close ("y", got_y, y, n, 1e-10);
  graft_test_assert_close ("saved mean", got_mean, mean, c, 1e-10);
  graft_test_assert_close ("saved invstd", got_inv, inv, c, 1e-10);
  graft_test_assert_close ("moving mean", got_mm, mm, c, 1e-10);
  graft_test_assert_close ("moving variance", got_mv, mv, c, 1e-10);

  /* Without buffers for the saved statistics the output is the same. */
  g_autoptr (TestView) ty2 = upload_x (k, NULL);
  graft_batchnorm_forward_train (ctx, &k->s, tx->view, tg->view, tb->view, tmm->view, tmv->view,
                                 ty2->view, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree float *got_y2 = test_view_download (ctx, ty2, "y without saved statistics");
  graft_test_assert_close ("y without saved statistics", got_y2, y, n, 1e-10);
}

/* moving_var' = momentum·moving_var + (1 − momentum)·var·rows/(rows − 1), with the batch mean
 * and variance computed here in double, for both the reference and the device. */
static void
test_moving_variance_rule (gconstpointer data)
{
  const Case *k = data;
  gsize n = numel (k);
  int c = k->s.c, rows = k->s.rows;
  /* A smaller momentum than Keras' 0.99 makes the batch's share, and so the rule, stand out. */
  GraftBatchNormShape s = k->s;
  s.momentum = 0.9f;
  g_autofree float *y = g_new (float, n);
  g_autofree float *mm = g_memdup2 (k->mmean, sizeof (float) * c);
  g_autofree float *mv = g_memdup2 (k->mvar, sizeof (float) * c);
  graft_batchnorm_forward_train_ref (&s, k->x, k->gamma, k->beta, mm, mv, y, NULL, NULL);

  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) tx = upload_x (k, k->x);
  g_autoptr (TestView) tg = upload_vec (k, k->gamma);
  g_autoptr (TestView) tb = upload_vec (k, k->beta);
  g_autoptr (TestView) tmm = upload_vec (k, k->mmean);
  g_autoptr (TestView) tmv = upload_vec (k, k->mvar);
  g_autoptr (TestView) ty = upload_x (k, NULL);
  graft_batchnorm_forward_train (ctx, &s, tx->view, tg->view, tb->view, tmm->view, tmv->view,
                                 ty->view, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree float *got_mm = test_view_download (ctx, tmm, "moving mean");
  g_autofree float *got_mv = test_view_download (ctx, tmv, "moving variance");

  double m = s.momentum;
  for (int ch = 0; ch < c; ch++)
    {
      double mean = 0, var = 0;
      for (int r = 0; r < rows; r++)
        mean += k->x[(gsize) r * c + ch];
      mean /= rows;
      for (int r = 0; r < rows; r++)
        var += pow (k->x[(gsize) r * c + ch] - mean, 2);
      var /= rows;
      /* One row has no spread to correct (TensorFlow divides by max(rows − 1, 1)). */
      double unbiased = rows > 1 ? var * rows / (rows - 1) : var;
      double want_mv = m * k->mvar[ch] + (1 - m) * unbiased;
      double want_mm = m * k->mmean[ch] + (1 - m) * mean;
      double tol_v = 2e-6 * fabs (want_mv) + 1e-7, tol_m = 2e-6 * fabs (want_mm) + 1e-6;
      if (fabs (mv[ch] - want_mv) > tol_v || fabs (got_mv[ch] - want_mv) > tol_v)
        g_error ("moving variance of channel %d: reference %g, device %g, expected %g", ch,
                 mv[ch], got_mv[ch], want_mv);
      if (fabs (mm[ch] - want_mm) > tol_m || fabs (got_mm[ch] - want_mm) > tol_m)
        g_error ("moving mean of channel %d: reference %g, device %g, expected %g", ch,
                 mm[ch], got_mm[ch], want_mm);
      /* The biased variance would be told apart at these sizes (rows − 1 vs rows). */
      if (rows > 1 && var > 0)
        g_assert_cmpfloat (fabs ((m * k->mvar[ch] + (1 - m) * var) - want_mv), >, 2 * tol_v);
    }
}

static void
test_infer_forward (gconstpointer data)
{
  const Case *k = data;
  gsize n = numel (k);
  g_autofree float *y = g_new (float, n);
  graft_batchnorm_forward_infer_ref (&k->s, k->x, k->gamma, k->beta, k->mmean, k->mvar, y);

  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) tx = upload_x (k, k->x);
  g_autoptr (TestView) tg = upload_vec (k, k->gamma);
  g_autoptr (TestView) tb = upload_vec (k, k->beta);
  g_autoptr (TestView) tmm = upload_vec (k, k->mmean);
  g_autoptr (TestView) tmv = upload_vec (k, k->mvar);
  g_autoptr (TestView) ty = upload_x (k, NULL);
  graft_batchnorm_forward_infer (ctx, &k->s, tx->view, tg->view, tb->view, tmm->view, tmv->view,
                                 ty->view, &error);
  g_assert_no_error (error);
  g_autofree float *got = test_view_download (ctx, ty, "y");
  graft_test_assert_close ("inference y", got, y, n, 1e-10);
}

/* which: bit 0 dx, bit 1 dgamma, bit 2 dbeta. */
static void
run_train_backward (const Case *k, int which)
{
  gsize n = numel (k), c = k->s.c;
  g_autofree float *y = g_new (float, n);
  g_autofree float *mean = g_new (float, c);
  g_autofree float *inv = g_new (float, c);
  g_autofree float *mm = g_memdup2 (k->mmean, sizeof (float) * c);
  g_autofree float *mv = g_memdup2 (k->mvar, sizeof (float) * c);
  graft_batchnorm_forward_train_ref (&k->s, k->x, k->gamma, k->beta, mm, mv, y, mean, inv);
  g_autofree float *dx = g_new (float, n);
  g_autofree float *dg = g_new (float, c);
  g_autofree float *db = g_new (float, c);
  graft_batchnorm_backward_train_ref (&k->s, k->x, y, k->gamma, mean, inv, k->dy, dx, dg, db);

  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) tx = upload_x (k, k->x);
  /* The reference gates by its forward output y; the device recomputes the gate from x and β. */
  g_autoptr (TestView) tbeta = upload_vec (k, k->beta);
  g_autoptr (TestView) tdy = upload_x (k, k->dy);
  g_autoptr (TestView) tg = upload_vec (k, k->gamma);
  g_autoptr (TestView) tmean = upload_vec (k, mean);
  g_autoptr (TestView) tinv = upload_vec (k, inv);
  g_autoptr (TestView) tdx = upload_x (k, NULL);
  g_autoptr (TestView) tdg = upload_vec (k, NULL);
  g_autoptr (TestView) tdb = upload_vec (k, NULL);
  graft_batchnorm_backward_train (ctx, &k->s, tx->view, tbeta->view, tg->view, tmean->view,
                                  tinv->view, tdy->view, (which & 1) ? tdx->view : NULL,
                                  (which & 2) ? tdg->view : NULL, (which & 4) ? tdb->view : NULL,
                                  &error);
  g_assert_no_error (error);
  g_autofree float *got_dx = test_view_download (ctx, tdx, "dx");
  g_autofree float *got_dg = test_view_download (ctx, tdg, "dgamma");
  g_autofree float *got_db = test_view_download (ctx, tdb, "dbeta");
  const float *got[3] = { got_dx, got_dg, got_db };
  const float *want[3] = { dx, dg, db };
  const gsize len[3] = { n, c, c };
  const char *what[3] = { "dx", "dgamma", "dbeta" };
  for (int i = 0; i < 3; i++)
    {
      if (which & (1 << i))
        {
          graft_test_assert_close (what[i], got[i], want[i], len[i], 1e-10);
          continue;
        }
      /* A gradient not asked for is left alone. */
      for (gsize j = 0; j < len[i]; j++)
        g_assert_cmpfloat (got[i][j], ==, 0.0f);
    }
}

static void
test_train_backward (gconstpointer data)
{
  run_train_backward (data, 7);
}

static void
test_train_backward_some (gconstpointer data)
{
  run_train_backward (data, 1);
  run_train_backward (data, 6);
}

static void
test_infer_backward (gconstpointer data)
{
  const Case *k = data;
  gsize n = numel (k);
  g_autofree float *y = g_new (float, n);
  g_autofree float *dx = g_new (float, n);
  graft_batchnorm_forward_infer_ref (&k->s, k->x, k->gamma, k->beta, k->mmean, k->mvar, y);
  graft_batchnorm_backward_infer_ref (&k->s, y, k->gamma, k->mvar, k->dy, dx);

  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) ty = upload_x (k, y);
  g_autoptr (TestView) tdy = upload_x (k, k->dy);
  g_autoptr (TestView) tg = upload_vec (k, k->gamma);
  g_autoptr (TestView) tmv = upload_vec (k, k->mvar);
  g_autoptr (TestView) tdx = upload_x (k, NULL);
  graft_batchnorm_backward_infer (ctx, &k->s, ty->view, tg->view, tmv->view, tdy->view,
                                  tdx->view, &error);
  g_assert_no_error (error);
  g_autofree float *got = test_view_download (ctx, tdx, "dx");
  graft_test_assert_close ("inference dx", got, dx, n, 1e-10);
}

/* ReLU6: the device's training and inference outputs are the plain BN's (reference, no
 * activation) clipped to [0, 6] here; the case must reach both clips. */
static void
test_relu6_clip (gconstpointer data)
{
  const Case *k = data;
  if (!k->s.relu6)
    return;
  gsize n = numel (k), c = k->s.c;
  GraftBatchNormShape plain = k->s;
  plain.relu = plain.relu6 = FALSE;
  for (int train = 0; train < 2; train++)
    {
      g_autofree float *want = g_new (float, n);
      g_autofree float *mm = g_memdup2 (k->mmean, sizeof (float) * c);
      g_autofree float *mv = g_memdup2 (k->mvar, sizeof (float) * c);
      if (train)
        graft_batchnorm_forward_train_ref (&plain, k->x, k->gamma, k->beta, mm, mv, want, NULL,
                                           NULL);
      else
        graft_batchnorm_forward_infer_ref (&plain, k->x, k->gamma, k->beta, mm, mv, want);
      int low = 0, high = 0;
      for (gsize i = 0; i < n; i++)
        {
          low += want[i] < 0;
          high += want[i] > 6;
          want[i] = CLAMP (want[i], 0.0f, 6.0f);
        }
      if (n >= 64)
        {
          g_assert_cmpint (low, >, 0);
          g_assert_cmpint (high, >, 0);
        }
      g_autoptr (GError) error = NULL;
      g_autoptr (TestView) tx = upload_x (k, k->x);
      g_autoptr (TestView) tg = upload_vec (k, k->gamma);
      g_autoptr (TestView) tb = upload_vec (k, k->beta);
      g_autoptr (TestView) tmm = upload_vec (k, k->mmean);
      g_autoptr (TestView) tmv = upload_vec (k, k->mvar);
      g_autoptr (TestView) ty = upload_x (k, NULL);
      if (train)
        graft_batchnorm_forward_train (ctx, &k->s, tx->view, tg->view, tb->view, tmm->view,
                                       tmv->view, ty->view, NULL, NULL, &error);
      else
        graft_batchnorm_forward_infer (ctx, &k->s, tx->view, tg->view, tb->view, tmm->view,
                                       tmv->view, ty->view, &error);
      g_assert_no_error (error);
      g_autofree float *got = test_view_download (ctx, ty, "relu6 y");
      graft_test_assert_close (train ? "relu6 train y" : "relu6 infer y", got, want, n, 1e-10);
    }
}

/* ---- finite differences of the reference ---- */

typedef struct {
  const Case *k;
  gboolean train;
  float *x, *gamma, *beta;  /* perturbed copies */
  float *y, *mm, *mv;       /* scratch */
} Probe;

/* L = Σ y·dy (dy plays the fixed random r); pre-activations go to @z when asked. */
static double
probe_loss (Probe *p, float *z)
{
  const Case *k = p->k;
  GraftBatchNormShape s = k->s;
  if (z)
    s.relu = s.relu6 = FALSE;
  float *out = z ? z : p->y;
  if (p->train)
    {
      memcpy (p->mm, k->mmean, sizeof (float) * s.c);
      memcpy (p->mv, k->mvar, sizeof (float) * s.c);
      graft_batchnorm_forward_train_ref (&s, p->x, p->gamma, p->beta, p->mm, p->mv, out, NULL,
                                         NULL);
    }
  else
    graft_batchnorm_forward_infer_ref (&s, p->x, p->gamma, p->beta, k->mmean, k->mvar, out);
  double l = 0;
  for (gsize j = 0; j < numel (k); j++)
    l += (double) out[j] * k->dy[j];
  return l;
}

/* Central difference of L in v[i], or FALSE when the step moves some pre-activation across
 * ReLU's kink (the difference would not be the derivative there). */
static gboolean
probe_difference (Probe *p, float *v, gsize i, double *out)
{
  const float h = 1e-2f;
  gsize n = numel (p->k);
  g_autofree float *zp = g_new (float, n);
  g_autofree float *zm = g_new (float, n);
  float keep = v[i];
  v[i] = keep + h;
  double up = v[i];
  double lp = probe_loss (p, NULL);
  probe_loss (p, zp);
  v[i] = keep - h;
  double down = v[i];
  double lm = probe_loss (p, NULL);
  probe_loss (p, zm);
  v[i] = keep;
  if (p->k->s.relu || p->k->s.relu6)
    for (gsize j = 0; j < n; j++)
      if ((zp[j] > 0) != (zm[j] > 0) || (p->k->s.relu6 && (zp[j] < 6) != (zm[j] < 6)))
        return FALSE;
  *out = (lp - lm) / (up - down);
  return TRUE;
}

static void
check_gradient (Probe *p, const char *what, float *v, gsize len, const float *grad, GRand *pick)
{
  int checked = 0;
  for (int tries = 0; tries < 200 && checked < 12; tries++)
    {
      gsize i = (gsize) g_rand_int_range (pick, 0, (gint32) len);
      double fd;
      if (!probe_difference (p, v, i, &fd))
        continue;
      checked++;
      if (fabs (fd - grad[i]) > 5e-3 * MAX (1.0, fabs (grad[i])))
        g_error ("%s: reference %s[%" G_GSIZE_FORMAT "] = %g, finite differences %g",
                 p->k->name, what, i, grad[i], fd);
    }
  g_assert_cmpint (checked, >, 0);
}

/* Training mode differentiates through the batch mean and variance. */
static void
test_reference_gradient (const Case *k, gboolean train)
{
  gsize n = numel (k), c = k->s.c;
  Probe p = { k, train, g_memdup2 (k->x, sizeof (float) * n),
              g_memdup2 (k->gamma, sizeof (float) * c), g_memdup2 (k->beta, sizeof (float) * c),
              g_new (float, n), g_new (float, c), g_new (float, c) };
  g_autofree float *y = g_new (float, n);
  g_autofree float *mean = g_new (float, c);
  g_autofree float *inv = g_new (float, c);
  g_autofree float *dx = g_new (float, n);
  g_autofree float *dg = g_new (float, c);
  g_autofree float *db = g_new (float, c);
  g_autoptr (GRand) pick = g_rand_new_with_seed (99);
  if (train)
    {
      memcpy (p.mm, k->mmean, sizeof (float) * c);
      memcpy (p.mv, k->mvar, sizeof (float) * c);
      graft_batchnorm_forward_train_ref (&k->s, k->x, k->gamma, k->beta, p.mm, p.mv, y, mean,
                                         inv);
      graft_batchnorm_backward_train_ref (&k->s, k->x, y, k->gamma, mean, inv, k->dy, dx, dg,
                                          db);
      check_gradient (&p, "dgamma", p.gamma, c, dg, pick);
      check_gradient (&p, "dbeta", p.beta, c, db, pick);
    }
  else
    {
      graft_batchnorm_forward_infer_ref (&k->s, k->x, k->gamma, k->beta, k->mmean, k->mvar, y);
      graft_batchnorm_backward_infer_ref (&k->s, y, k->gamma, k->mvar, k->dy, dx);
    }
  check_gradient (&p, "dx", p.x, n, dx, pick);
  g_free (p.x);
  g_free (p.gamma);
  g_free (p.beta);
  g_free (p.y);
  g_free (p.mm);
  g_free (p.mv);
}

static void
test_reference_gradient_train (gconstpointer data)
{
  test_reference_gradient (data, TRUE);
}

static void
test_reference_gradient_infer (gconstpointer data)
{
  test_reference_gradient (data, FALSE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  /* Odd images, 1×1 images, one row, channel counts off and on multiples of 4, a large mean. */
  static const Shape shapes[] = {
    { 3, 7, 9, 13, 0, FALSE }, { 1, 7, 9, 16, 0, FALSE }, { 1, 1, 1, 5, 0, FALSE },
    { 3, 1, 1, 128, 0, FALSE }, { 1, 9, 7, 128, 0, FALSE }, { 3, 5, 5, 3, 0, FALSE },
    { 1, 5, 5, 16, 30, FALSE }, { 3, 7, 9, 13, 20, FALSE },
  };
  static const struct {
    const char *name;
    GTestDataFunc fn;
  } kinds[] = {
    { "train-fwd", test_train_forward },
    { "moving-var", test_moving_variance_rule },
    { "infer-fwd", test_infer_forward },
    { "train-bwd", test_train_backward },
    { "train-bwd-some", test_train_backward_some },
    { "infer-bwd", test_infer_backward },
    { "ref-grad-train", test_reference_gradient_train },
    { "ref-grad-infer", test_reference_gradient_infer },
    { "relu6-clip", test_relu6_clip },
  };
  g_autoptr (GPtrArray) cases = g_ptr_array_new ();
  g_autoptr (GRand) r = g_rand_new_with_seed (4321);
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    for (int relu = 0; relu < 3; relu++)
      {
        /* relu 2: ReLU6, with γ and β wide enough that outputs fall below 0 and above 6. */
        Case *k = g_new0 (Case, 1);
        k->sh = shapes[i];
        k->sh.relu = relu;
        k->s = (GraftBatchNormShape) { k->sh.n * k->sh.h * k->sh.w, k->sh.c, 1e-3f, 0.99f,
                                       relu == 1, relu == 2 };
        k->name = g_strdup_printf ("%dx%dx%dx%d%s%s", k->sh.n, k->sh.h, k->sh.w, k->sh.c,
                                   k->sh.offset != 0 ? "-offset" : "",
                                   relu == 2 ? "-relu6" : relu ? "-relu" : "");
        gsize n = numel (k), c = k->s.c;
        k->x = g_new (float, n);
        k->dy = g_new (float, n);
        k->gamma = g_new (float, c);
        k->beta = g_new (float, c);
        k->mmean = g_new (float, c);
        k->mvar = g_new (float, c);
        graft_test_fill_uniform (r, k->x, n, k->sh.offset - 1, k->sh.offset + 1);
        graft_test_fill_uniform (r, k->dy, n, -1, 1);
        graft_test_fill_uniform (r, k->gamma, c, relu == 2 ? 2.0 : 0.5, relu == 2 ? 4.0 : 1.5);
        graft_test_fill_uniform (r, k->beta, c, relu == 2 ? 2.0 : -0.5, relu == 2 ? 4.0 : 0.5);
        graft_test_fill_uniform (r, k->mmean, c, k->sh.offset - 0.5, k->sh.offset + 0.5);
        graft_test_fill_uniform (r, k->mvar, c, 0.5, 2);
        g_ptr_array_add (cases, k);
        for (guint j = 0; j < G_N_ELEMENTS (kinds); j++)
          {
            g_autofree char *path = g_strdup_printf ("/op/batchnorm/%s/%s", kinds[j].name,
                                                     k->name);
            g_test_add_data_func (path, k, kinds[j].fn);
          }
      }
  int rc = g_test_run ();
  for (guint i = 0; i < cases->len; i++)
    {
      Case *k = cases->pdata[i];
      g_free (k->name);
      g_free (k->x);
      g_free (k->dy);
      g_free (k->gamma);
      g_free (k->beta);
      g_free (k->mmean);
      g_free (k->mvar);
      g_free (k);
    }
  graft_context_free (ctx);
  return rc;
}
