/* Max pooling k×k stride s with TensorFlow "same" padding, forward and gather-form backward. */

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

/* 32-bit forms, used when a tensor has fewer than 2^32 elements: 64-bit
 * division and remainder cost several times more than 32-bit ones on CPUs,
 * and the backward pass reads one arg-max index per window instead of
 * re-scanning the k×k window for each of its cells. */
inline int maxpool_argmax32 (__global const float *x, int h, int w, int c,
                             int r0, int c0, int k, float *best_out)
{
  float best = 0.0f;
  int arg = -1;
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
          float v = x[(uint) (r * w + q) * (uint) c];
          if (arg < 0 || v > best)
            {
              best = v;
              arg = r * w + q;
            }
        }
    }
  *best_out = best;
  return arg;
}

/* One work-item per output element over { c, ow, n·oh }: the channel runs
 * fastest and everything else is uniform across a work group, so index
 * arithmetic is done once per pixel, not per element. Writes the maximum,
 * or with want_idx the arg-max cell r·w + q of its image plane. */
__kernel void maxpool_forward32 (__global const float *x, const ulong x_off,
                                 __global float *y, const ulong y_off,
                                 __global int *idx, const int want_idx,
                                 const int n, const int h, const int w, const int c,
                                 const int oh, const int ow, const int k, const int s,
                                 const int pad_t, const int pad_l)
{
  uint ch = get_global_id (0);
  int ox = get_global_id (1);
  uint nh = get_global_id (2);
  if (ch >= (uint) c || ox >= ow || nh >= (uint) (n * oh))
    return;
  int oy = (int) (nh % (uint) oh);
  uint b = nh / (uint) oh;
  uint i = (nh * (uint) ow + (uint) ox) * (uint) c + ch;
  float best;
  int arg = maxpool_argmax32 (x + x_off + b * (uint) (h * w * c) + ch, h, w, c,
                              oy * s - pad_t, ox * s - pad_l, k, &best);
  if (want_idx)
    idx[i] = arg;
  else
    y[y_off + i] = best;
}

/* One work-item per input element over { c, w, n·h }, gathering dy from the
 * windows whose recorded arg-max is this cell. */
__kernel void maxpool_backward32 (__global const int *idx,
                                  __global const float *dy, const ulong dy_off,
                                  __global float *dx, const ulong dx_off,
                                  const int n, const int h, const int w, const int c,
                                  const int oh, const int ow, const int k, const int s,
                                  const int pad_t, const int pad_l)
{
  uint ch = get_global_id (0);
  int ix = get_global_id (1);
  uint nh = get_global_id (2);
  if (ch >= (uint) c || ix >= w || nh >= (uint) (n * h))
    return;
  int iy = (int) (nh % (uint) h);
  uint b = nh / (uint) h;
  uint i = (nh * (uint) w + (uint) ix) * (uint) c + ch;
  int ylo = iy + pad_t - k + 1;
  ylo = ylo <= 0 ? 0 : (ylo + s - 1) / s;
  int yhi = min ((iy + pad_t) / s, oh - 1);
  int xlo = ix + pad_l - k + 1;
  xlo = xlo <= 0 ? 0 : (xlo + s - 1) / s;
  int xhi = min ((ix + pad_l) / s, ow - 1);
  int me = iy * w + ix;
  float acc = 0.0f;
  for (int oy = ylo; oy <= yhi; oy++)
    for (int ox = xlo; ox <= xhi; ox++)
      {
        uint o = ((b * (uint) oh + (uint) oy) * (uint) ow + (uint) ox) * (uint) c + ch;
        if (idx[o] == me)
          acc += dy[dy_off + o];
      }
  dx[dx_off + i] = acc;
}

/* Eight channels per work-item, for c a multiple of 8: one window's rows and columns are
 * clipped to the image once, then each cell is one 32-byte load. Over { c/8, ow, n·oh }. */
