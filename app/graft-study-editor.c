/* The study editor: dataset folders, shared hyper-parameters and the list of experiments. */
#include "graft-config.h"
#include "graft-study-editor.h"

#include "graft-arch.h"
#include "graft-experiment-row.h"
#include "graft-layer-picker.h"
#include "graft-layer-presets.h"

struct _GraftStudyEditor {
  GtkBox          parent_instance;
  GtkLabel       *title_label;
  GtkLabel       *folder_label;
  GtkLabel       *source_label;
  GtkLabel       *source_summary;
  GtkLabel       *target_label;
  GtkLabel       *target_summary;
  GtkSpinButton  *epochs_spin;
  GtkSpinButton  *batch_spin;
  GtkSpinButton  *lr_spin;
  GtkSpinButton  *size_spin;
  GtkSpinButton  *seed_spin;
  GtkSpinButton  *width_spin;
  GtkSpinButton  *dropout_spin;
  GtkEntry       *seeds_entry;
  GtkDropDown    *arch_dropdown;
  GtkLabel       *arch_description;
  GtkDropDown    *base_dropdown;
  GtkWidget      *init_button;
  GtkLabel       *init_label;
  GtkLabel       *seeds_error;
  char           *problem;      /* the seeds field's error, or NULL */
  GtkListBox     *experiments_list;
  GtkWidget      *empty_state;  /* the list's placeholder */
  GtkWidget      *add_button;   /* under the list; the empty state has its own */
  GtkWidget      *content;
  GPtrArray      *layers;       /* GraftLayerInfo* of the study's model */
  GtkWidget      *remove_dialog;/* asking before a run and its dependants go */

  GraftStudy     *study;        /* borrowed */
  GSettings      *settings;
  GCancellable   *cancellable;  /* dataset scans */
  GtkNativeDialog *chooser;
  gboolean        updating;
};

G_DEFINE_FINAL_TYPE (GraftStudyEditor, graft_study_editor, GTK_TYPE_BOX)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

char *
graft_study_resolve_path (const GraftStudy *study, const char *path)
{
  if (path == NULL || *path == '\0')
    return NULL;
  if (g_path_is_absolute (path) || study->dir == NULL)
    return g_strdup (path);
  return g_build_filename (study->dir, path, NULL);
}

static void
emit_changed (GraftStudyEditor *self)
{
  if (!self->updating)
    g_signal_emit (self, signals[CHANGED], 0);
}

/* Dataset scans run on a worker thread: a large folder takes seconds. */
typedef struct {
  char        *dir;
  GraftFilter  filter;
  GtkLabel    *label;   /* ref */
} ScanData;

static void
scan_data_free (ScanData *d)
{
  g_free (d->dir);
  g_clear_object (&d->label);
  g_free (d);
}

static void
scan_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ScanData *d = task_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftDataset) ds = graft_dataset_scan (d->dir, d->filter, NULL, NULL, cancellable,
                                                    &error);
  if (ds == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  guint n = graft_dataset_n_classes (ds);
  g_autoptr (GString) s = g_string_new (NULL);
  g_string_append_printf (s, "%u classes · %u images", n, graft_dataset_n_files (ds));
  if (graft_dataset_n_skipped (ds) > 0)
    g_string_append_printf (s, " · %u skipped", graft_dataset_n_skipped (ds));
  g_string_append (s, " (");
  for (guint i = 0; i < MIN (n, 4u); i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", graft_dataset_class_name (ds, i));
  g_string_append (s, n > 4 ? ", …)" : ")");
  g_task_return_pointer (task, g_string_free (g_steal_pointer (&s), FALSE), g_free);
}

static void
scan_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = G_TASK (result);
  ScanData *d = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_task_propagate_pointer (task, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  gtk_label_set_text (d->label, text ? text : error->message);
  gtk_widget_set_tooltip_text (GTK_WIDGET (d->label), text ? text : error->message);
}

static void
scan_folder (GraftStudyEditor *self, const char *path, GtkLabel *label)
{
  g_autofree char *dir = self->study ? graft_study_resolve_path (self->study, path) : NULL;
  if (dir == NULL)
    {
      gtk_label_set_text (label, "No folder chosen");
      return;
    }
  gtk_label_set_text (label, "Scanning…");
  ScanData *d = g_new0 (ScanData, 1);
  d->dir = g_steal_pointer (&dir);
  d->filter = self->study->hyper.filter;
  d->label = g_object_ref (label);
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, scan_done_cb, NULL);
  g_task_set_task_data (task, d, (GDestroyNotify) scan_data_free);
  g_task_run_in_thread (task, scan_thread);
}

