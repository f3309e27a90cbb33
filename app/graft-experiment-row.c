/* One run of a study in the editor: its transfer source, freeze choice, re-initialised layers,
 * and its menu (duplicate, rename, remove). */
#include "graft-config.h"
#include "graft-experiment-row.h"

#include "graft-layer-picker.h"
#include "graft-layer-presets.h"

struct _GraftExperimentRow {
  GtkListBoxRow     parent_instance;
  GtkLabel         *name_label;
  GtkLabel         *detail_label;
  GtkDropDown      *freeze_dropdown;
  GtkDropDown      *preset_dropdown;
  GtkMenuButton    *layers_button;
  GtkMenuButton    *menu_button;
  GtkWidget        *controls_box;
  GtkLabel         *layers_label;
  GraftLayerPicker *picker;
  GtkWidget        *rename_box;
  GtkEntry         *name_entry;
  GtkEntry         *id_entry;
  GtkLabel         *rename_error;
  GtkLabel         *rename_note;
  GraftStudy       *study;        /* borrowed */
  GraftStudyRun    *run;          /* borrowed from study */
  GStrv             model_layers; /* the model's layers with weights, network order */
  char             *rename_problem;
  gboolean          id_typed;     /* the id was typed, so the name no longer proposes one */
  gboolean          updating;
};

G_DEFINE_FINAL_TYPE (GraftExperimentRow, graft_experiment_row, GTK_TYPE_LIST_BOX_ROW)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
update_summary (GraftExperimentRow *self)
{
  GraftStudyRun *run = self->run;
  guint n = run->reinit ? g_strv_length (run->reinit) : 0;
  g_autofree char *names = n ? g_strjoinv (", ", run->reinit) : NULL;
  g_autofree char *list = run->from == NULL ? g_strdup ("every layer trained from scratch")
                          : n ? g_strdup_printf ("re-initialised: %s", names)
                          : g_strdup ("every layer transferred");
  gtk_label_set_text (self->layers_label, list);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->layers_label), list);
  guint preset = graft_layer_preset_match_for (self->study->architecture,
                                               (const char *const *) self->model_layers,
                                               (const char *const *) run->reinit);
  self->updating = TRUE;
  gtk_drop_down_set_selected (self->preset_dropdown, preset);
  gtk_drop_down_set_selected (self->freeze_dropdown, run->freeze ? 0 : 1);
  self->updating = FALSE;
  graft_layer_picker_set_frozen (self->picker, run->freeze);
}

void
graft_experiment_row_update (GraftExperimentRow *self)
{
  GraftStudyRun *run = self->run;
  g_autofree char *title = g_strdup_printf ("%d · %s", run->experiment, run->name);
  gtk_label_set_text (self->name_label, title);
  const char *data = run->data == GRAFT_STUDY_DATA_SOURCE ? "source" : "target";
  g_autofree char *ckpt = run->init ? g_path_get_basename (run->init) : NULL;
  g_autofree char *detail =
    run->init ? g_strdup_printf ("%s · weights from the checkpoint %s", run->id, ckpt)
    : run->from ? g_strdup_printf ("%s · %s data, weights from %s", run->id, data, run->from)
                : g_strdup_printf ("%s · %s data, from scratch", run->id, data);
  gtk_label_set_text (self->detail_label, detail);
  /* Freezing and re-initialising only mean something for transferred weights. */
  gtk_widget_set_visible (self->controls_box, run->from != NULL);
  g_autoptr (GMenu) menu = g_menu_new ();
  g_autoptr (GMenu) edit = g_menu_new ();
  g_autoptr (GMenuItem) dup = g_menu_item_new ("_Duplicate", NULL);
  g_menu_item_set_action_and_target_value (dup, "editor.duplicate-experiment",
                                           g_variant_new_string (run->id));
  g_menu_append_item (edit, dup);
  g_menu_append (edit, "_Rename…", "row.rename");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (edit));
  g_autoptr (GMenuItem) rm = g_menu_item_new ("Re_move", NULL);
  g_menu_item_set_action_and_target_value (rm, "editor.remove-experiment",
                                           g_variant_new_string (run->id));
  g_autoptr (GMenu) danger = g_menu_new ();
  g_menu_append_item (danger, rm);
  g_menu_append_section (menu, NULL, G_MENU_MODEL (danger));
  gtk_menu_button_set_menu_model (self->menu_button, G_MENU_MODEL (menu));
  update_summary (self);
}

