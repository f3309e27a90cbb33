/* The main window: device menu, study editor, runs, live curves and results. */
#include "graft-config.h"
#include "graft-window.h"

#include "graft-device.h"
#include "graft-device-label.h"
#include "graft-checkpoint.h"
#include "graft-export.h"
#include "graft-onnx.h"
#include "graft-plot-view.h"
#include "graft-results.h"
#include "graft-results-view.h"
#include "graft-run-inspector.h"
#include "graft-dataset-view.h"
#include "graft-run.h"
#include "graft-run-list.h"
#include "graft-study-editor.h"
#include "graft-study-job.h"

struct _GraftWindow {
  AdwApplicationWindow parent_instance;
  GtkDropDown      *device_dropdown;
  GtkWidget        *run_button;
  GtkLabel         *device_label;
  AdwToastOverlay  *toast_overlay;
  GtkStack         *main_stack;       /* "start" (no study) or "study" */
  AdwToast         *error_toast;      /* the error shown, until dismissed */
  char             *error_text;
  AdwToast         *info_toast;       /* feedback that something worked */
  char             *info_text;
  guint             refresh_timeout;  /* re-reads the runs' states after edits */
  char             *problem;          /* why the study cannot run now, shown in the run list */
  GraftStudyEditor *editor;
  GraftPlotView    *plot_view;
  GraftRunList     *run_list;
  GraftResultsView *results_view;

  GPtrArray        *devices;
  GSettings        *settings;
  GraftStudy       *study;
  gboolean          modified;         /* edits not saved to study.json yet */
  GCancellable     *run_cancellable;  /* non-NULL while the study runs */
  gboolean          close_after_run;
  GtkNativeDialog  *chooser;
  GtkWidget        *confirm_dialog;   /* "Save changes?", while it asks */
  /* What to do once the study is saved (Save in that dialog, or Run on a
   * study not on disk yet), and its argument. */
  int               after_save;
  char             *after_save_arg;
};

/* Things that replace or close the study shown, so ask about unsaved edits first. */
enum { AFTER_NOTHING, AFTER_RUN, AFTER_CLOSE, AFTER_NEW, AFTER_OPEN };

G_DEFINE_FINAL_TYPE (GraftWindow, graft_window, ADW_TYPE_APPLICATION_WINDOW)

enum { RUN_FINISHED, EPOCH_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void run_study (GraftWindow *self);

static void
toast_dismissed_cb (AdwToast *toast, gpointer user_data)
{
  GraftWindow *self = user_data;
  if (toast == self->error_toast)
    {
      g_clear_object (&self->error_toast);
      g_clear_pointer (&self->error_text, g_free);
    }
  else if (toast == self->info_toast)
    {
      g_clear_object (&self->info_toast);
      g_clear_pointer (&self->info_text, g_free);
    }
}

/* A toast whose title is @message in full: a wrapping label, since messages name files. */
static AdwToast *
add_toast (GraftWindow *self, const char *message, AdwToastPriority priority, guint timeout)
{
  AdwToast *toast = adw_toast_new ("");
  GtkWidget *label = gtk_label_new (message);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 72);
  /* A wrapping label asks for its width in characters: short messages stay on one line. */
  gtk_label_set_width_chars (GTK_LABEL (label), MIN ((int) g_utf8_strlen (message, -1), 48));
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  adw_toast_set_custom_title (toast, label);
  adw_toast_set_priority (toast, priority);
  adw_toast_set_timeout (toast, timeout);
  g_signal_connect (toast, "dismissed", G_CALLBACK (toast_dismissed_cb), self);
  adw_toast_overlay_add_toast (self->toast_overlay, g_object_ref (toast));
  return toast;
}

static void
dismiss_toast (GraftWindow *self, AdwToast **toast)
{
  if (*toast == NULL)
    return;
  g_signal_handlers_disconnect_by_data (*toast, self);
  adw_toast_dismiss (*toast);
  g_clear_object (toast);
}

/* Shows @message in the toast *@toast if it is still up (replacing a toast while another
 * hides makes libadwaita 1.2's overlay unref it twice), else in a new one. */
static void
set_toast (GraftWindow *self, AdwToast **toast, char **text, const char *message,
           AdwToastPriority priority, guint timeout)
{
  g_free (*text);
  *text = g_strdup (message);
  if (*toast)
    {
      GtkLabel *label = GTK_LABEL (adw_toast_get_custom_title (*toast));
      gtk_label_set_text (label, message);
      gtk_label_set_width_chars (label, MIN ((int) g_utf8_strlen (message, -1), 48));
    }
  else
    *toast = add_toast (self, message, priority, timeout);
}

/* Errors stay until dismissed: they name what to fix. */
static void
show_error (GraftWindow *self, const char *message)
{
  set_toast (self, &self->error_toast, &self->error_text, message, ADW_TOAST_PRIORITY_HIGH, 0);
}

static void
clear_error (GraftWindow *self)
{
  dismiss_toast (self, &self->error_toast);
  g_clear_pointer (&self->error_text, g_free);
}

/* Feedback that something worked, hidden again after a few seconds. */
static void
show_info (GraftWindow *self, const char *message)
{
  set_toast (self, &self->info_toast, &self->info_text, message, ADW_TOAST_PRIORITY_NORMAL, 8);
}

const char *
graft_window_get_error (GraftWindow *self)
{
  return self->error_text;
}

