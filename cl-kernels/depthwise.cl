/* Depthwise k×k convolution (depth multiplier 1, no bias): forward and backward, stride-1 "same"
 * kernels and, at the end, kernels for any stride and padding.
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

/* 3×3 kernels (the separable convolutions of the reference model): one work-item walks a whole
 * output row for V channels (16, 8, 4, 2 or 1: the largest that divides c), holding the nine
 * taps in registers and sliding a 3×3 window of input columns along the row, so each input is
 * loaded once per row it serves and all index arithmetic happens once per row. Rows above or
 * below the image read the centre row with zero taps instead of branching. Global size:
 * { c/V, n·h }. Written once as macros over the element type T and its load/store at a
 * channel offset. */
#define DW3_LD16(p, i) vload16 (0, (p) + (i))
#define DW3_ST16(v, p, i) vstore16 ((v), 0, (p) + (i))
#define DW3_LD8(p, i) vload8 (0, (p) + (i))
#define DW3_ST8(v, p, i) vstore8 ((v), 0, (p) + (i))
#define DW3_LD2(p, i) vload2 (0, (p) + (i))
#define DW3_ST2(v, p, i) vstore2 ((v), 0, (p) + (i))

#define DW3_CONV(NAME, T, V, LD, ST)                                                        \
__kernel void NAME (__global const float *x, const ulong x_off,                            \
                    __global const float *wt, const ulong w_off,                           \
                    __global float *y, const ulong y_off,                                  \
                    const int n, const int h, const int w, const int c, const int flip)    \
{                                                                                           \
  const uint cv = get_global_id (0) * V;                                                    \
  const int nh = get_global_id (1);                                                         \
  if (cv >= (uint) c || nh >= n * h)                                                        \
    return;                                                                                 \
  const int oy = nh % h;                                                                    \
  /* Tap (ky, kx) of the forward kernel; the input gradient uses (2 − ky, 2 − kx). */      \
  __global const float *wb = wt + w_off + cv;                                               \
  const uint t0 = flip ? 8 : 0;                                                             \
  const int dt = flip ? -1 : 1;                                                             \
  const T top = oy > 0 ? (T) 1.0f : (T) 0.0f;                                               \
  const T bot = oy < h - 1 ? (T) 1.0f : (T) 0.0f;                                           \
  const T w00 = top * LD (wb, (t0 + 0 * dt) * c), w01 = top * LD (wb, (t0 + 1 * dt) * c);   \
  const T w02 = top * LD (wb, (t0 + 2 * dt) * c);                                           \
  const T w10 = LD (wb, (t0 + 3 * dt) * c), w11 = LD (wb, (t0 + 4 * dt) * c);               \
  const T w12 = LD (wb, (t0 + 5 * dt) * c);                                                 \
  const T w20 = bot * LD (wb, (t0 + 6 * dt) * c), w21 = bot * LD (wb, (t0 + 7 * dt) * c);   \
  const T w22 = bot * LD (wb, (t0 + 8 * dt) * c);                                           \
  const uint row = (uint) w * (uint) c;                                                     \
  __global const float *r1 = x + x_off + (uint) nh * row + cv;                              \
  __global const float *r0 = oy > 0 ? r1 - row : r1;                                        \
  __global const float *r2 = oy < h - 1 ? r1 + row : r1;                                    \
  __global float *out = y + y_off + (uint) nh * row + cv;                                   \
  T a0 = (T) 0.0f, a1 = (T) 0.0f, a2 = (T) 0.0f;                                            \
  T b0 = LD (r0, 0), b1 = LD (r1, 0), b2 = LD (r2, 0);                                      \
  for (int ox = 0; ox < w; ox++)                                                            \
    {                                                                                       \
      T c0 = (T) 0.0f, c1 = (T) 0.0f, c2 = (T) 0.0f;                                        \
      if (ox + 1 < w)                                                                       \
        {                                                                                   \
          const uint q = (uint) (ox + 1) * (uint) c;                                        \
          c0 = LD (r0, q);                                                                  \
          c1 = LD (r1, q);                                                                  \
          c2 = LD (r2, q);                                                                  \
        }                                                                                   \
      T acc = a0 * w00;                                                                     \
      acc = fma (b0, w01, acc);                                                             \
      acc = fma (c0, w02, acc);                                                             \
      acc = fma (a1, w10, acc);                                                             \
      acc = fma (b1, w11, acc);                                                             \
      acc = fma (c1, w12, acc);                                                             \
      acc = fma (a2, w20, acc);                                                             \
      acc = fma (b2, w21, acc);                                                             \
      acc = fma (c2, w22, acc);                                                             \
      ST (acc, out, (uint) ox * (uint) c);                                                  \
      a0 = b0; a1 = b1; a2 = b2;                                                            \
      b0 = c0; b1 = c1; b2 = c2;                                                            \
    }                                                                                       \
}

