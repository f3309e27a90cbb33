/* The separable convolution's one-pass forward (graft_gemm_dw3): against the plain-C depthwise
 * convolution and GEMM, and equal to the device's two-pass path (ReLU, depthwise convolution,
 * GEMM with the same epilogue) value for value. */
#include "graft-test.h"
#include "graft-gemm.h"
#include "graft-ops.h"
#include "test-op-view.h"

static GraftContext *ctx;

typedef struct {
  int n, h, w, c, cout;
} Shape;

typedef struct {
  Shape s;
  gboolean relu_in, affine;   /* affine: scale, shift and ReLU (a folded BN); else a bias */
} Case;

static void
test_fused (gconstpointer data)
{
  const Case *k = data;
  const Shape *s = &k->s;
  gsize m = (gsize) s->n * s->h * s->w, nx = m * s->c, nw = 9 * (gsize) s->c;
  gsize npw = (gsize) s->c * s->cout, ny = m * s->cout;
  g_autoptr (GRand) r = g_rand_new_with_seed (s->n * 1000003u + s->h * 1009u + s->w * 31u +
                                              s->c + s->cout);
  g_autofree float *x = g_new (float, nx);
  g_autofree float *dw = g_new (float, nw);
  g_autofree float *pw = g_new (float, npw);
  g_autofree float *scale = g_new (float, s->cout);
  g_autofree float *shift = g_new (float, s->cout);
  graft_test_fill_uniform (r, x, nx, -1, 1);
  graft_test_fill_uniform (r, dw, nw, -1, 1);
  graft_test_fill_uniform (r, pw, npw, -1, 1);
  graft_test_fill_uniform (r, scale, s->cout, 0.5, 1.5);
  graft_test_fill_uniform (r, shift, s->cout, -0.5, 0.5);

  /* Reference: ReLU, depthwise convolution and GEMM in plain C. */
  GraftDepthwiseShape ds = { s->n, s->h, s->w, s->c, 3 };
  g_autofree float *xr = g_memdup2 (x, nx * sizeof (float));
  for (gsize i = 0; k->relu_in && i < nx; i++)
    xr[i] = MAX (xr[i], 0.0f);
  g_autofree float *mid = g_new (float, nx);
  g_autofree float *want = g_new (float, ny);
  graft_depthwise_forward_ref (&ds, xr, dw, mid);
  graft_gemm_ref (FALSE, FALSE, m, s->cout, s->c, 1.0f, mid, s->c, pw, s->cout, 0.0f, want,
                  s->cout);
  for (gsize i = 0; i < m; i++)
    for (int j = 0; j < s->cout; j++)
      {
        float *v = &want[i * s->cout + j];
        *v = *v * (k->affine ? scale[j] : 1.0f) + shift[j];
        if (k->affine)
          *v = MAX (*v, 0.0f);
      }

  g_autoptr (GError) error = NULL;
  g_autoptr (TestView) tx = test_view_new (ctx, x, s->n, s->h, s->w, s->c);
  g_autoptr (TestView) tdw = test_view_new (ctx, dw, 3, 3, s->c, 1);
  g_autoptr (TestView) tpw = test_view_new (ctx, pw, 1, 1, s->c, s->cout);
  g_autoptr (TestView) tsc = test_view_new (ctx, scale, 1, 1, 1, s->cout);
  g_autoptr (TestView) tsh = test_view_new (ctx, shift, 1, 1, 1, s->cout);
  g_autoptr (TestView) ty = test_view_new (ctx, NULL, s->n, s->h, s->w, s->cout);
  GraftGemmEpilogue ep = { k->affine ? tsc->view->mem : NULL, tsc->view->off, tsh->view->mem,
                           tsh->view->off, k->affine };
  g_assert_true (graft_gemm_dw3_covers (ctx, m, s->cout, s->c));
  graft_gemm_dw3 (ctx, "test", s->n, s->h, s->w, s->c, s->cout, k->relu_in, tx->view->mem,
                  tx->view->off, tdw->view->mem, tdw->view->off, tpw->view->mem, tpw->view->off,
                  ty->view->mem, ty->view->off, &ep, &error);
  g_assert_no_error (error);
  g_autofree float *got = test_view_download (ctx, ty, "fused separable");
  graft_test_assert_close ("fused separable", got, want, ny, 1e-10);

  /* The two-pass path on the device gives the same values. */
  g_autoptr (TestView) txr = test_view_new (ctx, NULL, s->n, s->h, s->w, s->c);
  g_autoptr (TestView) tmid = test_view_new (ctx, NULL, s->n, s->h, s->w, s->c);
  g_autoptr (TestView) ty2 = test_view_new (ctx, NULL, s->n, s->h, s->w, s->cout);
  if (k->relu_in)
    graft_relu_forward (ctx, tx->view, txr->view, &error);
  g_assert_no_error (error);
  graft_depthwise_forward (ctx, &ds, k->relu_in ? txr->view : tx->view, tdw->view, tmid->view,
                           &error);
  g_assert_no_error (error);
  graft_gemm_epilogue (ctx, "test", m, s->cout, s->c, tmid->view->mem, tmid->view->off, s->c,
                       tpw->view->mem, tpw->view->off, s->cout, ty2->view->mem, ty2->view->off,
                       s->cout, &ep, &error);
  g_assert_no_error (error);
  g_autofree float *two = test_view_download (ctx, ty2, "two-pass separable");
  gsize differ = 0;
  for (gsize i = 0; i < ny; i++)
    differ += got[i] != two[i];
  if (differ)
    g_error ("fused separable: %zu of %zu outputs differ from the two-pass path", differ, ny);
}