static void
set_reinit (GraftExperimentRow *self, GStrv reinit /* transfer full */)
{
  g_strfreev (self->run->reinit);
  self->run->reinit = reinit;
  if (self->run->reinit && self->run->reinit[0] == NULL)
    g_clear_pointer (&self->run->reinit, g_strfreev);
  update_summary (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
picker_changed_cb (GraftLayerPicker *picker, GraftExperimentRow *self)
{
  set_reinit (self, graft_layer_picker_get_selected (picker));
}

static void
preset_selected_cb (GtkDropDown *dropdown, GParamSpec *pspec, GraftExperimentRow *self)
{
  if (self->updating || self->run == NULL)
    return;
  guint preset = gtk_drop_down_get_selected (dropdown);
  if (preset > graft_layer_presets_n (self->study->architecture))
    {
      /* Custom: the layers are chosen one by one. */
      gtk_menu_button_popup (self->layers_button);
      return;
    }
  /* The picker ticks the preset's layers and reports the change. */
  g_auto (GStrv) picked = graft_layer_preset_pick_for (self->study->architecture,
                                                       (const char *const *) self->model_layers,
                                                       preset);
  graft_layer_picker_set_selected (self->picker, (const char *const *) picked);
  /* The same layers as before: nothing changed, but show the preset chosen. */
  update_summary (self);
}

static void
freeze_selected_cb (GtkDropDown *dropdown, GParamSpec *pspec, GraftExperimentRow *self)
{
  gboolean freeze = gtk_drop_down_get_selected (dropdown) == 0;
  if (self->updating || self->run == NULL || freeze == self->run->freeze)
    return;
  self->run->freeze = freeze;
  graft_layer_picker_set_frozen (self->picker, freeze);
  g_signal_emit (self, signals[CHANGED], 0);
}

GraftStudyRun *
graft_experiment_row_get_run (GraftExperimentRow *self)
{
  return self->run;
}

void
graft_experiment_row_set_layers (GraftExperimentRow *self, GPtrArray *layers)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; layers && i < layers->len; i++)
    g_strv_builder_add (b, ((GraftLayerInfo *) layers->pdata[i])->name);
  g_strfreev (self->model_layers);
  self->model_layers = g_strv_builder_end (b);
  g_signal_handlers_block_by_func (self->picker, picker_changed_cb, self);
  graft_layer_picker_set_layers (self->picker, layers);
  graft_layer_picker_set_selected (self->picker, (const char *const *) self->run->reinit);
  g_signal_handlers_unblock_by_func (self->picker, picker_changed_cb, self);
  update_summary (self);
}

GtkWidget *
graft_experiment_row_popup_layers (GraftExperimentRow *self)
{
  gtk_menu_button_popup (self->layers_button);
  return GTK_WIDGET (gtk_menu_button_get_popover (self->layers_button));
}

GtkWidget *
graft_experiment_row_popup_menu (GraftExperimentRow *self)
{
  gtk_menu_button_popup (self->menu_button);
  return GTK_WIDGET (gtk_menu_button_get_popover (self->menu_button));
}

