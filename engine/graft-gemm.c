/* Row-major SGEMM through CLBlast or Graft's own tiled kernel, with a plain-C reference. */
#include "graft-gemm.h"

#include <clblast_c.h>

/* Scratch slots of the GEMM wrapper, for one product at a time: in GEMM_SCRATCH CLBlast's
 * K-split partial products, Bᵀ for gemm_tiled, one packed K block of Aᵀ for gemm_tiled (which
 * never takes Aᵀ and Bᵀ together, so the two never meet), or B packed for gemm_rows; in
 * GEMM_SCRATCH_B the K block of B packed beside that block of Aᵀ. The ops use slots 0-2. */
#define GEMM_SCRATCH   3
#define GEMM_SCRATCH_B 4

/* Tile of the tiled kernel (cl-kernels/gemm.cl): 6 rows by 32 columns on devices whose native
 * float vectors are 16 wide (AVX-512), else by 16 (AVX2: twelve 8-wide accumulators fit its 16
 * registers). The kernel needs M ≥ 6 and N ≥ 32 either way. */
#define TILE_MR 6
#define TILE_NR 32

static gsize
tile_nr (GraftContext *ctx)
{
  return graft_context_device (ctx)->float_width >= 16 ? 32 : 16;
}

/* Tile columns per chunk (the block of B the threads share; counted in 32-column tiles, twice
 * as many 16-column ones) and rows of K per launch, measured on PoCL over this network's
 * shapes. A as stored streams its rows once per chunk of 8 tiles (256 columns); K is cut only
 * past 2048. With Aᵀ (the weight gradients, K every pixel of the batch) every element of A's
 * panel is a cache line of its own and every k of B's panel a row of B, 1-4 KB from the last:
 * so K is cut into blocks accumulated into C, and each block of both operands is packed first
 * (gemm_pack_at, gemm_pack_b), each tile's panels then one run each. Packed, long blocks cost
 * nothing in locality and save launches: 4096 rows ran the weight-gradient shapes of 96x96
 * batch 16 at 1.15-1.2x the rate of 256-row blocks of Aᵀ alone (AVX2, best of 8, alternating;
 * 2048 rows 1.05-1.1x); before B was packed, 256 rows had been best on AVX2, 1024 past 64k
 * rows on AVX-512. */
#define TILE_CHUNK          8
#define TILE_KBLOCK         1024
#define TILE_AT_KBLOCK      4096
/* Products of fewer than 64 tiles (the demo-size network's first layers, the entry layer's
 * im2col product) take blocks of 16384 rows: there a block's three launches cost more than its
 * panels leaving L2 (the demo size's weight-gradient shapes 1.09-1.11x over all, its
 * K = 16384 ones 1.1-1.5x; the 96x96 entry layer's 1.2-1.3x; alternating, best of 6-20). */
#define TILE_AT_KBLOCK_FEW  16384
#define TILE_AT_FEW_TILES   64
/* ... but no more rows than keep both packed blocks within 32 MB together (8M floats), in
 * steps of 256 rows: an im2col product's Aᵀ has 9·C_in columns (4608 for a 3×3 convolution of
 * 512 channels, 1536 rows a block). */
#define TILE_AT_PACK_FLOATS (8u << 20)

/* CLBlast's indirect path pads and transposes in kernels of its own and returns only the
 * last event; a marker enqueued before the call makes the profile cover them all. */
static cl_event
span_begin (GraftContext *ctx)
{
  cl_event before = NULL;
  if (graft_context_get_profiling (ctx) &&
      clEnqueueMarkerWithWaitList (graft_context_queue (ctx), 0, NULL, &before) != CL_SUCCESS)
    before = NULL;
  return before;
}

/* Records the span of one CLBlast call under @op; FALSE (events released) when it failed. */
static gboolean
span_end (GraftContext *ctx, const char *op, CLBlastStatusCode st, cl_event before, cl_event ev)
{
  if (st != CLBlastSuccess)
    {
      if (before)
        clReleaseEvent (before);
      if (ev)
        clReleaseEvent (ev);
      return FALSE;
    }
  if (ev && before)
    graft_context_record_span (ctx, op, before, ev);
  else if (ev)
    graft_context_record_event (ctx, op, ev);
  else if (before)
    clReleaseEvent (before);
  return TRUE;
}

/* An epilogue as the kernels take it: gemm.cl's GEMM_EP_* bits, and a valid buffer (@c) in
 * place of a missing vector. */
