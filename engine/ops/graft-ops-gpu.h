/* GPU-shaped variants of the hot ops (graft-kernel-variants.h). Each op function of
 * graft-ops.h hands over to its variant here when the context uses the GPU kernel set; the
 * variant takes the shapes it is written for and passes any other back to the CPU-shaped path
 * (graft_*_gpu_takes), so results never depend on which shapes a variant covers. Arguments
 * are checked by the op function before it hands over. */
#pragma once

#include "graft-ops.h"
#include "graft-kernel-variants.h"

G_BEGIN_DECLS

/* Work-group sizes come from the context's variant row (graft_context_kernel_variant), cut to
 * what each kernel allows on the device (graft_context_local_size). */

/* Depthwise: k = 3, stride 1, "same". */
gboolean graft_depthwise_gpu_takes      (const GraftDepthwiseShape *s);
gboolean graft_depthwise_forward_gpu    (GraftContext *ctx, const GraftDepthwiseShape *s,
                                         const GraftTensor *x, const GraftTensor *w,
                                         GraftTensor *y, GError **error);
gboolean graft_depthwise_backward_gpu   (GraftContext *ctx, const GraftDepthwiseShape *s,
                                         const GraftTensor *x, const GraftTensor *w,
                                         const GraftTensor *dy, GraftTensor *dx,
                                         GraftTensor *dw, GError **error);

/* Batch normalisation: any rows and channels. */
gboolean graft_batchnorm_forward_train_gpu  (GraftContext *ctx, const GraftBatchNormShape *s,
                                             const GraftTensor *x, const GraftTensor *gamma,
                                             const GraftTensor *beta, GraftTensor *moving_mean,
                                             GraftTensor *moving_var, GraftTensor *y,
                                             GraftTensor *save_mean, GraftTensor *save_invstd,
                                             GError **error);
gboolean graft_batchnorm_forward_infer_gpu  (GraftContext *ctx, const GraftBatchNormShape *s,
                                             const GraftTensor *x, const GraftTensor *gamma,
                                             const GraftTensor *beta,
                                             const GraftTensor *moving_mean,
                                             const GraftTensor *moving_var, GraftTensor *y,
                                             GError **error);
gboolean graft_batchnorm_backward_train_gpu (GraftContext *ctx, const GraftBatchNormShape *s,
                                             const GraftTensor *x, const GraftTensor *beta,
                                             const GraftTensor *gamma,
                                             const GraftTensor *save_mean,
                                             const GraftTensor *save_invstd,
                                             const GraftTensor *dy, GraftTensor *dx,
                                             GraftTensor *dgamma, GraftTensor *dbeta,
                                             GError **error);
gboolean graft_batchnorm_backward_infer_gpu (GraftContext *ctx, const GraftBatchNormShape *s,
                                             const GraftTensor *y, const GraftTensor *gamma,
                                             const GraftTensor *moving_var,
                                             const GraftTensor *dy, GraftTensor *dx,
                                             GError **error);

/* Max pooling: tensors under 2^31 elements (and k ≤ GRAFT_MAXPOOL_ARG_MAX_K with arg). */
gboolean graft_maxpool_gpu_takes        (const GraftPoolShape *s, const GraftTensor *x);
gboolean graft_maxpool_forward_gpu      (GraftContext *ctx, const GraftPoolShape *s,
                                         const GraftTensor *x, GraftTensor *y, cl_mem arg,
                                         gsize arg_off, GError **error);
gboolean graft_maxpool_backward_gpu     (GraftContext *ctx, const GraftPoolShape *s,
                                         const GraftTensor *x, const GraftTensor *dy,
                                         GraftTensor *dx, GError **error);
gboolean graft_maxpool_backward_arg_gpu (GraftContext *ctx, const GraftPoolShape *s, cl_mem arg,
                                         gsize arg_off, const GraftTensor *dy, GraftTensor *dx,
                                         GError **error);

/* Element-wise: add, scale, axpy, ReLU; a float4 per work-item when the size allows. */
gboolean graft_add_gpu                  (GraftContext *ctx, const GraftTensor *a,
                                         const GraftTensor *b, GraftTensor *y, GError **error);
gboolean graft_scale_gpu                (GraftContext *ctx, float alpha, const GraftTensor *x,
                                         GraftTensor *y, GError **error);
gboolean graft_axpy_gpu                 (GraftContext *ctx, float alpha, const GraftTensor *x,
                                         GraftTensor *y, GError **error);
gboolean graft_relu_forward_gpu         (GraftContext *ctx, const GraftTensor *x, GraftTensor *y,
                                         GError **error);
gboolean graft_relu_backward_gpu        (GraftContext *ctx, const GraftTensor *y,
                                         const GraftTensor *dy, GraftTensor *dx, GError **error);

/* 1×1 stride > 1 convolution input: x on the stride grid (@sub, images [n0, n0+nb) from
 * x_off) and its inverse, one element per work-item. */
gboolean graft_conv2d_subsample_gpu     (GraftContext *ctx, cl_mem x, gsize x_off, cl_mem sub,
                                         int nb, int h, int w, int c, int ho, int wo,
                                         int stride, gboolean inverse, GError **error);

G_END_DECLS
