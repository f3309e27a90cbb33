/* Adam: OpenCL against the C reference over several steps, the reference against a closed form and NumPy. */
#include "graft-test.h"
#include "graft-ops.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

static GraftContext *ctx;

#define N_PARAMS 1000
#define N_STEPS 6

static const GraftAdamParams base = { 0.05f, 0.9f, 0.999f, 1e-7f, 0 };

/* Gradients for each step; some elements are zero at first (v = 0, so only
 * eps keeps the division finite) and the magnitudes span several decades. */
static void
make_problem (float *p0, float *grads)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (2024);
  graft_test_fill_uniform (r, p0, N_PARAMS, -1, 1);
  for (int t = 0; t < N_STEPS; t++)
    for (int i = 0; i < N_PARAMS; i++)
      {
        double scale = pow (10.0, -(i % 4));
        float g = (float) (g_rand_double_range (r, -1, 1) * scale);
        grads[t * N_PARAMS + i] = (t == 0 && i % 10 == 0) ? 0.0f : g;
      }
}

static void
run_ref (float *p, float *m, float *v, const float *p0, const float *grads, int steps)
{
  memcpy (p, p0, sizeof (float) * N_PARAMS);
  memset (m, 0, sizeof (float) * N_PARAMS);
  memset (v, 0, sizeof (float) * N_PARAMS);
  for (int t = 1; t <= steps; t++)
    {
      GraftAdamParams ap = base;
      ap.step = t;
      graft_adam_update_ref (&ap, N_PARAMS, p, grads + (gsize) (t - 1) * N_PARAMS, m, v);
    }
}

/* All four tensors are views into one buffer, as the model keeps its
 * parameters, gradients and moments, with gaps that must stay untouched. */
static void
test_device_vs_ref (void)
{
  g_autofree float *p0 = g_new (float, N_PARAMS);
  g_autofree float *grads = g_new (float, N_STEPS * N_PARAMS);
  g_autofree float *p = g_new (float, N_PARAMS);
  g_autofree float *m = g_new (float, N_PARAMS);
  g_autofree float *v = g_new (float, N_PARAMS);
  make_problem (p0, grads);
  run_ref (p, m, v, p0, grads, N_STEPS);

  g_autoptr (GError) error = NULL;
  const int gap = 7, stride = N_PARAMS + gap;
  g_autoptr (GraftTensor) all = graft_test_upload (ctx, NULL, 1, 1, 1, 4 * stride + gap);
  graft_tensor_fill (ctx, all, -99.0f, &error);
  g_assert_no_error (error);
  g_autoptr (GraftTensor) tp = graft_tensor_view (all->mem, gap, 1, 1, 1, N_PARAMS);
  g_autoptr (GraftTensor) tg = graft_tensor_view (all->mem, gap + stride, 1, 1, 1, N_PARAMS);
  g_autoptr (GraftTensor) tm = graft_tensor_view (all->mem, gap + 2 * stride, 1, 1, 1, N_PARAMS);
  g_autoptr (GraftTensor) tv = graft_tensor_view (all->mem, gap + 3 * stride, 1, 1, 1, N_PARAMS);
  graft_tensor_write (ctx, tp, p0, &error);
  graft_tensor_fill (ctx, tm, 0.0f, &error);
  graft_tensor_fill (ctx, tv, 0.0f, &error);
  g_assert_no_error (error);
  for (int t = 1; t <= N_STEPS; t++)
    {
      graft_tensor_write (ctx, tg, grads + (gsize) (t - 1) * N_PARAMS, &error);
      g_assert_no_error (error);
      GraftAdamParams ap = base;
      ap.step = t;
      g_assert_true (graft_adam_update (ctx, &ap, tp, tg, tm, tv, &error));
      g_assert_no_error (error);
    }
  g_autofree float *host = graft_test_download (ctx, all);
  graft_test_assert_close ("param", host + gap, p, N_PARAMS, 1e-10);
  graft_test_assert_close ("m", host + gap + 2 * stride, m, N_PARAMS, 1e-10);
  graft_test_assert_close ("v", host + gap + 3 * stride, v, N_PARAMS, 1e-10);
  for (int s = 0; s <= 4; s++)
    for (int i = 0; i < gap; i++)
      g_assert_cmpfloat (host[s * stride + i], ==, -99.0f);
}

