/* Element-wise kernels shaped for GPUs: one element per work-item, or a float4 when the
 * element count is a multiple of 4 (the "4" kernels, over n/4 items), so a work-group reads
 * one contiguous run. ReLU in place is fine. */

#define GPU_EW(NAME, BODY1, BODY4, ...)                                                    \
__kernel void NAME (__VA_ARGS__, const ulong n)                                            \
{                                                                                           \
  const ulong i = get_global_id (0);                                                        \
  if (i < n)                                                                                \
    BODY1;                                                                                  \
}                                                                                           \
__kernel void NAME##4 (__VA_ARGS__, const ulong n)                                         \
{                                                                                           \
  const ulong i = get_global_id (0) * 4;                                                    \
  if (i < n)                                                                                \
    BODY4;                                                                                  \
}

GPU_EW (gpu_add, y[y_off + i] = a[a_off + i] + b[b_off + i],
        vstore4 (vload4 (0, a + a_off + i) + vload4 (0, b + b_off + i), 0, y + y_off + i),
        __global const float *a, const ulong a_off, __global const float *b, const ulong b_off,
        __global float *y, const ulong y_off)

GPU_EW (gpu_scale, y[y_off + i] = alpha * x[x_off + i],
        vstore4 (alpha * vload4 (0, x + x_off + i), 0, y + y_off + i),
        __global const float *x, const ulong x_off, __global float *y, const ulong y_off,
        const float alpha)

GPU_EW (gpu_axpy, y[y_off + i] += alpha * x[x_off + i],
        vstore4 (vload4 (0, y + y_off + i) + alpha * vload4 (0, x + x_off + i), 0, y + y_off + i),
        __global const float *x, const ulong x_off, __global float *y, const ulong y_off,
        const float alpha)

GPU_EW (gpu_relu_forward, y[y_off + i] = fmax (x[x_off + i], 0.0f),
        vstore4 (fmax (vload4 (0, x + x_off + i), (float4) 0.0f), 0, y + y_off + i),
        __global const float *x, const ulong x_off, __global float *y, const ulong y_off)

/* dx = dy where y > 0, else 0. */
GPU_EW (gpu_relu_backward, dx[dx_off + i] = y[y_off + i] > 0.0f ? dy[dy_off + i] : 0.0f,
        vstore4 (select ((float4) 0.0f, vload4 (0, dy + dy_off + i),
                         isgreater (vload4 (0, y + y_off + i), (float4) 0.0f)),
                 0, dx + dx_off + i),
        __global const float *y, const ulong y_off, __global const float *dy,
        const ulong dy_off, __global float *dx, const ulong dx_off)

/* 1×1 stride-s convolution input, one element per work-item: sub[n, oy, ox, c] =
 * x[n, oy·s, ox·s, c] over { count = nb·ho·wo·c }; with inverse, dx[n, iy, ix, c] =
 * sub[n, iy/s, ix/s, c] on the grid and 0 elsewhere, over { nb·h·w·c }. */
__kernel void gpu_subsample (__global float *x, const ulong x_off,
                             __global float *sub, const ulong sub_off,
                             const int h, const int w, const int c, const int ho, const int wo,
                             const int stride, const int inverse, const uint count)
{
  const uint i = get_global_id (0);
  if (i >= count)
    return;
  const uint ch = i % (uint) c;
  uint t = i / (uint) c;
  if (!inverse)
    {
      const uint ox = t % (uint) wo;
      t /= (uint) wo;
      const uint oy = t % (uint) ho;
      const uint b = t / (uint) ho;
      sub[sub_off + i] = x[x_off + ((b * (uint) h + oy * stride) * (uint) w + ox * stride) * (uint) c + ch];
      return;
    }
  const uint ix = t % (uint) w;
  t /= (uint) w;
  const uint iy = t % (uint) h;
  const uint b = t / (uint) h;
  float v = 0.0f;
  if (iy % stride == 0 && ix % stride == 0)
    v = sub[sub_off + ((b * (uint) ho + iy / stride) * (uint) wo + ix / stride) * (uint) c + ch];
  x[x_off + i] = v;
}
