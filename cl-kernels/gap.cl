/* Global average pooling over NHWC: y[n, c] = mean over the h·w pixels of x[n, ·, ·, c]. */

/* One item per (n, c); consecutive items read consecutive channels of a pixel. */
__kernel void gap_forward (__global const float *x, const ulong x_off,
                           __global float *y, const ulong y_off,
                           const int hw, const int c, const uint total)
{
  const uint i = get_global_id (0);
  if (i >= total)
    return;
  const uint n = i / c;
  const int ci = i % c;
  __global const float *xp = x + x_off + (ulong) n * hw * c + ci;
  float acc = 0.0f;
  for (int p = 0; p < hw; p++)
    acc += xp[(ulong) p * c];
  y[y_off + i] = acc / (float) hw;
}

/* dx[n, p, c] = dy[n, c] / hw, one item per dx element. */
__kernel void gap_backward (__global const float *dy, const ulong dy_off,
                            __global float *dx, const ulong dx_off,
                            const int hw, const int c, const uint total)
{
  const uint i = get_global_id (0);
  if (i >= total)
    return;
  const uint n = i / ((uint) hw * c);
  const int ci = i % c;
  dx[dx_off + i] = dy[dy_off + (ulong) n * c + ci] / (float) hw;
}
