/* Element-wise arithmetic on flat tensor views: residual add, rescaling, gradient accumulation. */

__kernel void add_forward (__global const float *a, const ulong a_off,
                           __global const float *b, const ulong b_off,
                           __global float *y, const ulong y_off, const ulong n)
{
  const ulong i = get_global_id (0);
  if (i < n)
    y[y_off + i] = a[a_off + i] + b[b_off + i];
}

__kernel void scale_forward (__global const float *x, const ulong x_off,
                             __global float *y, const ulong y_off, const float alpha,
                             const ulong n)
{
  const ulong i = get_global_id (0);
  if (i < n)
    y[y_off + i] = alpha * x[x_off + i];
}

__kernel void axpy_forward (__global const float *x, const ulong x_off,
                            __global float *y, const ulong y_off, const float alpha,
                            const ulong n)
{
  const ulong i = get_global_id (0);
  if (i < n)
    y[y_off + i] += alpha * x[x_off + i];
}
