/* Max pooling k×k stride s with TensorFlow "same" or explicit padding (padded cells are −∞):
 * vector kernels with a scatter-form backward, and general 64-bit-index kernels with a
 * gather-form backward for huge tensors. */

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

/* V channels per work-item (16, 8, 4, 2 or 1: the largest that divides c), 32-bit indices: one
 * window's rows and columns are clipped to the image once, then each cell is one vector load.
 * Written once as macros over the width V; MP_<op><V> are the width's loads and stores. */
#define MP_LD16(p, i) vload16 (0, (p) + (i))
#define MP_ST16(v, p, i) vstore16 ((v), 0, (p) + (i))
#define MP_LD8(p, i) vload8 (0, (p) + (i))
#define MP_ST8(v, p, i) vstore8 ((v), 0, (p) + (i))
#define MP_LD4(p, i) vload4 (0, (p) + (i))
#define MP_ST4(v, p, i) vstore4 ((v), 0, (p) + (i))
#define MP_LD2(p, i) vload2 (0, (p) + (i))
#define MP_ST2(v, p, i) vstore2 ((v), 0, (p) + (i))
#define MP_LD1(p, i) ((p)[i])
#define MP_ST1(v, p, i) ((p)[i] = (v))
/* Lane-wise "a > b" / "a == b" masks that select() takes: −1/0 for vectors, 1/0 for scalars. */
#define MP_GT16(a, b) ((a) > (b))
#define MP_GT8(a, b) ((a) > (b))
#define MP_GT4(a, b) ((a) > (b))
#define MP_GT2(a, b) ((a) > (b))
#define MP_GT1(a, b) ((int) ((a) > (b)))
#define MP_EQ16(a, b) ((a) == (b))
#define MP_EQ8(a, b) ((a) == (b))
#define MP_EQ4(a, b) ((a) == (b))
#define MP_EQ2(a, b) ((a) == (b))
#define MP_EQ1(a, b) ((int) ((a) == (b)))
/* Recorded arg-max positions are bytes: int lanes to and from uchar lanes. */
#define MP_TOI16(v) convert_int16 (v)
#define MP_TOI8(v) convert_int8 (v)
#define MP_TOI4(v) convert_int4 (v)
#define MP_TOI2(v) convert_int2 (v)
#define MP_TOI1(v) ((int) (v))
#define MP_TOU16(v) convert_uchar16 (v)
#define MP_TOU8(v) convert_uchar8 (v)
#define MP_TOU4(v) convert_uchar4 (v)
#define MP_TOU2(v) convert_uchar2 (v)
#define MP_TOU1(v) ((uchar) (v))

/* The maximum of the window rows rlo … rhi − 1, columns qlo … qhi − 1 of xb into best (which
 * holds its first cell), the first maximum in row-major order winning; when TRACK, pos follows
 * it as AT, an expression of the cell's r and q. */
#define MP_WINDOW_MAX(V, T, IT, best, pos, AT, TRACK)                                       \
  for (int r = rlo; r < rhi; r++)                                                           \
    for (int q = qlo; q < qhi; q++)                                                         \
      {                                                                                     \
        T v = MP_LD##V (xb, (uint) (r * w + q) * (uint) c);                                 \
        IT gt = MP_GT##V (v, best);                                                         \
        best = select (best, v, gt);                                                        \
        if (TRACK)                                                                          \
          pos = select (pos, (IT) (AT), gt);                                                \
      }

/* One output row of V channels, window by window (POS a constant: whether to track the arg-max
 * position too, so the row without it does none of that work). */
#define MP_FORWARD_ROW(V, T, IT, POS)                                                       \
  for (int ox = 0; ox < ow; ox++)                                                           \
    {                                                                                       \
      int q0 = ox * s - pad_l;                                                              \
      int qlo = max (q0, 0), qhi = min (q0 + k, w);                                         \
      T best = MP_LD##V (xb, (uint) (rlo * w + qlo) * (uint) c);                            \
      IT pos = (IT) ((rlo - r0) * k + qlo - q0);                                            \
      MP_WINDOW_MAX (V, T, IT, best, pos, (r - r0) * k + q - q0, POS)                       \
      uint o = (nh * (uint) ow + (uint) ox) * (uint) c + cv * V;                            \
      MP_ST##V (best, y, y_off + o);                                                        \
      if (POS)                                                                              \
        MP_ST##V (MP_TOU##V (pos), arg, arg_off + o);                                       \
    }

/* Over { c/V, n·oh }: one output row per work-item. On PoCL that ran 1.3x the rate of one
 * window per work-item with positions and 1.45x without, on inputs still in cache; in the
 * network, where the input comes from memory, 1.1x. With want_arg it also records each lane's
 * arg-max as its row-major position inside the k×k window (first maximum wins) into arg, one
 * byte per output element, for maxpool_backward_arg. */
#define MP_FORWARD(V, T, IT)                                                                \
__kernel void maxpool_forward_v##V (__global const float *x, const ulong x_off,            \
                                    __global float *y, const ulong y_off,                  \
                                    __global uchar *arg, const ulong arg_off,              \
                                    const int want_arg,                                    \
                                    const int n, const int h, const int w, const int c,    \
                                    const int oh, const int ow, const int k, const int s,  \
                                    const int pad_t, const int pad_l)                      \
{                                                                                           \
  uint cv = get_global_id (0);                                                              \
  uint nh = get_global_id (1);                                                              \
  if (cv >= (uint) c / V || nh >= (uint) (n * oh))                                          \
    return;                                                                                 \
  int oy = (int) (nh % (uint) oh);                                                          \
  uint b = nh / (uint) oh;                                                                  \
  int r0 = oy * s - pad_t;                                                                  \
  int rlo = max (r0, 0), rhi = min (r0 + k, h);                                             \
  __global const float *xb = x + x_off + b * (uint) (h * w * c) + cv * V;                   \
  if (want_arg)                                                                             \
    MP_FORWARD_ROW (V, T, IT, 1)                                                            \
  else                                                                                      \
    MP_FORWARD_ROW (V, T, IT, 0)                                                            \
}