typedef struct {
  cl_mem   scale, shift, addend;
  cl_ulong scale_off, shift_off, addend_off;
  cl_int   bits;
} EpilogueArgs;

static EpilogueArgs
epilogue_args (const GraftGemmEpilogue *ep, cl_mem c)
{
  EpilogueArgs e = { c, c, c, 0, 0, 0, 0 };
  if (ep == NULL)
    return e;
  if (ep->scale)
    {
      e.scale = ep->scale;
      e.scale_off = ep->scale_off;
    }
  if (ep->shift)
    {
      e.shift = ep->shift;
      e.shift_off = ep->shift_off;
    }
  if (ep->addend)
    {
      e.addend = ep->addend;
      e.addend_off = ep->addend_off;
    }
  e.bits = (ep->shift ? 1 : 0) | (ep->scale ? 2 : 0) | (ep->relu ? 4 : 0) | (ep->addend ? 8 : 0);
  return e;
}

/* GEMM_ROWS_MAX_K in gemm.cl: the private panel of gemm_rows holds six rows of this many
 * columns. */
#define ROWS_MAX_K 1024
/* Rows of B 2 KB or more apart (N ≥ 512 floats) are packed for gemm_rows: there every k of a
 * tile's panel was on a page of its own (728×1024 at M = 576: 106 → 128 GFLOP/s). */
#define ROWS_PACK_LDB 512
/* gemm_rows copies (or, fused, computes) its six rows of A once per chunk of column tiles, so
 * its chunks are as wide as keep the chunk's block of B within 4 MB: all of N for every
 * product of this network (at most 1024 columns of K ≤ 1024). On PoCL (AVX2, alternating in one
 * process, best of 10) that ran the 96×96 inference shapes at 1.05× the rate of 256-column
 * chunks as stored and at 1.06× fused with the depthwise convolution (the 512-1024-column
 * products 1.07-1.12×): a chunk's B block comes from L3 instead of L2, and the panel is copied
 * or computed once instead of two to four times. */
#define ROWS_B_BLOCK_FLOATS (1u << 20)

/* C = epilogue (alpha·D·op(B) + beta·C) through gemm_rows, D = A (M×K, row length lda) or,
 * with h > 0, the 3×3 depthwise convolution of A = x {M / (h·w), h, w, K} by @dw (of max(x, 0)
 * when relu_in). Bᵀ, and B whose rows are ROWS_PACK_LDB floats or more apart, is first packed
 * into scratch (gemm_pack_b: each column tile's K×NR panel one run); closer rows share pages,
 * and packing them gained nothing measurable but a launch. M ≥ 6, N ≥ the tile width,
 * K ≤ ROWS_MAX_K. */
static gboolean
rows_gemm (GraftContext *ctx, const char *op, gsize m, gsize n, gsize k, float alpha, cl_mem a,
           gsize a_off, gsize lda, cl_mem dw, gsize dw_off, int h, int w, gboolean relu_in,
           gboolean trans_b, cl_mem b, gsize b_off, gsize ldb, float beta, cl_mem c,
           gsize c_off, gsize ldc, const GraftGemmEpilogue *ep, GError **error)
{
  gsize nr = tile_nr (ctx);
  cl_int mi = (cl_int) m, ni = (cl_int) n, ki = (cl_int) k, hi = h, wi = w, ri = relu_in;
  cl_int tb = trans_b;
  cl_int tiles_m = (cl_int) ((m + TILE_MR - 1) / TILE_MR);
  cl_int tiles_n = (cl_int) ((n + nr - 1) / nr);
  gsize chunk_b = ROWS_B_BLOCK_FLOATS / (MAX (k, 1) * nr);
  cl_int chunk = (cl_int) MIN ((gsize) tiles_n, MAX (TILE_CHUNK * (TILE_NR / nr), chunk_b));
  cl_int chunks = (tiles_n + chunk - 1) / chunk;
  cl_ulong ao = a_off, ald = lda, dwo = dw_off, bo = b_off, bld = ldb, co = c_off, cld = ldc;
  cl_mem taps = dw ? dw : a;
  cl_int packed = trans_b || ldb >= ROWS_PACK_LDB;
  cl_kernel kern = graft_context_kernel (ctx, "gemm", "gemm_rows", error);
  if (kern == NULL)
    return FALSE;
  if (packed)
    {
      cl_mem pb = graft_context_scratch (ctx, GEMM_SCRATCH,
                                         (gsize) tiles_n * nr * k * sizeof (float), error);
      cl_kernel pack = pb ? graft_context_kernel (ctx, "gemm", "gemm_pack_b", error) : NULL;
      size_t pg[2] = { (size_t) tiles_n, k };
      if (pack == NULL ||
          !graft_kernel_args (pack, error, GA (b), GA (bo), GA (bld), GA (tb), GA (ni), GA (ki),
                              GA (tiles_n), GA (pb), 0) ||
          !graft_launch (ctx, op, pack, 2, pg, NULL, error))
        return FALSE;
      b = pb;
      bo = 0;
    }
  EpilogueArgs e = epilogue_args (ep, c);
  size_t global = (size_t) tiles_m * chunks, local = 1;
  return graft_kernel_args (kern, error, GA (mi), GA (ni), GA (ki), GA (a), GA (ao), GA (ald),
                            GA (taps), GA (dwo), GA (hi), GA (wi), GA (ri), GA (b), GA (bo),
                            GA (bld), GA (packed), GA (c), GA (co), GA (cld), GA (alpha), GA (beta),
                            GA (e.scale), GA (e.scale_off), GA (e.shift), GA (e.shift_off),
                            GA (e.addend), GA (e.addend_off), GA (e.bits), GA (tiles_m),
                            GA (tiles_n), GA (chunk), 0) &&
         graft_launch (ctx, op, kern, 1, &global, &local, error);
}

