/* PyTorch state dicts (timm / torchvision checkpoints saved as safetensors) into a Graft model
 * of the same architecture: names mapped to layers, OIHW kernels to HWIO, (out, in) dense
 * weights to (in, out), (C, 1, k, k) depthwise kernels to (k, k, C, 1), BN weight / bias /
 * running_mean / running_var to gamma / beta / moving_mean / moving_variance. */
#pragma once

#include "graft-model.h"
#include "graft-safetensors.h"

G_BEGIN_DECLS

/* Whether @st is a PyTorch state dict rather than a Graft checkpoint: no Graft "format"
 * metadata, and its tensors carry module paths ("conv1.weight", "features.0.0.weight"). */
gboolean graft_import_torch_detect   (GraftSafetensors *st);

/* The state dict key holding parameter @p of @m ("layer1.0.conv1/kernel" →
 * "layer1.0.conv1.weight"), in torchvision's names; @timm gives timm's where they differ
 * (MobileNetV2: conv_stem, bn1, blocks.N.M..., conv_head, bn2, classifier). Freed by the
 * caller; NULL for a parameter no state dict holds. */
char    *graft_import_torch_key      (GraftModel *m, const GraftParam *p, gboolean timm);

/* Transfer, as graft_checkpoint_transfer does for Graft checkpoints: each layer whose tensors
 * are all in @st with matching shapes (after the layout change) is loaded into @m's host
 * parameters; any other layer (the 1000-class head for the user's classes) keeps its values,
 * with a line in @report. @loaded gets the loaded layers' names (owned by the model). Fails
 * only on a file that names no layer of the model at all, or on a tensor that cannot be read. */
gboolean graft_import_torch_transfer (GraftModel *m, GraftSafetensors *st, GPtrArray *loaded,
                                      GString *report, GError **error);

G_END_DECLS