/* Kernel gradient of one image for V channels: partial[img][tap][c] = Σ over the image of
 * dy·x at that tap, the same sliding window over x; depthwise_wgrad_sum adds the images in
 * order. Global size: { c/V, n }. */
#define DW3_WGRAD(NAME, T, V, LD, ST)                                                       \
__kernel void NAME (__global const float *x, const ulong x_off,                            \
                    __global const float *dy, const ulong dy_off,                          \
                    __global float *partial,                                               \
                    const int n, const int h, const int w, const int c)                    \
{                                                                                           \
  const uint cv = get_global_id (0) * V;                                                    \
  const int img = get_global_id (1);                                                        \
  if (cv >= (uint) c || img >= n)                                                           \
    return;                                                                                 \
  const uint row = (uint) w * (uint) c;                                                     \
  T g[3][3];                                                                                \
  for (int ky = 0; ky < 3; ky++)                                                            \
    g[ky][0] = g[ky][1] = g[ky][2] = (T) 0.0f;                                              \
  for (int oy = 0; oy < h; oy++)                                                            \
    {                                                                                       \
      __global const float *d = dy + dy_off + (uint) (img * h + oy) * row + cv;             \
      for (int ky = 0; ky < 3; ky++)                                                        \
        {                                                                                   \
          const int iy = oy - 1 + ky;                                                       \
          if (iy < 0 || iy >= h)                                                            \
            continue;                                                                       \
          __global const float *xr = x + x_off + (uint) (img * h + iy) * row + cv;          \
          T s0 = g[ky][0], s1 = g[ky][1], s2 = g[ky][2];                                    \
          T xa = (T) 0.0f, xb = LD (xr, 0);                                                 \
          for (int ox = 0; ox < w; ox++)                                                    \
            {                                                                               \
              const T xc = ox + 1 < w ? LD (xr, (uint) (ox + 1) * (uint) c) : (T) 0.0f;     \
              const T gy = LD (d, (uint) ox * (uint) c);                                    \
              s0 = fma (gy, xa, s0);                                                        \
              s1 = fma (gy, xb, s1);                                                        \
              s2 = fma (gy, xc, s2);                                                        \
              xa = xb;                                                                      \
              xb = xc;                                                                      \
            }                                                                               \
          g[ky][0] = s0;                                                                    \
          g[ky][1] = s1;                                                                    \
          g[ky][2] = s2;                                                                    \
        }                                                                                   \
    }                                                                                       \
  __global float *p = partial + (uint) img * 9u * (uint) c + cv;                            \
  for (int ky = 0; ky < 3; ky++)                                                            \
    for (int kx = 0; kx < 3; kx++)                                                          \
      ST (g[ky][kx], p, (uint) (ky * 3 + kx) * (uint) c);                                   \
}