/* C = alpha·op(A)·B + beta·C (then the epilogue, when @ep) through gemm_tiled, K cut into
 * blocks; the epilogue goes in with the last block. */
static gboolean
tiled_gemm (GraftContext *ctx, const char *op, gboolean trans_a, gsize m, gsize n, gsize k,
            float alpha, cl_mem a, gsize a_off, gsize lda, cl_mem b, gsize b_off, gsize ldb,
            float beta, cl_mem c, gsize c_off, gsize ldc, const GraftGemmEpilogue *ep,
            GError **error)
{
  cl_kernel kern = graft_context_kernel (ctx, "gemm", "gemm_tiled", error);
  if (kern == NULL)
    return FALSE;
  cl_int mi = (cl_int) m, ni = (cl_int) n;
  gsize nr = tile_nr (ctx);
  cl_int tiles_m = (cl_int) ((m + TILE_MR - 1) / TILE_MR);
  cl_int tiles_n = (cl_int) ((n + nr - 1) / nr);
  cl_int chunk = (cl_int) (TILE_CHUNK * (TILE_NR / nr));
  cl_ulong aoff = a_off, a_si = trans_a ? 1 : lda, a_sk = trans_a ? lda : 1;
  cl_ulong boff = b_off, bld = ldb, coff = c_off, cld = ldc;
  gsize at_rows = TILE_AT_PACK_FLOATS / ((gsize) tiles_m * TILE_MR + (gsize) tiles_n * nr);
  gsize at_cap = (gsize) tiles_m * tiles_n < TILE_AT_FEW_TILES ? TILE_AT_KBLOCK_FEW
                                                                 : TILE_AT_KBLOCK;
  gsize kblock = trans_a ? CLAMP (at_rows / 256 * 256, 256, at_cap)
                 : k > 2 * TILE_KBLOCK ? TILE_KBLOCK : MAX (k, 1);
  size_t global = (size_t) tiles_m * tiles_n, local = 1;
  EpilogueArgs e = epilogue_args (ep, c);
  /* With Aᵀ both operands are packed (gemm_pack_at, gemm_pack_b) into scratch block by block,
   * just before the block's product: the tiles then read A as stored A would be (six
   * contiguous floats per k) and B as one K×NR run per column tile, both from rows
   * 0 .. k1 − k0 of the block. */
  cl_mem pa = NULL, pb = NULL;
  cl_kernel pack = NULL, pack_b = NULL;
  if (trans_a)
    {
      gsize rows = MIN (kblock, k);
      pa = graft_context_scratch (ctx, GEMM_SCRATCH,
                                  (gsize) tiles_m * TILE_MR * rows * sizeof (float), error);
      pb = pa ? graft_context_scratch (ctx, GEMM_SCRATCH_B,
                                       (gsize) tiles_n * nr * rows * sizeof (float), error)
              : NULL;
      pack = pb ? graft_context_kernel (ctx, "gemm", "gemm_pack_at", error) : NULL;
      pack_b = pack ? graft_context_kernel (ctx, "gemm", "gemm_pack_b", error) : NULL;
      if (pack_b == NULL)
        return FALSE;
    }
  cl_mem ak = trans_a ? pa : a, bk = trans_a ? pb : b;
  cl_ulong akoff = trans_a ? 0 : aoff, aksi = trans_a ? 1 : a_si, aksk = trans_a ? TILE_MR : a_sk;
  cl_int packed = trans_a, not_trans = FALSE;
  gsize k0 = 0;
  do
    {
      cl_int k0i = (cl_int) k0, k1i = (cl_int) MIN (k, k0 + kblock);
      float be = k0 == 0 ? beta : 1.0f;
      cl_int last_bits = (gsize) k1i == k ? e.bits : 0;
      cl_ulong bkoff = boff;
      if (trans_a)
        {
          cl_int rows = k1i - k0i;
          cl_ulong bsrc = boff + k0 * bld;
          size_t pg[2] = { (size_t) tiles_m, (size_t) rows };
          size_t pbg[2] = { (size_t) tiles_n, (size_t) rows };
          if (!graft_kernel_args (pack, error, GA (a), GA (aoff), GA (a_sk), GA (mi), GA (k0i),
                                  GA (rows), GA (tiles_m), GA (pa), 0) ||
              !graft_launch (ctx, op, pack, 2, pg, NULL, error) ||
              !graft_kernel_args (pack_b, error, GA (b), GA (bsrc), GA (bld), GA (not_trans),
                                  GA (ni), GA (rows), GA (tiles_n), GA (pb), 0) ||
              !graft_launch (ctx, op, pack_b, 2, pbg, NULL, error))
            return FALSE;
          bkoff = 0;
          k0i = 0;
          k1i = rows;
        }
      if (!graft_kernel_args (kern, error, GA (mi), GA (ni), GA (k0i), GA (k1i), GA (ak),
                              GA (akoff), GA (aksi), GA (aksk), GA (bk), GA (bkoff), GA (bld),
                              GA (c), GA (coff), GA (cld), GA (alpha), GA (be), GA (e.scale),
                              GA (e.scale_off), GA (e.shift), GA (e.shift_off), GA (e.addend),
                              GA (e.addend_off), GA (last_bits),
                              GA (tiles_m), GA (tiles_n), GA (chunk), GA (packed),
                              GA (packed), 0) ||
          !graft_launch (ctx, op, kern, 1, &global, &local, error))
        return FALSE;
      k0 += kblock;
    }
  while (k0 < k);
  return TRUE;
}

