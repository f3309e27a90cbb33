/* The GtkApplication: app-wide actions, settings, command-line options and the main window. */
#include "graft-config.h"
#include "graft-application.h"
#include "graft-plot-view.h"
#include "graft-results.h"
#include "graft-study-job.h"
#include "graft-window.h"

#include <glib/gstdio.h>

struct _GraftApplication {
  GtkApplication parent_instance;
  GSettings     *settings;
  char          *open_study;
  char          *screenshot;   /* self-test: render the window here, then quit */
  gboolean       run;          /* self-test: run the study first */
  gboolean       stop;         /* self-test: stop the run after its first epoch */
  char          *popup_layers; /* self-test: show this run's layer checklist */
  gboolean       devices;      /* self-test: print the device menu's entries */
  char          *export_dir;   /* self-test: export the figure and table here */
  GtkWidget     *popover;      /* that checklist, once shown */
  int            status;
};

G_DEFINE_FINAL_TYPE (GraftApplication, graft_application, GTK_TYPE_APPLICATION)

static GSettings *
load_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema =
    source ? g_settings_schema_source_lookup (source, GRAFT_APP_ID, TRUE) : NULL;
  /* Run from the build tree: the schema compiled there. */
  g_autoptr (GSettingsSchemaSource) local = NULL;
  if (schema == NULL)
    {
      local = g_settings_schema_source_new_from_directory (GRAFT_BUILD_SCHEMA_DIR, source, FALSE,
                                                           NULL);
      if (local)
        schema = g_settings_schema_source_lookup (local, GRAFT_APP_ID, FALSE);
    }
  if (schema == NULL)
    {
      g_message ("Settings schema %s is not installed: choices will not be remembered",
                 GRAFT_APP_ID);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}

GSettings *
graft_application_get_settings (GraftApplication *self)
{
  return self->settings;
}

int
graft_application_get_status (GraftApplication *self)
{
  return self->status;
}

static gboolean
self_test_timeout_cb (gpointer user_data)
{
  GraftApplication *self = user_data;
  g_printerr ("self-test: the window was not drawn in time\n");
  self->status = 1;
  g_application_quit (G_APPLICATION (self));
  return G_SOURCE_REMOVE;
}

/* The first widget of @type under @widget, depth first. */
static GtkWidget *
find_widget (GtkWidget *widget, GType type)
{
  if (widget == NULL || G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_widget (c, type);
      if (found)
        return found;
    }
  return NULL;
}

/* What the header bar's device menu offers, as a user would read it. */
static void
self_test_print_devices (GtkWindow *win)
{
  GtkWidget *dropdown = find_widget (gtk_window_get_titlebar (win), GTK_TYPE_DROP_DOWN);
  GListModel *model = dropdown ? gtk_drop_down_get_model (GTK_DROP_DOWN (dropdown)) : NULL;
  g_autoptr (GString) line = g_string_new ("self-test: device menu:");
  for (guint i = 0; model && i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (GObject) item = g_list_model_get_item (model, i);
      if (GTK_IS_STRING_OBJECT (item))
        g_string_append_printf (line, "%s %s", i ? " |" : "",
                                gtk_string_object_get_string (GTK_STRING_OBJECT (item)));
    }
  if (model == NULL || g_list_model_get_n_items (model) == 0)
    g_string_append (line, " (empty)");
  g_print ("%s\n", line->str);
}

/* The figure and the table, through the same writers as Export Plot and Export Table. */
static gboolean
self_test_export (GraftWindow *win, const char *dir, GError **error)
{
  GtkWidget *plot = find_widget (GTK_WIDGET (win), GRAFT_TYPE_PLOT_VIEW);
  g_autofree char *png = g_build_filename (dir, "curves.png", NULL);
  g_autofree char *csv = g_build_filename (dir, "results.csv", NULL);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Cannot create %s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  if (plot == NULL || !graft_plot_view_write (GRAFT_PLOT_VIEW (plot), png, error)
      || !graft_study_write_table (graft_window_get_study (win), csv, GRAFT_TABLE_CSV, error))
    return FALSE;
  g_print ("self-test: exported %s and %s\n", png, csv);
  return TRUE;
}

