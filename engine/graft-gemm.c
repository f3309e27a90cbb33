/* Row-major SGEMM through CLBlast, with a plain-C reference. */
#include "graft-gemm.h"

#include <clblast_c.h>

gboolean
graft_gemm (GraftContext *ctx, const char *op, gboolean trans_a, gboolean trans_b,
            gsize m, gsize n, gsize k, float alpha,
            cl_mem a, gsize a_off, gsize lda, cl_mem b, gsize b_off, gsize ldb,
            float beta, cl_mem c, gsize c_off, gsize ldc, GError **error)
{
  if (m == 0 || n == 0)
    return TRUE;
  cl_command_queue q = graft_context_queue (ctx);
  cl_event ev = NULL, before = NULL;
  /* CLBlast's indirect path pads and transposes in kernels of its own and
   * returns only the last event; a marker makes the profile cover them all. */
  if (graft_context_get_profiling (ctx) &&
      clEnqueueMarkerWithWaitList (q, 0, NULL, &before) != CL_SUCCESS)
    before = NULL;
  CLBlastStatusCode st = CLBlastSgemm (CLBlastLayoutRowMajor,
                                       trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       trans_b ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       m, n, k, alpha, a, a_off, lda, b, b_off, ldb,
                                       beta, c, c_off, ldc, &q, &ev);
  if (st != CLBlastSuccess)
    {
      if (before)
        clReleaseEvent (before);
      g_autofree char *what = g_strdup_printf ("%s: SGEMM %zu×%zu×%zu", op, m, n, k);
      return graft_clblast_check (st, what, error);
    }
  if (ev && before)
    graft_context_record_span (ctx, op, before, ev);
  else if (ev)
    graft_context_record_event (ctx, op, ev);
  else if (before)
    clReleaseEvent (before);
  return TRUE;
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