gboolean
graft_gemm_dw3_covers (GraftContext *ctx, gsize m, gsize n, gsize k)
{
  return graft_context_gemm_impl (ctx) == GRAFT_GEMM_TILED && m >= TILE_MR && n >= TILE_NR &&
         k >= 8 && k % 8 == 0 && k <= ROWS_MAX_K && m < G_MAXINT32 / TILE_MR;
}

gboolean
graft_gemm_dw3 (GraftContext *ctx, const char *op, int images, int h, int w, gsize k, gsize n,
                gboolean relu_in, cl_mem x, gsize x_off, cl_mem dw, gsize dw_off, cl_mem b,
                gsize b_off, cl_mem c, gsize c_off, const GraftGemmEpilogue *ep, GError **error)
{
  gsize m = (gsize) images * h * w;
  g_return_val_if_fail (graft_gemm_dw3_covers (ctx, m, n, k) && h > 0, FALSE);
  return rows_gemm (ctx, op, m, n, k, 1.0f, x, x_off, k, dw, dw_off, h, w, relu_in, FALSE, b,
                    b_off, n, 0.0f, c, c_off, n, ep, error);
}

gboolean
graft_gemm_tiled_covers (gboolean trans_a, gboolean trans_b, gsize m, gsize n, gsize k)
{
  return !(trans_a && trans_b) && m >= TILE_MR && n >= TILE_NR && k < G_MAXINT32 &&
         ((m + TILE_MR - 1) / TILE_MR) * ((n + TILE_NR / 2 - 1) / (TILE_NR / 2)) < G_MAXINT32;
}

