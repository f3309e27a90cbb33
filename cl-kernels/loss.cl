/* Sigmoid / softmax cross-entropy on logits: gradient of the mean loss and epoch statistics. */

#define LOSS_WG 64

/* One work-group: each work-item takes rows lid, lid+64, …; the per-row loss
 * and correctness are summed in local memory and added to stats by one
 * work-item, so epoch totals accumulate on the device without atomics.
 * A label outside [0, K) gives a NaN loss so that it cannot go unnoticed. */
__kernel __attribute__ ((reqd_work_group_size (LOSS_WG, 1, 1)))
void loss_forward_backward (__global const float *z, const ulong z_off,
                            __global const float *labels, const ulong l_off,
                            __global float *dz, const ulong dz_off, const int has_dz,
                            __global float *stats, const ulong s_off,
                            const int n, const int k)
{
  __local float loss_sum[LOSS_WG];
  __local float correct_sum[LOSS_WG];
  int lid = get_local_id (0);
  float inv_n = 1.0f / (float) n;
  float my_loss = 0.0f, my_correct = 0.0f;

  for (int row = lid; row < n; row += LOSS_WG)
    {
      __global const float *zr = z + z_off + (ulong) row * k;
      float y = labels[l_off + row];
      if (k == 1)
        {
          float zi = zr[0];
          my_loss += fmax (zi, 0.0f) - zi * y + log1p (exp (-fabs (zi)));
          my_correct += ((zi > 0.0f) == (y > 0.5f)) ? 1.0f : 0.0f;
          if (has_dz)
            {
              float e = exp (-fabs (zi));
              float sig = zi >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
              dz[dz_off + row] = (sig - y) * inv_n;
            }
          continue;
        }
      int lab = (int) y;
      float mx = zr[0];
      int arg = 0;
      for (int j = 1; j < k; j++)
        if (zr[j] > mx)
          {
            mx = zr[j];
            arg = j;
          }
      float se = 0.0f;
      for (int j = 0; j < k; j++)
        se += exp (zr[j] - mx);
      float lse = mx + log (se);
      int valid = y >= 0.0f && lab < k && (float) lab == y;
      my_loss += valid ? lse - zr[lab] : NAN;
      my_correct += (valid && arg == lab) ? 1.0f : 0.0f;
      if (has_dz)
        for (int j = 0; j < k; j++)
          dz[dz_off + (ulong) row * k + j] =
            (exp (zr[j] - lse) - (j == lab ? 1.0f : 0.0f)) * inv_n;
    }

  loss_sum[lid] = my_loss;
  correct_sum[lid] = my_correct;
  barrier (CLK_LOCAL_MEM_FENCE);
  for (int span = LOSS_WG / 2; span > 0; span >>= 1)
    {
      if (lid < span)
        {
          loss_sum[lid] += loss_sum[lid + span];
          correct_sum[lid] += correct_sum[lid + span];
        }
      barrier (CLK_LOCAL_MEM_FENCE);
    }
  if (lid == 0)
    {
      stats[s_off] += loss_sum[0];
      stats[s_off + 1] += correct_sum[0];
    }
}
