/* The model's layers with weights, and the study's re-initialisation presets over them. */
#pragma once

#include <glib.h>

#include "graft-study.h"

G_BEGIN_DECLS

typedef enum {
  GRAFT_LAYER_PRESET_NONE,
  GRAFT_LAYER_PRESET_ONLY_OUTPUT,     /* "only output" */
  GRAFT_LAYER_PRESET_FIRST3_OUTPUT,   /* "3-first-conv2d & output" */
  GRAFT_LAYER_PRESET_LAST2_OUTPUT,    /* "2-last-conv2d & output" */
  GRAFT_LAYER_N_PRESETS,
  GRAFT_LAYER_PRESET_CUSTOM = GRAFT_LAYER_N_PRESETS   /* a choice no preset makes */
} GraftLayerPreset;

/* The reference study's experiment name of @preset ("only output", …), "None", or
 * "Custom". */
const char *graft_layer_preset_label (GraftLayerPreset preset);

/* One layer with a kernel, for the layer checklist. */
typedef struct {
  char   *name;     /* Keras name: "conv2d", "separable_conv2d_3", "dense" */
  char   *kind;     /* Keras class: "Conv2D", "SeparableConv2D", "Dense" */
  int     h, w, c;  /* output shape per image */
  guint64 params;   /* parameters of the layer */
} GraftLayerInfo;

/* The layers with a kernel (conv2d, separable_conv2d…, dense) in network (Keras) order, for
 * the study's image size and width: GraftLayerInfo*, owned by the array. */
GPtrArray  *graft_study_layer_infos   (const GraftStudyHyper *hyper, GError **error);
/* Their names. */
GStrv       graft_study_kernel_layers (const GraftStudyHyper *hyper, GError **error);

/* The layers @preset re-initialises, picked from @layers (Keras order, the
 * output layer last). */
GStrv       graft_layer_preset_pick   (const char *const *layers, GraftLayerPreset preset);
/* The preset that picks exactly @reinit (in any order) from @layers, or
 * GRAFT_LAYER_PRESET_CUSTOM. NULL or empty @reinit is GRAFT_LAYER_PRESET_NONE. */
GraftLayerPreset graft_layer_preset_match (const char *const *layers, const char *const *reinit);

/* The same on any architecture of the registry (graft-arch.h; NULL = keras-cnn). Presets are
 * numbered 0 = None, 1 … graft_layer_presets_n() = the architecture's registry presets in
 * order, and graft_layer_presets_n() + 1 = Custom. On the Keras CNN they are the functions
 * above (its labels are the reference study's experiment names); on the others the
 * registry's labels and layer groups. */
guint       graft_layer_presets_n          (const char *arch);
const char *graft_layer_preset_label_for   (const char *arch, guint preset);
GStrv       graft_layer_preset_pick_for    (const char *arch, const char *const *layers,
                                            guint preset);
guint       graft_layer_preset_match_for   (const char *arch, const char *const *layers,
                                            const char *const *reinit);
/* graft_study_layer_infos() for the network of architecture @arch. */
GPtrArray  *graft_study_layer_infos_for    (const GraftStudyHyper *hyper, const char *arch,
                                            GError **error);

G_END_DECLS