/* Whether the tiled kernel takes this product: on a context set to it, for shapes it covers. */
static gboolean
use_tiled (GraftContext *ctx, gboolean trans_a, gboolean trans_b, gsize m, gsize n, gsize k)
{
  return graft_context_gemm_impl (ctx) == GRAFT_GEMM_TILED &&
         graft_gemm_tiled_covers (trans_a, trans_b, m, n, k);
}

/* op(B) = Bᵀ for the tiled kernel: B (N×K, row length ldb) copied transposed into scratch. */
static cl_mem
transpose_b (GraftContext *ctx, const char *op, gsize n, gsize k, cl_mem b, gsize b_off,
             gsize ldb, GError **error)
{
  cl_mem bt = graft_context_scratch (ctx, GEMM_SCRATCH, n * k * sizeof (float), error);
  cl_kernel kern = bt ? graft_context_kernel (ctx, "gemm", "gemm_transpose", error) : NULL;
  cl_ulong off = b_off, ld = ldb;
  cl_int rows = (cl_int) n, cols = (cl_int) k;
  size_t global[2] = { k, n };
  if (kern == NULL ||
      !graft_kernel_args (kern, error, GA (b), GA (off), GA (ld), GA (rows), GA (cols), GA (bt),
                          0) ||
      !graft_launch (ctx, op, kern, 2, global, NULL, error))
    return NULL;
  return bt;
}

/* graft_gemm with an optional epilogue (see graft_gemm_epilogue). */
static gboolean
gemm_with_epilogue (GraftContext *ctx, const char *op, gboolean trans_a, gboolean trans_b,
                    gsize m, gsize n, gsize k, float alpha,
                    cl_mem a, gsize a_off, gsize lda, cl_mem b, gsize b_off, gsize ldb,
                    float beta, cl_mem c, gsize c_off, gsize ldc, const GraftGemmEpilogue *ep,
                    GError **error)
{
  if (m == 0 || n == 0)
    return TRUE;
  if (use_tiled (ctx, trans_a, trans_b, m, n, k))
    {
      if (!trans_a && k <= ROWS_MAX_K)
        return rows_gemm (ctx, op, m, n, k, alpha, a, a_off, lda, NULL, 0, 0, 0, FALSE, trans_b,
                          b, b_off, ldb, beta, c, c_off, ldc, ep, error);
      if (trans_b)
        {
          b = transpose_b (ctx, op, n, k, b, b_off, ldb, error);
          if (b == NULL)
            return FALSE;
          b_off = 0;
          ldb = n;
        }
      return tiled_gemm (ctx, op, trans_a, m, n, k, alpha, a, a_off, lda, b, b_off, ldb, beta, c,
                         c_off, ldc, ep, error);
    }
  cl_command_queue q = graft_context_queue (ctx);
  cl_event ev = NULL, before = span_begin (ctx);
  CLBlastStatusCode st = CLBlastSgemm (CLBlastLayoutRowMajor,
                                       trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       trans_b ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       m, n, k, alpha, a, a_off, lda, b, b_off, ldb,
                                       beta, c, c_off, ldc, &q, &ev);
  if (!span_end (ctx, op, st, before, ev))
    {
      g_autofree char *what = g_strdup_printf ("%s: SGEMM %zu×%zu×%zu", op, m, n, k);
      return graft_clblast_check (st, what, error);
    }
  EpilogueArgs e = epilogue_args (ep, c);
  if (e.bits == 0)
    return TRUE;
  cl_kernel kern = graft_context_kernel (ctx, "gemm", "gemm_epilogue", error);
  cl_ulong coff = c_off, cld = ldc;
  cl_int mi = (cl_int) m, ni = (cl_int) n;
  size_t global[2] = { n, m };
  return kern != NULL &&
         graft_kernel_args (kern, error, GA (c), GA (coff), GA (cld), GA (e.scale),
                            GA (e.scale_off), GA (e.shift), GA (e.shift_off), GA (e.addend),
                            GA (e.addend_off), GA (e.bits), GA (mi), GA (ni), 0) &&
         graft_launch (ctx, op, kern, 2, global, NULL, error);
}

gboolean
graft_gemm (GraftContext *ctx, const char *op, gboolean trans_a, gboolean trans_b,
            gsize m, gsize n, gsize k, float alpha,
            cl_mem a, gsize a_off, gsize lda, cl_mem b, gsize b_off, gsize ldb,
            float beta, cl_mem c, gsize c_off, gsize ldc, GError **error)
{
  return gemm_with_epilogue (ctx, op, trans_a, trans_b, m, n, k, alpha, a, a_off, lda, b, b_off,
                             ldb, beta, c, c_off, ldc, NULL, error);
}

