/* Small helpers used by tests and tools. */
__kernel void scale_add (__global float *y, const ulong y_off, __global const float *x,
                         const ulong x_off, const float a, const uint n)
{
  uint i = get_global_id (0);
  if (i < n)
    y[y_off + i] += a * x[x_off + i];
}
