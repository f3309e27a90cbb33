/* conv2d: the data-movement kernels around the GEMMs of graft-op-conv2d.c.
 *
 * Layout. x is NHWC {n, h, w, cin}, the kernel HWIO {kh, kw, cin, cout} (read
 * by the GEMM as a row-major [kh·kw·cin, cout] matrix), y NHWC {n, ho, wo, cout}
 * (a row-major [n·ho·wo, cout] matrix). The im2col matrix "col" has one row per
 * output pixel r = (n·ho + oy)·wo + ox and kh·kw·cin columns in the kernel's
 * (ky, kx, ci) order, so that y = col · W, dW = colᵀ · dY and dcol = dY · Wᵀ.
 * Padding is TensorFlow "same": input row iy = oy·stride − pad_top + ky, taps
 * outside the image read 0. Every tensor is addressed as buffer + offset (in
 * floats) because parameters and activations are views into larger buffers;
 * every kernel bounds-checks because launches round global sizes up.
 */

/* Element-wise kernels run 1-D over their output with a fixed work-group size
 * (PoCL compiles a kernel once per work-group size) and split the flat index;
 * the host guarantees every tensor holds fewer than 2^31 floats. */

/* col[r, (ky, kx, ci)] = x[n, iy, ix, ci], or 0 in the padding. Consecutive
 * items write consecutive col entries and read consecutive ci. */
__kernel void conv2d_im2col (__global const float *x, const ulong x_off,
                             __global float *col, const ulong col_off,
                             const int h, const int w, const int cin,
                             const int ho, const int wo, const int kh, const int kw,
                             const int stride, const int pad_top, const int pad_left,
                             const uint total)
{
  const uint i = get_global_id (0);
  if (i >= total)
    return;
  const uint kcols = kh * kw * cin;
  const uint k = i % kcols;
  const uint r = i / kcols;
  const int ci = k % cin;
  const int t = k / cin;
  const int kx = t % kw;
  const int ky = t / kw;
  const int ox = r % wo;
  const int t2 = r / wo;
  const int oy = t2 % ho;
  const int n = t2 / ho;
  const int iy = oy * stride - pad_top + ky;
  const int ix = ox * stride - pad_left + kx;
  float v = 0.0f;
  if (iy >= 0 && iy < h && ix >= 0 && ix < w)
    v = x[x_off + (((uint) n * h + iy) * w + ix) * cin + ci];
  col[col_off + i] = v;
}

/* The same, one work-item per output pixel writing its whole col row: the pixel's
 * coordinates and the window's clipping are worked out once instead of per element (cin is
 * small for the convolutions that need im2col, e.g. 3 for the first layer). Over { wo, n·ho }. */
__kernel void conv2d_im2col_rows (__global const float *x, const ulong x_off,
                                  __global float *col, const ulong col_off,
                                  const int h, const int w, const int cin,
                                  const int ho, const int wo, const int kh, const int kw,
                                  const int stride, const int pad_top, const int pad_left,
                                  const uint rows)
{
  const int ox = get_global_id (0);
  const uint t = get_global_id (1);
  if (ox >= wo || t >= rows / (uint) wo)
    return;
  const int oy = t % ho;
  const uint n = t / ho;
  const uint kcols = kh * kw * cin;
  __global float *dst = col + col_off + (t * wo + ox) * kcols;
  const int iy0 = oy * stride - pad_top, ix0 = ox * stride - pad_left;
  for (int ky = 0; ky < kh; ky++)
    {
      const int iy = iy0 + ky;
      const int inside_y = iy >= 0 && iy < h;
      for (int kx = 0; kx < kw; kx++)
        {
          const int ix = ix0 + kx;
          __global float *d = dst + (ky * kw + kx) * cin;
          if (inside_y && ix >= 0 && ix < w)
            {
              __global const float *s = x + x_off + ((n * h + iy) * w + ix) * cin;
              for (int ci = 0; ci < cin; ci++)
                d[ci] = s[ci];
            }
          else
            for (int ci = 0; ci < cin; ci++)
              d[ci] = 0.0f;
        }
    }
}

/* Gather form of col2im: each dx element sums the dcol entries of the output
 * pixels whose window covers it, so no two work items write the same place
 * and no atomics are needed. Item i is dx element (n, iy, ix, ci). */
__kernel void conv2d_col2im (__global const float *dcol, const ulong dcol_off,
                             __global float *dx, const ulong dx_off,
                             const int h, const int w, const int cin,
                             const int ho, const int wo, const int kh, const int kw,
                             const int stride, const int pad_top, const int pad_left,
                             const uint total)
{
  const uint i = get_global_id (0);
  if (i >= total)
    return;
  const int ci = i % cin;
  const uint p = i / cin;
  const int ix = p % w;
  const uint t = p / w;
  const int iy = t % h;
  const int n = t / h;
  const uint kcols = kh * kw * cin;
  float acc = 0.0f;
  for (int ky = 0; ky < kh; ky++)
    {
      const int ny = iy + pad_top - ky;  /* = oy·stride */
      if (ny < 0 || ny % stride != 0)
        continue;
      const int oy = ny / stride;
      if (oy >= ho)
        continue;
      for (int kx = 0; kx < kw; kx++)
        {
          const int nx = ix + pad_left - kx;
          if (nx < 0 || nx % stride != 0)
            continue;
          const int ox = nx / stride;
          if (ox >= wo)
            continue;
          const uint r = ((uint) n * ho + oy) * wo + ox;
          acc += dcol[dcol_off + r * kcols + (ky * kw + kx) * cin + ci];
        }
    }
  dx[dx_off + i] = acc;
}

