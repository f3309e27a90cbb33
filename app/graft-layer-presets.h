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
  GRAFT_LAYER_N_PRESETS
} GraftLayerPreset;

const char *graft_layer_preset_label (GraftLayerPreset preset);

/* Names of the layers with a kernel (conv2d, separable_conv2d…, dense) in
 * Keras order, for the study's image size and width. */
GStrv       graft_study_kernel_layers (const GraftStudyHyper *hyper, GError **error);

/* The layers @preset re-initialises, picked from @layers (Keras order, the
 * output layer last). */
GStrv       graft_layer_preset_pick   (const char *const *layers, GraftLayerPreset preset);

G_END_DECLS