static void
show_folders (GraftStudyEditor *self)
{
  const char *src = self->study && self->study->source && *self->study->source
                      ? self->study->source : "—";
  const char *dst = self->study && self->study->target && *self->study->target
                      ? self->study->target : "—";
  gtk_label_set_text (self->source_label, src);
  gtk_label_set_text (self->target_label, dst);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->source_label), src);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->target_label), dst);
  if (self->study)
    {
      scan_folder (self, self->study->source, self->source_summary);
      scan_folder (self, self->study->target, self->target_summary);
    }
}

static void
chooser_response_cb (GtkNativeDialog *dialog, int response, GraftStudyEditor *self)
{
  const char *which = g_object_get_data (G_OBJECT (dialog), "which");
  gboolean source = g_str_equal (which, "source");
  if (response == GTK_RESPONSE_ACCEPT && self->study)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path)
        {
          char **slot = source ? &self->study->source : &self->study->target;
          g_free (*slot);
          *slot = g_strdup (path);
          if (self->settings)
            g_settings_set_string (self->settings,
                                   source ? "last-source-folder" : "last-target-folder", path);
          show_folders (self);
          emit_changed (self);
        }
    }
  gtk_native_dialog_destroy (dialog);
  if (self->chooser == dialog)
    g_clear_object (&self->chooser);
}

static void
choose_folder_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftStudyEditor *self = GRAFT_STUDY_EDITOR (widget);
  const char *which = g_variant_get_string (param, NULL);
  gboolean source = g_str_equal (which, "source");
  if (self->study == NULL)
    return;
  GtkWindow *parent = GTK_WINDOW (gtk_widget_get_root (widget));
  g_clear_object (&self->chooser);
  GtkFileChooserNative *native =
    gtk_file_chooser_native_new (source ? "Source Dataset Folder" : "Target Dataset Folder",
                                 parent, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Select",
                                 "_Cancel");
  self->chooser = GTK_NATIVE_DIALOG (native);
  gtk_native_dialog_set_modal (self->chooser, TRUE);
  g_object_set_data_full (G_OBJECT (native), "which", g_strdup (which), g_free);
  g_autofree char *last = self->settings
    ? g_settings_get_string (self->settings, source ? "last-source-folder" : "last-target-folder")
    : NULL;
  if (last && *last)
    {
      g_autoptr (GFile) folder = g_file_new_for_path (last);
      g_autoptr (GFile) parent_dir = g_file_get_parent (folder);
      if (parent_dir)
        gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (native), parent_dir, NULL);
    }
  g_signal_connect (native, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (self->chooser);
}

static void rebuild_rows (GraftStudyEditor *self);

