/* A checklist of the model's layers with weights, with the study's presets as shortcuts. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GRAFT_TYPE_LAYER_PICKER (graft_layer_picker_get_type ())
G_DECLARE_FINAL_TYPE (GraftLayerPicker, graft_layer_picker, GRAFT, LAYER_PICKER, GtkBox)

GtkWidget *graft_layer_picker_new          (void);
/* Layers in Keras order; unknown names in the selection are kept and shown too. */
void       graft_layer_picker_set_layers   (GraftLayerPicker *self, const char *const *layers);
void       graft_layer_picker_set_selected (GraftLayerPicker *self, const char *const *names);
/* Ticked layers in the order shown. */
GStrv      graft_layer_picker_get_selected (GraftLayerPicker *self);

G_END_DECLS
