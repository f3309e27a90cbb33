/* Model weights and optimizer state as safetensors, with Keras names and layouts. */
#pragma once

#include "graft-model.h"
#include "graft-safetensors.h"

G_BEGIN_DECLS

#define GRAFT_CHECKPOINT_FORMAT "1"

/* Writes the model's host parameters (call graft_model_download first when
 * training) as "<layer>/<weight>" tensors; metadata holds the format
 * version, architecture, image size, classes, width, dropout and the class
 * names (a JSON array). Atomic. */
gboolean    graft_checkpoint_save      (GraftModel *m, const char *path,
                                        const char *const *class_names, GError **error);

/* Builds the model a checkpoint describes and loads every tensor (all must be
 * present with the expected shape, no other tensor may be there; errors name
 * the file and the tensor). The metadata must be in range: image_size, classes
 * (≤ GRAFT_MODEL_MAX_CLASSES), width, dropout. @class_names (may be NULL) gets
 * exactly "classes" names, or NULL when the checkpoint names none; a
 * class_names list of another length is refused. */
GraftModel *graft_checkpoint_load      (const char *path, char ***class_names, GError **error);
/* The same from a file already read (@st names it in messages). */
GraftModel *graft_checkpoint_load_from (GraftSafetensors *st, char ***class_names,
                                        GError **error);

/* Whether @st holds weights of @m's architecture (metadata "architecture"; files without it
 * hold the default one); the message names the file and both architectures. */
gboolean    graft_checkpoint_check_architecture (GraftModel *m, GraftSafetensors *st,
                                                 GError **error);

/* Loads every tensor of @st into @m, failing on another architecture, on the first missing or
 * mismatched tensor, or on a tensor that is not one of @m's parameters. */
gboolean    graft_checkpoint_load_strict (GraftModel *m, GraftSafetensors *st, GError **error);

/* Transfer: loads each layer whose tensors all exist in @st with the same
 * shapes; other layers keep their values. @loaded gets the names of loaded
 * layers (strings owned by the model); @report gets one line per layer not loaded. */
void        graft_checkpoint_transfer  (GraftModel *m, GraftSafetensors *st, GPtrArray *loaded,
                                        GString *report);

/* Adam moments (of trainable-role tensors, "<layer>/<weight>/m" and "/v") and step. */
gboolean    graft_optimizer_save       (GraftModel *m, const char *path, gint64 step,
                                        GError **error);
gboolean    graft_optimizer_load       (GraftModel *m, const char *path, gint64 *step,
                                        GError **error);

G_END_DECLS
