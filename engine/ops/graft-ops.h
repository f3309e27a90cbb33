/* Every op of the reference CNN: OpenCL forward/backward and a plain-C reference of each.
 *
 * Conventions (see DESIGN.md, "Ops"):
 * - Tensors are float32 NHWC (graft-tensor.h). Reference functions take host
 *   arrays in the same layout and accumulate in double where sums are long.
 * - Device functions only enqueue work on the context's in-order queue; they
 *   never wait for the device. They return FALSE with @error set on failure.
 * - Backward functions overwrite their outputs. Any gradient output may be
 *   NULL, and then it is not computed at all (frozen layers, first layer).
 * - Parameter shapes follow Keras: conv kernels HWIO {kh, kw, cin, cout},
 *   depthwise kernels {kh, kw, c, 1}, biases and BN vectors {1, 1, 1, c}.
 */
#pragma once

#include "graft-tensor.h"

G_BEGIN_DECLS

/* TensorFlow "same" padding: output ceil(n/s); total padding
 * max((out−1)·s + k − n, 0) with the odd pixel after (bottom/right). */
static inline int
graft_same_out (int n, int s)
{
  return (n + s - 1) / s;
}

static inline int
graft_same_pad_before (int n, int k, int s)
{
  int total = (graft_same_out (n, s) - 1) * s + k - n;
  return total > 0 ? total / 2 : 0;
}

/* Window geometry of conv2d, depthwise convolution and max pooling. TensorFlow "same" unless
 * @explicit_pad (the default when a shape's padding fields are zero); explicit padding is
 * PyTorch's: @pad cells on every side, output floor((n + 2·pad − k)/s) + 1. Callers check
 * n + 2·pad ≥ k first (graft_window_check). */
static inline int
graft_window_out (int n, int k, int s, gboolean explicit_pad, int pad)
{
  return explicit_pad ? (n + 2 * pad - k) / s + 1 : graft_same_out (n, s);
}

static inline int
graft_window_pad_before (int n, int k, int s, gboolean explicit_pad, int pad)
{
  return explicit_pad ? pad : graft_same_pad_before (n, k, s);
}

/* Whether explicit padding @pad fits a kh×kw window over h×w: pad ≥ 0 and the padded image
 * holds one window; for max pooling (@pool) also pad ≤ k/2, as PyTorch requires, so that no
 * window lies wholly in the padding. Always TRUE for "same". Sets @error naming @op
 * otherwise. */
gboolean graft_window_check (const char *op, int h, int w, int kh, int kw,
                             gboolean explicit_pad, int pad, gboolean pool, GError **error);

/* The most channels, a power of two up to @widest (16 at most), that divide @c: how many
 * channels one work-item of the vectorised per-channel kernels carries, each kernel built for
 * every width up to its own widest (16 for depthwise and max-pool, where a 64-byte load beat
 * two 32-byte ones; 8 for the strided subsample). */
static inline int
graft_channel_vector (int c, int widest)
{
  int v = widest;
  while (v > 1 && c % v != 0)
    v /= 2;
  return v;
}

/* Kernel "@name_v@v" of cl-kernels/@program.cl: the width-@v build of a per-channel kernel. */
static inline cl_kernel
graft_vector_kernel (GraftContext *ctx, const char *program, const char *name, int v,
                     GError **error)
{
  g_autofree char *full = g_strdup_printf ("%s_v%d", name, v);
  return graft_context_kernel (ctx, program, full, error);
}

/* ---- conv2d: any kernel size and stride, "same" or explicit padding, optional bias.
 * Covers pointwise 1×1 (one GEMM) and dense layers (x {N,1,1,Cin}). The output is
 * {n, graft_window_out (h, kh, …), graft_window_out (w, kw, …), cout}. ---- */
typedef struct {
  int n, h, w, cin;     /* input */
  int cout, kh, kw, stride;
  gboolean explicit_pad;  /* FALSE: TensorFlow "same"; TRUE: pad cells on every side */
  int pad;
} GraftConv2dShape;

gboolean graft_conv2d_forward       (GraftContext *ctx, const GraftConv2dShape *s,
                                     const GraftTensor *x, const GraftTensor *w,
                                     const GraftTensor *b, GraftTensor *y, GError **error);
/* y = max(conv(x, w)·scale + shift, 0 if relu) per output channel, in the GEMM's store: a
 * convolution and the inference-mode batch normalisation (with ReLU) after it, folded (see
 * graft_batchnorm_fold). scale and shift hold cout values. */