/* Renaming: the name proposes an id until the id is typed; the id is checked as it is typed. */
static void
check_rename (GraftExperimentRow *self)
{
  g_autoptr (GError) error = NULL;
  const char *id = gtk_editable_get_text (GTK_EDITABLE (self->id_entry));
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->name_entry))));
  gboolean id_ok = graft_study_check_run_id (self->study, self->run, id, &error);
  if (id_ok && *name == '\0')
    g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                         "The name is empty: it is shown in the run list, table and figures");
  g_free (self->rename_problem);
  self->rename_problem = error ? g_strdup (error->message) : NULL;
  gtk_label_set_text (self->rename_error, error ? error->message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->rename_error), error != NULL);
  if (!id_ok)
    gtk_widget_add_css_class (GTK_WIDGET (self->id_entry), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->id_entry), "error");
  if (id_ok && *name == '\0')
    gtk_widget_add_css_class (GTK_WIDGET (self->name_entry), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->name_entry), "error");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "row.rename-apply", error == NULL);

  /* What else the new id changes. */
  g_autoptr (GString) note = g_string_new (NULL);
  if (error == NULL && !g_str_equal (id, self->run->id))
    {
      g_auto (GStrv) deps = graft_study_run_dependants (self->study, self->run->id);
      guint n = g_strv_length (deps);
      if (n > 0)
        g_string_append_printf (note, "%u run%s that start%s from its weights will follow. ", n,
                                n == 1 ? "" : "s", n == 1 ? "s" : "");
      g_autofree char *dir = graft_study_run_dir (self->study, self->run);
      g_autofree char *to = self->study->dir ? g_build_filename (self->study->dir, "runs", id,
                                                                 NULL) : NULL;
      if (to && g_file_test (dir, G_FILE_TEST_IS_DIR))
        {
          if (g_file_test (to, G_FILE_TEST_EXISTS))
            g_string_append_printf (note, "runs/%s already exists, so runs/%s stays where it is "
                                    "and the run trains again as runs/%s.", id, self->run->id,
                                    id);
          else
            g_string_append_printf (note, "What it trained moves with it, from runs/%s to "
                                    "runs/%s, when the study is saved.", self->run->id, id);
        }
    }
  gtk_label_set_text (self->rename_note, note->str);
  gtk_widget_set_visible (GTK_WIDGET (self->rename_note), note->len > 0);
}

static void
rename_name_changed_cb (GtkEditable *entry, GraftExperimentRow *self)
{
  if (self->updating)
    return;
  if (!self->id_typed)
    {
      g_autofree char *slug = graft_study_slug (gtk_editable_get_text (entry));
      self->updating = TRUE;
      if (*slug)
        gtk_editable_set_text (GTK_EDITABLE (self->id_entry), slug);
      self->updating = FALSE;
    }
  check_rename (self);
}

static void
rename_id_changed_cb (GtkEditable *entry, GraftExperimentRow *self)
{
  if (self->updating)
    return;
  self->id_typed = TRUE;
  check_rename (self);
}

static void
rename_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftExperimentRow *self = GRAFT_EXPERIMENT_ROW (widget);
  self->updating = TRUE;
  gtk_editable_set_text (GTK_EDITABLE (self->name_entry), self->run->name);
  gtk_editable_set_text (GTK_EDITABLE (self->id_entry), self->run->id);
  self->updating = FALSE;
  /* An id that is not the name's slug was chosen by hand: keep it unless it is typed. */
  g_autofree char *slug = graft_study_slug (self->run->name);
  self->id_typed = !g_str_equal (slug, self->run->id);
  check_rename (self);
  gtk_widget_set_visible (self->rename_box, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->name_entry));
}

static void
rename_cancel_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftExperimentRow *self = GRAFT_EXPERIMENT_ROW (widget);
  gtk_widget_set_visible (self->rename_box, FALSE);
  g_clear_pointer (&self->rename_problem, g_free);
}

static void
rename_apply_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftExperimentRow *self = GRAFT_EXPERIMENT_ROW (widget);
  g_autoptr (GError) error = NULL;
  const char *id = gtk_editable_get_text (GTK_EDITABLE (self->id_entry));
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_entry));
  gboolean same = g_str_equal (id, self->run->id) && g_str_equal (name, self->run->name);
  if (!same && !graft_study_rename_run (self->study, self->run->id, id, name, &error))
    {
      g_free (self->rename_problem);
      self->rename_problem = g_strdup (error->message);
      gtk_label_set_text (self->rename_error, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->rename_error), TRUE);
      return;
    }
  gtk_widget_set_visible (self->rename_box, FALSE);
  g_clear_pointer (&self->rename_problem, g_free);
  graft_experiment_row_update (self);
  if (!same)
    g_signal_emit (self, signals[CHANGED], 0);
}