DW3_CONV (depthwise3_conv_v16, float16, 16, DW3_LD16, DW3_ST16)
DW3_CONV (depthwise3_conv_v8, float8, 8, DW3_LD8, DW3_ST8)
DW3_CONV (depthwise3_conv_v4, float4, 4, DW_LD4, DW_ST4)
DW3_CONV (depthwise3_conv_v2, float2, 2, DW3_LD2, DW3_ST2)
DW3_CONV (depthwise3_conv_v1, float, 1, DW_LD1, DW_ST1)
DW3_WGRAD (depthwise3_wgrad_v16, float16, 16, DW3_LD16, DW3_ST16)
DW3_WGRAD (depthwise3_wgrad_v8, float8, 8, DW3_LD8, DW3_ST8)
DW3_WGRAD (depthwise3_wgrad_v4, float4, 4, DW_LD4, DW_ST4)
DW3_WGRAD (depthwise3_wgrad_v2, float2, 2, DW3_LD2, DW3_ST2)
DW3_WGRAD (depthwise3_wgrad_v1, float, 1, DW_LD1, DW_ST1)

/* Any stride and padding (MobileNetV2's stride-2 layers, PyTorch's explicit padding): the
 * output is {n, ho, wo, c} and input row iy = oy·stride − pad_t + ky (columns likewise); taps
 * outside the image read 0. Forward over { c/V, wo, n·ho }. */
#define DW_STRIDED_CONV(NAME, T, V, LD, ST)                                                 \
__kernel void NAME (__global const float *x, const ulong x_off,                            \
                    __global const float *wt, const ulong w_off,                           \
                    __global float *y, const ulong y_off,                                  \
                    const int n, const int h, const int w, const int c, const int k,       \
                    const int stride, const int pad_t, const int pad_l,                    \
                    const int ho, const int wo)                                            \
{                                                                                           \
  const int cv = get_global_id (0) * V;                                                     \
  const int ox = get_global_id (1);                                                         \
  const int nh = get_global_id (2);                                                         \
  if (cv >= c || ox >= wo || nh >= n * ho)                                                  \
    return;                                                                                 \
  const int oy = nh % ho;                                                                   \
  const int b = nh / ho;                                                                    \
  const int by = oy * stride - pad_t, bx = ox * stride - pad_l;                             \
  const int ky0 = max (0, -by), ky1 = min (k, h - by);                                      \
  const int kx0 = max (0, -bx), kx1 = min (k, w - bx);                                      \
  T acc = (T) 0.0f;                                                                         \
  for (int ky = ky0; ky < ky1; ky++)                                                        \
    {                                                                                       \
      const ulong xrow = x_off + (((ulong) b * h + by + ky) * w) * c + cv;                  \
      const ulong wrow = w_off + (ulong) ky * k * c + cv;                                   \
      for (int kx = kx0; kx < kx1; kx++)                                                    \
        acc = fma (LD (x, xrow + (ulong) (bx + kx) * c), LD (wt, wrow + (ulong) kx * c), acc); \
    }                                                                                       \
  ST (acc, y, y_off + (((ulong) b * ho + oy) * wo + ox) * c + cv);                          \
}

/* Input gradient in gather form: dx(n,iy,ix,c) = Σ dy(n,oy,ox,c)·w(ky,kx,c) over the outputs
 * whose window covers (iy, ix), ky = iy + pad_t − oy·stride. Over { c/V, w, n·h }. */
#define DW_STRIDED_DGRAD(NAME, T, V, LD, ST)                                                \
__kernel void NAME (__global const float *dy, const ulong dy_off,                          \
                    __global const float *wt, const ulong w_off,                           \
                    __global float *dx, const ulong dx_off,                                \
                    const int n, const int h, const int w, const int c, const int k,       \
                    const int stride, const int pad_t, const int pad_l,                    \
                    const int ho, const int wo)                                            \
{                                                                                           \
  const int cv = get_global_id (0) * V;                                                     \
  const int ix = get_global_id (1);                                                         \
  const int nh = get_global_id (2);                                                         \
  if (cv >= c || ix >= w || nh >= n * h)                                                    \
    return;                                                                                 \
  const int iy = nh % h;                                                                    \
  const int b = nh / h;                                                                     \
  /* Outputs oy with 0 ≤ iy + pad_t − oy·stride < k. */                                    \
  const int ty = iy + pad_t, tx = ix + pad_l;                                               \
  const int oy0 = ty - k + 1 <= 0 ? 0 : (ty - k + stride) / stride;                         \
  const int oy1 = min (ho - 1, ty / stride);                                                \
  const int ox0 = tx - k + 1 <= 0 ? 0 : (tx - k + stride) / stride;                         \
  const int ox1 = min (wo - 1, tx / stride);                                                \
  T acc = (T) 0.0f;                                                                         \
  for (int oy = oy0; oy <= oy1; oy++)                                                       \
    {                                                                                       \
      const int ky = ty - oy * stride;                                                      \
      const ulong drow = dy_off + (((ulong) b * ho + oy) * wo) * c + cv;                    \
      const ulong wrow = w_off + (ulong) ky * k * c + cv;                                   \
      for (int ox = ox0; ox <= ox1; ox++)                                                   \
        acc = fma (LD (dy, drow + (ulong) ox * c), LD (wt, wrow + (ulong) (tx - ox * stride) * c), \
                   acc);                                                                    \
    }                                                                                       \
  ST (acc, dx, dx_off + (((ulong) b * h + iy) * w + ix) * c + cv);                          \
}