/* Step 1 by hand: m = (1−b1)g, v = (1−b2)g², lr_t = lr·sqrt(1−b2)/(1−b1). */
static void
test_ref_step1_closed_form (void)
{
  g_autofree float *p0 = g_new (float, N_PARAMS);
  g_autofree float *grads = g_new (float, N_STEPS * N_PARAMS);
  g_autofree float *p = g_new (float, N_PARAMS);
  g_autofree float *m = g_new (float, N_PARAMS);
  g_autofree float *v = g_new (float, N_PARAMS);
  make_problem (p0, grads);
  run_ref (p, m, v, p0, grads, 1);
  double b1 = base.beta1, b2 = base.beta2, lr = base.lr, eps = base.eps;
  double lr_t = lr * sqrt (1 - b2) / (1 - b1);
  for (int i = 0; i < N_PARAMS; i++)
    {
      double g = grads[i];
      double wm = (1 - b1) * g, wv = (1 - b2) * g * g;
      double wp = p0[i] - lr_t * wm / (sqrt (wv) + eps);
      g_assert_cmpfloat (fabs (m[i] - wm), <=, 1e-6 * fabs (wm) + 1e-30);
      g_assert_cmpfloat (fabs (v[i] - wv), <=, 1e-6 * fabs (wv) + 1e-30);
      g_assert_cmpfloat (fabs (p[i] - wp), <=, 1e-6);
      /* The first Adam step moves every parameter by about lr, unless its
       * gradient is so small that eps matters. */
      if (fabs (g) >= 1e-2)
        g_assert_cmpfloat (fabs (fabs (p[i] - p0[i]) - lr), <=, 1e-3 * lr);
      else if (g == 0)
        g_assert_cmpfloat (p[i], ==, p0[i]);
    }
}

static const char numpy_adam[] =
  "import sys\n"
  "try:\n"
  "    import numpy as np\n"
  "except ImportError:\n"
  "    sys.exit(77)\n"
  "d, n, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
  "lr, b1, b2, eps = (float(a) for a in sys.argv[4:8])\n"
  "raw = np.fromfile(d + '/in.bin', dtype='<f4').astype(np.float64)\n"
  "p, g = raw[:n].copy(), raw[n:].reshape(steps, n)\n"
  "m = np.zeros(n); v = np.zeros(n)\n"
  "for t in range(1, steps + 1):\n"
  "    m = b1 * m + (1 - b1) * g[t - 1]\n"
  "    v = b2 * v + (1 - b2) * g[t - 1] ** 2\n"
  "    lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)\n"
  "    p = p - lr_t * m / (np.sqrt(v) + eps)\n"
  "np.concatenate([p, m, v]).astype('<f8').tofile(d + '/out.bin')\n";

/* The reference against an independent NumPy implementation of the Keras
 * formula, in float64, over all steps. */
