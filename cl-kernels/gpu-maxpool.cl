/* Max pooling k×k stride s "same" (padding −∞) shaped for GPUs: one element per work-item,
 * channel fastest, so neighbouring work-items read neighbouring floats. Arg-max conventions
 * are maxpool.cl's: the first maximum in row-major window order wins, a recorded position is
 * (row − r0)·k + (col − c0) inside the window, and the backward passes gather in window order
 * (each dx written once, no zeroing, no atomics). Tensors under 2^31 elements. */

/* Element i of an NHWC tensor of height h, width w and c channels: its channel, column, row
 * and image. */
inline uint gpu_maxpool_unravel (uint i, int h, int w, int c, uint *ch, int *col, int *row)
{
  *ch = i % (uint) c;
  uint t = i / (uint) c;
  *col = (int) (t % (uint) w);
  t /= (uint) w;
  *row = (int) (t % (uint) h);
  return t / (uint) h;
}

/* The maximum of the window whose top left corner is (r0, q0), inside the image (xb: the
 * image's channel, c floats a pixel), into *best; returns its position (row − r0)·k + col − q0,
 * the first maximum in row-major window order. */
inline int gpu_maxpool_window_max (__global const float *xb, int r0, int q0, int k, int h,
                                   int w, int c, float *best)
{
  const int rlo = max (r0, 0), rhi = min (r0 + k, h), qlo = max (q0, 0), qhi = min (q0 + k, w);
  float b = xb[(uint) (rlo * w + qlo) * (uint) c];
  int pos = (rlo - r0) * k + qlo - q0;
  for (int r = rlo; r < rhi; r++)
    for (int q = qlo; q < qhi; q++)
      {
        const float v = xb[(uint) (r * w + q) * (uint) c];
        if (v > b)
          {
            b = v;
            pos = (r - r0) * k + q - q0;
          }
      }
  *best = b;
  return pos;
}

/* One output element per work-item; with want_arg its arg-max position goes to arg (a byte
 * per output). Global size: { n·oh·ow·c }. */
__kernel void gpu_maxpool_forward (__global const float *x, const ulong x_off,
                                   __global float *y, const ulong y_off,
                                   __global uchar *arg, const ulong arg_off, const int want_arg,
                                   const int n, const int h, const int w, const int c,
                                   const int oh, const int ow, const int k, const int s,
                                   const int pad_t, const int pad_l)
{
  const uint i = get_global_id (0);
  if (i >= (uint) n * (uint) oh * (uint) ow * (uint) c)
    return;
  uint ch;
  int ox, oy;
  const uint b = gpu_maxpool_unravel (i, oh, ow, c, &ch, &ox, &oy);
  __global const float *xb = x + x_off + b * (uint) (h * w * c) + ch;
  float best;
  const int pos = gpu_maxpool_window_max (xb, oy * s - pad_t, ox * s - pad_l, k, h, w, c, &best);
  y[y_off + i] = best;
  if (want_arg)
    arg[arg_off + i] = (uchar) pos;
}

/* Window range of input row or column @i: outputs o with o·s − pad ≤ i ≤ o·s − pad + k − 1. */
inline int2 gpu_maxpool_windows (int i, int pad, int k, int s, int outs)
{
  int lo = i + pad - k + 1;
  lo = lo <= 0 ? 0 : (lo + s - 1) / s;
  return (int2) (lo, min ((i + pad) / s, outs - 1));
}

/* Gather from recorded positions: each input element sums, in window order, the dy of the
 * windows whose recorded arg-max it is. Global size: { n·h·w·c }. */
__kernel void gpu_maxpool_backward_arg (__global const uchar *arg, const ulong arg_off,
                                        __global const float *dy, const ulong dy_off,
                                        __global float *dx, const ulong dx_off,
                                        const int n, const int h, const int w, const int c,
                                        const int oh, const int ow, const int k, const int s,
                                        const int pad_t, const int pad_l)
{
  const uint i = get_global_id (0);
  if (i >= (uint) n * (uint) h * (uint) w * (uint) c)
    return;
  uint ch;
  int ix, iy;
  const uint b = gpu_maxpool_unravel (i, h, w, c, &ch, &ix, &iy);
  const int2 ys = gpu_maxpool_windows (iy, pad_t, k, s, oh);
  const int2 xs = gpu_maxpool_windows (ix, pad_l, k, s, ow);
  float acc = 0.0f;
  for (int oy = ys.x; oy <= ys.y; oy++)
    for (int ox = xs.x; ox <= xs.y; ox++)
      {
        const uint o = ((b * (uint) oh + (uint) oy) * (uint) ow + (uint) ox) * (uint) c + ch;
        const int mine = (iy - (oy * s - pad_t)) * k + ix - (ox * s - pad_l);
        if ((int) arg[arg_off + o] == mine)
          acc += dy[dy_off + o];
      }
  dx[dx_off + i] = acc;
}

/* Gather recomputing each window's arg-max from x (as gpu_maxpool_forward finds it).
 * Global size: { n·h·w·c }. */
__kernel void gpu_maxpool_backward (__global const float *x, const ulong x_off,
                                    __global const float *dy, const ulong dy_off,
                                    __global float *dx, const ulong dx_off,
                                    const int n, const int h, const int w, const int c,
                                    const int oh, const int ow, const int k, const int s,
                                    const int pad_t, const int pad_l)
{
  const uint i = get_global_id (0);
  if (i >= (uint) n * (uint) h * (uint) w * (uint) c)
    return;
  uint ch;
  int ix, iy;
  const uint b = gpu_maxpool_unravel (i, h, w, c, &ch, &ix, &iy);
  const int2 ys = gpu_maxpool_windows (iy, pad_t, k, s, oh);
  const int2 xs = gpu_maxpool_windows (ix, pad_l, k, s, ow);
  __global const float *xb = x + x_off + b * (uint) (h * w * c) + ch;
  float acc = 0.0f;
  for (int oy = ys.x; oy <= ys.y; oy++)
    for (int ox = xs.x; ox <= xs.y; ox++)
      {
        const int r0 = oy * s - pad_t, q0 = ox * s - pad_l;
        float best;
        if (gpu_maxpool_window_max (xb, r0, q0, k, h, w, c, &best) == (iy - r0) * k + ix - q0)
          acc += dy[dy_off + ((b * (uint) oh + (uint) oy) * (uint) ow + (uint) ox) * (uint) c + ch];
      }
  dx[dx_off + i] = acc;
}
