/* Device enumeration, kernel program building, and SGEMM through CLBlast and the tiled kernel. */
#include "graft-test.h"
#include "graft-gemm.h"

#include <gio/gio.h>

#include <string.h>

static GraftContext *ctx;

static void
test_enumerate (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) devs = graft_device_list_all (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (devs->len, >, 0);
  for (guint i = 0; i < devs->len; i++)
    {
      GraftDeviceInfo *d = devs->pdata[i];
      g_assert_cmpuint (d->index, ==, i);
      g_assert_true (d->name[0] != '\0');
      g_assert_cmpuint (d->global_mem, >, 0);
      g_assert_cmpuint (d->compute_units, >, 0);
      /* The stable id finds the same device again, and so does its index. */
      g_autoptr (GraftDeviceInfo) again = graft_device_find (d->id, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (again->id, ==, d->id);
      g_autofree char *idx = g_strdup_printf ("%u", i);
      g_autoptr (GraftDeviceInfo) by_index = graft_device_find (idx, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (by_index->id, ==, d->id);
    }
  g_autofree char *json = graft_device_list_to_json (devs);
  g_assert_nonnull (strstr (json, "\"opencl_version\""));
}

static void
test_find_missing (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftDeviceInfo) d = graft_device_find ("no-such-device-anywhere", &error);
  g_assert_null (d);
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_NO_DEVICE);
  g_assert_nonnull (strstr (error->message, "no-such-device-anywhere"));
  g_clear_error (&error);
  d = graft_device_find ("999", &error);
  g_assert_null (d);
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_NO_DEVICE);
}

static void
test_build_error_has_log (void)
{
  g_autoptr (GError) error = NULL;
  const char *bad = "__kernel void broken (__global float *x) { x[0] = undefined_name + ; }\n";
  cl_program p = graft_context_build_source (ctx, "broken", bad, &error);
  g_assert_null (p);
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_BUILD);
  g_test_message ("%s", error->message);
  /* The program name and the compiler's complaint both reach the user. */
  g_assert_nonnull (strstr (error->message, "broken.cl"));
  g_assert_nonnull (strstr (error->message, "undefined_name"));
}