const char *
graft_window_get_info (GraftWindow *self)
{
  return self->info_text;
}

/* Why the study cannot run as it is, or NULL: checked before any run starts, so that a
 * mistyped folder is one message instead of every run failing. */
static char *
study_problem (GraftWindow *self)
{
  g_autoptr (GError) error = NULL;
  const char *editing = graft_study_editor_get_problem (self->editor);
  if (editing)
    return g_strdup (editing);
  if (!graft_study_validate (self->study, "study", &error))
    return g_strdup (error->message);
  if (self->study->runs->len == 0)
    return g_strdup ("Nothing to run yet: add an experiment to the study");
  const struct { const char *what, *path; GraftStudyData data; } folders[] = {
    { "source", self->study->source, GRAFT_STUDY_DATA_SOURCE },
    { "target", self->study->target, GRAFT_STUDY_DATA_TARGET },
  };
  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      gboolean used = FALSE;
      for (guint r = 0; r < self->study->runs->len; r++)
        {
          const GraftStudyRun *run = self->study->runs->pdata[r];
          /* A checkpoint run reads no folder. */
          used |= run->data == folders[i].data && !graft_study_run_is_checkpoint (run);
        }
      if (!used)
        continue;
      g_autofree char *dir = graft_study_resolve_path (self->study, folders[i].path);
      if (dir == NULL)
        return g_strdup_printf ("Cannot run: no %s dataset folder is chosen", folders[i].what);
      if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
        return g_strdup_printf ("Cannot run: the %s dataset folder %s does not exist",
                                folders[i].what, dir);
    }
  return NULL;
}

static void
update_problem (GraftWindow *self)
{
  g_autofree char *problem = self->study && self->run_cancellable == NULL
                               ? study_problem (self) : NULL;
  if (g_strcmp0 (problem, self->problem) == 0)
    return;
  /* Replace only a message of ours: a finished queue's summary stays otherwise. */
  if (problem)
    graft_run_list_set_message (self->run_list, problem);
  else if (self->problem
           && g_strcmp0 (graft_run_list_get_message (self->run_list), self->problem) == 0)
    graft_run_list_set_message (self->run_list, NULL);
  g_free (self->problem);
  self->problem = g_steal_pointer (&problem);
}

static void
update_actions (GraftWindow *self)
{
  gboolean running = self->run_cancellable != NULL;
  gboolean have = self->study != NULL;
  GtkWidget *w = GTK_WIDGET (self);
  update_problem (self);
  /* Runs trained with settings since changed: Run retrains them and the runs that start from
   * them, and says so. */
  guint outdated = have && !running ? graft_run_list_n_outdated (self->run_list) : 0;
  g_autofree char *tip = self->problem ? g_strdup (self->problem)
                         : outdated ? g_strdup_printf (
                             "%u run%s trained with settings since changed: train %s again, and "
                             "the runs that start from %s; finished runs stay (Ctrl+R)",
                             outdated, outdated == 1 ? " was" : "s were",
                             outdated == 1 ? "it" : "them", outdated == 1 ? "it" : "them")
                         : g_strdup ("Train every run that is not finished (Ctrl+R)");
  gtk_widget_set_tooltip_text (self->run_button, tip);
  gtk_button_set_label (GTK_BUTTON (self->run_button),
                        outdated ? "Retrain Changed Runs" : "Run Study");
  gtk_widget_action_set_enabled (w, "win.run-study", have && !running && self->problem == NULL);
  gtk_widget_action_set_enabled (w, "win.stop-study", running);
  gtk_widget_action_set_enabled (w, "win.new-study", !running);
  gtk_widget_action_set_enabled (w, "win.open-study", !running);
  gtk_widget_action_set_enabled (w, "win.save-study", have && !running);
  gtk_widget_action_set_enabled (w, "win.export-plot", have);
  gtk_widget_action_set_enabled (w, "win.export-table", have && self->study->dir != NULL);
  gtk_widget_action_set_enabled (w, "win.export-onnx", have && self->study->dir != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->device_dropdown), !running);
  g_autofree char *title = have ? g_strdup_printf ("%s%s — Graft", self->modified ? "• " : "",
                                                   self->study->name ? self->study->name : "Study")
                                : g_strdup ("Graft");
  gtk_window_set_title (GTK_WINDOW (self), title);
}

static void
set_study (GraftWindow *self, GraftStudy *study /* transfer full */)
{
  GraftStudy *old = self->study;
  self->study = study;
  self->modified = FALSE;
  graft_study_editor_set_study (self->editor, study);
  graft_plot_view_set_study (self->plot_view, study);
  graft_run_list_set_study (self->run_list, study);
  graft_results_view_set_study (self->results_view, study);
  gtk_stack_set_visible_child_name (self->main_stack, study ? "study" : "start");
  g_clear_pointer (&old, graft_study_free);
  g_clear_pointer (&self->problem, g_free);   /* the run list's message was reset */
  if (study && study->dir && self->settings)
    g_settings_set_string (self->settings, "last-study-folder", study->dir);
  update_actions (self);
}

gboolean
graft_window_open_study (GraftWindow *self, const char *path, GError **error)
{
  GraftStudy *study = graft_study_load (path, error);
  if (study == NULL)
    return FALSE;
  set_study (self, study);
  return TRUE;
}

