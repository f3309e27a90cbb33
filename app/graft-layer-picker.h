/* A checklist of the model's layers with weights, with the study's presets as shortcuts. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GRAFT_TYPE_LAYER_PICKER (graft_layer_picker_get_type ())
G_DECLARE_FINAL_TYPE (GraftLayerPicker, graft_layer_picker, GRAFT, LAYER_PICKER, GtkBox)

GtkWidget *graft_layer_picker_new          (void);
/* The architecture whose presets the shortcut buttons offer (NULL = keras-cnn). */
void       graft_layer_picker_set_architecture (GraftLayerPicker *self, const char *arch);
/* @layers: GraftLayerInfo* (graft-layer-presets.h) in network order, shown one per line in
 * that order, top to bottom. Unknown names in the selection are kept and shown after them. */
void       graft_layer_picker_set_layers   (GraftLayerPicker *self, GPtrArray *layers);
void       graft_layer_picker_set_selected (GraftLayerPicker *self, const char *const *names);
/* Ticked layers in the order shown. */
GStrv      graft_layer_picker_get_selected (GraftLayerPicker *self);
/* Whether the transferred layers that are not ticked are frozen (shown per layer). */
void       graft_layer_picker_set_frozen   (GraftLayerPicker *self, gboolean frozen);
/* What the checklist shows, one line per layer in the order shown: "name | kind | shape |
 * params | in training | ticked | x y" with the check's position in the picker. */
char      *graft_layer_picker_describe     (GraftLayerPicker *self);

G_END_DECLS