gboolean
graft_gemm_epilogue (GraftContext *ctx, const char *op, gsize m, gsize n, gsize k,
                     cl_mem a, gsize a_off, gsize lda, cl_mem b, gsize b_off, gsize ldb,
                     cl_mem c, gsize c_off, gsize ldc, const GraftGemmEpilogue *ep,
                     GError **error)
{
  return gemm_with_epilogue (ctx, op, FALSE, FALSE, m, n, k, 1.0f, a, a_off, lda, b, b_off, ldb,
                             0.0f, c, c_off, ldc, ep, error);
}

/* Rows of K per slice: long enough for CLBlast's tiles, short enough to keep all cores busy
 * and the slice's operands in cache (4096 was 1.6–1.8× faster than one GEMM on PoCL). */
#define GEMM_TN_SLICE 4096

gboolean
graft_gemm_tn (GraftContext *ctx, const char *op, gsize m, gsize n, gsize k, cl_mem a,
               gsize a_off, gsize lda, cl_mem b, gsize b_off, gsize ldb, float beta, cl_mem c,
               gsize c_off, gsize ldc, GError **error)
{
  gsize slices = k / GEMM_TN_SLICE;
  if (slices < 2 || use_tiled (ctx, TRUE, FALSE, m, n, k) || m == 0 || n == 0 ||
      (gsize) m * n * slices >= G_MAXINT32)
    return graft_gemm (ctx, op, TRUE, FALSE, m, n, k, 1.0f, a, a_off, lda, b, b_off, ldb, beta,
                       c, c_off, ldc, error);
  cl_mem partial = graft_context_scratch (ctx, GEMM_SCRATCH, slices * m * n * sizeof (float),
                                          error);
  if (partial == NULL)
    return FALSE;
  cl_command_queue q = graft_context_queue (ctx);
  cl_event ev = NULL, before = span_begin (ctx);
  CLBlastStatusCode st =
    CLBlastSgemmStridedBatched (CLBlastLayoutRowMajor, CLBlastTransposeYes, CLBlastTransposeNo,
                                m, n, GEMM_TN_SLICE, 1.0f, a, a_off, lda, GEMM_TN_SLICE * lda,
                                b, b_off, ldb, GEMM_TN_SLICE * ldb, 0.0f, partial, 0, n, m * n,
                                slices, &q, &ev);
  if (!span_end (ctx, op, st, before, ev))
    {
      g_autofree char *what = g_strdup_printf ("%s: batched SGEMM %zu×(%zu×%zu×%d)", op, slices,
                                               m, n, GEMM_TN_SLICE);
      return graft_clblast_check (st, what, error);
    }
  cl_kernel kern = graft_context_kernel (ctx, "gemm", "gemm_sum_slices", error);
  cl_int ns = (cl_int) slices, mi = (cl_int) m, ni = (cl_int) n;
  cl_ulong coff = c_off, cld = ldc;
  size_t global[2] = { n, m };
  if (kern == NULL ||
      !graft_kernel_args (kern, error, GA (partial), GA (ns), GA (mi), GA (ni), GA (c), GA (coff),
                          GA (cld), GA (beta), 0) ||
      !graft_launch (ctx, op, kern, 2, global, NULL, error))
    return FALSE;
  /* The rows after the last whole slice. */
  gsize done = slices * GEMM_TN_SLICE;
  if (done == k)
    return TRUE;
  return graft_gemm (ctx, op, TRUE, FALSE, m, n, k - done, 1.0f, a, a_off + done * lda, lda, b,
                     b_off + done * ldb, ldb, 1.0f, c, c_off, ldc, error);
}

void
graft_gemm_ref (gboolean trans_a, gboolean trans_b, gsize m, gsize n, gsize k, float alpha,
                const float *a, gsize lda, const float *b, gsize ldb, float beta, float *c,
                gsize ldc)
{
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      {
        double acc = 0;
        for (gsize p = 0; p < k; p++)
          {
            double av = trans_a ? a[p * lda + i] : a[i * lda + p];
            double bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
            acc += av * bv;
          }
        double prev = beta == 0.0f ? 0.0 : (double) beta * c[i * ldc + j];
        c[i * ldc + j] = (float) (alpha * acc + prev);
      }
}