/* First stage of the kernel gradient: item (c/V, ky, chunk) sums dy·x for the k taps of row ky
 * over a chunk of output pixels, into partial[chunk][ky·k + kx][c]; depthwise_wgrad_sum adds
 * the chunks in order. Over { c/V, k, chunks }. */
#define DW_STRIDED_WGRAD(NAME, T, V, LD, ST)                                                \
__kernel void NAME (__global const float *x, const ulong x_off,                            \
                    __global const float *dy, const ulong dy_off,                          \
                    __global float *partial,                                               \
                    const int n, const int h, const int w, const int c, const int k,       \
                    const int stride, const int pad_t, const int pad_l,                    \
                    const int ho, const int wo, const int chunk)                           \
{                                                                                           \
  const int cv = get_global_id (0) * V;                                                     \
  const int ky = get_global_id (1);                                                         \
  const int ch = get_global_id (2);                                                         \
  const int pixels = n * ho * wo;                                                           \
  if (cv >= c || ky >= k || ch * chunk >= pixels)                                           \
    return;                                                                                 \
  const int p1 = min (pixels, (ch + 1) * chunk);                                            \
  T acc[DW_MAX_K];                                                                          \
  for (int kx = 0; kx < k; kx++)                                                            \
    acc[kx] = (T) 0.0f;                                                                     \
  for (int p = ch * chunk; p < p1; p++)                                                     \
    {                                                                                       \
      const int ox = p % wo, t = p / wo;                                                    \
      const int oy = t % ho, b = t / ho;                                                    \
      const int iy = oy * stride - pad_t + ky;                                              \
      if (iy < 0 || iy >= h)                                                                \
        continue;                                                                           \
      const T g = LD (dy, dy_off + (ulong) p * c + cv);                                     \
      const int bx = ox * stride - pad_l;                                                   \
      const int kx0 = max (0, -bx), kx1 = min (k, w - bx);                                  \
      const ulong xrow = x_off + (((ulong) b * h + iy) * w) * c + cv;                       \
      for (int kx = kx0; kx < kx1; kx++)                                                    \
        acc[kx] = fma (g, LD (x, xrow + (ulong) (bx + kx) * c), acc[kx]);                   \
    }                                                                                       \
  for (int kx = 0; kx < k; kx++)                                                            \
    ST (acc[kx], partial, ((ulong) ch * k * k + ky * k + kx) * c + cv);                     \
}

DW_STRIDED_CONV (depthwise_strided_conv, float, 1, DW_LD1, DW_ST1)
DW_STRIDED_CONV (depthwise_strided_conv4, float4, 4, DW_LD4, DW_ST4)
DW_STRIDED_DGRAD (depthwise_strided_dgrad, float, 1, DW_LD1, DW_ST1)
DW_STRIDED_DGRAD (depthwise_strided_dgrad4, float4, 4, DW_LD4, DW_ST4)
DW_STRIDED_WGRAD (depthwise_strided_wgrad, float, 1, DW_LD1, DW_ST1)
DW_STRIDED_WGRAD (depthwise_strided_wgrad4, float4, 4, DW_LD4, DW_ST4)
