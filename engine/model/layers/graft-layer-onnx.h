/* What a layer kind's ONNX hook (GraftLayerClass.onnx) builds its nodes with; implemented in
 * graft-onnx.c. Names and arrays are copied; float data passed to graft_onnx_initializer is
 * taken over (g_malloc'd). A layer's output tensor is named after the layer
 * (graft_onnx_output), the last layer's "logits". */
#pragma once

#include "graft-layer.h"

G_BEGIN_DECLS

typedef struct _GraftOnnxAttr GraftOnnxAttr;

GraftOnnxAttr *graft_onnx_attr_ints  (GraftOnnxGraph *g, const char *name, const gint64 *v,
                                      gsize n);
GraftOnnxAttr *graft_onnx_attr_int   (GraftOnnxGraph *g, const char *name, gint64 v);
GraftOnnxAttr *graft_onnx_attr_float (GraftOnnxGraph *g, const char *name, float v);
/* A node with one output; @inputs and @attrs are NULL-terminated (@attrs may be NULL). */
void           graft_onnx_node       (GraftOnnxGraph *g, const char *op, const char *name,
                                      const char *output, const char *const *inputs,
                                      GraftOnnxAttr *const *attrs);
void           graft_onnx_initializer (GraftOnnxGraph *g, const char *name, float *data,
                                       gsize count, const gint64 *dims, int nd);
/* Parameter @k of layer @i as a 1-D initializer named @tensor (a copy). */
void           graft_onnx_param_copy (GraftOnnxGraph *g, GraftModel *m, guint i, int k,
                                      const char *tensor);
/* A Conv node with the layer's padding turned into explicit pads (TF "same" computed from
 * @in_h, @in_w); @b may be NULL. */
void           graft_onnx_conv       (GraftOnnxGraph *g, const char *name, const char *x,
                                      const char *w, const char *b, const char *out,
                                      const GraftLayerConfig *cfg, int in_h, int in_w, int k,
                                      int group);
/* Explicit pads (top, left, bottom, right as ONNX orders them) of @cfg for a k×k window. */
void           graft_onnx_pads       (const GraftLayerConfig *cfg, int in_h, int in_w, int k,
                                      int stride, gint64 pads[4]);
/* The tensor holding layer @i's output; the graph input "image" for the input layer. */
const char    *graft_onnx_output     (GraftOnnxGraph *g, GraftModel *m, int i);
/* A string that lives as long as the graph. */
const char    *graft_onnx_keep       (GraftOnnxGraph *g, char *s);

G_END_DECLS