gboolean graft_conv2d_forward_affine (GraftContext *ctx, const GraftConv2dShape *s,
                                      const GraftTensor *x, const GraftTensor *w,
                                      const GraftTensor *scale, const GraftTensor *shift,
                                      gboolean relu, GraftTensor *y, GError **error);
/* y = conv(x, w) + b + addend (a tensor of y's shape) in the GEMM's store: a convolution and
 * the residual sum its output goes into. */
gboolean graft_conv2d_forward_add   (GraftContext *ctx, const GraftConv2dShape *s,
                                     const GraftTensor *x, const GraftTensor *w,
                                     const GraftTensor *b, const GraftTensor *addend,
                                     GraftTensor *y, GError **error);
gboolean graft_conv2d_backward      (GraftContext *ctx, const GraftConv2dShape *s,
                                     const GraftTensor *x, const GraftTensor *w,
                                     const GraftTensor *dy, GraftTensor *dx, GraftTensor *dw,
                                     GraftTensor *db, GError **error);
void     graft_conv2d_forward_ref   (const GraftConv2dShape *s, const float *x, const float *w,
                                     const float *b, float *y);
void     graft_conv2d_backward_ref  (const GraftConv2dShape *s, const float *x, const float *w,
                                     const float *dy, float *dx, float *dw, float *db);

/* ---- depthwise conv: k×k (k ≤ 8), any stride, "same" or explicit padding, depth
 * multiplier 1, no bias. w is {k, k, c, 1}; y is {n, ho, wo, c} with
 * ho = graft_window_out (h, k, stride, …) (graft_depthwise_out). ---- */
typedef struct {
  int n, h, w, c, k;
  int stride;             /* 0 is 1 */
  gboolean explicit_pad;  /* FALSE: TensorFlow "same"; TRUE: pad cells on every side */
  int pad;
} GraftDepthwiseShape;

/* The output's height and width. */
void     graft_depthwise_out        (const GraftDepthwiseShape *s, int *ho, int *wo);

gboolean graft_depthwise_forward    (GraftContext *ctx, const GraftDepthwiseShape *s,
                                     const GraftTensor *x, const GraftTensor *w, GraftTensor *y,
                                     GError **error);
gboolean graft_depthwise_backward   (GraftContext *ctx, const GraftDepthwiseShape *s,
                                     const GraftTensor *x, const GraftTensor *w,
                                     const GraftTensor *dy, GraftTensor *dx, GraftTensor *dw,
                                     GError **error);
void     graft_depthwise_forward_ref (const GraftDepthwiseShape *s, const float *x, const float *w,
                                      float *y);
void     graft_depthwise_backward_ref (const GraftDepthwiseShape *s, const float *x,
                                       const float *w, const float *dy, float *dx, float *dw);

/* ---- batch normalisation over rows = N·H·W for each of c channels.
 * Training: normalise with the biased batch variance, save mean and
 * 1/sqrt(var+eps) for backward, and update the moving statistics with the
 * unbiased variance: moving = momentum·moving + (1−momentum)·batch (Keras 2 /
 * TF 2.14 semantics). Inference (and frozen layers) use the moving statistics.
 * If relu is set, y = max(bn(x), 0) and backward masks dy by y > 0. ---- */
typedef struct {
  int   rows, c;
  float eps;       /* 1e-3 (Keras); PyTorch's is 1e-5 */
  float momentum;  /* 0.99 (Keras); PyTorch's momentum 0.1 is 0.9 here */
  gboolean relu;
  gboolean relu6;  /* with relu: y = min(max(bn(x), 0), 6), backward masks by 0 < y < 6 */
} GraftBatchNormShape;

gboolean graft_batchnorm_forward_train  (GraftContext *ctx, const GraftBatchNormShape *s,
                                         const GraftTensor *x, const GraftTensor *gamma,
                                         const GraftTensor *beta, GraftTensor *moving_mean,
                                         GraftTensor *moving_var, GraftTensor *y,
                                         GraftTensor *save_mean, GraftTensor *save_invstd,
                                         GError **error);
gboolean graft_batchnorm_forward_infer  (GraftContext *ctx, const GraftBatchNormShape *s,
                                         const GraftTensor *x, const GraftTensor *gamma,
                                         const GraftTensor *beta, const GraftTensor *moving_mean,
                                         const GraftTensor *moving_var, GraftTensor *y,
                                         GError **error);
/* beta is used only when s->relu: the ReLU gate is recomputed from x (exactly as the forward
 * computed it), which spares reading the forward output. */
gboolean graft_batchnorm_backward_train (GraftContext *ctx, const GraftBatchNormShape *s,
                                         const GraftTensor *x, const GraftTensor *beta,
                                         const GraftTensor *gamma, const GraftTensor *save_mean,
                                         const GraftTensor *save_invstd, const GraftTensor *dy,
                                         GraftTensor *dx, GraftTensor *dgamma, GraftTensor *dbeta,
                                         GError **error);
