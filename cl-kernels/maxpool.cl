/* Max pooling k×k stride s with TensorFlow "same" padding: vector kernels with a scatter-form
 * backward, and general 64-bit-index kernels with a gather-form backward for huge tensors. */

/* Arg-max of one window as an input (row, col); the first maximum in
 * row-major window order wins, and padded cells (outside the image) never do,
 * so the backward pass picks exactly the cell the forward pass returned. */
inline int2 maxpool_argmax (__global const float *x, ulong base, int h, int w, int c,
                            int r0, int c0, int k, float *best_out)
{
  float best = 0.0f;
  int2 arg = (int2) (-1, -1);
  for (int dr = 0; dr < k; dr++)
    {
      int r = r0 + dr;
      if (r < 0 || r >= h)
        continue;
      for (int dc = 0; dc < k; dc++)
        {
          int q = c0 + dc;
          if (q < 0 || q >= w)
            continue;
          float v = x[base + ((ulong) r * w + q) * c];
          if (arg.x < 0 || v > best)
            {
              best = v;
              arg = (int2) (r, q);
            }
        }
    }
  *best_out = best;
  return arg;
}

/* One work-item per output element (n, oh, ow, ch). */
__kernel void maxpool_forward (__global const float *x, const ulong x_off,
                               __global float *y, const ulong y_off,
                               const int n, const int h, const int w, const int c,
                               const int oh, const int ow, const int k, const int s,
                               const int pad_t, const int pad_l)
{
  ulong i = get_global_id (0);
  ulong total = (ulong) n * oh * ow * c;
  if (i >= total)
    return;
  int ch = (int) (i % c);
  ulong t = i / c;
  int ox = (int) (t % ow);
  t /= ow;
  int oy = (int) (t % oh);
  int b = (int) (t / oh);
  float best;
  ulong base = x_off + (ulong) b * h * w * c + ch;
  maxpool_argmax (x, base, h, w, c, oy * s - pad_t, ox * s - pad_l, k, &best);
  y[y_off + i] = best;
}

/* One work-item per input element: it visits every output window that
 * contains it and collects dy where it is that window's arg-max, so no two
 * work-items write the same dx and no index buffer or atomics are needed. */
__kernel void maxpool_backward (__global const float *x, const ulong x_off,
                                __global const float *dy, const ulong dy_off,
                                __global float *dx, const ulong dx_off,
                                const int n, const int h, const int w, const int c,
                                const int oh, const int ow, const int k, const int s,
                                const int pad_t, const int pad_l)
{
  ulong i = get_global_id (0);
  ulong total = (ulong) n * h * w * c;
  if (i >= total)
    return;
  int ch = (int) (i % c);
  ulong t = i / c;
  int ix = (int) (t % w);
  t /= w;
  int iy = (int) (t % h);
  int b = (int) (t / h);
  /* Windows oy with oy·s − pad_t ≤ iy ≤ oy·s − pad_t + k − 1. */
  int ylo = iy + pad_t - k + 1;
  ylo = ylo <= 0 ? 0 : (ylo + s - 1) / s;
  int yhi = min ((iy + pad_t) / s, oh - 1);
  int xlo = ix + pad_l - k + 1;
  xlo = xlo <= 0 ? 0 : (xlo + s - 1) / s;
  int xhi = min ((ix + pad_l) / s, ow - 1);
  ulong base = x_off + (ulong) b * h * w * c + ch;
  float acc = 0.0f;
  for (int oy = ylo; oy <= yhi; oy++)
    for (int ox = xlo; ox <= xhi; ox++)
      {
        float best;
        int2 arg = maxpool_argmax (x, base, h, w, c, oy * s - pad_t, ox * s - pad_l, k, &best);
        if (arg.x == iy && arg.y == ix)
          acc += dy[dy_off + (((ulong) b * oh + oy) * ow + ox) * c + ch];
      }
  dx[dx_off + i] = acc;
}

/* V channels per work-item (8, 4, 2 or 1: the largest that divides c), 32-bit indices: one
 * window's rows and columns are clipped to the image once, then each cell is one vector load.
 * Written once as macros over the vector type T, its integer twin IT and load/store. */
#define MP_LD8(p, i) vload8 (0, (p) + (i))
#define MP_ST8(v, p, i) vstore8 ((v), 0, (p) + (i))
#define MP_LD4(p, i) vload4 (0, (p) + (i))
#define MP_ST4(v, p, i) vstore4 ((v), 0, (p) + (i))
#define MP_LD2(p, i) vload2 (0, (p) + (i))
#define MP_ST2(v, p, i) vstore2 ((v), 0, (p) + (i))
#define MP_LD1(p, i) ((p)[i])
#define MP_ST1(v, p, i) ((p)[i] = (v))
/* A lane-wise "v > best" mask that select() takes: −1/0 for vectors, 1/0 for scalars. */
#define MP_GT8(a, b) ((a) > (b))
#define MP_GT4(a, b) ((a) > (b))
#define MP_GT2(a, b) ((a) > (b))
#define MP_GT1(a, b) ((int) ((a) > (b)))

