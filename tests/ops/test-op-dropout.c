/* Dropout: device mask equals the reference bit for bit, kept fraction, backward against forward, rate 0. */
#include "graft-test.h"
#include "graft-ops.h"
#include "graft-rng.h"

#include <string.h>

static GraftContext *ctx;

typedef struct {
  gsize n;
  float rate;
  guint32 seed, stream;
} DropCase;

static const DropCase cases[] = {
  { 1, 0.5f, 1, 0 },
  { 1000, 0.5f, 42, 3 },
  { 65537, 0.25f, 7, 11 },
  { 65536, 0.1f, 1234567, 0xffffffffu },
  { 4099, 0.9f, 0, 5 },
};

/* The tensor is a view at an offset into a larger buffer (as the model's
 * activations are), so the kernel must honour GraftTensor.off. */
#define PAD 13

static GraftTensor *
upload_view (const float *data, gsize n, GraftTensor **backing)
{
  g_autoptr (GError) error = NULL;
  *backing = graft_test_upload (ctx, NULL, 1, 1, 1, (int) (n + 2 * PAD));
  GraftTensor *t = graft_tensor_view ((*backing)->mem, PAD, 1, 1, 1, (int) n);
  if (data)
    {
      graft_tensor_write (ctx, t, data, &error);
      g_assert_no_error (error);
    }
  return t;
}

static void
test_forward_backward (gconstpointer data)
{
  const DropCase *dc = data;
  gsize n = dc->n;
  g_autoptr (GRand) r = g_rand_new_with_seed (dc->seed + 1);
  g_autofree float *x = g_new (float, n);
  g_autofree float *dy = g_new (float, n);
  g_autofree float *y_ref = g_new (float, n);
  g_autofree float *dx_ref = g_new (float, n);
  /* Nonzero inputs, so a zero output means "dropped". */
  graft_test_fill_uniform (r, x, n, 0.5, 2);
  graft_test_fill_uniform (r, dy, n, -1, 1);
  graft_dropout_forward_ref (n, dc->rate, dc->seed, dc->stream, x, y_ref);
  graft_dropout_backward_ref (n, dc->rate, dc->seed, dc->stream, dy, dx_ref);

  g_autoptr (GError) error = NULL;
  GraftTensor *bx, *by, *bdy, *bdx;
  g_autoptr (GraftTensor) tx = upload_view (x, n, &bx);
  g_autoptr (GraftTensor) ty = upload_view (NULL, n, &by);
  g_autoptr (GraftTensor) tdy = upload_view (dy, n, &bdy);
  g_autoptr (GraftTensor) tdx = upload_view (NULL, n, &bdx);
  g_autoptr (GraftTensor) kbx = bx, kby = by, kbdy = bdy, kbdx = bdx;
  graft_tensor_fill (ctx, kby, -7.0f, &error);
  g_assert_no_error (error);
  g_assert_true (graft_dropout_forward (ctx, dc->rate, dc->seed, dc->stream, tx, ty, &error));
  g_assert_no_error (error);
  g_assert_true (graft_dropout_backward (ctx, dc->rate, dc->seed, dc->stream, tdy, tdx, &error));
  g_assert_no_error (error);
  g_autofree float *y_all = graft_test_download (ctx, kby);
  g_autofree float *dx = graft_test_download (ctx, tdx);
  const float *y = y_all + PAD;

  /* Bit for bit: the mask comes from the same counter-based hash on both sides. */
  g_assert_cmpint (memcmp (y, y_ref, n * sizeof (float)), ==, 0);
  g_assert_cmpint (memcmp (dx, dx_ref, n * sizeof (float)), ==, 0);
  /* Nothing written outside the view. */
  for (int i = 0; i < PAD; i++)
    {
      g_assert_cmpfloat (y_all[i], ==, -7.0f);
      g_assert_cmpfloat (y_all[PAD + n + i], ==, -7.0f);
    }

  /* Independently of the reference: kept elements are x/(1−rate), the rest
   * zero, and backward keeps exactly the same elements with the same scale. */
  double scale = 1.0 / (1.0 - dc->rate);
  gsize kept = 0;
  for (gsize i = 0; i < n; i++)
    {
      if (y[i] != 0.0f)
        {
          kept++;
          g_assert_cmpfloat_with_epsilon (y[i], x[i] * scale, 1e-5 * x[i] * scale);
          g_assert_cmpfloat_with_epsilon (dx[i], dy[i] * scale, 1e-5 * scale);
        }
      else
        g_assert_cmpfloat (dx[i], ==, 0.0f);
    }
  /* Kept count is Binomial(n, 1−rate): allow 5 standard deviations. */
  double p = 1.0 - dc->rate;
  double sd = sqrt (n * p * (1.0 - p));
  g_test_message ("kept %zu of %zu (expected %.1f ± %.1f)", kept, n, n * p, sd);
  if (n >= 1000)
    g_assert_cmpfloat (fabs (kept - n * p), <=, 5 * sd);
}

