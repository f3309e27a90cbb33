/* ONNX export of a trained model, for ONNX Runtime, OpenCV or a phone app without Graft.
 *
 * The graph is the inference network (dropout left out, batch normalisation as
 * BatchNormalization nodes on the moving statistics), opset 13, with:
 *   input  "image"          float [N, S, S, 3], NHWC RGB pixels in [0, 255] (the model's
 *                           rescaling by 1/255 and the transposition to NCHW are in the graph)
 *   output "logits"         float [N, units] (units = 1 for two classes)
 *   output "probabilities"  float [N, classes]: softmax, or [1 − p, p] of the sigmoid
 * and the metadata "class_names" (a JSON array), "image_size", "architecture". Images are
 * resized to S × S (bilinear, half-pixel centres, aspect not kept) as Graft does. */
#pragma once

#include <glib.h>

#include "graft-model.h"

G_BEGIN_DECLS

/* Writes @m (host parameters) as an ONNX model to @path, atomically. */
gboolean graft_onnx_export (GraftModel *m, const char *const *class_names, const char *path,
                            GError **error);

G_END_DECLS