static void
rename_activate_cb (GtkEntry *entry, GraftExperimentRow *self)
{
  if (self->rename_problem == NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "row.rename-apply", NULL);
}

const char *
graft_experiment_row_get_rename_error (GraftExperimentRow *self)
{
  return gtk_widget_get_visible (self->rename_box) ? self->rename_problem : NULL;
}

char *
graft_experiment_row_describe (GraftExperimentRow *self)
{
  GraftStudyRun *run = self->run;
  const char *preset = run->from ? graft_layer_preset_label_for (
                                     self->study->architecture,
                                     gtk_drop_down_get_selected (self->preset_dropdown)) : "—";
  const char *freeze = run->from ? (gtk_drop_down_get_selected (self->freeze_dropdown) == 0
                                      ? "Frozen" : "Trainable") : "—";
  return g_strdup_printf ("%s | %s | %s | %s | %s", run->id,
                          gtk_label_get_text (self->name_label),
                          gtk_label_get_text (self->detail_label), preset, freeze);
}

static void
graft_experiment_row_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), GRAFT_TYPE_EXPERIMENT_ROW);
  G_OBJECT_CLASS (graft_experiment_row_parent_class)->dispose (object);
}

static void
graft_experiment_row_finalize (GObject *object)
{
  GraftExperimentRow *self = GRAFT_EXPERIMENT_ROW (object);
  g_strfreev (self->model_layers);
  g_free (self->rename_problem);
  G_OBJECT_CLASS (graft_experiment_row_parent_class)->finalize (object);
}

static void
graft_experiment_row_class_init (GraftExperimentRowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = graft_experiment_row_dispose;
  G_OBJECT_CLASS (klass)->finalize = graft_experiment_row_finalize;
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
  g_type_ensure (GRAFT_TYPE_LAYER_PICKER);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/graft/Graft/ui/graft-experiment-row.ui");
#define BIND(x) gtk_widget_class_bind_template_child (widget_class, GraftExperimentRow, x)
  BIND (name_label); BIND (detail_label); BIND (freeze_dropdown); BIND (preset_dropdown);
  BIND (layers_button); BIND (menu_button); BIND (controls_box); BIND (layers_label); BIND (picker);
  BIND (rename_box); BIND (name_entry); BIND (id_entry); BIND (rename_error); BIND (rename_note);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, picker_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, freeze_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, preset_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, rename_name_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, rename_id_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, rename_activate_cb);
  gtk_widget_class_install_action (widget_class, "row.rename", NULL, rename_action_cb);
  gtk_widget_class_install_action (widget_class, "row.rename-apply", NULL, rename_apply_action_cb);
  gtk_widget_class_install_action (widget_class, "row.rename-cancel", NULL,
                                   rename_cancel_action_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "row.rename-cancel", NULL);
}

static void
graft_experiment_row_init (GraftExperimentRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/* None, the study architecture's presets (on the Keras CNN the reference study's experiment
 * names) and Custom, any other choice of layers. */
static void
set_preset_model (GraftExperimentRow *self)
{
  const char *arch = self->study->architecture;
  g_autoptr (GtkStringList) presets = gtk_string_list_new (NULL);
  for (guint p = 0; p <= graft_layer_presets_n (arch) + 1; p++)
    gtk_string_list_append (presets, graft_layer_preset_label_for (arch, p));
  self->updating = TRUE;
  gtk_drop_down_set_model (self->preset_dropdown, G_LIST_MODEL (presets));
  self->updating = FALSE;
  graft_layer_picker_set_architecture (self->picker, arch);
}

GtkWidget *
graft_experiment_row_new (GraftStudy *study, GraftStudyRun *run, GPtrArray *layers)
{
  GraftExperimentRow *self = g_object_new (GRAFT_TYPE_EXPERIMENT_ROW, NULL);
  self->study = study;
  self->run = run;
  set_preset_model (self);
  graft_experiment_row_set_layers (self, layers);
  graft_experiment_row_update (self);
  return GTK_WIDGET (self);
}