/* 1×1 stride s: "same" padding is 0 there, so the GEMM input is x on the stride grid:
 * sub[r, c] = x[n, oy·s, ox·s, c]; its backward puts dsub back on the grid and 0 elsewhere,
 * written as a gather over every dx element so that zeroing and scattering are one pass. V
 * channels per work-item (8, 4, 2 or 1, the most that divide c), over { c/V, wo, n·ho } and
 * { c/V, w, n·h }: the pixel is uniform across a group, so there is no per-element division. */
#define C2_LD8(p) vload8 (0, (p))
#define C2_ST8(v, p) vstore8 ((v), 0, (p))
#define C2_LD4(p) vload4 (0, (p))
#define C2_ST4(v, p) vstore4 ((v), 0, (p))
#define C2_LD2(p) vload2 (0, (p))
#define C2_ST2(v, p) vstore2 ((v), 0, (p))
#define C2_LD1(p) (*(p))
#define C2_ST1(v, p) (*(p) = (v))

#define C2_SUBSAMPLE(V, T)                                                                  \
__kernel void conv2d_subsample_v##V (__global const float *x, const ulong x_off,           \
                                     __global float *sub, const ulong sub_off,             \
                                     const int h, const int w, const int c,                \
                                     const int ho, const int wo, const int stride,          \
                                     const uint total)                                     \
{                                                                                           \
  const int cv = get_global_id (0) * V;                                                     \
  const int ox = get_global_id (1);                                                         \
  const uint t = get_global_id (2);                                                         \
  if (cv >= c || ox >= wo || (t + 1) * wo * c > total)                                      \
    return;                                                                                 \
  const int oy = t % ho;                                                                    \
  const int n = t / ho;                                                                     \
  C2_ST##V (C2_LD##V (x + x_off + (((uint) n * h + oy * stride) * w + ox * stride) * c + cv), \
            sub + sub_off + (t * wo + ox) * c + cv);                                        \
}                                                                                           \
                                                                                            \
__kernel void conv2d_unsubsample_v##V (__global const float *dsub, const ulong dsub_off,   \
                                       __global float *dx, const ulong dx_off,             \
                                       const int h, const int w, const int c,              \
                                       const int ho, const int wo, const int stride,        \
                                       const uint total)                                   \
{                                                                                           \
  const int cv = get_global_id (0) * V;                                                     \
  const int ix = get_global_id (1);                                                         \
  const uint t = get_global_id (2);                                                         \
  if (cv >= c || ix >= w || (t + 1) * w * c > total)                                        \
    return;                                                                                 \
  const int iy = t % h;                                                                     \
  const int n = t / h;                                                                      \
  T v = (T) 0.0f;                                                                           \
  if (iy % stride == 0 && ix % stride == 0)                                                 \
    v = C2_LD##V (dsub + dsub_off +                                                         \
                  (((uint) n * ho + iy / stride) * wo + ix / stride) * c + cv);             \
  C2_ST##V (v, dx + dx_off + (t * w + ix) * c + cv);                                        \
}

C2_SUBSAMPLE (8, float8)
C2_SUBSAMPLE (4, float4)
C2_SUBSAMPLE (2, float2)
C2_SUBSAMPLE (1, float)

/* db = column sums of dY [rows, cout], stage 1: item (co, slice) sums its channel over the
 * slice's rows in order. Neighbouring items read neighbouring floats of each row, and there is
 * no local memory or barrier (which a CPU device turns into loops over the group).
 * Global size: { cout, slices }. */
__kernel void conv2d_db_partial (__global const float *dy, const ulong dy_off,
                                 __global float *partial, const int cout, const int rows,
                                 const int rows_per_slice)
{
  const int co = get_global_id (0);
  const int slice = get_global_id (1);
  if (co >= cout)
    return;
  const int r0 = slice * rows_per_slice;
  const int r1 = min (rows, r0 + rows_per_slice);
  float acc = 0.0f;
  for (int r = r0; r < r1; r++)
    acc += dy[dy_off + (ulong) r * cout + co];
  partial[(ulong) slice * cout + co] = acc;
}

/* Stage 2: db[co] = sum of the slices' partials. */
__kernel void conv2d_db_final (__global const float *partial, __global float *db,
                               const ulong db_off, const int cout, const int slices)
{
  const int co = get_global_id (0);
  if (co >= cout)
    return;
  float acc = 0.0f;
  for (int s = 0; s < slices; s++)
    acc += partial[(ulong) s * cout + co];
  db[db_off + co] = acc;
}
