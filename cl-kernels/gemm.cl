/* Helpers of the GEMM wrapper: summing the slices of a K-split product in a fixed order. */

/* c[i, j] = beta·c[i, j] + Σ_s partial[s][i·n + j], slices in order. Global size: { n, m }. */
__kernel void gemm_sum_slices (__global const float *partial, const int slices, const int m,
                               const int n, __global float *c, const ulong c_off,
                               const ulong ldc, const float beta)
{
  const int j = get_global_id (0), i = get_global_id (1);
  if (j >= n || i >= m)
    return;
  const ulong mn = (ulong) m * n;
  float acc = 0.0f;
  for (int s = 0; s < slices; s++)
    acc += partial[s * mn + (ulong) i * n + j];
  __global float *dst = c + c_off + (ulong) i * ldc + j;
  *dst = beta == 0.0f ? acc : beta * *dst + acc;
}