guint
graft_window_n_plot_series (GraftWindow *self)
{
  return graft_plot_view_n_series (self->plot_view);
}

guint
graft_window_n_plot_banded (GraftWindow *self)
{
  return graft_plot_view_n_banded (self->plot_view);
}

const GraftStudy *
graft_window_get_study (GraftWindow *self)
{
  return self->study;
}

GtkWidget *
graft_window_popup_layers (GraftWindow *self, const char *id)
{
  return graft_study_editor_popup_layers (self->editor, id);
}

static const GraftDeviceInfo *
selected_device (GraftWindow *self)
{
  guint i = gtk_drop_down_get_selected (self->device_dropdown);
  if (self->devices == NULL || i >= self->devices->len)
    return NULL;
  return self->devices->pdata[i];
}

static void
device_selected_cb (GtkDropDown *dropdown, GParamSpec *pspec, GraftWindow *self)
{
  const GraftDeviceInfo *d = selected_device (self);
  if (d == NULL)
    return;
  g_autofree char *mem = graft_format_bytes (d->global_mem);
  g_autofree char *text = g_strdup_printf ("%s · %s · %s · %u compute units · %s · %s", d->name,
                                           d->type, d->vendor, d->compute_units, mem,
                                           d->opencl_version);
  gtk_label_set_text (self->device_label, text);
  /* The header shows a short name; the device's own is here. */
  g_autofree char *tip = g_strdup_printf ("OpenCL device used for training: %s (%s, %s)",
                                          d->name, d->type, d->platform_name);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->device_dropdown), tip);
  if (self->settings && pspec != NULL)
    g_settings_set_string (self->settings, "last-device", d->id);
}

static void
load_devices (GraftWindow *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GtkStringList) names = gtk_string_list_new (NULL);
  g_clear_pointer (&self->devices, g_ptr_array_unref);
  self->devices = graft_device_list_all (&error);
  g_autofree char *last = self->settings ? g_settings_get_string (self->settings, "last-device")
                                         : NULL;
  guint chosen = 0;
  if (self->devices)
    for (guint i = 0; i < self->devices->len; i++)
      {
        GraftDeviceInfo *d = self->devices->pdata[i];
        g_autofree char *label = graft_device_short_label (d->name, d->type, d->platform_name);
        gtk_string_list_append (names, label);
        if (last && g_strcmp0 (d->id, last) == 0)
          chosen = i;
      }
  g_signal_handlers_block_by_func (self->device_dropdown, device_selected_cb, self);
  gtk_drop_down_set_model (self->device_dropdown, G_LIST_MODEL (names));
  gtk_drop_down_set_selected (self->device_dropdown, chosen);
  g_signal_handlers_unblock_by_func (self->device_dropdown, device_selected_cb, self);
  if (self->devices == NULL || self->devices->len == 0)
    gtk_label_set_text (self->device_label,
                        error ? error->message
                              : "No OpenCL device found: install a GPU driver or pocl-opencl-icd");
  else
    device_selected_cb (self->device_dropdown, NULL, self);
}

static gboolean
refresh_runs_cb (gpointer user_data)
{
  GraftWindow *self = user_data;
  self->refresh_timeout = 0;
  /* While the study runs the rows show the trainer's progress, not the folders'. */
  if (self->run_cancellable)
    return G_SOURCE_REMOVE;
  /* Edits change the planned epochs and may outdate trained runs. */
  graft_run_list_refresh (self->run_list);
  graft_results_view_refresh (self->results_view);
  update_actions (self);
  return G_SOURCE_REMOVE;
}

static void
editor_changed_cb (GraftStudyEditor *editor, GraftWindow *self)
{
  self->modified = TRUE;
  update_actions (self);
  /* A spin button held down edits many times a second; read the run folders once it rests. */
  g_clear_handle_id (&self->refresh_timeout, g_source_remove);
  self->refresh_timeout = g_timeout_add (250, refresh_runs_cb, self);
}

char *
graft_window_describe_exports (GraftWindow *self)
{
  return graft_run_list_describe_exports (self->run_list);
}

const char *
graft_window_get_run_label (GraftWindow *self)
{
  return gtk_button_get_label (GTK_BUTTON (self->run_button));
}

char *
graft_window_describe_runs (GraftWindow *self)
{
  g_autofree char *rows = graft_run_list_describe (self->run_list);
  const char *tip = gtk_widget_get_tooltip_text (self->run_button);
  return g_strdup_printf ("message | %s\nrun-button | %s | %s\n%s",
                          graft_run_list_get_message (self->run_list),
                          gtk_widget_is_sensitive (self->run_button) ? "enabled" : "disabled",
                          tip ? tip : "", rows);
}

/* File choosers: one at a time, kept until they answer. */
typedef void (*ChooserDone) (GraftWindow *self, const char *path, const char *what);