static gboolean
self_test_shot_cb (gpointer user_data)
{
  GraftApplication *self = user_data;
  GraftWindow *win = GRAFT_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (self)));
  g_autoptr (GError) error = NULL;
  if (win && self->export_dir && !self_test_export (win, self->export_dir, &error))
    {
      g_printerr ("self-test: export: %s\n", error->message);
      g_clear_error (&error);
      self->status = 1;
    }
  if (win == NULL || !graft_window_save_screenshot (win, self->screenshot, &error))
    {
      g_printerr ("self-test: %s\n", error ? error->message : "no window");
      self->status = 1;
    }
  else
    g_print ("self-test: screenshot %s %dx%d, %u plot series\n", self->screenshot,
             gtk_widget_get_width (GTK_WIDGET (win)), gtk_widget_get_height (GTK_WIDGET (win)),
             graft_window_n_plot_series (win));
  if (self->popover)
    {
      /* Popovers are surfaces of their own, outside the window's picture. */
      g_autofree char *path = g_strdup_printf ("%s.layers.png", self->screenshot);
      g_clear_error (&error);
      if (!graft_native_save_png (GTK_NATIVE (self->popover), path, &error))
        {
          g_printerr ("self-test: %s\n", error->message);
          self->status = 1;
        }
      else
        g_print ("self-test: layer checklist %s\n", path);
    }
  g_application_quit (G_APPLICATION (self));
  return G_SOURCE_REMOVE;
}

static void
self_test_run_finished_cb (GraftWindow *win, gboolean ok, const char *message,
                           GraftApplication *self)
{
  g_print ("self-test: run %s: %s\n", ok ? "finished" : "ended", message);
  if (!ok && !self->stop)
    self->status = 1;
  g_timeout_add (500, self_test_shot_cb, self);
}

static void
self_test_epoch_cb (GraftWindow *win, const char *run_id, int epoch, GraftApplication *self)
{
  g_print ("self-test: %s finished epoch %d, stopping\n", run_id, epoch);
  g_signal_handlers_disconnect_by_func (win, self_test_epoch_cb, self);
  gtk_widget_activate_action (GTK_WIDGET (win), "win.stop-study", NULL);
}

static void
self_test_mapped_cb (GtkWidget *win, GraftApplication *self)
{
  if (self->devices)
    self_test_print_devices (GTK_WINDOW (win));
  if (self->run)
    {
      g_signal_connect (win, "run-finished", G_CALLBACK (self_test_run_finished_cb), self);
      if (self->stop)
        {
          graft_study_job_set_stop_at_epoch_end (TRUE);
          g_signal_connect (win, "epoch-finished", G_CALLBACK (self_test_epoch_cb), self);
        }
      gtk_widget_activate_action (win, "win.run-study", NULL);
      return;
    }
  if (self->popup_layers
      && (self->popover = graft_window_popup_layers (GRAFT_WINDOW (win), self->popup_layers)) == NULL)
    {
      g_printerr ("self-test: no transfer run %s\n", self->popup_layers);
      self->status = 1;
    }
  if (self->popover)
    {
      /* Tick the "2 last conv. & output" preset, as a click would. */
      GtkWidget *picker = gtk_popover_get_child (GTK_POPOVER (self->popover));
      gtk_widget_activate_action (picker, "picker.preset", "i", 3);
      const GraftStudyRun *run = graft_study_find_run (graft_window_get_study (GRAFT_WINDOW (win)),
                                                       self->popup_layers);
      g_autofree char *layers = run->reinit ? g_strjoinv (",", run->reinit) : g_strdup ("");
      g_print ("self-test: %s re-initialises %s\n", run->id, layers);
    }
  /* Give dataset scans and the first frames time to land. */
  g_timeout_add (1500, self_test_shot_cb, self);
}

static void
graft_application_activate (GApplication *app)
{
  GraftApplication *self = GRAFT_APPLICATION (app);
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (win == NULL)
    {
      win = GTK_WINDOW (graft_window_new (self));
      if (self->open_study)
        {
          g_autoptr (GError) error = NULL;
          if (!graft_window_open_study (GRAFT_WINDOW (win), self->open_study, &error))
            {
              g_printerr ("%s\n", error->message);
              if (self->screenshot)
                {
                  self->status = 1;
                  gtk_window_destroy (win);
                  return;
                }
            }
        }
      if (self->screenshot)
        {
          g_signal_connect (win, "map", G_CALLBACK (self_test_mapped_cb), self);
          g_timeout_add_seconds (self->run ? 600 : 60, self_test_timeout_cb, self);
        }
    }
  gtk_window_present (win);
}