/* Scatter-form backward from x: each window of one phase finds its arg-max (as the forward)
 * and adds its dy there. Windows oy ≡ py, ox ≡ px (mod p) with p·s ≥ k never overlap, so one
 * launch per phase has no two work-items writing the same cell and needs no atomics; the
 * phases run in a fixed order, so every sum does too. dx must be zero first (maxpool_zero).
 * Over { c/V, ceil((ow − px)/p), n·ceil((oh − py)/p) }. */
#define MP_BACKWARD(V, T, IT)                                                               \
__kernel void maxpool_backward_v##V (__global const float *x, const ulong x_off,           \
                                     __global const float *dy, const ulong dy_off,         \
                                     __global float *dx, const ulong dx_off,               \
                                     const int n, const int h, const int w, const int c,   \
                                     const int oh, const int ow, const int k, const int s, \
                                     const int pad_t, const int pad_l,                     \
                                     const int p, const int py, const int px)              \
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
  T best = MP_LD##V (xb, (uint) first * (uint) c);                                          \
  IT cell = (IT) first;                                                                     \
  MP_WINDOW_MAX (V, T, IT, best, cell, r * w + q, 1)                                        \
  float g[V];                                                                               \
  int cells[V];                                                                             \
  MP_ST##V (MP_LD##V (dy, dy_off + ((b * (uint) oh + (uint) oy) * (uint) ow + (uint) ox) *  \
                              (uint) c + cv * V), g, 0);                                    \
  MP_ST##V (cell, cells, 0);                                                                \
  __global float *db = dx + dx_off + plane;                                                 \
  for (int l = 0; l < V; l++)                                                               \
    db[(uint) cells[l] * (uint) c + l] += g[l];                                             \
}

/* Gather-form backward from the positions the forward recorded: each input cell sums, in
 * window order, the dy of the windows whose arg-max it is. Reads only dy and the bytes of arg,
 * writes dx once: no pass over x and no zeroing. Over { c/V, w, n·h }. */
#define MP_BACKWARD_ARG(V, T, IT)                                                           \
__kernel void maxpool_backward_arg_v##V (__global const uchar *arg, const ulong arg_off,   \
                                         __global const float *dy, const ulong dy_off,     \
                                         __global float *dx, const ulong dx_off,           \
                                         const int n, const int h, const int w,            \
                                         const int c, const int oh, const int ow,          \
                                         const int k, const int s, const int pad_t,        \
                                         const int pad_l)                                  \
{                                                                                           \
  uint cv = get_global_id (0);                                                              \
  int ix = get_global_id (1);                                                               \
  uint nh = get_global_id (2);                                                              \
  if (cv >= (uint) c / V || ix >= w || nh >= (uint) (n * h))                                \
    return;                                                                                 \
  int iy = (int) (nh % (uint) h);                                                           \
  uint b = nh / (uint) h;                                                                   \
  /* Windows oy with oy·s − pad_t ≤ iy ≤ oy·s − pad_t + k − 1. */                         \
  int ylo = iy + pad_t - k + 1;                                                             \
  ylo = ylo <= 0 ? 0 : (ylo + s - 1) / s;                                                   \
  int yhi = min ((iy + pad_t) / s, oh - 1);                                                 \
  int xlo = ix + pad_l - k + 1;                                                             \
  xlo = xlo <= 0 ? 0 : (xlo + s - 1) / s;                                                   \
  int xhi = min ((ix + pad_l) / s, ow - 1);                                                 \
  T acc = (T) 0.0f;                                                                         \
  for (int oy = ylo; oy <= yhi; oy++)                                                       \
    for (int ox = xlo; ox <= xhi; ox++)                                                     \
      {                                                                                     \
        uint o = ((b * (uint) oh + (uint) oy) * (uint) ow + (uint) ox) * (uint) c + cv * V; \
        IT mine = (IT) ((iy - (oy * s - pad_t)) * k + ix - (ox * s - pad_l));               \
        IT hit = MP_EQ##V (MP_TOI##V (MP_LD##V (arg, arg_off + o)), mine);                  \
        acc += select ((T) 0.0f, MP_LD##V (dy, dy_off + o), hit);                           \
      }                                                                                     \
  MP_ST##V (acc, dx, dx_off + (nh * (uint) w + (uint) ix) * (uint) c + cv * V);             \
}

MP_FORWARD (16, float16, int16)
MP_FORWARD (8, float8, int8)
MP_FORWARD (4, float4, int4)
MP_FORWARD (2, float2, int2)
MP_FORWARD (1, float, int)
MP_BACKWARD (16, float16, int16)
MP_BACKWARD (8, float8, int8)
MP_BACKWARD (4, float4, int4)
MP_BACKWARD (2, float2, int2)
MP_BACKWARD (1, float, int)
MP_BACKWARD_ARG (16, float16, int16)
MP_BACKWARD_ARG (8, float8, int8)
MP_BACKWARD_ARG (4, float4, int4)
MP_BACKWARD_ARG (2, float2, int2)
MP_BACKWARD_ARG (1, float, int)

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
