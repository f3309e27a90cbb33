/* ReLU and ReLU6, from one table: OpenCL against the C reference and against the clip written
 * here, in place, the gradient at the kinks (none at exactly 0 or 6, as PyTorch's relu and
 * hardtanh), and the reference backward against finite differences. */
#include "graft-test.h"
#include "graft-ops.h"
#include "test-op-view.h"

static GraftContext *ctx;

typedef struct {
  const char *name;
  float       lo, hi;      /* input range */
  float       clip;        /* upper clip, INFINITY for none */
  double      fd_tol;      /* finite differences, relative */
  gboolean  (*forward)      (GraftContext *, const GraftTensor *, GraftTensor *, GError **);
  gboolean  (*backward)     (GraftContext *, const GraftTensor *, const GraftTensor *,
                             GraftTensor *, GError **);
  void      (*forward_ref)  (gsize, const float *, float *);
  void      (*backward_ref) (gsize, const float *, const float *, float *);
} Activation;

static const Activation activations[] = {
  { "relu", -1.0f, 1.0f, INFINITY, 1e-4, graft_relu_forward, graft_relu_backward,
    graft_relu_forward_ref, graft_relu_backward_ref },
  { "relu6", -2.0f, 9.0f, 6.0f, 1e-3, graft_relu6_forward, graft_relu6_backward,
    graft_relu6_forward_ref, graft_relu6_backward_ref },
};

typedef struct {
  const Activation *act;
  int               n, h, w, c;
} Case;

static gsize
case_numel (const Case *k)
{
  return (gsize) k->n * k->h * k->w * k->c;
}

/* Values in the activation's range at least 0.05 away from its kinks, so finite differences
 * stay on one side; with @kinks every 17th is exactly at a kink (0, or the clip). */
static float *
case_input (const Case *k, guint32 seed, gboolean kinks)
{
  const Activation *a = k->act;
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  gsize n = case_numel (k);
  float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    {
      float v;
      do
        v = (float) g_rand_double_range (r, a->lo, a->hi);
      while (fabsf (v) < 0.05f || fabsf (v - a->clip) < 0.05f);
      if (kinks && i % 17 == 3)
        v = (i / 17) % 2 && isfinite (a->clip) ? a->clip : 0.0f;
      x[i] = v;
    }
  return x;
}

static void
test_forward (gconstpointer data)
{
  const Case *k = data;
  const Activation *a = k->act;
  gsize n = case_numel (k);
  g_autofree float *x = case_input (k, 1, TRUE);
  g_autofree float *want = g_new (float, n);
  g_autofree float *clip = g_new (float, n);
  a->forward_ref (n, x, want);
  for (gsize i = 0; i < n; i++)
    clip[i] = fminf (fmaxf (x[i], 0.0f), a->clip);
  graft_test_assert_close ("reference", want, clip, n, 0.0);

  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) tx = test_view_new (ctx, x, k->n, k->h, k->w, k->c);
  g_autoptr (TestView) ty = test_view_new (ctx, NULL, k->n, k->h, k->w, k->c);
  g_assert_true (a->forward (ctx, tx->view, ty->view, &error));
  g_assert_no_error (error);
  g_autofree float *got = test_view_download (ctx, ty, "forward");
  graft_test_assert_close ("forward", got, clip, n, 0.0);

  /* In place: y written over x. */
  g_assert_true (a->forward (ctx, tx->view, tx->view, &error));
  g_assert_no_error (error);
  g_autofree float *inplace = test_view_download (ctx, tx, "forward in place");
  graft_test_assert_close ("forward in place", inplace, clip, n, 0.0);
}