static void
chooser_response_cb (GtkNativeDialog *dialog, int response, GraftWindow *self)
{
  ChooserDone done = g_object_get_data (G_OBJECT (dialog), "done");
  const char *what = g_object_get_data (G_OBJECT (dialog), "what");
  g_autofree char *path = NULL;
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      path = file ? g_file_get_path (file) : NULL;
    }
  g_object_ref (dialog);
  if (self->chooser == dialog)
    g_clear_object (&self->chooser);
  if (path)
    done (self, path, what);
  else
    {
      self->after_save = AFTER_NOTHING;
      g_clear_pointer (&self->after_save_arg, g_free);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
choose (GraftWindow *self, const char *title, GtkFileChooserAction action, const char *accept,
        const char *folder, const char *name, ChooserDone done, const char *what)
{
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  GtkFileChooserNative *native = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action,
                                                              accept, "_Cancel");
  self->chooser = GTK_NATIVE_DIALOG (native);
  gtk_native_dialog_set_modal (self->chooser, TRUE);
  if (folder && *folder && g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (GFile) f = g_file_new_for_path (folder);
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (native), f, NULL);
    }
  if (name)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (native), name);
  g_object_set_data (G_OBJECT (native), "done", done);
  g_object_set_data_full (G_OBJECT (native), "what", g_strdup (what), g_free);
  g_signal_connect (native, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (self->chooser);
}

static char *
last_parent_folder (GraftWindow *self)
{
  g_autofree char *last = self->settings
    ? g_settings_get_string (self->settings, "last-study-folder") : NULL;
  return last && *last ? g_path_get_dirname (last) : g_strdup (g_get_home_dir ());
}

static void after_save_do (GraftWindow *self, int what, const char *arg);
static void confirm_then (GraftWindow *self, int what, const char *arg);

static void
new_study (GraftWindow *self, const char *preset_name)
{
  g_autoptr (GError) error = NULL;
  GraftStudyPreset preset;
  if (!graft_study_preset_from_string (preset_name, &preset, &error))
    {
      show_error (self, error->message);
      return;
    }
  g_autofree char *src = self->settings
    ? g_settings_get_string (self->settings, "last-source-folder") : NULL;
  g_autofree char *dst = self->settings
    ? g_settings_get_string (self->settings, "last-target-folder") : NULL;
  /* Not on disk yet: Save or Run asks where to create it. Nothing is lost
   * until it is edited, so it is not "modified". */
  set_study (self, graft_study_new_preset (preset, src, dst, NULL));
}

static void
new_study_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  confirm_then (GRAFT_WINDOW (widget), AFTER_NEW, g_variant_get_string (param, NULL));
}

static void
open_chosen (GraftWindow *self, const char *path, const char *what)
{
  confirm_then (self, AFTER_OPEN, path);
}

static void
open_study_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftWindow *self = GRAFT_WINDOW (widget);
  g_autofree char *folder = last_parent_folder (self);
  choose (self, "Open Study Folder", GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Open", folder,
          NULL, open_chosen, NULL);
}

static gboolean
save_now (GraftWindow *self, GError **error)
{
  if (!graft_study_validate (self->study, "study", error) || !graft_study_save (self->study, error))
    return FALSE;
  self->modified = FALSE;
  update_actions (self);
  return TRUE;
}

static void
create_chosen (GraftWindow *self, const char *path, const char *what)
{
  g_autoptr (GError) error = NULL;
  if (!graft_study_validate (self->study, "study", &error)
      || !graft_study_create (self->study, path, &error))
    {
      self->after_save = AFTER_NOTHING;
      g_clear_pointer (&self->after_save_arg, g_free);
      show_error (self, error->message);
      return;
    }
  if (self->settings)
    g_settings_set_string (self->settings, "last-study-folder", path);
  self->modified = FALSE;
  graft_study_editor_set_study (self->editor, self->study);
  graft_run_list_set_study (self->run_list, self->study);
  graft_plot_view_set_study (self->plot_view, self->study);
  graft_results_view_set_study (self->results_view, self->study);
  update_actions (self);
  int after = self->after_save;
  g_autofree char *arg = g_steal_pointer (&self->after_save_arg);
  self->after_save = AFTER_NOTHING;
  after_save_do (self, after, arg);
}

/* Returns TRUE when the study is on disk as shown; FALSE when it is not
 * (an error is shown, or a folder chooser is asking where to create it). */
static gboolean
ensure_saved (GraftWindow *self)
{
  g_autoptr (GError) error = NULL;
  graft_study_editor_commit (self->editor);
  /* Saving would keep the old value of a field that shows an error. */
  const char *editing = graft_study_editor_get_problem (self->editor);
  if (editing)
    {
      show_error (self, editing);
      return FALSE;
    }
  if (self->study->dir == NULL)
    {
      g_autofree char *folder = last_parent_folder (self);
      g_autofree char *name = g_strdup_printf ("%s-study", self->study->name ? self->study->name
                                                                             : "graft");
      choose (self, "Create Study Folder", GTK_FILE_CHOOSER_ACTION_SAVE, "_Create", folder, name,
              create_chosen, NULL);
      return FALSE;
    }
  if (self->modified && !save_now (self, &error))
    {
      show_error (self, error->message);
      return FALSE;
    }
  return TRUE;
}

static void
save_study_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  ensure_saved (GRAFT_WINDOW (widget));
}

static void
after_save_do (GraftWindow *self, int what, const char *arg)
{
  g_autoptr (GError) error = NULL;
  switch (what)
    {
    case AFTER_RUN:
      run_study (self);
      break;
    case AFTER_CLOSE:
      gtk_window_close (GTK_WINDOW (self));
      break;
    case AFTER_NEW:
      new_study (self, arg);
      break;
    case AFTER_OPEN:
      if (!graft_window_open_study (self, arg, &error))
        show_error (self, error->message);
      break;
    default:
      break;
    }
}