gboolean graft_batchnorm_backward_infer (GraftContext *ctx, const GraftBatchNormShape *s,
                                         const GraftTensor *y, const GraftTensor *gamma,
                                         const GraftTensor *moving_var, const GraftTensor *dy,
                                         GraftTensor *dx, GError **error);
/* Inference-mode BN folded into the layer before it (graft_conv2d_forward_affine; its relu is a
 * plain ReLU, so a relu6 BN folds with relu FALSE and graft_relu6_forward after it):
 * scale = γ/sqrt(moving_var + eps), shift = (bias − moving_mean)·scale + β, c values each;
 * bias is that layer's bias, or NULL. */
gboolean graft_batchnorm_fold           (GraftContext *ctx, const GraftBatchNormShape *s,
                                         const GraftTensor *gamma, const GraftTensor *beta,
                                         const GraftTensor *moving_mean,
                                         const GraftTensor *moving_var, const GraftTensor *bias,
                                         GraftTensor *scale, GraftTensor *shift, GError **error);
void     graft_batchnorm_forward_train_ref  (const GraftBatchNormShape *s, const float *x,
                                             const float *gamma, const float *beta,
                                             float *moving_mean, float *moving_var, float *y,
                                             float *save_mean, float *save_invstd);
void     graft_batchnorm_fold_ref           (const GraftBatchNormShape *s, const float *gamma,
                                             const float *beta, const float *moving_mean,
                                             const float *moving_var, const float *bias,
                                             float *scale, float *shift);
void     graft_batchnorm_forward_infer_ref  (const GraftBatchNormShape *s, const float *x,
                                             const float *gamma, const float *beta,
                                             const float *moving_mean, const float *moving_var,
                                             float *y);
void     graft_batchnorm_backward_train_ref (const GraftBatchNormShape *s, const float *x,
                                             const float *y, const float *gamma,
                                             const float *save_mean, const float *save_invstd,
                                             const float *dy, float *dx, float *dgamma,
                                             float *dbeta);
void     graft_batchnorm_backward_infer_ref (const GraftBatchNormShape *s, const float *y,
                                             const float *gamma, const float *moving_var,
                                             const float *dy, float *dx);

/* ---- ReLU (in place allowed: x == y). Backward masks by y > 0. ---- */
gboolean graft_relu_forward         (GraftContext *ctx, const GraftTensor *x, GraftTensor *y,
                                     GError **error);
gboolean graft_relu_backward        (GraftContext *ctx, const GraftTensor *y,
                                     const GraftTensor *dy, GraftTensor *dx, GError **error);
void     graft_relu_forward_ref     (gsize n, const float *x, float *y);
void     graft_relu_backward_ref    (gsize n, const float *y, const float *dy, float *dx);

/* ---- ReLU6: y = min(max(x, 0), 6) (in place allowed). Backward masks by 0 < y < 6. ---- */
gboolean graft_relu6_forward        (GraftContext *ctx, const GraftTensor *x, GraftTensor *y,
                                     GError **error);
gboolean graft_relu6_backward       (GraftContext *ctx, const GraftTensor *y,
                                     const GraftTensor *dy, GraftTensor *dx, GError **error);
void     graft_relu6_forward_ref    (gsize n, const float *x, float *y);
void     graft_relu6_backward_ref   (gsize n, const float *y, const float *dy, float *dx);

/* ---- max pooling k×k stride s, "same" or explicit padding; padding is −∞ (never the
 * maximum). Backward recomputes the arg-max from x (first maximum in row-major window order
 * wins). ---- */
typedef struct {
  int n, h, w, c, k, stride;
  gboolean explicit_pad;  /* FALSE: TensorFlow "same"; TRUE: pad (≤ k/2) cells on every side */
  int pad;
} GraftPoolShape;

gboolean graft_maxpool_forward      (GraftContext *ctx, const GraftPoolShape *s,
                                     const GraftTensor *x, GraftTensor *y, GError **error);
gboolean graft_maxpool_backward     (GraftContext *ctx, const GraftPoolShape *s,
                                     const GraftTensor *x, const GraftTensor *dy,
                                     GraftTensor *dx, GError **error);
/* The training pair: the forward also records each output's arg-max as a byte (its row-major
 * position inside the k×k window) in @arg, n·oh·ow·c bytes from byte @arg_off, and the
 * backward gathers dy from those bytes without reading x. k ≤ GRAFT_MAXPOOL_ARG_MAX_K. */
