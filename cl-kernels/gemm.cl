/* Graft's own GEMM for CPU devices (a register-tiled micro-kernel, one tile per work-item) and
 * the helpers of the GEMM wrapper. */

/* C[M×N] = epilogue (alpha·A·B + beta·C) over k in [k0, k1), all row-major (the epilogue, see
 * GEMM_EP_*, only when ep ≠ 0: the host sets it on the last K block, whose beta = 1 carries
 * the earlier blocks' sums), where A's element (i, k) sits
 * at a[a_off + i·a_si + k·a_sk] (a_si = lda, a_sk = 1 for A; a_si = 1, a_sk = lda for Aᵀ), or
 * with a_packed, Aᵀ packed by gemm_pack_at, and B is K×N with row length ldb or, with b_packed,
 * packed by gemm_pack_b (both packed for one K block, rows k0 = 0 .. k1).
 *
 * Each work-item keeps a 6×(2·W) tile of C in twelve W-wide accumulators, W the device's
 * native float width (GRAFT_FLOAT_WIDTH: 16 with AVX-512, else 8): per k it loads one row of
 * 2·W B values (two vector loads) and broadcasts six A values, twelve FMAs with no local memory
 * and no barriers: what PoCL's CPU driver turns into the inner loop of a classic BLAS
 * micro-kernel. Twelve accumulators fill 12 of the 16 AVX2 registers; 6×32 in float16 on AVX2
 * would need 24 and spill. The tiles are enumerated in chunks of @chunk tile columns, rows
 * within a chunk, so that the threads sweep a block of B that stays in L2 while A streams
 * through once per chunk.
 *
 * Tiles at the right and bottom edges are shifted back inside the matrix (M ≥ 6, N ≥ 32 are
 * required; the host reads GEMM_NR as 32 or 16 from the same width) and store only the part no
 * other tile owns, so every element is written once and every sum runs over k in the same
 * order: results do not depend on the thread count.
 * Launch with global size tiles_m·tiles_n and local size 1. */
/* Epilogue bits: v = (alpha·acc + beta·c)·scale[j] + shift[j], then max(v, 0), then
 * + addend[i, j] (row length ldc): a layer's bias, a convolution, its inference-mode batch
 * normalisation and ReLU in one store, or a convolution and the residual sum after it. */
#define GEMM_EP_SHIFT 1
#define GEMM_EP_SCALE 2
#define GEMM_EP_RELU  4
#define GEMM_EP_ADD   8

#define GEMM_MR 6
#if GRAFT_FLOAT_WIDTH >= 16
#define GEMM_NR 32
#define GEMM_W 16
typedef float16 gemm_vec;
#define GEMM_LOAD vload16
#define GEMM_STORE_VEC vstore16
#else
#define GEMM_NR 16
#define GEMM_W 8
typedef float8 gemm_vec;
#define GEMM_LOAD vload8
#define GEMM_STORE_VEC vstore8
#endif
#define GEMM_ROWS(X) X (0) X (1) X (2) X (3) X (4) X (5)

/* Stores the twelve accumulators c00 … c51 of the tile at rows i0 (shifted back to is) and
 * columns j0 (shifted back to js) through the epilogue: whole vectors for an unshifted tile,
 * else element by element, only the part no other tile owns. */