/* The architecture and the base run's weights as the study has them. */
static void
show_model (GraftStudyEditor *self)
{
  gboolean was = self->updating;
  self->updating = TRUE;
  const GraftArch *arch = self->study ? graft_arch_find (self->study->architecture, NULL) : NULL;
  for (guint i = 0; arch && i < graft_arch_n (); i++)
    if (graft_arch_nth (i) == arch)
      gtk_drop_down_set_selected (self->arch_dropdown, i);
  gtk_label_set_text (self->arch_description, arch ? arch->description : "");
  const GraftStudyRun *base = self->study ? graft_study_find_run (self->study, self->study->base)
                                          : NULL;
  gboolean ckpt = base && graft_study_run_is_checkpoint (base);
  gtk_drop_down_set_selected (self->base_dropdown, ckpt ? 1 : 0);
  gtk_widget_set_visible (self->init_button, ckpt);
  gtk_widget_set_visible (GTK_WIDGET (self->init_label), ckpt);
  gtk_label_set_text (self->init_label, ckpt ? base->init : "");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->init_label), ckpt ? base->init : NULL);
  self->updating = was;
}

/* The layer list of the study's network, for the checklists and presets. */
static void
load_layers (GraftStudyEditor *self)
{
  g_autoptr (GError) error = NULL;
  g_clear_pointer (&self->layers, g_ptr_array_unref);
  self->layers = graft_study_layer_infos_for (&self->study->hyper, self->study->architecture,
                                              &error);
  if (self->layers == NULL)
    g_warning ("Layer list for the study editor: %s", error->message);
}

static void
arch_selected_cb (GtkDropDown *dropdown, GParamSpec *pspec, GraftStudyEditor *self)
{
  if (self->study == NULL || self->updating)
    return;
  const GraftArch *arch = graft_arch_nth (gtk_drop_down_get_selected (dropdown));
  if (arch == NULL || g_strcmp0 (arch->name, self->study->architecture) == 0)
    return;
  g_autoptr (GError) error = NULL;
  if (!graft_study_set_architecture (self->study, arch->name, &error))
    {
      g_warning ("%s", error->message);
      return;
    }
  /* Trained runs become outdated by their identity; the rows show the new network. */
  load_layers (self);
  rebuild_rows (self);
  show_model (self);
  emit_changed (self);
}

void
graft_study_editor_set_init (GraftStudyEditor *self, const char *path)
{
  g_return_if_fail (GRAFT_IS_STUDY_EDITOR (self));
  if (self->study == NULL)
    return;
  graft_study_set_base_init (self->study, path);
  rebuild_rows (self);
  show_model (self);
  emit_changed (self);
}

static void
init_chooser_response_cb (GtkNativeDialog *dialog, int response, GraftStudyEditor *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->study)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path)
        graft_study_editor_set_init (self, path);
    }
  show_model (self);   /* cancelled: the dropdown goes back to what the study has */
  gtk_native_dialog_destroy (dialog);
  if (self->chooser == dialog)
    g_clear_object (&self->chooser);
}

static void
choose_init_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftStudyEditor *self = GRAFT_STUDY_EDITOR (widget);
  if (self->study == NULL)
    return;
  GtkWindow *parent = GTK_WINDOW (gtk_widget_get_root (widget));
  g_clear_object (&self->chooser);
  GtkFileChooserNative *native =
    gtk_file_chooser_native_new ("Base Weights", parent, GTK_FILE_CHOOSER_ACTION_OPEN, "_Open",
                                 "_Cancel");
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, "Checkpoints (*.safetensors)");
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), filter);
  self->chooser = GTK_NATIVE_DIALOG (native);
  gtk_native_dialog_set_modal (self->chooser, TRUE);
  g_signal_connect (native, "response", G_CALLBACK (init_chooser_response_cb), self);
  gtk_native_dialog_show (self->chooser);
}

static void
base_selected_cb (GtkDropDown *dropdown, GParamSpec *pspec, GraftStudyEditor *self)
{
  if (self->study == NULL || self->updating)
    return;
  const GraftStudyRun *base = graft_study_find_run (self->study, self->study->base);
  gboolean ckpt = base && graft_study_run_is_checkpoint (base);
  if (gtk_drop_down_get_selected (dropdown) == 0 && ckpt)
    graft_study_editor_set_init (self, NULL);
  else if (gtk_drop_down_get_selected (dropdown) == 1 && !ckpt)
    gtk_widget_activate_action (GTK_WIDGET (self), "editor.choose-init", NULL);
}