static void
test_covers (void)
{
  g_assert_true (graft_gemm_dw3_covers (ctx, 6, 32, 8));
  g_assert_true (graft_gemm_dw3_covers (ctx, 6, 32, 1024));
  g_assert_false (graft_gemm_dw3_covers (ctx, 5, 32, 8));     /* fewer rows than a tile */
  g_assert_false (graft_gemm_dw3_covers (ctx, 6, 31, 8));     /* fewer columns than a tile */
  g_assert_false (graft_gemm_dw3_covers (ctx, 6, 32, 12));    /* channels not a multiple of 8 */
  g_assert_false (graft_gemm_dw3_covers (ctx, 6, 32, 1032));  /* more than the panel holds */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  /* The kernel belongs to the tiled GEMM; the test sets it whatever the device's default. */
  graft_context_set_gemm_impl (ctx, GRAFT_GEMM_TILED);
  /* n, h, w, c, cout: tiles that wrap to the next row or image (w = 7, 13, 1), rows of whole
   * tiles touching both image edges (w = 6) or one (w = 12), images one row high, an edge column
   * tile (40, 300), the pointwise kernel packed (520 columns), the most channels (1024) and
   * more than one chunk of columns, the last one shorter and ending in an edge tile (a
   * 1024×1100 pointwise kernel: more than 4 MB). */
  static const Shape shapes[] = {
    { 2, 5, 7, 8, 32 }, { 1, 12, 12, 24, 40 }, { 2, 6, 6, 16, 300 }, { 3, 4, 13, 136, 48 },
    { 1, 1, 6, 8, 32 }, { 1, 7, 1, 8, 32 },    { 1, 2, 3, 1024, 32 }, { 1, 4, 6, 16, 520 },
    { 1, 2, 6, 1024, 1100 },
  };
  g_autoptr (GPtrArray) cases = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    for (int v = 0; v < 4; v++)
      {
        Case *k = g_new0 (Case, 1);
        k->s = shapes[i];
        k->relu_in = v & 1;
        k->affine = v & 2;
        g_ptr_array_add (cases, k);
        g_autofree char *name = g_strdup_printf ("/op/separable-fused/%dx%dx%dx%d-%d%s%s",
                                                 k->s.n, k->s.h, k->s.w, k->s.c, k->s.cout,
                                                 k->relu_in ? "-relu-in" : "",
                                                 k->affine ? "-affine" : "-bias");
        g_test_add_data_func (name, k, test_fused);
      }
  g_test_add_func ("/op/separable-fused/covers", test_covers);
  int rc = g_test_run ();
  graft_context_free (ctx);
  return rc;
}