/* Over { c/V, ow, n·oh }. */
#define MP_FORWARD(NAME, T, V, LD, ST, GT)                                                  \
__kernel void NAME (__global const float *x, const ulong x_off,                            \
                    __global float *y, const ulong y_off,                                  \
                    const int n, const int h, const int w, const int c,                    \
                    const int oh, const int ow, const int k, const int s,                  \
                    const int pad_t, const int pad_l)                                      \
{                                                                                           \
  uint cv = get_global_id (0);                                                              \
  int ox = get_global_id (1);                                                               \
  uint nh = get_global_id (2);                                                              \
  if (cv >= (uint) c / V || ox >= ow || nh >= (uint) (n * oh))                              \
    return;                                                                                 \
  int oy = (int) (nh % (uint) oh);                                                          \
  uint b = nh / (uint) oh;                                                                  \
  int r0 = oy * s - pad_t, q0 = ox * s - pad_l;                                             \
  int rlo = max (r0, 0), rhi = min (r0 + k, h), qlo = max (q0, 0), qhi = min (q0 + k, w);   \
  __global const float *xb = x + x_off + b * (uint) (h * w * c) + cv * V;                   \
  T best = LD (xb, (uint) (rlo * w + qlo) * (uint) c);                                      \
  for (int r = rlo; r < rhi; r++)                                                           \
    for (int q = qlo; q < qhi; q++)                                                         \
      {                                                                                     \
        T v = LD (xb, (uint) (r * w + q) * (uint) c);                                       \
        best = select (best, v, GT (v, best));                                              \
      }                                                                                     \
  ST (best, y, y_off + (nh * (uint) ow + (uint) ox) * (uint) c + cv * V);                   \
}

/* Scatter-form backward: each window of one phase finds its arg-max (first maximum in
 * row-major order, as the forward and the reference pick it) and adds its dy there. Windows
 * oy ≡ py, ox ≡ px (mod p) with p·s ≥ k never overlap, so one launch per phase has no two
 * work-items writing the same cell and needs no atomics; the phases run in a fixed order, so
 * every sum does too. dx must be zero first (maxpool_zero).
 * Over { c/V, ceil((ow − px)/p), n·ceil((oh − py)/p) }. */
#define MP_BACKWARD(NAME, T, IT, V, LD, ST, GT)                                             \
__kernel void NAME (__global const float *x, const ulong x_off,                            \
                    __global const float *dy, const ulong dy_off,                          \
                    __global float *dx, const ulong dx_off,                                \
                    const int n, const int h, const int w, const int c,                    \
                    const int oh, const int ow, const int k, const int s,                  \
                    const int pad_t, const int pad_l,                                      \
                    const int p, const int py, const int px)                               \
{                                                                                           \
  uint cv = get_global_id (0);                                                              \
  int ox = px + p * (int) get_global_id (1);                                                \
  uint nh = get_global_id (2);                                                              \
  int rows = (oh - py + p - 1) / p;                                                         \
  if (cv >= (uint) c / V || ox >= ow || nh >= (uint) (n * rows))                            \
    return;                                                                                 \
  int oy = py + p * (int) (nh % (uint) rows);                                               \
  uint b = nh / (uint) rows;                                                                \
  int r0 = oy * s - pad_t, q0 = ox * s - pad_l;                                             \
  int rlo = max (r0, 0), rhi = min (r0 + k, h), qlo = max (q0, 0), qhi = min (q0 + k, w);   \
  uint plane = b * (uint) (h * w * c) + cv * V;                                             \
  __global const float *xb = x + x_off + plane;                                             \
  int first = rlo * w + qlo;                                                                \
  T best = LD (xb, (uint) first * (uint) c);                                                \
  IT arg = (IT) first;                                                                      \
  for (int r = rlo; r < rhi; r++)                                                           \
    for (int q = qlo; q < qhi; q++)                                                         \
      {                                                                                     \
        T v = LD (xb, (uint) (r * w + q) * (uint) c);                                       \
        IT gt = GT (v, best);                                                               \
        best = select (best, v, gt);                                                        \
        arg = select (arg, (IT) (r * w + q), gt);                                           \
      }                                                                                     \
  float g[V];                                                                               \
  int cell[V];                                                                              \
  ST (LD (dy, dy_off + ((b * (uint) oh + (uint) oy) * (uint) ow + (uint) ox) * (uint) c +   \
          cv * V), g, 0);                                                                   \
  ST##I (arg, cell, 0);                                                                     \
  __global float *db = dx + dx_off + plane;                                                 \
  for (int l = 0; l < V; l++)                                                               \
    db[(uint) cell[l] * (uint) c + l] += g[l];                                              \
}

#define MP_ST8I(v, p, i) vstore8 ((v), 0, (p) + (i))
#define MP_ST4I(v, p, i) vstore4 ((v), 0, (p) + (i))
#define MP_ST2I(v, p, i) vstore2 ((v), 0, (p) + (i))
#define MP_ST1I(v, p, i) ((p)[i] = (v))

MP_FORWARD (maxpool_forward_v8, float8, 8, MP_LD8, MP_ST8, MP_GT8)
MP_FORWARD (maxpool_forward_v4, float4, 4, MP_LD4, MP_ST4, MP_GT4)
MP_FORWARD (maxpool_forward_v2, float2, 2, MP_LD2, MP_ST2, MP_GT2)
MP_FORWARD (maxpool_forward_v1, float, 1, MP_LD1, MP_ST1, MP_GT1)
MP_BACKWARD (maxpool_backward_v8, float8, int8, 8, MP_LD8, MP_ST8, MP_GT8)
MP_BACKWARD (maxpool_backward_v4, float4, int4, 4, MP_LD4, MP_ST4, MP_GT4)
MP_BACKWARD (maxpool_backward_v2, float2, int2, 2, MP_LD2, MP_ST2, MP_GT2)
MP_BACKWARD (maxpool_backward_v1, float, int, 1, MP_LD1, MP_ST1, MP_GT1)

/* dx = 0, four floats per work-item (any tensor: the tail is done one by one). */
__kernel void maxpool_zero (__global float *dx, const ulong dx_off, const uint count)
{
  uint i = get_global_id (0);
  if (4 * i + 3 < count)
    vstore4 ((float4) 0.0f, i, dx + dx_off);
  else
    for (uint j = 4 * i; j < count; j++)
      dx[dx_off + j] = 0.0f;
}