#define GEMM_STORE_TILE()                                                               \
  if (is == i0 && js == j0)                                                             \
    {                                                                                   \
      gemm_vec sc0 = 1.0f, sc1 = 1.0f, sh0 = 0.0f, sh1 = 0.0f;                          \
      if (ep & GEMM_EP_SCALE)                                                           \
        {                                                                               \
          sc0 = GEMM_LOAD (0, scale + scale_off + j0);                                  \
          sc1 = GEMM_LOAD (0, scale + scale_off + j0 + GEMM_W);                         \
        }                                                                               \
      if (ep & GEMM_EP_SHIFT)                                                           \
        {                                                                               \
          sh0 = GEMM_LOAD (0, shift + shift_off + j0);                                  \
          sh1 = GEMM_LOAD (0, shift + shift_off + j0 + GEMM_W);                         \
        }                                                                               \
      GEMM_ROWS (GEMM_STORE)                                                            \
    }                                                                                   \
  else                                                                                  \
    {                                                                                   \
      float tile[GEMM_MR][GEMM_NR];                                                     \
      GEMM_ROWS (GEMM_SPILL)                                                            \
      for (int i = i0 - is; i < GEMM_MR; i++)                                           \
        for (int j = j0 - js; j < GEMM_NR; j++)                                         \
          {                                                                             \
            __global float *cp = c + c_off + (ulong) (is + i) * ldc + js + j;           \
            float v = alpha * tile[i][j];                                               \
            if (beta != 0.0f)                                                           \
              v = fma (beta, *cp, v);                                                   \
            v = fma (v, (ep & GEMM_EP_SCALE) ? scale[scale_off + js + j] : 1.0f,        \
                     (ep & GEMM_EP_SHIFT) ? shift[shift_off + js + j] : 0.0f);          \
            v = (ep & GEMM_EP_RELU) ? fmax (v, 0.0f) : v;                               \
            if (ep & GEMM_EP_ADD)                                                       \
              v += addend[addend_off + (ulong) (is + i) * ldc + js + j];                \
            *cp = v;                                                                    \
          }                                                                             \
    }
#define GEMM_STORE(i) {                                                                 \
        __global float *cp = c + c_off + (ulong) (i0 + i) * ldc + j0;                   \
        gemm_vec v0 = alpha * c##i##0, v1 = alpha * c##i##1;                            \
        if (beta != 0.0f)                                                               \
          {                                                                             \
            v0 = fma (beta, GEMM_LOAD (0, cp), v0);                                     \
            v1 = fma (beta, GEMM_LOAD (0, cp + GEMM_W), v1);                            \
          }                                                                             \
        v0 = fma (v0, sc0, sh0);                                                        \
        v1 = fma (v1, sc1, sh1);                                                        \
        if (ep & GEMM_EP_RELU)                                                          \
          {                                                                             \
            v0 = fmax (v0, 0.0f);                                                       \
            v1 = fmax (v1, 0.0f);                                                       \
          }                                                                             \
        if (ep & GEMM_EP_ADD)                                                           \
          {                                                                             \
            __global const float *ad = addend + addend_off + (ulong) (i0 + i) * ldc + j0; \
            v0 += GEMM_LOAD (0, ad);                                                    \
            v1 += GEMM_LOAD (0, ad + GEMM_W);                                           \
          }                                                                             \
        GEMM_STORE_VEC (v0, 0, cp);                                                     \
        GEMM_STORE_VEC (v1, 0, cp + GEMM_W); }
