/* Float32 tensors in NHWC order over OpenCL buffers. */
#pragma once

#include "graft-context.h"

G_BEGIN_DECLS

/* Shape ne[] = { N, H, W, C }; unused leading dimensions are 1 (a dense
 * layer's [N, units] is { N, 1, 1, units }, a conv kernel HWIO is stored as
 * { kh, kw, cin, cout }). Storage is contiguous, C fastest: the element
 * (n, h, w, c) lives at off + ((n·H + h)·W + w)·C + c floats into @mem, so a
 * 1×1 convolution is one row-major GEMM [N·H·W, Cin] × [Cin, Cout].
 * A tensor either owns its buffer or views a region of another one (the
 * model keeps all parameters in one buffer so Adam is one launch). */
typedef struct {
  cl_mem   mem;
  gsize    off;     /* in floats */
  int      ne[4];
  gboolean owns;
} GraftTensor;

GraftTensor *graft_tensor_new     (GraftContext *ctx, int n, int h, int w, int c, GError **error);
GraftTensor *graft_tensor_view    (cl_mem mem, gsize off, int n, int h, int w, int c);
void         graft_tensor_free    (GraftTensor *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftTensor, graft_tensor_free)

static inline gsize
graft_tensor_numel (const GraftTensor *t)
{
  return (gsize) t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

gboolean     graft_tensor_write   (GraftContext *ctx, GraftTensor *t, const float *src, GError **error);
/* Blocking read into @dst (numel floats). */
gboolean     graft_tensor_read    (GraftContext *ctx, const GraftTensor *t, float *dst, GError **error);
float       *graft_tensor_to_host (GraftContext *ctx, const GraftTensor *t, GError **error);
gboolean     graft_tensor_fill    (GraftContext *ctx, GraftTensor *t, float value, GError **error);
gboolean     graft_tensor_copy    (GraftContext *ctx, const GraftTensor *src, GraftTensor *dst,
                                   GError **error);
gboolean     graft_tensor_same_shape (const GraftTensor *a, const GraftTensor *b);
/* "64×90×90×128" for messages. */
char        *graft_tensor_shape_string (const GraftTensor *t);

G_END_DECLS