static void
test_ref_vs_numpy (void)
{
  const char *python = "/usr/bin/python3";
  if (!g_file_test (python, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("/usr/bin/python3 is not installed");
      return;
    }
  g_autofree float *p0 = g_new (float, N_PARAMS);
  g_autofree float *grads = g_new (float, N_STEPS * N_PARAMS);
  g_autofree float *p = g_new (float, N_PARAMS);
  g_autofree float *m = g_new (float, N_PARAMS);
  g_autofree float *v = g_new (float, N_PARAMS);
  make_problem (p0, grads);
  run_ref (p, m, v, p0, grads, N_STEPS);

  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("graft-adam-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *in = g_build_filename (dir, "in.bin", NULL);
  g_autofree char *out = g_build_filename (dir, "out.bin", NULL);
  g_autoptr (GByteArray) blob = g_byte_array_new ();
  g_byte_array_append (blob, (const guint8 *) p0, sizeof (float) * N_PARAMS);
  g_byte_array_append (blob, (const guint8 *) grads, sizeof (float) * N_STEPS * N_PARAMS);
  g_assert_true (g_file_set_contents (in, (const char *) blob->data, blob->len, &error));
  g_assert_no_error (error);

  g_autofree char *n_s = g_strdup_printf ("%d", N_PARAMS);
  g_autofree char *steps_s = g_strdup_printf ("%d", N_STEPS);
  char lr_s[G_ASCII_DTOSTR_BUF_SIZE], b1_s[G_ASCII_DTOSTR_BUF_SIZE];
  char b2_s[G_ASCII_DTOSTR_BUF_SIZE], eps_s[G_ASCII_DTOSTR_BUF_SIZE];
  /* The float values themselves, so both sides use the same hyper-parameters. */
  g_ascii_dtostr (lr_s, sizeof lr_s, base.lr);
  g_ascii_dtostr (b1_s, sizeof b1_s, base.beta1);
  g_ascii_dtostr (b2_s, sizeof b2_s, base.beta2);
  g_ascii_dtostr (eps_s, sizeof eps_s, base.eps);
  const char *argv[] = { python, "-c", numpy_adam, dir, n_s, steps_s, lr_s, b1_s, b2_s, eps_s,
                         NULL };
  g_autofree char *err_out = NULL;
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                               &err_out, &status, &error));
  g_assert_no_error (error);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      g_test_skip ("NumPy is not available to /usr/bin/python3");
      g_unlink (in);
      g_rmdir (dir);
      return;
    }
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("NumPy Adam failed: %s\n%s", error->message, err_out);

  g_autofree char *res = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (out, &res, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, sizeof (double) * 3 * N_PARAMS);
  const double *want = (const double *) res;
  g_autofree float *wp = g_new (float, N_PARAMS);
  g_autofree float *wm = g_new (float, N_PARAMS);
  g_autofree float *wv = g_new (float, N_PARAMS);
  g_autofree float *dp = g_new (float, N_PARAMS);
  g_autofree float *wdp = g_new (float, N_PARAMS);
  for (int i = 0; i < N_PARAMS; i++)
    {
      wp[i] = (float) want[i];
      wm[i] = (float) want[N_PARAMS + i];
      wv[i] = (float) want[2 * N_PARAMS + i];
      /* The total update, so a wrong step size is not hidden behind |p|. */
      dp[i] = p[i] - p0[i];
      wdp[i] = (float) (want[i] - p0[i]);
    }
  graft_test_assert_close ("param vs numpy", p, wp, N_PARAMS, 1e-10);
  graft_test_assert_close ("update vs numpy", dp, wdp, N_PARAMS, 1e-9);
  graft_test_assert_close ("m vs numpy", m, wm, N_PARAMS, 1e-10);
  graft_test_assert_close ("v vs numpy", v, wv, N_PARAMS, 1e-10);
  g_unlink (in);
  g_unlink (out);
  g_rmdir (dir);
}

static void
test_bad_step (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftTensor) t = graft_test_upload (ctx, NULL, 1, 1, 1, 4);
  GraftAdamParams ap = base;
  ap.step = 0;
  g_assert_false (graft_adam_update (ctx, &ap, t, t, t, t, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  g_test_add_func ("/adam/device-vs-ref/n1000-steps6-views", test_device_vs_ref);
  g_test_add_func ("/adam/ref/step1-closed-form", test_ref_step1_closed_form);
  g_test_add_func ("/adam/ref/vs-numpy-steps6", test_ref_vs_numpy);
  g_test_add_func ("/adam/bad-step", test_bad_step);
  int rc = g_test_run ();
  graft_context_free (ctx);
  return rc;
}