static void
confirm_response_cb (GtkDialog *dialog, int response, GraftWindow *self)
{
  int what = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dialog), "what"));
  g_autofree char *arg = g_strdup (g_object_get_data (G_OBJECT (dialog), "arg"));
  if (self->confirm_dialog == GTK_WIDGET (dialog))
    self->confirm_dialog = NULL;
  /* The answer may destroy this window while the dialog is still referenced. */
  gtk_window_set_transient_for (GTK_WINDOW (dialog), NULL);
  gtk_window_destroy (GTK_WINDOW (dialog));
  if (response == GTK_RESPONSE_REJECT)
    {
      /* Discard: the edits go with the study they were made to. */
      self->modified = FALSE;
      after_save_do (self, what, arg);
    }
  else if (response == GTK_RESPONSE_ACCEPT && self->study)
    {
      self->after_save = what;
      g_free (self->after_save_arg);
      self->after_save_arg = g_strdup (arg);
      if (ensure_saved (self))
        {
          self->after_save = AFTER_NOTHING;
          g_clear_pointer (&self->after_save_arg, g_free);
          after_save_do (self, what, arg);
        }
      else if (self->chooser == NULL)   /* failed: the error is shown, nothing else happens */
        {
          self->after_save = AFTER_NOTHING;
          g_clear_pointer (&self->after_save_arg, g_free);
        }
    }
}

/* Does @what now when no edit would be lost; otherwise asks to save, discard or cancel. */
static void
confirm_then (GraftWindow *self, int what, const char *arg)
{
  if (self->study && self->run_cancellable == NULL)
    graft_study_editor_commit (self->editor);
  if (self->study == NULL || !self->modified)
    {
      after_save_do (self, what, arg);
      return;
    }
  if (self->confirm_dialog)
    {
      gtk_window_present (GTK_WINDOW (self->confirm_dialog));
      return;
    }
  const char *name = self->study->name ? self->study->name : "Study";
  const char *doing = what == AFTER_CLOSE ? "closing"
                      : what == AFTER_NEW ? "creating a new study" : "opening another study";
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self),
                                              GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                              "Save changes to “%s” before %s?", name, doing);
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            "The edited settings are lost if you don't save "
                                            "them to study.json.");
  gtk_dialog_add_button (GTK_DIALOG (dialog), "_Cancel", GTK_RESPONSE_CANCEL);
  GtkWidget *discard = gtk_dialog_add_button (GTK_DIALOG (dialog), "_Discard",
                                              GTK_RESPONSE_REJECT);
  gtk_widget_add_css_class (discard, "destructive-action");
  GtkWidget *save = gtk_dialog_add_button (GTK_DIALOG (dialog), "_Save", GTK_RESPONSE_ACCEPT);
  gtk_widget_add_css_class (save, "suggested-action");
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_object_set_data (G_OBJECT (dialog), "what", GINT_TO_POINTER (what));
  g_object_set_data_full (G_OBJECT (dialog), "arg", g_strdup (arg), g_free);
  g_signal_connect (dialog, "response", G_CALLBACK (confirm_response_cb), self);
  self->confirm_dialog = dialog;
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
job_progress_cb (const GraftStudyJobEvent *ev, gpointer user_data)
{
  GraftWindow *self = user_data;
  if (self->run_list == NULL)   /* disposed */
    return;
  graft_run_list_update (self->run_list, ev);
  gboolean epoch_end = ev->event == GRAFT_STUDY_EVENT_RUN_TRAIN
                       && ev->train.stage == GRAFT_TRAIN_STAGE_EPOCH_END;
  if (epoch_end || ev->event == GRAFT_STUDY_EVENT_RUN_FINISHED
      || ev->event == GRAFT_STUDY_EVENT_RUN_FAILED)
    {
      graft_plot_view_refresh (self->plot_view);
      graft_results_view_refresh (self->results_view);
    }
  if (epoch_end)
    g_signal_emit (self, signals[EPOCH_FINISHED], 0, ev->run_id, ev->train.epoch);
}

static void
job_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GraftWindow *self = GRAFT_WINDOW (source);
  g_autoptr (GError) error = NULL;
  GraftStudySummary summary = { 0 };
  gboolean ok = graft_study_job_run_finish (result, &summary, &error);
  g_clear_object (&self->run_cancellable);
  if (self->close_after_run)
    {
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  if (self->run_list == NULL)
    return;
  g_autofree char *msg =
    ok ? g_strdup_printf ("Done: %u trained, %u already finished", summary.trained,
                          summary.skipped)
       : g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
           ? g_strdup ("Stopped: runs resume from their last finished epoch")
           : g_strdup (error->message);
  graft_run_list_queue_done (self->run_list);
  graft_run_list_refresh (self->run_list);
  graft_run_list_set_message (self->run_list, msg);
  graft_plot_view_refresh (self->plot_view);
  graft_results_view_refresh (self->results_view);
  graft_study_editor_set_locked (self->editor, FALSE);
  if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_error (self, error->message);
  update_actions (self);
  g_signal_emit (self, signals[RUN_FINISHED], 0, ok, msg);
}

