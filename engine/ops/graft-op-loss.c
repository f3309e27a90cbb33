/* Sigmoid and softmax cross-entropy on logits: OpenCL loss, gradient and statistics, C reference. */
#include "graft-ops.h"

#include <math.h>

gboolean
graft_loss_forward_backward (GraftContext *ctx, const GraftTensor *logits,
                             const GraftTensor *labels, GraftTensor *dlogits,
                             GraftTensor *stats, GError **error)
{
  int n = logits->ne[0] * logits->ne[1] * logits->ne[2], k = logits->ne[3];
  if (n <= 0 || k <= 0 || graft_tensor_numel (labels) != (gsize) n ||
      graft_tensor_numel (stats) < 2 ||
      (dlogits != NULL && !graft_tensor_same_shape (logits, dlogits)))
    {
      g_autofree char *zs = graft_tensor_shape_string (logits);
      g_autofree char *ls = graft_tensor_shape_string (labels);
      g_autofree char *ss = graft_tensor_shape_string (stats);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "loss: logits %s need labels N×1×1×1 (got %s), statistics of 2 values "
                   "(got %s) and a gradient of the logits' shape", zs, ls, ss);
      return FALSE;
    }
  cl_kernel kern = graft_context_kernel (ctx, "loss", "loss_forward_backward", error);
  if (kern == NULL)
    return FALSE;
  cl_ulong zo = logits->off, lo = labels->off, so = stats->off;
  /* Without a gradient output the kernel still needs a valid buffer argument. */
  cl_mem dmem = dlogits ? dlogits->mem : logits->mem;
  cl_ulong dzo = dlogits ? dlogits->off : 0;
  cl_int has_dz = dlogits != NULL, cn = n, ck = k;
  if (!graft_kernel_args (kern, error, GA (logits->mem), GA (zo), GA (labels->mem), GA (lo),
                          GA (dmem), GA (dzo), GA (has_dz), GA (stats->mem), GA (so), GA (cn),
                          GA (ck), (size_t) 0))
    return FALSE;
  /* One work-group, so the sums reach stats without atomics or a second pass. */
  size_t global = 64, local = 64;
  return graft_launch (ctx, "loss", kern, 1, &global, &local, error);
}

void
graft_loss_forward_backward_ref (int n, int k, const float *logits, const float *labels,
                                 float *dlogits, float *stats)
{
  double loss_sum = 0, correct = 0;
  for (int row = 0; row < n; row++)
    {
      const float *z = logits + (gsize) row * k;
      double y = labels[row];
      if (k == 1)
        {
          double zi = z[0];
          loss_sum += fmax (zi, 0.0) - zi * y + log1p (exp (-fabs (zi)));
          correct += ((zi > 0) == (y > 0.5)) ? 1 : 0;
          if (dlogits)
            {
              double sig = zi >= 0 ? 1.0 / (1.0 + exp (-zi)) : exp (zi) / (1.0 + exp (zi));
              dlogits[row] = (float) ((sig - y) / n);
            }
          continue;
        }
      int lab = (int) y;
      gboolean valid = y >= 0 && lab < k && (double) lab == y;
      int arg = 0;
      for (int j = 1; j < k; j++)
        if (z[j] > z[arg])
          arg = j;
      double se = 0;
      for (int j = 0; j < k; j++)
        se += exp ((double) z[j] - z[arg]);
      double lse = z[arg] + log (se);
      loss_sum += valid ? lse - z[lab] : NAN;
      correct += (valid && arg == lab) ? 1 : 0;
      if (dlogits)
        for (int j = 0; j < k; j++)
          dlogits[(gsize) row * k + j] = (float) ((exp (z[j] - lse) - (j == lab ? 1 : 0)) / n);
    }
  stats[0] += (float) loss_sum;
  stats[1] += (float) correct;
}