static void
test_builtin_kernel_and_cache (void)
{
  g_autoptr (GError) error = NULL;
  cl_kernel k = graft_context_kernel (ctx, "util", "scale_add", &error);
  g_assert_no_error (error);
  g_assert_nonnull (k);
  /* Asking again gives the same kernel object, not a rebuild. */
  g_assert_true (graft_context_kernel (ctx, "util", "scale_add", &error) == k);
  g_assert_null (graft_context_kernel (ctx, "util", "no_such_kernel", &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_BUILD);
  g_clear_error (&error);
  g_assert_null (graft_context_kernel (ctx, "no-such-program", "x", &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_BUILD);
}

/* Every kernel program shipped in the engine builds on this device: a syntax error in any
 * file of cl-kernels fails here with the device's build log. */
static void
test_every_program_builds (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = g_resources_enumerate_children ("/org/graft/kernels", 0, &error);
  g_assert_no_error (error);
  guint built = 0;
  for (int i = 0; names[i]; i++)
    {
      if (!g_str_has_suffix (names[i], ".cl") || g_str_equal (names[i], "common.cl"))
        continue;
      g_autofree char *path = g_strdup_printf ("/org/graft/kernels/%s", names[i]);
      g_autoptr (GBytes) common = g_resources_lookup_data ("/org/graft/kernels/common.cl", 0, NULL);
      g_autoptr (GBytes) body = g_resources_lookup_data (path, 0, &error);
      g_assert_no_error (error);
      g_autofree char *src = g_strdup_printf ("%.*s\n%.*s", (int) g_bytes_get_size (common),
                                              (const char *) g_bytes_get_data (common, NULL),
                                              (int) g_bytes_get_size (body),
                                              (const char *) g_bytes_get_data (body, NULL));
      g_autofree char *name = g_strndup (names[i], strlen (names[i]) - 3);
      cl_program p = graft_context_build_source (ctx, name, src, &error);
      if (p == NULL)
        g_error ("%s", error->message);
      clReleaseProgram (p);
      built++;
    }
  g_test_message ("%u kernel programs built", built);
  g_assert_cmpuint (built, >=, 10);
}

/* One GEMM case: shape, transposes, and which implementation the context uses. */
typedef struct {
  int m, n, k, ta, tb;
  GraftGemmImpl impl;
} GemmCase;

/* alpha·op(A)·op(B) + beta·C against the reference, with every matrix at an offset inside its
 * buffer and rows longer than the matrix (as the convolution's per-image products are). */
static void
test_sgemm (gconstpointer data)
{
  const GemmCase *p = data;
  int m = p->m, n = p->n, k = p->k, ta = p->ta, tb = p->tb;
  const gsize off = 3, pad = 5;
  gsize lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
  gsize an = off + (gsize) (ta ? k : m) * lda, bn = off + (gsize) (tb ? n : k) * ldb;
  gsize cn = off + (gsize) m * ldc;
  g_autoptr (GRand) r = g_rand_new_with_seed (42);
  g_autofree float *a = g_new (float, an);
  g_autofree float *b = g_new (float, bn);
  g_autofree float *c = g_new (float, cn);
  g_autofree float *want = g_new (float, cn);
  graft_test_fill_uniform (r, a, an, -1, 1);
  graft_test_fill_uniform (r, b, bn, -1, 1);
  graft_test_fill_uniform (r, c, cn, -1, 1);
  memcpy (want, c, sizeof (float) * cn);
  graft_gemm_ref (ta, tb, m, n, k, 0.5f, a + off, lda, b + off, ldb, 0.25f, want + off, ldc);
  g_autoptr (GraftTensor) da = graft_test_upload (ctx, a, 1, 1, 1, an);
  g_autoptr (GraftTensor) db = graft_test_upload (ctx, b, 1, 1, 1, bn);
  g_autoptr (GraftTensor) dc = graft_test_upload (ctx, c, 1, 1, 1, cn);
  g_autoptr (GError) error = NULL;
  GraftGemmImpl saved = graft_context_gemm_impl (ctx);
  graft_context_set_gemm_impl (ctx, p->impl);
  graft_gemm (ctx, "test", ta, tb, m, n, k, 0.5f, da->mem, off, lda, db->mem, off, ldb, 0.25f,
              dc->mem, off, ldc, &error);
  graft_context_set_gemm_impl (ctx, saved);
  g_assert_no_error (error);
  g_autofree float *got = graft_test_download (ctx, dc);
  /* The padding between rows and before the matrix must be untouched. */
  graft_test_assert_close ("sgemm", got, want, cn, 1e-10);
}

/* Aᵀ·B with a long K, split into slices (CLBlast) or blocks (tiled): against the reference,
 * with and without beta, with a remainder after the last whole slice and with none. */
static void
test_gemm_tn (gconstpointer data)
{
  const GemmCase *p = data;
  int m = p->m, n = p->n, k = p->k;
  float beta = p->ta ? 0.25f : 0.0f;
  g_autoptr (GRand) r = g_rand_new_with_seed (7);
  g_autofree float *a = g_new (float, (gsize) k * m);
  g_autofree float *b = g_new (float, (gsize) k * n);
  g_autofree float *c = g_new (float, (gsize) m * n);
  g_autofree float *want = g_new (float, (gsize) m * n);
  graft_test_fill_uniform (r, a, (gsize) k * m, -1, 1);
  graft_test_fill_uniform (r, b, (gsize) k * n, -1, 1);
  graft_test_fill_uniform (r, c, (gsize) m * n, -1, 1);
  memcpy (want, c, sizeof (float) * m * n);
  graft_gemm_ref (TRUE, FALSE, m, n, k, 1.0f, a, m, b, n, beta, want, n);
  g_autoptr (GraftTensor) da = graft_test_upload (ctx, a, 1, 1, k, m);
  g_autoptr (GraftTensor) db = graft_test_upload (ctx, b, 1, 1, k, n);
  g_autoptr (GraftTensor) dc = graft_test_upload (ctx, c, 1, 1, m, n);
  g_autoptr (GError) error = NULL;
  GraftGemmImpl saved = graft_context_gemm_impl (ctx);
  graft_context_set_gemm_impl (ctx, p->impl);
  graft_gemm_tn (ctx, "test", m, n, k, da->mem, 0, m, db->mem, 0, n, beta, dc->mem, 0, n, &error);
  graft_context_set_gemm_impl (ctx, saved);
  g_assert_no_error (error);
  g_autofree float *got = graft_test_download (ctx, dc);
  graft_test_assert_close ("gemm_tn", got, want, (gsize) m * n, 1e-10);
}

static void
add_gemm_cases (const char *kind, GTestDataFunc func, const GemmCase *cases, guint n_cases)
{
  static const char *impls[] = { "clblast", "tiled" };
  for (guint impl = 0; impl < G_N_ELEMENTS (impls); impl++)
    for (guint i = 0; i < n_cases; i++)
      {
        GemmCase *c = g_memdup2 (&cases[i], sizeof *c);
        c->impl = impl == 0 ? GRAFT_GEMM_CLBLAST : GRAFT_GEMM_TILED;
        g_autofree char *name = g_strdup_printf ("/gemm/%s/%s/%dx%dx%d-t%d%d", impls[impl], kind,
                                                 c->m, c->n, c->k, c->ta, c->tb);
        g_test_add_data_func_full (name, c, func, g_free);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  /* Small shapes (which the tiled implementation hands to CLBlast), whole 6×32 tiles, edge
   * tiles in both directions, K cut into blocks, and every transpose; A as stored up to
   * K = 1024 (gemm_rows: its panel's largest K, K not a multiple of 8, B as stored and packed,
   * and more than 4 MB of B: two chunks of columns, the last ending in an edge tile) and just
   * past it (gemm_tiled); Aᵀ over two K blocks and
   * two chunks of columns, the last tile an edge tile (both operands packed per block), and
   * with so many rows of Aᵀ that the blocks are cut shorter (3840 rows). */
  static const GemmCase shapes[] = {
    { 7, 5, 3, 0, 0 },      { 33, 17, 65, 1, 0 },   { 64, 130, 27, 0, 1 }, { 1, 1, 1, 1, 1 },
    { 6, 32, 1, 0, 0 },     { 37, 70, 300, 0, 0 },  { 37, 70, 2500, 0, 0 }, { 50, 40, 2100, 1, 0 },
    { 45, 100, 77, 0, 1 },  { 96, 64, 64, 1, 0 },   { 12, 48, 1024, 0, 0 }, { 13, 40, 1025, 0, 0 },
    { 20, 300, 64, 0, 0 },  { 19, 530, 13, 0, 1 },  { 14, 600, 40, 0, 0 }, { 13, 1100, 1000, 0, 0 },
    { 20, 300, 5000, 1, 0 },  { 2100, 40, 4000, 1, 0 },
  };
  g_test_add_func ("/device/enumerate", test_enumerate);
  g_test_add_func ("/device/find-missing", test_find_missing);
  g_test_add_func ("/program/build-error-has-log", test_build_error_has_log);
  g_test_add_func ("/program/builtin-kernel", test_builtin_kernel_and_cache);
  g_test_add_func ("/program/every-program-builds", test_every_program_builds);
  add_gemm_cases ("sgemm", test_sgemm, shapes, G_N_ELEMENTS (shapes));
  /* Here ta says "beta ≠ 0". */
  static const GemmCase tn[] = {
    { 5, 7, 9000 + 37, 0, 0 }, { 33, 17, 20000, 1, 0 }, { 3, 1, 8192, 0, 0 },
    { 4, 6, 100, 1, 0 },       { 40, 64, 9000 + 37, 1, 0 }, { 8, 32, 70000 + 1, 1, 0 },
  };
  add_gemm_cases ("tn-long-k", test_gemm_tn, tn, G_N_ELEMENTS (tn));
  int rc = g_test_run ();
  graft_context_free (ctx);
  return rc;
}