static void
spin_changed_cb (GtkSpinButton *spin, GraftStudyEditor *self)
{
  if (self->study == NULL || self->updating)
    return;
  GraftStudyHyper *h = &self->study->hyper;
  h->epochs = gtk_spin_button_get_value_as_int (self->epochs_spin);
  h->batch = gtk_spin_button_get_value_as_int (self->batch_spin);
  h->lr = gtk_spin_button_get_value (self->lr_spin);
  h->image_size = gtk_spin_button_get_value_as_int (self->size_spin);
  h->seed = (guint32) gtk_spin_button_get_value (self->seed_spin);
  h->width = gtk_spin_button_get_value (self->width_spin);
  h->dropout = gtk_spin_button_get_value (self->dropout_spin);
  emit_changed (self);
}

gboolean
graft_study_parse_seeds (const char *text, GArray *out, GError **error)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (text ? text : ""));
  g_array_set_size (out, 0);
  if (*trimmed == '\0')
    return TRUE;
  g_auto (GStrv) parts = g_strsplit (trimmed, ",", -1);
  for (guint i = 0; parts[i]; i++)
    {
      const char *tok = g_strstrip (parts[i]);
      guint64 v = 0;
      if (*tok == '\0')
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "A seed is missing between commas");
          return FALSE;
        }
      if (!g_ascii_string_to_unsigned (tok, 10, 1, G_MAXUINT32, &v, NULL))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "Seed “%s” is not a whole number from 1 to 4294967295", tok);
          return FALSE;
        }
      for (guint j = 0; j < out->len; j++)
        if (g_array_index (out, guint32, j) == v)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Seed %s is listed twice",
                         tok);
            return FALSE;
          }
      if (out->len >= GRAFT_STUDY_MAX_SEEDS)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "At most %d seeds",
                       GRAFT_STUDY_MAX_SEEDS);
          return FALSE;
        }
      guint32 seed = (guint32) v;
      g_array_append_val (out, seed);
    }
  return TRUE;
}

static void
show_seeds_error (GraftStudyEditor *self, const char *message)
{
  g_free (self->problem);
  self->problem = message ? g_strdup_printf ("Seeds: %s", message) : NULL;
  gtk_label_set_text (self->seeds_error, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->seeds_error), message != NULL);
  if (message)
    gtk_widget_add_css_class (GTK_WIDGET (self->seeds_entry), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->seeds_entry), "error");
}

static void
seeds_changed_cb (GtkEditable *entry, GraftStudyEditor *self)
{
  if (self->study == NULL || self->updating)
    return;
  g_autoptr (GArray) seeds = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr (GError) error = NULL;
  /* A list that does not parse leaves the study's seeds, and Save and Run refuse. */
  if (!graft_study_parse_seeds (gtk_editable_get_text (entry), seeds, &error))
    {
      show_seeds_error (self, error->message);
      emit_changed (self);
      return;
    }
  show_seeds_error (self, NULL);
  g_array_set_size (self->study->seeds, 0);
  g_array_append_vals (self->study->seeds, seeds->data, seeds->len);
  emit_changed (self);
}