#define GEMM_SPILL(i) GEMM_STORE_VEC (c##i##0, 0, tile[i]);                             \
  GEMM_STORE_VEC (c##i##1, 0, tile[i] + GEMM_W);
#define GEMM_DECL(i) gemm_vec c##i##0 = 0.0f, c##i##1 = 0.0f;
#define GEMM_FMA(i) {                                   \
        const gemm_vec av = (gemm_vec) ap[i * a_si];    \
        c##i##0 = fma (av, b0, c##i##0);                \
        c##i##1 = fma (av, b1, c##i##1); }
/* The micro-kernel both GEMM kernels share: the twelve accumulators, then @count steps of k,
 * each one row of the B panel at bp (next row bstep floats on) against six A values at ap
 * (rows a_si apart; next k a_step on). Unrolled four steps deep, which PoCL does not do by
 * itself: the loop's counter, pointer and branch then cost once per 48 FMAs, not per 12. */
#define GEMM_KLOOP(count, a_step)                                               \
  GEMM_ROWS (GEMM_DECL)                                                         \
  _Pragma ("unroll 4")                                                          \
  for (int kk = 0; kk < (count); kk++)                                          \
    {                                                                           \
      const gemm_vec b0 = GEMM_LOAD (0, bp), b1 = GEMM_LOAD (0, bp + GEMM_W);   \
      GEMM_ROWS (GEMM_FMA)                                                      \
      bp += bstep;                                                              \
      ap += (a_step);                                                           \
    }

__kernel __attribute__ ((reqd_work_group_size (1, 1, 1)))
void gemm_tiled (const int m, const int n, const int k0, const int k1,
                 __global const float *a, const ulong a_off, const ulong a_si, const ulong a_sk,
                 __global const float *b, const ulong b_off, const ulong ldb,
                 __global float *c, const ulong c_off, const ulong ldc,
                 const float alpha, const float beta,
                 __global const float *scale, const ulong scale_off,
                 __global const float *shift, const ulong shift_off,
                 __global const float *addend, const ulong addend_off, const int ep,
                 const int tiles_m, const int tiles_n, const int chunk, const int a_packed,
                 const int b_packed)
{
  const int g = get_global_id (0);
  const int per_chunk = chunk * tiles_m;
  const int ci = g / per_chunk, r = g % per_chunk;
  const int in_chunk = min (chunk, tiles_n - ci * chunk);
  const int jt = ci * chunk + r % in_chunk;
  const int i0 = (r / in_chunk) * GEMM_MR, j0 = jt * GEMM_NR;
  const int is = min (i0, m - GEMM_MR), js = min (j0, n - GEMM_NR);

  /* A packed by gemm_pack_at (its K block as rows k0 = 0 .. k1): each tile's six rows in one
   * run, k-major. */
  __global const float *ap = a_packed
                             ? a + a_off + (ulong) (i0 / GEMM_MR) * (k1 - k0) * GEMM_MR
                             : a + a_off + (ulong) is * a_si + (ulong) k0 * a_sk;
  /* B as stored, or its K block packed by gemm_pack_b (rows k0 = 0 .. k1): the tile's panel
   * one run. */
  __global const float *bp = b_packed ? b + b_off + (ulong) jt * (k1 - k0) * GEMM_NR
                                      : b + b_off + (ulong) k0 * ldb + js;
  const ulong bstep = b_packed ? GEMM_NR : ldb;
  GEMM_KLOOP (k1 - k0, a_sk)

  GEMM_STORE_TILE ()
}

/* C[M×N] = epilogue (alpha·D·B + beta·C) where D [M×K] is A (row length lda) or, with h > 0, the
 * separable convolution's depthwise half: the 3×3 depthwise convolution (stride 1, "same",
 * depth multiplier 1) of x = A {images, h, w, K} (NHWC, M = images·h·w pixels, lda = K) by the
 * taps dw {3, 3, K}, each x first clamped at 0 when relu_in (the ReLU before the convolution).
 * Each work-item copies (or computes: float8 over channels, taps in the order depthwise3_conv
 * sums them, so D is the same to the bit) the six rows of D of one tile row into a private
 * panel, then multiplies that panel by one chunk of B's column tiles (B as stored, row length
 * ldb, or packed by gemm_pack_b) with gemm_tiled's inner loop and store (GEMM_KLOOP,
 * GEMM_STORE_TILE): A is read once per chunk, from memory, and then from
 * L1 for every column tile, and the depthwise output never goes through memory. Work-items walk the row tiles of
 * one chunk before the next, so the chunk of B stays in cache. K ≤ GEMM_ROWS_MAX_K (and
 * K % 8 == 0 with h > 0), M ≥ 6, N ≥ GEMM_NR; K runs in one block, in the order gemm_tiled sums
 * it. Global size tiles_m·chunks, local size 1. */
#define GEMM_ROWS_MAX_K 1024
#define GEMM_DW_LD(p) (relu_in ? fmax (vload8 (0, (p)), 0.0f) : vload8 (0, (p)))
#define GEMM_DW_PIXEL(r)                                                                \
  const int p##r = is + r, img##r = p##r / hw, y##r = (p##r - img##r * hw) / w;         \
  const int x##r = p##r - img##r * hw - y##r * w;                                       \
  const int up##r = y##r > 0, dn##r = y##r < h - 1, lf##r = x##r > 0, rt##r = x##r < w - 1;
#define GEMM_DW_ROW(r, q, ta, tb, tc)                                                    \
  {                                                                                     \
    if (lf##r)                                                                          \
      acc = fma (GEMM_DW_LD ((q) - kc), ta, acc);                                       \
    acc = fma (GEMM_DW_LD (q), tb, acc);                                                \
    if (rt##r)                                                                          \
      acc = fma (GEMM_DW_LD ((q) + kc), tc, acc);                                       \
  }
#define GEMM_DW_OUT(r)                                                                  \
  {                                                                                     \
    __global const float *q = x + x_off + (ulong) p##r * kc + cv;                       \
    float8 acc = 0.0f;                                                                  \
    if (up##r)                                                                          \
      GEMM_DW_ROW (r, q - rowk, t0, t1, t2)                                             \
    GEMM_DW_ROW (r, q, t3, t4, t5)                                                      \
    if (dn##r)                                                                          \
      GEMM_DW_ROW (r, q + rowk, t6, t7, t8)                                             \
    vstore8 (acc, 0, panel + r * kc + cv);                                              \
  }

/* One input row of the sliding window: q at column px − 1 of that row (channel cv), tp at the
 * row's three taps; ql and qr pick a column that is inside the image for the two edge loads,
 * whose value is then replaced by 0. */
#define GEMM_DW_SLIDE(q, tp)                                                            \
  {                                                                                     \
    const float8 ta = vload8 (0, (tp)), tb = vload8 (0, (tp) + kc);                     \
    const float8 tc = vload8 (0, (tp) + 2 * kc);                                        \
    float8 wl = GEMM_DW_LD ((q) + ql), wc = GEMM_DW_LD ((q) + kc), wr;                   \
    wl = lf ? wl : 0.0f;                                                                \
    GEMM_DW_STEP (a0, (q) + 2 * kc)                                                     \
    GEMM_DW_STEP (a1, (q) + 3 * kc)                                                     \
    GEMM_DW_STEP (a2, (q) + 4 * kc)                                                     \
    GEMM_DW_STEP (a3, (q) + 5 * kc)                                                     \
    GEMM_DW_STEP (a4, (q) + 6 * kc)                                                     \
    wr = GEMM_DW_LD ((q) + qr);                                                         \
    wr = rt ? wr : 0.0f;                                                                \
    a5 = fma (wl, ta, a5);                                                              \
    a5 = fma (wc, tb, a5);                                                              \
    a5 = fma (wr, tc, a5);                                                              \
  }
#define GEMM_DW_STEP(acc, p)                                                            \
  wr = GEMM_DW_LD (p);                                                                  \
  acc = fma (wl, ta, acc);                                                              \
  acc = fma (wc, tb, acc);                                                              \
  acc = fma (wr, tc, acc);                                                              \
  wl = wc;                                                                              \
  wc = wr;

/* gemm_rows' panel with h > 0: the depthwise output of pixels is … is + 5 for all kc channels,
 * row r at panel[r·kc]. */
inline void
gemm_dw3_panel (float *panel, __global const float *x, const ulong x_off,
                __global const float *dw, const ulong dw_off, const int is, const int kc,
                const int h, const int w, const int relu_in)
{
  const int hw = h * w;
  const ulong rowk = (ulong) w * kc;
  const int pimg = is / hw, py = (is - pimg * hw) / w, px = is - pimg * hw - py * w;
  if (px + GEMM_MR <= w)
    {
      /* The six pixels lie in one image row: a window of eight input columns (px − 1 …
       * px + 6) slides along each of the three input rows, each input loaded once. Columns
       * and rows outside the image count as 0: a row is skipped, a column reads as 0. */
      const int up = py > 0, dn = py < h - 1, lf = px > 0, rt = px + GEMM_MR < w;
      __global const float *q0 = x + x_off + (ulong) is * kc - kc;
      const ulong ql = lf ? 0 : kc, qr = rt ? (ulong) (GEMM_MR + 1) * kc : (ulong) GEMM_MR * kc;
      /* Input row by input row (each a pass over the panel, so that only eight columns are
       * streamed at a time), the sum in the panel: per pixel the taps still add in row-major
       * order. */
      for (int ky = 0; ky < 3; ky++)
        {
          if ((ky == 0 && !up) || (ky == 2 && !dn))
            continue;
          const int first = ky == 0 || (ky == 1 && !up);
          __global const float *qrow = q0 + (ky == 0 ? -(long) rowk : ky == 2 ? (long) rowk : 0);
          for (int cv = 0; cv < kc; cv += 8)
            {
              __global const float *tp = dw + dw_off + cv + ky * 3 * kc;
              float8 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, a4 = 0.0f, a5 = 0.0f;
              if (!first)
                {
                  a0 = vload8 (0, panel + cv);
                  a1 = vload8 (0, panel + kc + cv);
                  a2 = vload8 (0, panel + 2 * kc + cv);
                  a3 = vload8 (0, panel + 3 * kc + cv);
                  a4 = vload8 (0, panel + 4 * kc + cv);
                  a5 = vload8 (0, panel + 5 * kc + cv);
                }
              GEMM_DW_SLIDE (qrow + cv, tp)
              vstore8 (a0, 0, panel + cv);
              vstore8 (a1, 0, panel + kc + cv);
              vstore8 (a2, 0, panel + 2 * kc + cv);
              vstore8 (a3, 0, panel + 3 * kc + cv);
              vstore8 (a4, 0, panel + 4 * kc + cv);
              vstore8 (a5, 0, panel + 5 * kc + cv);
            }
        }
    }
  else
    {
      /* The tile wraps to the next row (or image): each pixel on its own. */
      GEMM_ROWS (GEMM_DW_PIXEL)
      for (int cv = 0; cv < kc; cv += 8)
        {
          __global const float *tp = dw + dw_off + cv;
          const float8 t0 = vload8 (0, tp), t1 = vload8 (0, tp + kc);
          const float8 t2 = vload8 (0, tp + 2 * kc), t3 = vload8 (0, tp + 3 * kc);
          const float8 t4 = vload8 (0, tp + 4 * kc), t5 = vload8 (0, tp + 5 * kc);
          const float8 t6 = vload8 (0, tp + 6 * kc), t7 = vload8 (0, tp + 7 * kc);
          const float8 t8 = vload8 (0, tp + 8 * kc);
          GEMM_ROWS (GEMM_DW_OUT)
        }
    }

}

__kernel __attribute__ ((reqd_work_group_size (1, 1, 1)))
void gemm_rows (const int m, const int n, const int kc,
                __global const float *a, const ulong a_off, const ulong lda,
                __global const float *dw, const ulong dw_off, const int h, const int w,
                const int relu_in,
                __global const float *b, const ulong b_off, const ulong ldb,
                const int b_packed,
                __global float *c, const ulong c_off, const ulong ldc,
                const float alpha, const float beta,
                __global const float *scale, const ulong scale_off,
                __global const float *shift, const ulong shift_off,
                __global const float *addend, const ulong addend_off, const int ep,
                const int tiles_m, const int tiles_n, const int chunk)
{
  const int g = get_global_id (0);
  const int ci = g / tiles_m;
  const int i0 = (g % tiles_m) * GEMM_MR, is = min (i0, m - GEMM_MR);
  float panel[GEMM_MR * GEMM_ROWS_MAX_K];

  if (h == 0)
    for (int r = 0; r < GEMM_MR; r++)
      {
        __global const float *src = a + a_off + (ulong) (is + r) * lda;
        int k = 0;
        for (; k + 8 <= kc; k += 8)
          vstore8 (vload8 (0, src + k), 0, panel + r * kc + k);
        for (; k < kc; k++)
          panel[r * kc + k] = src[k];
      }
  else
    gemm_dw3_panel (panel, a, a_off, dw, dw_off, is, kc, h, w, relu_in);

  const int a_si = kc;
  const int jt1 = min (tiles_n, (ci + 1) * chunk);
  for (int jt = ci * chunk; jt < jt1; jt++)
    {
      const int j0 = jt * GEMM_NR, js = min (j0, n - GEMM_NR);
      const float *ap = panel;
      /* B as stored, or packed by gemm_pack_b: the tile's K×GEMM_NR panel one run. */
      __global const float *bp = b + b_off + (b_packed ? (ulong) jt * kc * GEMM_NR : js);
      const ulong bstep = b_packed ? GEMM_NR : ldb;
      GEMM_KLOOP (kc, 1)
      GEMM_STORE_TILE ()
    }
}

/* B [K×N] (row length ldb; with trans, Bᵀ stored N×K) packed for gemm_rows, or one K block of
 * it for gemm_tiled: column tile t (columns js = min(t·GEMM_NR, n − GEMM_NR) onwards, shifted as
 * both kernels shift their edge tile)
 * at dst[(t·k + kk)·GEMM_NR + j] = B[kk][js + j], so that a tile reads its panel as one run
 * instead of one row of B per page. Global size: { tiles_n, k }. */
__kernel void gemm_pack_b (__global const float *src, const ulong src_off, const ulong ldb,
                           const int trans, const int n, const int k, const int tiles_n,
                           __global float *dst)
{
  const int t = get_global_id (0), kk = get_global_id (1);
  if (t >= tiles_n || kk >= k)
    return;
  const int js = min (t * GEMM_NR, n - GEMM_NR);
  __global float *d = dst + ((ulong) t * k + kk) * GEMM_NR;
  if (!trans)
    {
      __global const float *row = src + src_off + (ulong) kk * ldb + js;
      GEMM_STORE_VEC (GEMM_LOAD (0, row), 0, d);
      GEMM_STORE_VEC (GEMM_LOAD (0, row + GEMM_W), 0, d + GEMM_W);
      return;
    }
  for (int j = 0; j < GEMM_NR; j++)
    d[j] = src[src_off + (ulong) (js + j) * ldb + kk];
}

/* One K block of Aᵀ packed for gemm_tiled (a_packed): rows [k0, k0 + rows) of A (K×M, row
 * length lda), tile t (rows is = min(6t, m − 6) of Aᵀ, shifted as gemm_tiled shifts its edge
 * tile) at dst[(t·rows + kk)·6 + r] = A[k0 + kk][is + r]. A tile then reads six contiguous floats
 * per k, one run of its own, instead of a cache line of A per k. Global size: { tiles_m, rows }. */
__kernel void gemm_pack_at (__global const float *a, const ulong a_off, const ulong lda,
                            const int m, const int k0, const int rows, const int tiles_m,
                            __global float *dst)
{
  const int t = get_global_id (0), kk = get_global_id (1);
  if (t >= tiles_m || kk >= rows)
    return;
  const int is = min (t * GEMM_MR, m - GEMM_MR);
  __global const float *src = a + a_off + (ulong) (k0 + kk) * lda + is;
  __global float *d = dst + ((ulong) t * rows + kk) * GEMM_MR;
  for (int r = 0; r < GEMM_MR; r++)
    d[r] = src[r];
}

/* The epilogue of gemm_tiled on its own, for products CLBlast computed: c[i, j] =
 * max(c[i, j]·scale[j] + shift[j], 0) + addend[i, j], over { n, m }. */
__kernel void gemm_epilogue (__global float *c, const ulong c_off, const ulong ldc,
                             __global const float *scale, const ulong scale_off,
                             __global const float *shift, const ulong shift_off,
                             __global const float *addend, const ulong addend_off, const int ep,
                             const int m, const int n)
{
  const int j = get_global_id (0), i = get_global_id (1);
  if (j >= n || i >= m)
    return;
  __global float *cp = c + c_off + (ulong) i * ldc + j;
  float v = fma (*cp, (ep & GEMM_EP_SCALE) ? scale[scale_off + j] : 1.0f,
                 (ep & GEMM_EP_SHIFT) ? shift[shift_off + j] : 0.0f);
  v = (ep & GEMM_EP_RELU) ? fmax (v, 0.0f) : v;
  if (ep & GEMM_EP_ADD)
    v += addend[addend_off + (ulong) i * ldc + j];
  *cp = v;
}

/* dst[j·rows + i] = src[src_off + i·ld + j] for a rows×cols block: Bᵀ for the tiled GEMM,
 * which needs B row-major. Global size: { cols, rows }. */
__kernel void gemm_transpose (__global const float *src, const ulong src_off, const ulong ld,
                              const int rows, const int cols, __global float *dst)
{
  const int j = get_global_id (0), i = get_global_id (1);
  if (j >= cols || i >= rows)
    return;
  dst[(ulong) j * rows + i] = src[src_off + (ulong) i * ld + j];
}

/* c[i, j] = beta·c[i, j] + Σ_s partial[s][i·n + j], slices in order. Global size: { n, m }. */
__kernel void gemm_sum_slices (__global const float *partial, const int slices, const int m,
                               const int n, __global float *c, const ulong c_off,
                               const ulong ldc, const float beta)
{
  const int j = get_global_id (0), i = get_global_id (1);
  if (j >= n || i >= m)
    return;
  const ulong mn = (ulong) m * n;
  float acc = 0.0f;
  for (int s = 0; s < slices; s++)
    acc += partial[s * mn + (ulong) i * n + j];
  __global float *dst = c + c_off + (ulong) i * ldc + j;
  *dst = beta == 0.0f ? acc : beta * *dst + acc;
}
