/* Depthwise k×k stride-1 "same" convolution (depth multiplier 1, no bias): forward and backward.
 *
 * Work-items walk channels fastest so neighbouring items load neighbouring floats; the
 * "4" variants carry four channels each (used when c % 4 == 0). Tensor offsets are in floats.
 * The kernels are written once as macros over the element type: T is float or float4. */

#define DW_LD1(p, i) ((p)[i])
#define DW_ST1(v, p, i) ((p)[i] = (v))
#define DW_LD4(p, i) vload4 (0, (p) + (i))
#define DW_ST4(v, p, i) vstore4 ((v), 0, (p) + (i))

/* y(n,h,w,c) = Σ x(n, h−pad+ky, w−pad+kx, c)·w(ky,kx,c). The input gradient is the same sum
 * over dy with the kernel flipped, so one body serves both: flip selects the direction.
 * Global size: { c / V, w, n·h }. */
#define DW_SAME_CONV(NAME, T, V, LD, ST)                                                    \
__kernel void NAME (__global const float *x, const ulong x_off,                            \
                    __global const float *wt, const ulong w_off,                           \
                    __global float *y, const ulong y_off,                                  \
                    const int n, const int h, const int w, const int c, const int k,       \
                    const int pad, const int flip)                                         \
{                                                                                           \
  const int cv = get_global_id (0) * V;                                                     \
  const int ox = get_global_id (1);                                                         \
  const int nh = get_global_id (2);                                                         \
  if (cv >= c || ox >= w || nh >= n * h)                                                    \
    return;                                                                                 \
  const int oy = nh % h;                                                                    \
  const ulong img = (ulong) (nh - oy) * w * c;                                              \
  /* forward: input row oy − pad + ky; flipped: oy + pad − ky. The tap ranges that stay   \
   * inside the image are worked out once, so the loops carry no per-tap tests. */         \
  const int sy = flip ? -1 : 1;                                                             \
  const int by = flip ? oy + pad : oy - pad;                                                \
  const int bx = flip ? ox + pad : ox - pad;                                                \
  const int ky0 = flip ? max (0, by - h + 1) : max (0, -by);                                \
  const int ky1 = flip ? min (k, by + 1) : min (k, h - by);                                 \
  const int kx0 = flip ? max (0, bx - w + 1) : max (0, -bx);                                \
  const int kx1 = flip ? min (k, bx + 1) : min (k, w - bx);                                 \
  T acc = (T) 0.0f;                                                                         \
  for (int ky = ky0; ky < ky1; ky++)                                                        \
    {                                                                                       \
      const ulong xrow = x_off + img + (ulong) (by + sy * ky) * w * c + cv;                 \
      const ulong wrow = w_off + (ulong) ky * k * c + cv;                                   \
      for (int kx = kx0; kx < kx1; kx++)                                                    \
        acc = fma (LD (x, xrow + (ulong) (bx + sy * kx) * c), LD (wt, wrow + (ulong) kx * c), acc); \
    }                                                                                       \
  ST (acc, y, y_off + img + ((ulong) oy * w + ox) * c + cv);                                \
}

DW_SAME_CONV (depthwise_conv, float, 1, DW_LD1, DW_ST1)
DW_SAME_CONV (depthwise_conv4, float4, 4, DW_LD4, DW_ST4)

/* First stage of dw(ky,kx,c) = Σ_{n,oy,ox} dy(n,oy,ox,c)·x(n, oy−pad+ky, ox−pad+kx, c): each
 * item takes one kernel row ky of one channel (group) over a chunk of output pixels, loads each
 * dy once for the whole row of taps, and writes partial[chunk][ky·k + kx][c] for every kx.
 * k ≤ DW_MAX_K. Global size: { c / V, k, chunks }. */
#define DW_MAX_K 8
#define DW_WGRAD_PARTIAL(NAME, T, V, LD, ST)                                                \
__kernel void NAME (__global const float *x, const ulong x_off,                            \
                    __global const float *dy, const ulong dy_off,                          \
                    __global float *partial,                                               \
                    const int n, const int h, const int w, const int c, const int k,       \
                    const int pad, const int chunk)                                        \
{                                                                                           \
  const int cv = get_global_id (0) * V;                                                     \
  const int ky = get_global_id (1);                                                         \
  const int ch = get_global_id (2);                                                         \
  const int pixels = n * h * w;                                                             \
  if (cv >= c || ky >= k || ch * chunk >= pixels)                                           \
    return;                                                                                 \
  const int dyo = ky - pad;                                                                 \
  const int p1 = min (pixels, (ch + 1) * chunk);                                            \
  T acc[DW_MAX_K];                                                                          \
  for (int kx = 0; kx < k; kx++)                                                            \
    acc[kx] = (T) 0.0f;                                                                     \
  int ox = (ch * chunk) % w, oy = ((ch * chunk) / w) % h;                                   \
  for (int p = ch * chunk; p < p1; p++)                                                     \
    {                                                                                       \
      const int iy = oy + dyo;                                                              \
      if (iy >= 0 && iy < h)                                                                \
        {                                                                                   \
          const T g = LD (dy, dy_off + (ulong) p * c + cv);                                 \
          const long row = (long) p + (long) dyo * w - ox;  /* pixel (iy, 0) */             \
          const int kx0 = max (0, pad - ox), kx1 = min (k, w + pad - ox);                   \
          for (int kx = kx0; kx < kx1; kx++)                                                \
            acc[kx] = fma (g, LD (x, x_off + (ulong) (row + ox + kx - pad) * c + cv), acc[kx]); \
        }                                                                                   \
      if (++ox == w)                                                                        \
        {                                                                                   \
          ox = 0;                                                                           \
          if (++oy == h)                                                                    \
            oy = 0;                                                                         \
        }                                                                                   \
    }                                                                                       \
  for (int kx = 0; kx < k; kx++)                                                            \
    ST (acc[kx], partial, ((ulong) ch * k * k + ky * k + kx) * c + cv);                     \
}

DW_WGRAD_PARTIAL (depthwise_wgrad_partial, float, 1, DW_LD1, DW_ST1)
DW_WGRAD_PARTIAL (depthwise_wgrad_partial4, float4, 4, DW_LD4, DW_ST4)

/* Second stage: dw[i] = Σ_chunk partial[chunk][i] over i = tap·c + channel, in chunk order so
 * the result does not depend on scheduling. */
__kernel void depthwise_wgrad_sum (__global const float *partial, __global float *dw,
                                   const ulong dw_off, const int count, const int chunks)
{
  const int i = get_global_id (0);
  if (i >= count)
    return;
  float acc = 0.0f;
  for (int ch = 0; ch < chunks; ch++)
    acc += partial[(ulong) ch * count + i];
  dw[dw_off + i] = acc;
}