static void
row_changed_cb (GraftExperimentRow *row, GraftStudyEditor *self)
{
  /* A rename shows in the rows that start from the renamed run. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->experiments_list));
       child; child = gtk_widget_get_next_sibling (child))
    if (GRAFT_IS_EXPERIMENT_ROW (child) && child != GTK_WIDGET (row))
      graft_experiment_row_update (GRAFT_EXPERIMENT_ROW (child));
  emit_changed (self);
}

static gboolean
release_rows_cb (gpointer data)
{
  g_ptr_array_unref (data);
  return G_SOURCE_REMOVE;
}

/* One row per run of the study, in its order. The old rows stay alive until the main loop is
 * idle: the edit may come from a button or menu inside one of them. */
static void
rebuild_rows (GraftStudyEditor *self)
{
  GPtrArray *old = g_ptr_array_new_with_free_func (g_object_unref);
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->experiments_list));
       child; child = gtk_widget_get_next_sibling (child))
    if (GRAFT_IS_EXPERIMENT_ROW (child))
      g_ptr_array_add (old, g_object_ref (child));
  for (guint i = 0; i < old->len; i++)
    gtk_list_box_remove (self->experiments_list, old->pdata[i]);
  g_idle_add (release_rows_cb, old);
  for (guint i = 0; self->study && i < self->study->runs->len; i++)
    {
      GtkWidget *row = graft_experiment_row_new (self->study, self->study->runs->pdata[i],
                                                 self->layers);
      g_signal_connect (row, "changed", G_CALLBACK (row_changed_cb), self);
      gtk_list_box_append (self->experiments_list, row);
    }
  gtk_widget_set_visible (self->add_button, self->study && self->study->runs->len > 0);
}

void
graft_study_editor_set_study (GraftStudyEditor *self, GraftStudy *study)
{
  g_return_if_fail (GRAFT_IS_STUDY_EDITOR (self));
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->study = study;
  self->updating = TRUE;

  gtk_widget_set_sensitive (self->content, study != NULL);
  if (study == NULL)
    {
      rebuild_rows (self);
      show_seeds_error (self, NULL);
      gtk_label_set_text (self->title_label, "No study");
      gtk_label_set_text (self->folder_label, "Create a study from a preset or open a study folder");
      self->updating = FALSE;
      return;
    }
  gtk_label_set_text (self->title_label, study->name ? study->name : "Study");
  gtk_label_set_text (self->folder_label, study->dir ? study->dir : "Not saved yet");
  const GraftStudyHyper *h = &study->hyper;
  gtk_spin_button_set_value (self->epochs_spin, h->epochs);
  gtk_spin_button_set_value (self->batch_spin, h->batch);
  gtk_spin_button_set_value (self->lr_spin, h->lr);
  gtk_spin_button_set_value (self->size_spin, h->image_size);
  gtk_spin_button_set_value (self->seed_spin, h->seed);
  gtk_spin_button_set_value (self->width_spin, h->width);
  gtk_spin_button_set_value (self->dropout_spin, h->dropout);
  g_autoptr (GString) seeds = g_string_new (NULL);
  for (guint i = 0; i < study->seeds->len; i++)
    g_string_append_printf (seeds, "%s%u", i ? ", " : "", g_array_index (study->seeds, guint32, i));
  gtk_editable_set_text (GTK_EDITABLE (self->seeds_entry), seeds->str);
  show_seeds_error (self, NULL);

  load_layers (self);
  rebuild_rows (self);
  show_folders (self);
  show_model (self);
  self->updating = FALSE;
}

GtkWidget *
graft_study_editor_find_row (GraftStudyEditor *self, const char *id)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->experiments_list));
       child; child = gtk_widget_get_next_sibling (child))
    if (GRAFT_IS_EXPERIMENT_ROW (child)
        && g_strcmp0 (graft_experiment_row_get_run (GRAFT_EXPERIMENT_ROW (child))->id, id) == 0)
      return child;
  return NULL;
}

char *
graft_study_editor_describe (GraftStudyEditor *self)
{
  GString *s = g_string_new (NULL);
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->experiments_list));
       child; child = gtk_widget_get_next_sibling (child))
    if (GRAFT_IS_EXPERIMENT_ROW (child))
      {
        g_autofree char *row = graft_experiment_row_describe (GRAFT_EXPERIMENT_ROW (child));
        g_string_append_printf (s, "row %s\n", row);
      }
  g_string_append_printf (s, "empty state %s\n",
                          gtk_widget_get_mapped (self->empty_state) ? "shown" : "hidden");
  return g_string_free (s, FALSE);
}