static void
test_rate_zero_identity (void)
{
  gsize n = 3001;
  g_autoptr (GRand) r = g_rand_new_with_seed (5);
  g_autofree float *x = g_new (float, n);
  graft_test_fill_uniform (r, x, n, -3, 3);
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftTensor) tx = graft_test_upload (ctx, x, 1, 1, 1, (int) n);
  g_autoptr (GraftTensor) ty = graft_test_upload (ctx, NULL, 1, 1, 1, (int) n);
  g_assert_true (graft_dropout_forward (ctx, 0.0f, 9, 9, tx, ty, &error));
  g_assert_no_error (error);
  g_autofree float *y = graft_test_download (ctx, ty);
  g_assert_cmpint (memcmp (x, y, n * sizeof (float)), ==, 0);
  /* In place, backward. */
  g_assert_true (graft_dropout_backward (ctx, 0.0f, 9, 9, tx, tx, &error));
  g_assert_no_error (error);
  g_autofree float *x2 = graft_test_download (ctx, tx);
  g_assert_cmpint (memcmp (x, x2, n * sizeof (float)), ==, 0);
}

/* Different streams (layers, steps) give different masks; the same key repeats. */
static void
test_streams_differ (void)
{
  gsize n = 4096;
  g_autofree float *ones = g_new (float, n);
  g_autofree float *a = g_new (float, n);
  g_autofree float *b = g_new (float, n);
  g_autofree float *c = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    ones[i] = 1.0f;
  graft_dropout_forward_ref (n, 0.5f, 3, 1, ones, a);
  graft_dropout_forward_ref (n, 0.5f, 3, 2, ones, b);
  graft_dropout_forward_ref (n, 0.5f, 3, 1, ones, c);
  g_assert_cmpint (memcmp (a, c, n * sizeof (float)), ==, 0);
  gsize same = 0;
  for (gsize i = 0; i < n; i++)
    same += (a[i] != 0) == (b[i] != 0);
  /* Independent masks agree on about half the elements. */
  g_assert_cmpfloat (fabs (same - n / 2.0), <=, 5 * sqrt (n * 0.25));
}

static void
test_bad_rate (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftTensor) tx = graft_test_upload (ctx, NULL, 1, 1, 1, 8);
  g_assert_false (graft_dropout_forward (ctx, 1.0f, 1, 1, tx, tx, &error));
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
      g_autofree char *name = g_strdup_printf ("/dropout/device-vs-ref/n%zu-rate%.2f-seed%u-stream%u",
                                               cases[i].n, (double) cases[i].rate, cases[i].seed,
                                               cases[i].stream);
      g_test_add_data_func (name, &cases[i], test_forward_backward);
    }
  g_test_add_func ("/dropout/rate0-identity", test_rate_zero_identity);
  g_test_add_func ("/dropout/ref/streams-differ", test_streams_differ);
  g_test_add_func ("/dropout/bad-rate", test_bad_rate);
  int rc = g_test_run ();
  graft_context_free (ctx);
  return rc;
}
