/* Row-major SGEMM on the device, through CLBlast or Graft's own tiled kernel (the context's
 * choice, see graft_context_gemm_impl), and its plain-C reference. */
#pragma once

#include "graft-context.h"

G_BEGIN_DECLS

/* C[M×N] = alpha · op(A) · op(B) + beta · C, all row-major; op(X) = Xᵀ when
 * trans_x. lda/ldb/ldc are the row lengths of the matrices as stored.
 * Offsets are in floats. */
gboolean graft_gemm     (GraftContext *ctx, const char *op,
                         gboolean trans_a, gboolean trans_b,
                         gsize m, gsize n, gsize k, float alpha,
                         cl_mem a, gsize a_off, gsize lda,
                         cl_mem b, gsize b_off, gsize ldb,
                         float beta,
                         cl_mem c, gsize c_off, gsize ldc,
                         GError **error);

/* What graft_gemm_epilogue applies to each product element as it stores it: per column j,
 * v = acc·scale[j] + shift[j] (a NULL scale is 1, a NULL shift 0), then max(v, 0) when relu,
 * then + addend[i, j] (a matrix of C's shape and row length; NULL: none). A layer's bias is a
 * shift; a convolution with its inference-mode batch normalisation (and ReLU) folded in is a
 * scale, a shift and relu; a convolution whose output only goes into a residual sum adds the
 * sum's other input. */
typedef struct {
  cl_mem   scale;
  gsize    scale_off;
  cl_mem   shift;
  gsize    shift_off;
  gboolean relu;
  cl_mem   addend;
  gsize    addend_off;
} GraftGemmEpilogue;

/* C[M×N] = epilogue (A·B) (A [M×K], B [K×N] row-major). The tiled kernel applies the epilogue
 * as it stores C, saving a pass over the output; through CLBlast it is a second kernel. */
gboolean graft_gemm_epilogue (GraftContext *ctx, const char *op, gsize m, gsize n, gsize k,
                              cl_mem a, gsize a_off, gsize lda, cl_mem b, gsize b_off, gsize ldb,
                              cl_mem c, gsize c_off, gsize ldc, const GraftGemmEpilogue *ep,
                              GError **error);

/* C[M×N] = Aᵀ·B + beta·C for A [K×M] and B [K×N] (row-major, leading dimensions lda, ldb):
 * the shape of every weight gradient, where K is every pixel of the batch. Through CLBlast a
 * long K is cut into slices computed as one batched GEMM and summed in slice order (the same
 * result on every run); the tiled kernel cuts K into blocks accumulated in order itself. */
gboolean graft_gemm_tn  (GraftContext *ctx, const char *op, gsize m, gsize n, gsize k,
                         cl_mem a, gsize a_off, gsize lda, cl_mem b, gsize b_off, gsize ldb,
                         float beta, cl_mem c, gsize c_off, gsize ldc, GError **error);

/* C [M×N] = epilogue (D·B), B [K×N] and C row-major (row lengths N), where D [M×K] is the 3×3
 * depthwise convolution (stride 1, "same", depth multiplier 1, no bias) of x {images, h, w, K}
 * by the taps dw {3, 3, K}, each x clamped at 0 first when relu_in: a separable convolution's
 * forward without its depthwise output going through memory. Only where
 * graft_gemm_dw3_covers (the tiled kernel's contexts; K a multiple of 8 up to 1024, M ≥ 6,
 * N ≥ 32). */
gboolean graft_gemm_dw3_covers (GraftContext *ctx, gsize m, gsize n, gsize k);
gboolean graft_gemm_dw3 (GraftContext *ctx, const char *op, int images, int h, int w, gsize k,
                         gsize n, gboolean relu_in, cl_mem x, gsize x_off, cl_mem dw,
                         gsize dw_off, cl_mem b, gsize b_off, cl_mem c, gsize c_off,
                         const GraftGemmEpilogue *ep, GError **error);

/* Whether the tiled kernel handles this product (M ≥ 6, N ≥ 32, not both transposed); others
 * go to CLBlast on every context. */
gboolean graft_gemm_tiled_covers (gboolean trans_a, gboolean trans_b, gsize m, gsize n, gsize k);

/* Same contract on host memory, double accumulation. */
void     graft_gemm_ref (gboolean trans_a, gboolean trans_b,
                         gsize m, gsize n, gsize k, float alpha,
                         const float *a, gsize lda, const float *b, gsize ldb,
                         float beta, float *c, gsize ldc);

G_END_DECLS
