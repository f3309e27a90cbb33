/* add, scale and axpy: OpenCL vs the C reference, on views at offsets and in place. */
#include "graft-test.h"
#include "graft-ops.h"

#include <string.h>

static GraftContext *ctx;

static const gsize sizes[] = { 1, 13, 64, 1000, 37 * 41 * 3 };

typedef enum { OP_ADD, OP_SCALE, OP_AXPY, OP_ADD_IN_PLACE } Op;
static const char *op_names[] = { "add", "scale", "axpy", "add-in-place" };

typedef struct {
  Op op;
  gsize n;
} Case;

/* a, b, y laid out as views in one buffer at odd offsets with sentinels between. */
static void
test_op (gconstpointer p)
{
  const Case *c = p;
  gsize n = c->n, gap = 3, total = 3 * (n + gap) + gap;
  const float alpha = -0.375f;
  g_autoptr (GRand) r = g_rand_new_with_seed (7);
  g_autofree float *host = g_new (float, total);
  for (gsize i = 0; i < total; i++)
    host[i] = 99.0f;
  float *a = host + gap, *b = a + n + gap, *y = b + n + gap;
  graft_test_fill_uniform (r, a, n, -1, 1);
  graft_test_fill_uniform (r, b, n, -1, 1);
  graft_test_fill_uniform (r, y, n, -1, 1);
  g_autofree float *want = g_memdup2 (host, total * sizeof (float));
  float *wa = want + gap, *wb = wa + n + gap, *wy = wb + n + gap;
  switch (c->op)
    {
    case OP_ADD: graft_add_ref (n, wa, wb, wy); break;
    case OP_SCALE: graft_scale_ref (n, alpha, wa, wy); break;
    case OP_AXPY: graft_axpy_ref (n, alpha, wa, wy); break;
    case OP_ADD_IN_PLACE: graft_add_ref (n, wa, wb, wa); break;
    }
  g_autoptr (GraftTensor) all = graft_test_upload (ctx, host, 1, 1, 1, (int) total);
  g_autoptr (GraftTensor) ta = graft_tensor_view (all->mem, gap, 1, 1, 1, (int) n);
  g_autoptr (GraftTensor) tb = graft_tensor_view (all->mem, 2 * gap + n, 1, 1, 1, (int) n);
  g_autoptr (GraftTensor) ty = graft_tensor_view (all->mem, 3 * gap + 2 * n, 1, 1, 1, (int) n);
  g_autoptr (GError) error = NULL;
  gboolean ok = FALSE;
  switch (c->op)
    {
    case OP_ADD: ok = graft_add (ctx, ta, tb, ty, &error); break;
    case OP_SCALE: ok = graft_scale (ctx, alpha, ta, ty, &error); break;
    case OP_AXPY: ok = graft_axpy (ctx, alpha, ta, ty, &error); break;
    case OP_ADD_IN_PLACE: ok = graft_add (ctx, ta, tb, ta, &error); break;
    }
  g_assert_no_error (error);
  g_assert_true (ok);
  g_autofree float *got = graft_test_download (ctx, all);
  /* The whole buffer, sentinels included. */
  graft_test_assert_close (op_names[c->op], got, want, total, 1e-12);
  for (gsize i = 0; i < total; i++)
    if (got[i] == 99.0f)
      g_assert_cmpfloat (want[i], ==, 99.0f);
}

static void
test_size_mismatch (void)
{
  g_autoptr (GraftTensor) a = graft_test_upload (ctx, NULL, 1, 1, 1, 4);
  g_autoptr (GraftTensor) b = graft_test_upload (ctx, NULL, 1, 1, 1, 5);
  g_autoptr (GError) error = NULL;
  g_assert_false (graft_add (ctx, a, b, a, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (graft_axpy (ctx, 1.0f, a, b, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  static Case cases[G_N_ELEMENTS (op_names) * G_N_ELEMENTS (sizes)];
  guint k = 0;
  for (guint o = 0; o < G_N_ELEMENTS (op_names); o++)
    for (guint i = 0; i < G_N_ELEMENTS (sizes); i++, k++)
      {
        cases[k].op = o;
        cases[k].n = sizes[i];
        g_autofree char *name = g_strdup_printf ("/op/%s/%zu", op_names[o], sizes[i]);
        g_test_add_data_func (name, &cases[k], test_op);
      }
  g_test_add_func ("/op/elementwise/size-mismatch", test_size_mismatch);
  int rc = g_test_run ();
  graft_context_free (ctx);
  return rc;
}
