/* One run of a study in the editor: its transfer source, freeze choice and re-initialised layers. */
#include "graft-config.h"
#include "graft-experiment-row.h"

#include "graft-layer-picker.h"

struct _GraftExperimentRow {
  GtkListBoxRow     parent_instance;
  GtkLabel         *name_label;
  GtkLabel         *detail_label;
  GtkDropDown      *freeze_dropdown;
  GtkMenuButton    *layers_button;
  GtkLabel         *layers_label;
  GraftLayerPicker *picker;
  GraftStudyRun    *run;
};

G_DEFINE_FINAL_TYPE (GraftExperimentRow, graft_experiment_row, GTK_TYPE_LIST_BOX_ROW)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
update_summary (GraftExperimentRow *self)
{
  guint n = self->run->reinit ? g_strv_length (self->run->reinit) : 0;
  g_autofree char *names = n ? g_strjoinv (", ", self->run->reinit) : NULL;
  g_autofree char *list = self->run->from == NULL ? g_strdup ("every layer trained from scratch")
                          : n ? g_strdup_printf ("re-initialised: %s", names)
                          : g_strdup ("every layer transferred");
  g_autofree char *button = g_strdup_printf ("Re-init: %u layer%s", n, n == 1 ? "" : "s");
  gtk_menu_button_set_label (self->layers_button, button);
  gtk_label_set_text (self->layers_label, list);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->layers_label), list);
}

static void
picker_changed_cb (GraftLayerPicker *picker, GraftExperimentRow *self)
{
  g_strfreev (self->run->reinit);
  self->run->reinit = graft_layer_picker_get_selected (picker);
  if (self->run->reinit && self->run->reinit[0] == NULL)
    g_clear_pointer (&self->run->reinit, g_strfreev);
  update_summary (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
freeze_selected_cb (GtkDropDown *dropdown, GParamSpec *pspec, GraftExperimentRow *self)
{
  gboolean freeze = gtk_drop_down_get_selected (dropdown) == 0;
  if (self->run == NULL || freeze == self->run->freeze)
    return;
  self->run->freeze = freeze;
  g_signal_emit (self, signals[CHANGED], 0);
}

GraftStudyRun *
graft_experiment_row_get_run (GraftExperimentRow *self)
{
  return self->run;
}

void
graft_experiment_row_set_layers (GraftExperimentRow *self, const char *const *layers)
{
  g_signal_handlers_block_by_func (self->picker, picker_changed_cb, self);
  graft_layer_picker_set_layers (self->picker, layers);
  graft_layer_picker_set_selected (self->picker, (const char *const *) self->run->reinit);
  g_signal_handlers_unblock_by_func (self->picker, picker_changed_cb, self);
}

GtkWidget *
graft_experiment_row_popup_layers (GraftExperimentRow *self)
{
  gtk_menu_button_popup (self->layers_button);
  return GTK_WIDGET (gtk_menu_button_get_popover (self->layers_button));
}

static void
graft_experiment_row_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), GRAFT_TYPE_EXPERIMENT_ROW);
  G_OBJECT_CLASS (graft_experiment_row_parent_class)->dispose (object);
}

static void
graft_experiment_row_class_init (GraftExperimentRowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = graft_experiment_row_dispose;
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
  g_type_ensure (GRAFT_TYPE_LAYER_PICKER);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/graft/Graft/ui/graft-experiment-row.ui");
  gtk_widget_class_bind_template_child (widget_class, GraftExperimentRow, name_label);
  gtk_widget_class_bind_template_child (widget_class, GraftExperimentRow, detail_label);
  gtk_widget_class_bind_template_child (widget_class, GraftExperimentRow, freeze_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GraftExperimentRow, layers_button);
  gtk_widget_class_bind_template_child (widget_class, GraftExperimentRow, layers_label);
  gtk_widget_class_bind_template_child (widget_class, GraftExperimentRow, picker);
  gtk_widget_class_bind_template_callback (widget_class, picker_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, freeze_selected_cb);
}

static void
graft_experiment_row_init (GraftExperimentRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
graft_experiment_row_new (GraftStudyRun *run, const char *const *layers)
{
  GraftExperimentRow *self = g_object_new (GRAFT_TYPE_EXPERIMENT_ROW, NULL);
  self->run = run;
  g_autofree char *title = g_strdup_printf ("%d · %s", run->experiment, run->name);
  gtk_label_set_text (self->name_label, title);
  g_autofree char *detail =
    run->from ? g_strdup_printf ("%s · %s data, weights from %s", run->id,
                                 run->data == GRAFT_STUDY_DATA_SOURCE ? "source" : "target",
                                 run->from)
              : g_strdup_printf ("%s · %s data, from scratch", run->id,
                                 run->data == GRAFT_STUDY_DATA_SOURCE ? "source" : "target");
  gtk_label_set_text (self->detail_label, detail);
  gtk_drop_down_set_selected (self->freeze_dropdown, run->freeze ? 0 : 1);
  /* Freezing and re-initialising only mean something for transferred weights. */
  gtk_widget_set_visible (GTK_WIDGET (self->freeze_dropdown), run->from != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->layers_button), run->from != NULL);
  graft_experiment_row_set_layers (self, layers);
  update_summary (self);
  return GTK_WIDGET (self);
}
