/* ReLU forward and backward over flat tensors; in place is fine (each item reads, then writes
 * its own elements). The "4" variants carry four elements per item (used when n % 4 == 0). */

__kernel void relu_forward (__global const float *x, const ulong x_off, __global float *y,
                            const ulong y_off, const ulong n)
{
  const ulong i = get_global_id (0);
  if (i < n)
    y[y_off + i] = fmax (x[x_off + i], 0.0f);
}

__kernel void relu_forward4 (__global const float *x, const ulong x_off, __global float *y,
                             const ulong y_off, const ulong n)
{
  const ulong i = get_global_id (0) * 4;
  if (i < n)
    vstore4 (fmax (vload4 (0, x + x_off + i), (float4) 0.0f), 0, y + y_off + i);
}

/* dx = dy where y > 0, else 0. */
__kernel void relu_backward (__global const float *y, const ulong y_off,
                             __global const float *dy, const ulong dy_off, __global float *dx,
                             const ulong dx_off, const ulong n)
{
  const ulong i = get_global_id (0);
  if (i < n)
    dx[dx_off + i] = y[y_off + i] > 0.0f ? dy[dy_off + i] : 0.0f;
}

__kernel void relu_backward4 (__global const float *y, const ulong y_off,
                              __global const float *dy, const ulong dy_off, __global float *dx,
                              const ulong dx_off, const ulong n)
{
  const ulong i = get_global_id (0) * 4;
  if (i < n)
    {
      const float4 yv = vload4 (0, y + y_off + i);
      const float4 g = vload4 (0, dy + dy_off + i);
      vstore4 (select ((float4) 0.0f, g, isgreater (yv, (float4) 0.0f)), 0, dx + dx_off + i);
    }
}

/* ReLU6 (MobileNetV2): y = min(max(x, 0), 6); dx = dy where 0 < y < 6, else 0 (PyTorch's
 * hardtanh gradient: none at either clip). */
__kernel void relu6_forward (__global const float *x, const ulong x_off, __global float *y,
                             const ulong y_off, const ulong n)
{
  const ulong i = get_global_id (0);
  if (i < n)
    y[y_off + i] = fmin (fmax (x[x_off + i], 0.0f), 6.0f);
}

__kernel void relu6_forward4 (__global const float *x, const ulong x_off, __global float *y,
                              const ulong y_off, const ulong n)
{
  const ulong i = get_global_id (0) * 4;
  if (i < n)
    vstore4 (fmin (fmax (vload4 (0, x + x_off + i), (float4) 0.0f), (float4) 6.0f), 0,
             y + y_off + i);
}

__kernel void relu6_backward (__global const float *y, const ulong y_off,
                              __global const float *dy, const ulong dy_off, __global float *dx,
                              const ulong dx_off, const ulong n)
{
  const ulong i = get_global_id (0);
  if (i < n)
    {
      const float yv = y[y_off + i];
      dx[dx_off + i] = yv > 0.0f && yv < 6.0f ? dy[dy_off + i] : 0.0f;
    }
}

__kernel void relu6_backward4 (__global const float *y, const ulong y_off,
                               __global const float *dy, const ulong dy_off, __global float *dx,
                               const ulong dx_off, const ulong n)
{
  const ulong i = get_global_id (0) * 4;
  if (i < n)
    {
      const float4 yv = vload4 (0, y + y_off + i);
      const float4 g = vload4 (0, dy + dy_off + i);
      vstore4 (select ((float4) 0.0f, g, isgreater (yv, (float4) 0.0f) & isless (yv, (float4) 6.0f)),
               0, dx + dx_off + i);
    }
}
