/* The architecture registry: name → builder, description, and presets of layer groups for the
 * study's freeze / re-initialise experiments. One builder file per architecture
 * (graft-arch-<name>.c) and one row in graft-arch.c. */
#pragma once

#include "graft-model.h"

G_BEGIN_DECLS

#define GRAFT_ARCH_DEFAULT "keras-cnn"

/* A named group of layers (those with weights) for freezing or re-initialising. */
typedef struct {
  const char        *id;       /* "only-output" */
  const char        *label;    /* "Only output" */
  const char *const *layers;   /* NULL-terminated layer names */
} GraftArchPreset;

typedef struct {
  const char *name;         /* "keras-cnn": in specs, config.json and checkpoint metadata */
  const char *description;
  /* Adds the layers of @spec's network (validated ranges) to @b; errors go to the builder. */
  void      (*build) (GraftModelBuilder *b, const GraftModelSpec *spec);
  const GraftArchPreset *presets;   /* ends with an all-NULL row */
  const char *const *aliases;       /* other names older files use, or NULL */
} GraftArch;

/* NULL or "" → the default architecture; NULL with a message listing the known names. */
const GraftArch *graft_arch_find      (const char *name, GError **error);
guint            graft_arch_n         (void);
const GraftArch *graft_arch_nth       (guint i);
/* "keras-cnn, ..." (for messages and --help), freed by the caller. */
char            *graft_arch_list      (void);
/* The preset @id of @arch, or NULL. */
const GraftArchPreset *graft_arch_preset (const GraftArch *arch, const char *id);

/* The builders (graft-arch-<name>.c). */
void graft_arch_keras_cnn_build (GraftModelBuilder *b, const GraftModelSpec *spec);
extern const GraftArchPreset graft_arch_keras_cnn_presets[];

G_END_DECLS