static void
run_study (GraftWindow *self)
{
  if (self->study == NULL || self->run_cancellable)
    return;
  graft_study_editor_commit (self->editor);
  g_autofree char *problem = study_problem (self);
  if (problem)
    {
      show_error (self, problem);
      update_actions (self);
      return;
    }
  if (!ensure_saved (self))
    return;
  const GraftDeviceInfo *d = selected_device (self);
  g_clear_handle_id (&self->refresh_timeout, g_source_remove);
  self->run_cancellable = g_cancellable_new ();
  graft_study_editor_set_locked (self->editor, TRUE);
  graft_run_list_mark_queued (self->run_list);
  graft_run_list_set_message (self->run_list, "Starting…");
  clear_error (self);
  graft_study_job_run_async (G_OBJECT (self), self->study, d ? d->id : NULL, job_progress_cb,
                             self, self->run_cancellable, job_done_cb, NULL);
  update_actions (self);
}

static void
run_study_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftWindow *self = GRAFT_WINDOW (widget);
  if (self->study && self->study->dir == NULL)
    {
      self->after_save = AFTER_RUN;
      g_clear_pointer (&self->after_save_arg, g_free);
    }
  run_study (self);
}

static void
stop_study_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftWindow *self = GRAFT_WINDOW (widget);
  if (self->run_cancellable)
    {
      g_cancellable_cancel (self->run_cancellable);
      graft_run_list_set_message (self->run_list, "Stopping…");
    }
}

/* The file an export of @kind ("plot" or "table") writes for the @path a chooser gave: a name
 * typed without extension comes as it is. */
static char *
export_file (const char *kind, const char *path, const char *format)
{
  static const char *const plots[] = { "png", "svg", "pdf", NULL };
  static const char *const tables[] = { "csv", "md", NULL };
  static const char *const models[] = { "onnx", NULL };
  if (g_str_has_prefix (kind, "onnx:"))
    return graft_export_add_extension (path, models, "onnx");
  gboolean plot = g_str_equal (kind, "plot");
  return graft_export_add_extension (path, plot ? plots : tables,
                                     plot ? (format ? format : "png") : "csv");
}

/* ONNX export: a checkpoint of a full-size model takes a moment to read and convert. */
typedef struct {
  char *checkpoint;
  char *file;
} OnnxExport;

static void
onnx_export_free (OnnxExport *e)
{
  g_free (e->checkpoint);
  g_free (e->file);
  g_free (e);
}

static void
onnx_export_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  OnnxExport *e = task_data;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = NULL;
  g_autoptr (GraftModel) m = graft_checkpoint_load (e->checkpoint, &names, &error);
  if (m == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  const GraftParam *bad = graft_model_find_nonfinite (m, -1);
  if (bad)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "%s: tensor %s holds values that are not finite numbers",
                               e->checkpoint, bad->full_name);
      return;
    }
  if (!graft_onnx_export (m, (const char *const *) names, e->file, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
onnx_export_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GraftWindow *self = GRAFT_WINDOW (source);
  OnnxExport *e = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      show_error (self, error->message);
      return;
    }
  g_autofree char *msg = g_strdup_printf ("ONNX model exported to %s", e->file);
  show_info (self, msg);
}

static gboolean
export_onnx (GraftWindow *self, const char *run_id, const char *file)
{
  g_autoptr (GraftStudy) expanded = graft_study_expand (self->study);
  const GraftStudyRun *run = graft_study_find_run (expanded, run_id);
  if (run == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("Cannot export %s: the study has no run %s", file,
                                              run_id);
      show_error (self, msg);
      return FALSE;
    }
  g_autofree char *dir = graft_study_run_dir (expanded, run);
  g_autofree char *checkpoint = g_build_filename (dir, GRAFT_RUN_BEST_FILE, NULL);
  if (!g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *msg = g_strdup_printf ("Cannot export run %s: it has no best checkpoint "
                                              "(%s) until an epoch finishes", run_id, checkpoint);
      show_error (self, msg);
      return FALSE;
    }
  OnnxExport *e = g_new0 (OnnxExport, 1);
  e->checkpoint = g_steal_pointer (&checkpoint);
  e->file = g_strdup (file);
  g_autoptr (GTask) task = g_task_new (self, NULL, onnx_export_done_cb, NULL);
  g_task_set_task_data (task, e, (GDestroyNotify) onnx_export_free);
  g_task_run_in_thread (task, onnx_export_thread);
  return TRUE;
}

static gboolean
export_write (GraftWindow *self, const char *kind, const char *file)
{
  g_autoptr (GError) error = NULL;
  if (g_str_has_prefix (kind, "onnx:"))
    return export_onnx (self, kind + strlen ("onnx:"), file);
  gboolean plot = g_str_equal (kind, "plot");
  g_autofree char *ext = graft_export_extension (file);
  GraftTableFormat table = g_strcmp0 (ext, "md") == 0 ? GRAFT_TABLE_MARKDOWN : GRAFT_TABLE_CSV;
  if (plot ? !graft_plot_view_write (self->plot_view, file, &error)
           : !graft_study_write_table (self->study, file, table, &error))
    {
      show_error (self, error->message);
      return FALSE;
    }
  g_autofree char *msg = g_strdup_printf ("%s exported to %s", plot ? "Plot" : "Table", file);
  show_info (self, msg);
  return TRUE;
}

