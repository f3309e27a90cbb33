/* A checklist of the model's layers with weights, with the study's presets as shortcuts. */
#include "graft-config.h"
#include "graft-layer-picker.h"

#include "graft-layer-presets.h"

struct _GraftLayerPicker {
  GtkBox      parent_instance;
  GtkFlowBox *layer_box;
  GStrv       model_layers; /* the model's, in Keras order */
  GStrv       layers;       /* shown: the model's, then extra names from the study */
  GPtrArray  *checks;       /* GtkCheckButton*, parallel to layers */
  gboolean    updating;
};

G_DEFINE_FINAL_TYPE (GraftLayerPicker, graft_layer_picker, GTK_TYPE_BOX)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
check_toggled_cb (GtkCheckButton *check, GraftLayerPicker *self)
{
  if (!self->updating)
    g_signal_emit (self, signals[CHANGED], 0);
}

static void
rebuild (GraftLayerPicker *self, const char *const *layers)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->layer_box))) != NULL)
    gtk_flow_box_remove (self->layer_box, child);
  g_ptr_array_set_size (self->checks, 0);
  g_strfreev (self->layers);
  self->layers = g_strdupv ((char **) layers);
  for (guint i = 0; self->layers && self->layers[i]; i++)
    {
      GtkWidget *check = gtk_check_button_new_with_label (self->layers[i]);
      g_signal_connect (check, "toggled", G_CALLBACK (check_toggled_cb), self);
      gtk_flow_box_append (self->layer_box, check);
      g_ptr_array_add (self->checks, check);
    }
}

void
graft_layer_picker_set_layers (GraftLayerPicker *self, const char *const *layers)
{
  g_return_if_fail (GRAFT_IS_LAYER_PICKER (self));
  g_auto (GStrv) selected = graft_layer_picker_get_selected (self);
  g_strfreev (self->model_layers);
  self->model_layers = g_strdupv ((char **) layers);
  self->updating = TRUE;
  rebuild (self, layers);
  self->updating = FALSE;
  graft_layer_picker_set_selected (self, (const char *const *) selected);
}

void
graft_layer_picker_set_selected (GraftLayerPicker *self, const char *const *names)
{
  g_return_if_fail (GRAFT_IS_LAYER_PICKER (self));
  /* A study may name layers this model does not list (another width, a hand
   * edit): show them as extra rows rather than drop them silently. */
  for (guint i = 0; names && names[i]; i++)
    if (self->layers == NULL || !g_strv_contains ((const char *const *) self->layers, names[i]))
      {
        g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
        if (self->layers)
          g_strv_builder_addv (b, (const char **) self->layers);
        g_strv_builder_add (b, names[i]);
        g_auto (GStrv) more = g_strv_builder_end (b);
        self->updating = TRUE;
        rebuild (self, (const char *const *) more);
        self->updating = FALSE;
      }
  gboolean changed = FALSE;
  self->updating = TRUE;
  for (guint i = 0; i < self->checks->len; i++)
    {
      gboolean on = names && g_strv_contains (names, self->layers[i]);
      GtkCheckButton *check = self->checks->pdata[i];
      if (gtk_check_button_get_active (check) != on)
        {
          gtk_check_button_set_active (check, on);
          changed = TRUE;
        }
    }
  self->updating = FALSE;
  if (changed)
    g_signal_emit (self, signals[CHANGED], 0);
}

GStrv
graft_layer_picker_get_selected (GraftLayerPicker *self)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; i < self->checks->len; i++)
    if (gtk_check_button_get_active (self->checks->pdata[i]))
      g_strv_builder_add (b, self->layers[i]);
  return g_strv_builder_end (b);
}

static void
preset_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftLayerPicker *self = GRAFT_LAYER_PICKER (widget);
  GraftLayerPreset preset = (GraftLayerPreset) g_variant_get_int32 (param);
  /* Presets pick from the model's own layers, never from extra rows. */
  g_auto (GStrv) picked = graft_layer_preset_pick ((const char *const *) self->model_layers,
                                                   preset);
  graft_layer_picker_set_selected (self, (const char *const *) picked);
}

static void
graft_layer_picker_dispose (GObject *object)
{
  GraftLayerPicker *self = GRAFT_LAYER_PICKER (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), GRAFT_TYPE_LAYER_PICKER);
  G_OBJECT_CLASS (graft_layer_picker_parent_class)->dispose (object);
}

static void
graft_layer_picker_finalize (GObject *object)
{
  GraftLayerPicker *self = GRAFT_LAYER_PICKER (object);
  g_strfreev (self->layers);
  g_strfreev (self->model_layers);
  g_ptr_array_unref (self->checks);
  G_OBJECT_CLASS (graft_layer_picker_parent_class)->finalize (object);
}

static void
graft_layer_picker_class_init (GraftLayerPickerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = graft_layer_picker_dispose;
  object_class->finalize = graft_layer_picker_finalize;
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/graft/Graft/ui/graft-layer-picker.ui");
  gtk_widget_class_bind_template_child (widget_class, GraftLayerPicker, layer_box);
  gtk_widget_class_install_action (widget_class, "picker.preset", "i", preset_action_cb);
}

static void
graft_layer_picker_init (GraftLayerPicker *self)
{
  self->checks = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
graft_layer_picker_new (void)
{
  return g_object_new (GRAFT_TYPE_LAYER_PICKER, NULL);
}