static int
graft_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  GraftApplication *self = GRAFT_APPLICATION (app);
  g_variant_dict_lookup (options, "open-study", "^ay", &self->open_study);
  g_variant_dict_lookup (options, "self-test-screenshot", "^ay", &self->screenshot);
  g_variant_dict_lookup (options, "self-test-run", "b", &self->run);
  g_variant_dict_lookup (options, "self-test-stop", "b", &self->stop);
  g_variant_dict_lookup (options, "self-test-layers", "s", &self->popup_layers);
  g_variant_dict_lookup (options, "self-test-devices", "b", &self->devices);
  g_variant_dict_lookup (options, "self-test-export", "^ay", &self->export_dir);
  if (self->open_study && !g_path_is_absolute (self->open_study))
    {
      g_autofree char *rel = self->open_study;
      self->open_study = g_canonicalize_filename (rel, NULL);
    }
  /* A self-test must not hand its work to an instance already running. */
  if (self->screenshot || self->open_study)
    g_application_set_flags (app, g_application_get_flags (app) | G_APPLICATION_NON_UNIQUE);
  return -1;
}

static void
quit_action_cb (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  /* Closing asks a running study to stop cleanly first; the app quits when
   * its last window is gone. */
  g_autoptr (GList) windows = g_list_copy (gtk_application_get_windows (app));
  if (windows == NULL)
    g_application_quit (G_APPLICATION (app));
  for (GList *l = windows; l; l = l->next)
    gtk_window_close (l->data);
}

static void
about_action_cb (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (user_data));
  const char *authors[] = { "The Graft developers", NULL };
  gtk_show_about_dialog (win, "program-name", "Graft", "version", GRAFT_VERSION,
                         "comments", "Transfer-learning studies on any OpenCL device",
                         "logo-icon-name", GRAFT_APP_ID, "license-type", GTK_LICENSE_GPL_3_0,
                         "authors", authors, NULL);
}

static void
graft_application_startup (GApplication *app)
{
  GraftApplication *self = GRAFT_APPLICATION (app);
  G_APPLICATION_CLASS (graft_application_parent_class)->startup (app);
  self->settings = load_settings ();
  static const GActionEntry entries[] = {
    { "quit", quit_action_cb },
    { "about", about_action_cb },
  };
  g_action_map_add_action_entries (G_ACTION_MAP (app), entries, G_N_ELEMENTS (entries), app);
  const char *quit_accels[] = { "<Control>q", NULL };
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);

  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/graft/Graft/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  gtk_icon_theme_add_resource_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                                    "/org/graft/Graft/icons");
}

static void
graft_application_finalize (GObject *object)
{
  GraftApplication *self = GRAFT_APPLICATION (object);
  g_clear_object (&self->settings);
  g_free (self->open_study);
  g_free (self->screenshot);
  g_free (self->popup_layers);
  g_free (self->export_dir);
  G_OBJECT_CLASS (graft_application_parent_class)->finalize (object);
}

static void
graft_application_class_init (GraftApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);
  G_OBJECT_CLASS (klass)->finalize = graft_application_finalize;
  app_class->activate = graft_application_activate;
  app_class->startup = graft_application_startup;
  app_class->handle_local_options = graft_application_handle_local_options;
}

static void
graft_application_init (GraftApplication *self)
{
  static const GOptionEntry options[] = {
    { "open-study", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Open a study folder", "FOLDER" },
    { "self-test-screenshot", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, NULL,
      "Render the window into a PNG once shown, then quit", "FILE" },
    { "self-test-run", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL,
      "With --self-test-screenshot: run the study first", NULL },
    { "self-test-stop", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL,
      "With --self-test-run: press Stop after the first finished epoch", NULL },
    { "self-test-layers", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
      "With --self-test-screenshot: open the layer checklist of a run", "RUN-ID" },
    { "self-test-devices", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL,
      "With --self-test-screenshot: print the device menu's entries", NULL },
    { "self-test-export", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, NULL,
      "With --self-test-screenshot: export curves.png and results.csv into a folder first", "FOLDER" },
    { NULL },
  };
  g_application_add_main_option_entries (G_APPLICATION (self), options);
}

GraftApplication *
graft_application_new (void)
{
  return g_object_new (GRAFT_TYPE_APPLICATION, "application-id", GRAFT_APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS, NULL);
}
