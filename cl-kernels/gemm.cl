/* Graft's own GEMM for CPU devices (a register-tiled micro-kernel, one tile per work-item) and
 * the helpers of the GEMM wrapper. */

/* C[M×N] = epilogue (alpha·A·B + beta·C) over k in [k0, k1), all row-major (the epilogue, see
 * GEMM_EP_*, only when ep ≠ 0: the host sets it on the last K block, whose beta = 1 carries
 * the earlier blocks' sums), where A's element (i, k) sits
 * at a[a_off + i·a_si + k·a_sk] (a_si = lda, a_sk = 1 for A; a_si = 1, a_sk = lda for Aᵀ), or
 * with a_packed, Aᵀ packed by gemm_pack_at, and B is K×N with row length ldb.
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
/* Epilogue bits: v = (alpha·acc + beta·c)·scale[j] + shift[j], then max(v, 0): a layer's bias,
 * or a convolution, its inference-mode batch normalisation and ReLU in one store. */
#define GEMM_EP_SHIFT 1
#define GEMM_EP_SCALE 2
#define GEMM_EP_RELU  4

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

__kernel __attribute__ ((reqd_work_group_size (1, 1, 1)))
void gemm_tiled (const int m, const int n, const int k0, const int k1,
                 __global const float *a, const ulong a_off, const ulong a_si, const ulong a_sk,
                 __global const float *b, const ulong b_off, const ulong ldb,
                 __global float *c, const ulong c_off, const ulong ldc,
                 const float alpha, const float beta,
                 __global const float *scale, const ulong scale_off,
                 __global const float *shift, const ulong shift_off, const int ep,
                 const int tiles_m, const int tiles_n, const int chunk, const int a_packed)
{
  const int g = get_global_id (0);
  const int per_chunk = chunk * tiles_m;
  const int ci = g / per_chunk, r = g % per_chunk;
  const int in_chunk = min (chunk, tiles_n - ci * chunk);
  const int i0 = (r / in_chunk) * GEMM_MR, j0 = (ci * chunk + r % in_chunk) * GEMM_NR;
  const int is = min (i0, m - GEMM_MR), js = min (j0, n - GEMM_NR);

  /* A packed by gemm_pack_at (its K block as rows k0 = 0 .. k1): each tile's six rows in one
   * run, k-major. */
  __global const float *ap = a_packed
                             ? a + a_off + (ulong) (i0 / GEMM_MR) * (k1 - k0) * GEMM_MR
                             : a + a_off + (ulong) is * a_si + (ulong) k0 * a_sk;
  __global const float *bp = b + b_off + (ulong) k0 * ldb + js;
#define GEMM_DECL(i) gemm_vec c##i##0 = 0.0f, c##i##1 = 0.0f;
  GEMM_ROWS (GEMM_DECL)
  for (int k = k0; k < k1; k++)
    {
      const gemm_vec b0 = GEMM_LOAD (0, bp), b1 = GEMM_LOAD (0, bp + GEMM_W);
#define GEMM_FMA(i) {                                   \
        const gemm_vec av = (gemm_vec) ap[i * a_si];    \
        c##i##0 = fma (av, b0, c##i##0);                \
        c##i##1 = fma (av, b1, c##i##1); }
      GEMM_ROWS (GEMM_FMA)
      bp += ldb;
      ap += a_sk;
    }

  if (is == i0 && js == j0)
    {
      gemm_vec sc0 = 1.0f, sc1 = 1.0f, sh0 = 0.0f, sh1 = 0.0f;
      if (ep & GEMM_EP_SCALE)
        {
          sc0 = GEMM_LOAD (0, scale + scale_off + j0);
          sc1 = GEMM_LOAD (0, scale + scale_off + j0 + GEMM_W);
        }
      if (ep & GEMM_EP_SHIFT)
        {
          sh0 = GEMM_LOAD (0, shift + shift_off + j0);
          sh1 = GEMM_LOAD (0, shift + shift_off + j0 + GEMM_W);
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
        GEMM_STORE_VEC (v0, 0, cp);                                                     \
        GEMM_STORE_VEC (v1, 0, cp + GEMM_W); }
      GEMM_ROWS (GEMM_STORE)
      return;
    }
  float tile[GEMM_MR][GEMM_NR];
#define GEMM_SPILL(i) GEMM_STORE_VEC (c##i##0, 0, tile[i]);                             \
  GEMM_STORE_VEC (c##i##1, 0, tile[i] + GEMM_W);
  GEMM_ROWS (GEMM_SPILL)
  for (int i = i0 - is; i < GEMM_MR; i++)
    for (int j = j0 - js; j < GEMM_NR; j++)
      {
        __global float *cp = c + c_off + (ulong) (is + i) * ldc + js + j;
        float v = alpha * tile[i][j];
        if (beta != 0.0f)
          v = fma (beta, *cp, v);
        v = fma (v, (ep & GEMM_EP_SCALE) ? scale[scale_off + js + j] : 1.0f,
                 (ep & GEMM_EP_SHIFT) ? shift[shift_off + js + j] : 0.0f);
        *cp = (ep & GEMM_EP_RELU) ? fmax (v, 0.0f) : v;
      }
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
 * c[i, j]·scale[j] + shift[j], then max(·, 0), over { n, m }. */
__kernel void gemm_epilogue (__global float *c, const ulong c_off, const ulong ldc,
                             __global const float *scale, const ulong scale_off,
                             __global const float *shift, const ulong shift_off, const int ep,
                             const int m, const int n)
{
  const int j = get_global_id (0), i = get_global_id (1);
  if (j >= n || i >= m)
    return;
  __global float *cp = c + c_off + (ulong) i * ldc + j;
  float v = fma (*cp, (ep & GEMM_EP_SCALE) ? scale[scale_off + j] : 1.0f,
                 (ep & GEMM_EP_SHIFT) ? shift[shift_off + j] : 0.0f);
  *cp = (ep & GEMM_EP_RELU) ? fmax (v, 0.0f) : v;
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