__kernel void maxpool_forward_v8 (__global const float *x, const ulong x_off,
                                  __global float *y, const ulong y_off,
                                  const int n, const int h, const int w, const int c,
                                  const int oh, const int ow, const int k, const int s,
                                  const int pad_t, const int pad_l)
{
  uint cv = get_global_id (0);
  int ox = get_global_id (1);
  uint nh = get_global_id (2);
  if (cv >= (uint) c / 8 || ox >= ow || nh >= (uint) (n * oh))
    return;
  int oy = (int) (nh % (uint) oh);
  uint b = nh / (uint) oh;
  int r0 = oy * s - pad_t, q0 = ox * s - pad_l;
  int rlo = max (r0, 0), rhi = min (r0 + k, h), qlo = max (q0, 0), qhi = min (q0 + k, w);
  __global const float *xb = x + x_off + b * (uint) (h * w * c) + cv * 8;
  float8 best = vload8 (0, xb + (uint) (rlo * w + qlo) * (uint) c);
  for (int r = rlo; r < rhi; r++)
    for (int q = qlo; q < qhi; q++)
      {
        float8 v = vload8 (0, xb + (uint) (r * w + q) * (uint) c);
        best = select (best, v, v > best);
      }
  vstore8 (best, 0, y + y_off + (nh * (uint) ow + (uint) ox) * (uint) c + cv * 8);
}

/* dx = 0, eight floats per work-item: the start of the scatter-form backward. */
__kernel void maxpool_zero_v8 (__global float *dx, const ulong dx_off, const uint count8)
{
  uint i = get_global_id (0);
  if (i < count8)
    vstore8 ((float8) 0.0f, i, dx + dx_off);
}

/* Scatter-form backward, eight channels per work-item: each window of one phase finds its
 * arg-max (first maximum in row-major order, as the forward and the reference pick it) and adds
 * its dy there. Windows oy ≡ py, ox ≡ px (mod p) with p·s ≥ k never overlap, so one launch per
 * phase has no two work-items writing the same cell and needs no atomics; the phases run in a
 * fixed order, so every sum does too. Over { c/8, ceil((ow − px)/p), n·ceil((oh − py)/p) }. */
__kernel void maxpool_backward_v8 (__global const float *x, const ulong x_off,
                                   __global const float *dy, const ulong dy_off,
                                   __global float *dx, const ulong dx_off,
                                   const int n, const int h, const int w, const int c,
                                   const int oh, const int ow, const int k, const int s,
                                   const int pad_t, const int pad_l,
                                   const int p, const int py, const int px)
{
  uint cv = get_global_id (0);
  int ox = px + p * (int) get_global_id (1);
  uint nh = get_global_id (2);
  int rows = (oh - py + p - 1) / p;
  if (cv >= (uint) c / 8 || ox >= ow || nh >= (uint) (n * rows))
    return;
  int oy = py + p * (int) (nh % (uint) rows);
  uint b = nh / (uint) rows;
  int r0 = oy * s - pad_t, q0 = ox * s - pad_l;
  int rlo = max (r0, 0), rhi = min (r0 + k, h), qlo = max (q0, 0), qhi = min (q0 + k, w);
  uint plane = b * (uint) (h * w * c) + cv * 8;
  __global const float *xb = x + x_off + plane;
  int first = rlo * w + qlo;
  float8 best = vload8 (0, xb + (uint) first * (uint) c);
  int8 arg = (int8) first;
  for (int r = rlo; r < rhi; r++)
    for (int q = qlo; q < qhi; q++)
      {
        float8 v = vload8 (0, xb + (uint) (r * w + q) * (uint) c);
        int8 gt = v > best;
        best = select (best, v, gt);
        arg = select (arg, (int8) (r * w + q), gt);
      }
  float8 g = vload8 (0, dy + dy_off + ((b * (uint) oh + (uint) oy) * (uint) ow + (uint) ox) *
                            (uint) c + cv * 8);
  __global float *db = dx + dx_off + plane;
  db[(uint) arg.s0 * (uint) c + 0] += g.s0;
  db[(uint) arg.s1 * (uint) c + 1] += g.s1;
  db[(uint) arg.s2 * (uint) c + 2] += g.s2;
  db[(uint) arg.s3 * (uint) c + 3] += g.s3;
  db[(uint) arg.s4 * (uint) c + 4] += g.s4;
  db[(uint) arg.s5 * (uint) c + 5] += g.s5;
  db[(uint) arg.s6 * (uint) c + 6] += g.s6;
  db[(uint) arg.s7 * (uint) c + 7] += g.s7;
}
