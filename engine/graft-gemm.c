/* Row-major SGEMM through CLBlast, with a plain-C reference. */
#include "graft-gemm.h"

#include <clblast_c.h>

/* CLBlast's indirect path pads and transposes in kernels of its own and returns only the
 * last event; a marker enqueued before the call makes the profile cover them all. */
static cl_event
span_begin (GraftContext *ctx)
{
  cl_event before = NULL;
  if (graft_context_get_profiling (ctx) &&
      clEnqueueMarkerWithWaitList (graft_context_queue (ctx), 0, NULL, &before) != CL_SUCCESS)
    before = NULL;
  return before;
}

/* Records the span of one CLBlast call under @op; FALSE (events released) when it failed. */
static gboolean
span_end (GraftContext *ctx, const char *op, CLBlastStatusCode st, cl_event before, cl_event ev)
{
  if (st != CLBlastSuccess)
    {
      if (before)
        clReleaseEvent (before);
      if (ev)
        clReleaseEvent (ev);
      return FALSE;
    }
  if (ev && before)
    graft_context_record_span (ctx, op, before, ev);
  else if (ev)
    graft_context_record_event (ctx, op, ev);
  else if (before)
    clReleaseEvent (before);
  return TRUE;
}

gboolean
graft_gemm (GraftContext *ctx, const char *op, gboolean trans_a, gboolean trans_b,
            gsize m, gsize n, gsize k, float alpha,
            cl_mem a, gsize a_off, gsize lda, cl_mem b, gsize b_off, gsize ldb,
            float beta, cl_mem c, gsize c_off, gsize ldc, GError **error)
{
  if (m == 0 || n == 0)
    return TRUE;
  cl_command_queue q = graft_context_queue (ctx);
  cl_event ev = NULL, before = span_begin (ctx);
  CLBlastStatusCode st = CLBlastSgemm (CLBlastLayoutRowMajor,
                                       trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       trans_b ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       m, n, k, alpha, a, a_off, lda, b, b_off, ldb,
                                       beta, c, c_off, ldc, &q, &ev);
  if (!span_end (ctx, op, st, before, ev))
    {
      g_autofree char *what = g_strdup_printf ("%s: SGEMM %zu×%zu×%zu", op, m, n, k);
      return graft_clblast_check (st, what, error);
    }
  return TRUE;
}

/* Rows of K per slice: long enough for CLBlast's tiles, short enough to keep all cores busy
 * and the slice's operands in cache (4096 was 1.6–1.8× faster than one GEMM on PoCL). */
#define GEMM_TN_SLICE 4096
#define GEMM_TN_SCRATCH 3

gboolean
graft_gemm_tn (GraftContext *ctx, const char *op, gsize m, gsize n, gsize k, cl_mem a,
               gsize a_off, gsize lda, cl_mem b, gsize b_off, gsize ldb, float beta, cl_mem c,
               gsize c_off, gsize ldc, GError **error)
{
  gsize slices = k / GEMM_TN_SLICE;
  if (slices < 2 || m == 0 || n == 0 || (gsize) m * n * slices >= G_MAXINT32)
    return graft_gemm (ctx, op, TRUE, FALSE, m, n, k, 1.0f, a, a_off, lda, b, b_off, ldb, beta,
                       c, c_off, ldc, error);
  cl_mem partial = graft_context_scratch (ctx, GEMM_TN_SCRATCH, slices * m * n * sizeof (float),
                                          error);
  if (partial == NULL)
    return FALSE;
  cl_command_queue q = graft_context_queue (ctx);
  cl_event ev = NULL, before = span_begin (ctx);
  CLBlastStatusCode st =
    CLBlastSgemmStridedBatched (CLBlastLayoutRowMajor, CLBlastTransposeYes, CLBlastTransposeNo,
                                m, n, GEMM_TN_SLICE, 1.0f, a, a_off, lda, GEMM_TN_SLICE * lda,
                                b, b_off, ldb, GEMM_TN_SLICE * ldb, 0.0f, partial, 0, n, m * n,
                                slices, &q, &ev);
  if (!span_end (ctx, op, st, before, ev))
    {
      g_autofree char *what = g_strdup_printf ("%s: batched SGEMM %zu×(%zu×%zu×%d)", op, slices,
                                               m, n, GEMM_TN_SLICE);
      return graft_clblast_check (st, what, error);
    }
  cl_kernel kern = graft_context_kernel (ctx, "gemm", "gemm_sum_slices", error);
  cl_int ns = (cl_int) slices, mi = (cl_int) m, ni = (cl_int) n;
  cl_ulong coff = c_off, cld = ldc;
  size_t global[2] = { n, m };
  if (kern == NULL ||
      !graft_kernel_args (kern, error, GA (partial), GA (ns), GA (mi), GA (ni), GA (c), GA (coff),
                          GA (cld), GA (beta), 0) ||
      !graft_launch (ctx, op, kern, 2, global, NULL, error))
    return FALSE;
  /* The rows after the last whole slice. */
  gsize done = slices * GEMM_TN_SLICE;
  if (done == k)
    return TRUE;
  return graft_gemm (ctx, op, TRUE, FALSE, m, n, k - done, 1.0f, a, a_off + done * lda, lda, b,
                     b_off + done * ldb, ldb, 1.0f, c, c_off, ldc, error);
}

void
graft_gemm_ref (gboolean trans_a, gboolean trans_b, gsize m, gsize n, gsize k, float alpha,
                const float *a, gsize lda, const float *b, gsize ldb, float beta, float *c,
                gsize ldc)
{
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      {
        double acc = 0;
        for (gsize p = 0; p < k; p++)
          {
            double av = trans_a ? a[p * lda + i] : a[i * lda + p];
            double bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
            acc += av * bv;
          }
        double prev = beta == 0.0f ? 0.0 : (double) beta * c[i * ldc + j];
        c[i * ldc + j] = (float) (alpha * acc + prev);
      }
}