#define GRAFT_MAXPOOL_ARG_MAX_K 15
gboolean graft_maxpool_forward_arg  (GraftContext *ctx, const GraftPoolShape *s,
                                     const GraftTensor *x, GraftTensor *y, cl_mem arg,
                                     gsize arg_off, GError **error);
gboolean graft_maxpool_backward_arg (GraftContext *ctx, const GraftPoolShape *s, cl_mem arg,
                                     gsize arg_off, const GraftTensor *dy, GraftTensor *dx,
                                     GError **error);
void     graft_maxpool_forward_ref  (const GraftPoolShape *s, const float *x, float *y);
void     graft_maxpool_backward_ref (const GraftPoolShape *s, const float *x, const float *dy,
                                     float *dx);

/* ---- global average pooling: x {N,H,W,C} -> y {N,1,1,C}. ---- */
gboolean graft_gap_forward          (GraftContext *ctx, const GraftTensor *x, GraftTensor *y,
                                     GError **error);
gboolean graft_gap_backward         (GraftContext *ctx, const GraftTensor *dy, GraftTensor *dx,
                                     GError **error);
void     graft_gap_forward_ref      (int n, int hw, int c, const float *x, float *y);
void     graft_gap_backward_ref     (int n, int hw, int c, const float *dy, float *dx);

/* ---- elementwise: y = a + b (residual add; in place allowed), y = alpha·x
 * (rescaling), y += alpha·x (gradient accumulation). ---- */
gboolean graft_add                  (GraftContext *ctx, const GraftTensor *a, const GraftTensor *b,
                                     GraftTensor *y, GError **error);
gboolean graft_scale                (GraftContext *ctx, float alpha, const GraftTensor *x,
                                     GraftTensor *y, GError **error);
gboolean graft_axpy                 (GraftContext *ctx, float alpha, const GraftTensor *x,
                                     GraftTensor *y, GError **error);
void     graft_add_ref              (gsize n, const float *a, const float *b, float *y);
void     graft_scale_ref            (gsize n, float alpha, const float *x, float *y);
void     graft_axpy_ref             (gsize n, float alpha, const float *x, float *y);

/* ---- dropout: keep element i with probability 1−rate, using
 * graft_uniform(seed, stream, i) >= rate (graft-rng.h / common.cl); kept
 * values are scaled by 1/(1−rate). Backward recomputes the same mask. ---- */
gboolean graft_dropout_forward      (GraftContext *ctx, float rate, guint32 seed, guint32 stream,
                                     const GraftTensor *x, GraftTensor *y, GError **error);
gboolean graft_dropout_backward     (GraftContext *ctx, float rate, guint32 seed, guint32 stream,
                                     const GraftTensor *dy, GraftTensor *dx, GError **error);
void     graft_dropout_forward_ref  (gsize n, float rate, guint32 seed, guint32 stream,
                                     const float *x, float *y);
void     graft_dropout_backward_ref (gsize n, float rate, guint32 seed, guint32 stream,
                                     const float *dy, float *dx);

/* ---- losses on logits {N,1,1,K} with labels {N,1,1,1} holding class
 * indices as floats (0/1 for binary). K == 1: sigmoid binary cross-entropy,
 * correct when (logit > 0) == label. K > 1: softmax categorical
 * cross-entropy, correct when the arg-max equals the label.
 * dlogits (nullable) = d(mean loss over the N rows)/dlogits.
 * stats {1,1,1,2} is *added to*: [0] += sum of per-row losses,
 * [1] += number correct, so epoch totals accumulate on the device. ---- */
gboolean graft_loss_forward_backward (GraftContext *ctx, const GraftTensor *logits,
                                      const GraftTensor *labels, GraftTensor *dlogits,
                                      GraftTensor *stats, GError **error);
void     graft_loss_forward_backward_ref (int n, int k, const float *logits,
                                          const float *labels, float *dlogits, float *stats);

/* ---- Adam, Keras form: m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²;
 * lr_t = lr·sqrt(1−b2^t)/(1−b1^t); p −= lr_t·m/(sqrt(v) + eps).
 * One launch over a whole (flat) view of parameters. step t starts at 1. ---- */
typedef struct {
  float lr, beta1, beta2, eps;
  gint64 step;
} GraftAdamParams;

gboolean graft_adam_update          (GraftContext *ctx, const GraftAdamParams *p,
                                     GraftTensor *param, const GraftTensor *grad,
                                     GraftTensor *m, GraftTensor *v, GError **error);
void     graft_adam_update_ref      (const GraftAdamParams *p, gsize n, float *param,
                                     const float *grad, float *m, float *v);

G_END_DECLS