static void
replace_response_cb (GtkDialog *dialog, int response, GraftWindow *self)
{
  g_autofree char *kind = g_strdup (g_object_get_data (G_OBJECT (dialog), "kind"));
  g_autofree char *file = g_strdup (g_object_get_data (G_OBJECT (dialog), "file"));
  gtk_window_destroy (GTK_WINDOW (dialog));
  if (response == GTK_RESPONSE_ACCEPT)
    export_write (self, kind, file);
}

gboolean
graft_window_export (GraftWindow *self, const char *kind, const char *path, const char *format)
{
  g_autofree char *file = export_file (kind, path, format);
  /* The chooser asked about replacing the name typed, not the one with the extension. */
  if (!g_str_equal (file, path) && g_file_test (file, G_FILE_TEST_EXISTS))
    {
      g_autofree char *base = g_path_get_basename (file);
      g_autofree char *folder = g_path_get_dirname (file);
      GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self),
                                                  GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                                  GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                                  "Replace “%s”?", base);
      gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                                "A file with this name already exists in %s.",
                                                folder);
      gtk_dialog_add_button (GTK_DIALOG (dialog), "_Cancel", GTK_RESPONSE_CANCEL);
      GtkWidget *replace = gtk_dialog_add_button (GTK_DIALOG (dialog), "_Replace",
                                                  GTK_RESPONSE_ACCEPT);
      gtk_widget_add_css_class (replace, "destructive-action");
      g_object_set_data_full (G_OBJECT (dialog), "kind", g_strdup (kind), g_free);
      g_object_set_data_full (G_OBJECT (dialog), "file", g_strdup (file), g_free);
      g_signal_connect (dialog, "response", G_CALLBACK (replace_response_cb), self);
      gtk_window_present (GTK_WINDOW (dialog));
      return FALSE;
    }
  return export_write (self, kind, file);
}

static void
export_plot_chosen (GraftWindow *self, const char *path, const char *what)
{
  graft_window_export (self, "plot", path, what);
}

static void
export_plot_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftWindow *self = GRAFT_WINDOW (widget);
  const char *ext = g_variant_get_string (param, NULL);
  /* The study's name may hold "/", which no file name can. */
  g_autofree char *name = graft_export_file_name (self->study->name, "-curves", ext);
  g_autofree char *title = g_strdup_printf ("Export Plot as %s", ext);
  choose (self, title, GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", self->study->dir, name,
          export_plot_chosen, ext);
}

static void
export_table_chosen (GraftWindow *self, const char *path, const char *what)
{
  graft_window_export (self, "table", path, NULL);
}

static void
export_table_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftWindow *self = GRAFT_WINDOW (widget);
  choose (self, "Export Results Table", GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", self->study->dir,
          "results.csv", export_table_chosen, NULL);
}

static void
export_onnx_chosen (GraftWindow *self, const char *path, const char *what)
{
  g_autofree char *kind = g_strdup_printf ("onnx:%s", what);
  graft_window_export (self, kind, path, NULL);
}

static void
export_onnx_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftWindow *self = GRAFT_WINDOW (widget);
  const char *run_id = g_variant_get_string (param, NULL);
  g_autofree char *name = g_strdup_printf ("%s.onnx", run_id);
  choose (self, "Export ONNX Model", GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", self->study->dir,
          name, export_onnx_chosen, run_id);
}

/* Inspecting results: a run's evaluation and log, the study's datasets (windows of their own). */
static void
inspect_run_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftWindow *self = GRAFT_WINDOW (widget);
  const char *run_id = g_variant_get_string (param, NULL);
  g_autoptr (GraftStudy) expanded = self->study ? graft_study_expand (self->study) : NULL;
  const GraftStudyRun *run = expanded ? graft_study_find_run (expanded, run_id) : NULL;
  if (run == NULL)
    return;
  g_autofree char *dir = graft_study_run_dir (expanded, run);
  const GraftDeviceInfo *d = selected_device (self);
  gtk_window_present (graft_run_inspector_window_new (GTK_WINDOW (self), dir, run_id,
                                                      d ? d->id : NULL));
}

static void
show_datasets_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftWindow *self = GRAFT_WINDOW (widget);
  GtkWindow *win = graft_dataset_view_window_new (GTK_WINDOW (self));
  const char *titles[] = { "Source", "Target" };
  const char *dirs[] = { self->study ? self->study->source : NULL,
                         self->study ? self->study->target : NULL };
  graft_dataset_view_set_folders (graft_dataset_view_window_get_view (win), titles, dirs, 2,
                                  self->study ? self->study->hyper.filter : GRAFT_FILTER_DECODE);
  gtk_window_present (win);
}

static void
dismiss_info_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftWindow *self = GRAFT_WINDOW (widget);
  dismiss_toast (self, &self->info_toast);
  g_clear_pointer (&self->info_text, g_free);
}

static void
dismiss_error_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  clear_error (GRAFT_WINDOW (widget));
}

static gboolean
graft_window_close_request (GtkWindow *window)
{
  GraftWindow *self = GRAFT_WINDOW (window);
  if (self->study && self->run_cancellable == NULL)
    graft_study_editor_commit (self->editor);
  if (self->modified && self->study && self->run_cancellable == NULL)
    {
      confirm_then (self, AFTER_CLOSE, NULL);
      return TRUE;
    }
  if (self->run_cancellable)
    {
      /* Let the trainer leave its run "stopped" and resumable before quitting. */
      self->close_after_run = TRUE;
      g_cancellable_cancel (self->run_cancellable);
      gtk_widget_set_sensitive (GTK_WIDGET (self), FALSE);
      return TRUE;
    }
  return GTK_WINDOW_CLASS (graft_window_parent_class)->close_request (window);
}