static void
test_backward (gconstpointer data)
{
  const Case *k = data;
  const Activation *a = k->act;
  gsize n = case_numel (k);
  g_autofree float *x = case_input (k, 2, TRUE);
  g_autofree float *dy = case_input (k, 3, FALSE);
  g_autofree float *y = g_new (float, n);
  g_autofree float *want = g_new (float, n);
  a->forward_ref (n, x, y);
  a->backward_ref (n, y, dy, want);
  /* Written out: the gradient passes strictly between the kinks only. */
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (want[i], ==, x[i] > 0 && x[i] < a->clip ? dy[i] : 0.0f);

  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) ty = test_view_new (ctx, y, k->n, k->h, k->w, k->c);
  g_autoptr (TestView) tdy = test_view_new (ctx, dy, k->n, k->h, k->w, k->c);
  g_autoptr (TestView) tdx = test_view_new (ctx, NULL, k->n, k->h, k->w, k->c);
  g_assert_true (a->backward (ctx, ty->view, tdy->view, tdx->view, &error));
  g_assert_no_error (error);
  g_autofree float *got = test_view_download (ctx, tdx, "backward");
  graft_test_assert_close ("backward", got, want, n, 0.0);

  /* In place: dx written over dy. */
  g_assert_true (a->backward (ctx, ty->view, tdy->view, tdy->view, &error));
  g_assert_no_error (error);
  g_autofree float *inplace = test_view_download (ctx, tdy, "backward in place");
  graft_test_assert_close ("backward in place", inplace, want, n, 0.0);
}

/* L(x) = Σ f(x)·r; its finite differences must match the reference backward with dy = r. */
static void
test_reference_gradient (gconstpointer data)
{
  const Case *k = data;
  const Activation *a = k->act;
  gsize n = case_numel (k);
  g_autofree float *x = case_input (k, 4, FALSE);
  g_autofree float *r = case_input (k, 5, FALSE);
  g_autofree float *y = g_new (float, n);
  g_autofree float *dx = g_new (float, n);
  a->forward_ref (n, x, y);
  a->backward_ref (n, y, r, dx);
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
          a->forward_ref (n, x, y);
          x[i] = keep;
          loss[side] = 0;
          for (gsize j = 0; j < n; j++)
            loss[side] += (double) y[j] * r[j];
        }
      double fd = (loss[0] - loss[1]) / (2.0 * h);
      if (fabs (fd - dx[i]) > a->fd_tol * MAX (1.0, fabs (dx[i])))
        g_error ("%s reference gradient at %" G_GSIZE_FORMAT ": %g, finite differences %g",
                 a->name, i, dx[i], fd);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  /* Sizes on and off multiples of 4 (the 4-wide kernels). */
  static const int shapes[][4] = {
    { 1, 1, 1, 1 }, { 1, 7, 9, 13 }, { 3, 7, 9, 5 }, { 3, 5, 5, 16 }, { 2, 3, 3, 96 },
    { 2, 3, 3, 128 }, { 3, 1, 1, 3 },
  };
  g_autoptr (GPtrArray) cases = g_ptr_array_new_with_free_func (g_free);
  for (guint a = 0; a < G_N_ELEMENTS (activations); a++)
    for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
      {
        const int *s = shapes[i];
        Case *k = g_new (Case, 1);
        *k = (Case) { &activations[a], s[0], s[1], s[2], s[3] };
        g_ptr_array_add (cases, k);
        const char *name = activations[a].name;
        g_autofree char *shape = g_strdup_printf ("%dx%dx%dx%d", s[0], s[1], s[2], s[3]);
        g_autofree char *fwd = g_strdup_printf ("/op/%s/fwd/%s", name, shape);
        g_autofree char *bwd = g_strdup_printf ("/op/%s/bwd/%s", name, shape);
        g_autofree char *grad = g_strdup_printf ("/op/%s/ref-grad/%s", name, shape);
        g_test_add_data_func (fwd, k, test_forward);
        g_test_add_data_func (bwd, k, test_backward);
        g_test_add_data_func (grad, k, test_reference_gradient);
      }
  int rc = g_test_run ();
  graft_context_free (ctx);
  return rc;
}