static void
add_experiment_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftStudyEditor *self = GRAFT_STUDY_EDITOR (widget);
  if (self->study == NULL)
    return;
  graft_study_add_experiment (self->study);
  rebuild_rows (self);
  emit_changed (self);
}

static void
duplicate_experiment_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftStudyEditor *self = GRAFT_STUDY_EDITOR (widget);
  g_autoptr (GError) error = NULL;
  if (self->study == NULL)
    return;
  if (graft_study_duplicate_run (self->study, g_variant_get_string (param, NULL), &error) == NULL)
    {
      g_warning ("Duplicate: %s", error->message);
      return;
    }
  rebuild_rows (self);
  emit_changed (self);
}

static void
remove_run (GraftStudyEditor *self, const char *id, GraftStudyRemoveFlags flags)
{
  g_autoptr (GError) error = NULL;
  if (!graft_study_remove_run (self->study, id, flags, &error))
    {
      g_warning ("Remove: %s", error->message);
      return;
    }
  rebuild_rows (self);
  emit_changed (self);
}

static void
remove_response_cb (GtkDialog *dialog, int response, GraftStudyEditor *self)
{
  g_autofree char *id = g_strdup (g_object_get_data (G_OBJECT (dialog), "id"));
  if (self->remove_dialog == GTK_WIDGET (dialog))
    self->remove_dialog = NULL;
  gtk_window_destroy (GTK_WINDOW (dialog));
  if (response == GTK_RESPONSE_ACCEPT && self->study)
    remove_run (self, id, GRAFT_STUDY_REMOVE_DEPENDANTS);
}

static void
remove_experiment_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftStudyEditor *self = GRAFT_STUDY_EDITOR (widget);
  const char *id = g_variant_get_string (param, NULL);
  if (self->study == NULL || graft_study_find_run (self->study, id) == NULL)
    return;
  g_auto (GStrv) deps = graft_study_run_dependants (self->study, id);
  if (deps[0] == NULL)
    {
      remove_run (self, id, GRAFT_STUDY_REMOVE_DEFAULT);
      return;
    }
  /* The runs that start from its weights would have nothing to start from. */
  guint n = g_strv_length (deps);
  g_autoptr (GString) names = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (names, "%s“%s”", i == 0 ? "" : i + 1 < n ? ", " : " and ", deps[i]);
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (widget)),
                                              GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                              "Remove “%s” and the runs that start from it?", id);
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            "%s start%s from its weights and would be removed "
                                            "too. Run folders already trained stay on disk.",
                                            names->str, n == 1 ? "s" : "");
  gtk_dialog_add_button (GTK_DIALOG (dialog), "_Cancel", GTK_RESPONSE_CANCEL);
  g_autofree char *label = g_strdup_printf ("_Remove %u Runs", n + 1);
  GtkWidget *remove = gtk_dialog_add_button (GTK_DIALOG (dialog), label, GTK_RESPONSE_ACCEPT);
  gtk_widget_add_css_class (remove, "destructive-action");
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
  g_object_set_data_full (G_OBJECT (dialog), "id", g_strdup (id), g_free);
  g_signal_connect (dialog, "response", G_CALLBACK (remove_response_cb), self);
  if (self->remove_dialog)
    gtk_window_destroy (GTK_WINDOW (self->remove_dialog));
  self->remove_dialog = dialog;
  gtk_window_present (GTK_WINDOW (dialog));
}

void
graft_study_editor_commit (GraftStudyEditor *self)
{
  /* Text typed into a spin button becomes its value only on Enter or focus-out;
   * an accelerator pressed straight after typing gets neither. */
  GtkSpinButton *spins[] = { self->epochs_spin, self->batch_spin, self->lr_spin, self->size_spin,
                             self->seed_spin, self->width_spin, self->dropout_spin };
  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
    gtk_spin_button_update (spins[i]);
}