gboolean
graft_window_save_screenshot (GraftWindow *self, const char *path, GError **error)
{
  return graft_native_save_png (GTK_NATIVE (self), path, error);
}

gboolean
graft_native_save_png (GtkNative *native, const char *path, GError **error)
{
  GtkWidget *w = GTK_WIDGET (native);
  int width = gtk_widget_get_width (w), height = gtk_widget_get_height (w);
  GskRenderer *renderer = gtk_native_get_renderer (native);
  if (renderer == NULL || width <= 0 || height <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Cannot render the window into %s: it is not shown yet", path);
      return FALSE;
    }
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (w);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Cannot render the window into %s: nothing drawn", path);
      return FALSE;
    }
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, width, height);
  g_autoptr (GdkTexture) texture = gsk_renderer_render_texture (renderer, node, &bounds);
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot write the screenshot %s", path);
      return FALSE;
    }
  return TRUE;
}

static void
graft_window_dispose (GObject *object)
{
  GraftWindow *self = GRAFT_WINDOW (object);
  if (self->run_cancellable)
    g_cancellable_cancel (self->run_cancellable);
  g_clear_object (&self->run_cancellable);
  clear_error (self);
  dismiss_toast (self, &self->info_toast);
  g_clear_pointer (&self->info_text, g_free);
  g_clear_handle_id (&self->refresh_timeout, g_source_remove);
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  if (self->confirm_dialog)
    gtk_window_destroy (GTK_WINDOW (g_steal_pointer (&self->confirm_dialog)));
  g_clear_pointer (&self->after_save_arg, g_free);
  g_clear_pointer (&self->problem, g_free);
  g_clear_pointer (&self->devices, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), GRAFT_TYPE_WINDOW);
  self->editor = NULL;
  self->plot_view = NULL;
  self->run_list = NULL;
  self->results_view = NULL;
  g_clear_pointer (&self->study, graft_study_free);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (graft_window_parent_class)->dispose (object);
}

static void
graft_window_class_init (GraftWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = graft_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = graft_window_close_request;
  /* After a queue ends (finished, failed or stopped): success and a summary. */
  signals[RUN_FINISHED] = g_signal_new ("run-finished", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                        G_TYPE_BOOLEAN, G_TYPE_STRING);
  /* A run finished an epoch: its id and the epoch (from 1). */
  signals[EPOCH_FINISHED] = g_signal_new ("epoch-finished", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                          2, G_TYPE_STRING, G_TYPE_INT);

  g_type_ensure (GRAFT_TYPE_STUDY_EDITOR);
  g_type_ensure (GRAFT_TYPE_PLOT_VIEW);
  g_type_ensure (GRAFT_TYPE_RUN_LIST);
  g_type_ensure (GRAFT_TYPE_RESULTS_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/graft/Graft/ui/graft-window.ui");
#define BIND(x) gtk_widget_class_bind_template_child (widget_class, GraftWindow, x)
  BIND (device_dropdown); BIND (run_button); BIND (device_label); BIND (toast_overlay);
  BIND (main_stack);
  BIND (editor); BIND (plot_view); BIND (run_list); BIND (results_view);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, device_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, editor_changed_cb);

  gtk_widget_class_install_action (widget_class, "win.new-study", "s", new_study_action_cb);
  gtk_widget_class_install_action (widget_class, "win.open-study", NULL, open_study_action_cb);
  gtk_widget_class_install_action (widget_class, "win.save-study", NULL, save_study_action_cb);
  gtk_widget_class_install_action (widget_class, "win.run-study", NULL, run_study_action_cb);
  gtk_widget_class_install_action (widget_class, "win.stop-study", NULL, stop_study_action_cb);
  gtk_widget_class_install_action (widget_class, "win.export-plot", "s", export_plot_action_cb);
  gtk_widget_class_install_action (widget_class, "win.export-table", NULL,
                                   export_table_action_cb);
  /* The best checkpoint of the run named, offered by its row in the run list. */
  gtk_widget_class_install_action (widget_class, "win.export-onnx", "s", export_onnx_action_cb);
  gtk_widget_class_install_action (widget_class, "win.inspect-run", "s", inspect_run_action_cb);
  gtk_widget_class_install_action (widget_class, "win.show-datasets", NULL,
                                   show_datasets_action_cb);
  gtk_widget_class_install_action (widget_class, "win.dismiss-error", NULL,
                                   dismiss_error_action_cb);
  gtk_widget_class_install_action (widget_class, "win.dismiss-info", NULL,
                                   dismiss_info_action_cb);
  /* Accelerators are the application's (graft-application.c), where the Keyboard
   * Shortcuts window finds them. */
}

static void
graft_window_init (GraftWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GraftWindow *
graft_window_new (GraftApplication *app)
{
  GraftWindow *self = g_object_new (GRAFT_TYPE_WINDOW, "application", app, NULL);
  self->settings = graft_application_get_settings (app);
  if (self->settings)
    g_object_ref (self->settings);
  graft_study_editor_set_settings (self->editor, self->settings);
  load_devices (self);
  set_study (self, NULL);
  return self;
}