const char *
graft_study_editor_get_problem (GraftStudyEditor *self)
{
  return self->problem;
}

void
graft_study_editor_set_settings (GraftStudyEditor *self, GSettings *settings)
{
  g_set_object (&self->settings, settings);
}

void
graft_study_editor_set_locked (GraftStudyEditor *self, gboolean locked)
{
  gtk_widget_set_sensitive (self->content, !locked && self->study != NULL);
}

GtkWidget *
graft_study_editor_popup_layers (GraftStudyEditor *self, const char *id)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->experiments_list));
       child; child = gtk_widget_get_next_sibling (child))
    {
      if (!GRAFT_IS_EXPERIMENT_ROW (child))
        continue;
      GraftStudyRun *run = graft_experiment_row_get_run (GRAFT_EXPERIMENT_ROW (child));
      if (g_str_equal (run->id, id) && run->from != NULL)
        return graft_experiment_row_popup_layers (GRAFT_EXPERIMENT_ROW (child));
    }
  return NULL;
}

static void
graft_study_editor_dispose (GObject *object)
{
  GraftStudyEditor *self = GRAFT_STUDY_EDITOR (object);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->problem, g_free);
  g_clear_pointer (&self->layers, g_ptr_array_unref);
  if (self->remove_dialog)
    gtk_window_destroy (GTK_WINDOW (g_steal_pointer (&self->remove_dialog)));
  gtk_widget_dispose_template (GTK_WIDGET (self), GRAFT_TYPE_STUDY_EDITOR);
  G_OBJECT_CLASS (graft_study_editor_parent_class)->dispose (object);
}

static void
graft_study_editor_class_init (GraftStudyEditorClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = graft_study_editor_dispose;
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/graft/Graft/ui/graft-study-editor.ui");
#define BIND(x) gtk_widget_class_bind_template_child (widget_class, GraftStudyEditor, x)
  BIND (title_label); BIND (folder_label);
  BIND (source_label); BIND (source_summary); BIND (target_label); BIND (target_summary);
  BIND (epochs_spin); BIND (batch_spin); BIND (lr_spin); BIND (size_spin); BIND (seed_spin);
  BIND (arch_dropdown); BIND (arch_description); BIND (base_dropdown); BIND (init_button);
  BIND (init_label);
  BIND (width_spin); BIND (dropout_spin); BIND (seeds_entry); BIND (seeds_error); BIND (experiments_list); BIND (empty_state); BIND (add_button); BIND (content);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, spin_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, arch_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, base_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, seeds_changed_cb);
  gtk_widget_class_install_action (widget_class, "editor.choose-folder", "s",
                                   choose_folder_action_cb);
  gtk_widget_class_install_action (widget_class, "editor.choose-init", NULL,
                                   choose_init_action_cb);
  gtk_widget_class_install_action (widget_class, "editor.add-experiment", NULL,
                                   add_experiment_action_cb);
  /* With a run id: the rows' menus. */
  gtk_widget_class_install_action (widget_class, "editor.duplicate-experiment", "s",
                                   duplicate_experiment_action_cb);
  gtk_widget_class_install_action (widget_class, "editor.remove-experiment", "s",
                                   remove_experiment_action_cb);
}

static void
graft_study_editor_init (GraftStudyEditor *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* The registry's architectures, by name; the chosen one's description shows below. */
  g_autoptr (GtkStringList) archs = gtk_string_list_new (NULL);
  for (guint i = 0; i < graft_arch_n (); i++)
    gtk_string_list_append (archs, graft_arch_nth (i)->name);
  self->updating = TRUE;
  gtk_drop_down_set_model (self->arch_dropdown, G_LIST_MODEL (archs));
  self->updating = FALSE;
  graft_study_editor_set_study (self, NULL);
}
