/* The application (AdwApplication): app-wide actions, settings, command-line options and the main window. */
#include "graft-config.h"
#include "graft-application.h"
#include "graft-experiment-row.h"
#include "graft-layer-picker.h"
#include "graft-plot-legend.h"
#include "graft-inspect-self-test.h"
#include "graft-plot-view.h"
#include "graft-results.h"
#include "graft-run-list.h"
#include "graft-study-editor.h"
#include "graft-study-job.h"
#include "graft-window.h"

#include <stdio.h>
#include <glib/gstdio.h>

struct _GraftApplication {
  AdwApplication parent_instance;
  GSettings     *settings;
  char          *open_study;
  char          *screenshot;   /* self-test: render the window here, then quit */
  gboolean       run;          /* self-test: run the study first */
  gboolean       stop;         /* self-test: stop the run after its first epoch */
  char          *popup_layers; /* self-test: show this run's layer checklist */
  gboolean       devices;      /* self-test: print the device menu's entries */
  char          *export_dir;   /* self-test: export the figure and table here */
  GtkWidget     *popover;      /* that checklist, once shown */
  char         **edits;        /* self-test: NAME=VALUE, set spin button NAME to VALUE */
  char         **typed;        /* self-test: NAME=TEXT, type TEXT into spin button NAME */
  char         **activate;     /* self-test: window actions to activate, in order */
  char          *close;        /* self-test: close the window, answer save|discard|cancel */
  char          *export_plot;  /* self-test: export the plot (PNG unless named) here */
  char          *export_table; /* self-test: export the results table here */
  char          *export_onnx;  /* self-test: RUN=PATH, export that run's best checkpoint */
  char          *size;         /* self-test: WIDTHxHEIGHT to open the window at */
  /* Self-tests of the queue's progress (see "Queue self-tests" below) */
  char         **pauses;       /* N:STAGE, hold run N's trainer at STAGE and print the list */
  gboolean       pause_stop;   /* at a pause, press Stop rather than go on */
  char          *select;       /* at the first pause, select this run's row as a click would */
  guint          n_paused;
  char         **editor_steps; /* self-test: experiment edits in the study editor, in order */
  guint          shot_tries;   /* self-test: frames waited for before the screenshot */
  /* Self-tests of the plot (self_test_plot). */
  char         **plot_toggle;  /* legend keys whose toggle to click, in order */
  char          *plot_hover;   /* RUN:EPOCH, point the pointer at that point */
  char          *plot_export;  /* write the plot shown here after the toggles */
  gboolean       plot_dark;    /* ask GTK for the dark style */
  gboolean       plot_done;    /* the above done; the screenshot follows a frame later */
  GraftInspectSelfTest inspect; /* self-test: the results table, datasets, run inspector */
  int            status;
};

G_DEFINE_FINAL_TYPE (GraftApplication, graft_application, ADW_TYPE_APPLICATION)

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

/* Self-tests find the editor's spin buttons and entries by widget name ("epochs", "width",
 * "seeds", …). */
static GtkWidget *
find_field (GtkWidget *widget, const char *name)
{
  if ((GTK_IS_SPIN_BUTTON (widget) || GTK_IS_ENTRY (widget) || GTK_IS_DROP_DOWN (widget))
      && g_strcmp0 (gtk_widget_get_name (widget), name) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *field = find_field (c, name);
      if (field)
        return field;
    }
  return NULL;
}

static gboolean
self_test_edit (GraftApplication *self, GtkWidget *win, const char *spec, gboolean type_only)
{
  g_auto (GStrv) kv = g_strsplit (spec, "=", 2);
  GtkWidget *field = kv[0] && kv[1] ? find_field (win, kv[0]) : NULL;
  if (field == NULL)
    {
      g_printerr ("self-test: no spin button or entry for %s\n", spec);
      self->status = 1;
      return FALSE;
    }
  if (GTK_IS_DROP_DOWN (field))
    {
      /* A dropdown takes the position of its item. */
      gtk_drop_down_set_selected (GTK_DROP_DOWN (field), (guint) g_ascii_strtoull (kv[1], NULL, 10));
      g_print ("self-test: set %s, selected %u\n", spec,
               gtk_drop_down_get_selected (GTK_DROP_DOWN (field)));
      return TRUE;
    }
  if (type_only || !GTK_IS_SPIN_BUTTON (field))
    gtk_editable_set_text (GTK_EDITABLE (field), kv[1]);   /* typed, not activated */
  else
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (field), g_ascii_strtod (kv[1], NULL));
  g_print ("self-test: %s %s, shows “%s”\n", type_only ? "typed" : "set", spec,
           gtk_editable_get_text (GTK_EDITABLE (field)));
  return TRUE;
}

static GtkMessageDialog *
find_message_dialog (void)
{
  GListModel *tops = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (tops); i++)
    {
      g_autoptr (GObject) w = g_list_model_get_item (tops, i);
      if (GTK_IS_MESSAGE_DIALOG (w) && gtk_widget_get_visible (GTK_WIDGET (w)))
        return GTK_MESSAGE_DIALOG (w);
    }
  return NULL;
}

static void
print_spins (GtkWidget *widget)
{
  if (GTK_IS_SPIN_BUTTON (widget))
    g_print ("self-test: spin %s=%s\n", gtk_widget_get_name (widget),
             gtk_editable_get_text (GTK_EDITABLE (widget)));
  else if (GTK_IS_LABEL (widget) && g_str_equal (gtk_widget_get_name (widget), "seeds-error")
           && gtk_widget_get_visible (widget))
    g_print ("self-test: seeds error %s\n", gtk_label_get_text (GTK_LABEL (widget)));
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    print_spins (c);
}

static void
print_help_shortcuts (GtkWidget *widget)
{
  if (GTK_IS_SHORTCUTS_SHORTCUT (widget))
    {
      g_autofree char *title = NULL, *accel = NULL, *action = NULL;
      g_object_get (widget, "title", &title, "accelerator", &accel, "action-name", &action, NULL);
      g_print ("self-test: help shortcut %s | %s | %s\n", action ? action : "",
               accel ? accel : "", title);
    }
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    print_help_shortcuts (c);
}

static GtkWidget *
find_primary_menu (GtkWidget *widget)
{
  if (GTK_IS_MENU_BUTTON (widget) && gtk_menu_button_get_primary (GTK_MENU_BUTTON (widget)))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *m = find_primary_menu (c);
      if (m)
        return m;
    }
  return NULL;
}

/* Every widget wider than 200 px at its minimum, with its type and whether it lies inside
 * the window: where a window that cannot shrink gets its width from. */
static void
self_test_print_fit (GtkWidget *win, GtkWidget *widget, int depth)
{
  int min = 0, nat = 0;
  gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
  graphene_rect_t b;
  if (depth > 0 && (min < 200 || !gtk_widget_get_mapped (widget)))
    return;
  if (!gtk_widget_compute_bounds (widget, win, &b))
    return;
  /* The header bar reaches a pixel into the window's frame. */
  gboolean inside = depth == 0 || (b.origin.x >= -2 && b.origin.x + b.size.width
                                                         <= gtk_widget_get_width (win) + 2);
  const char *type = G_OBJECT_TYPE_NAME (widget), *name = gtk_widget_get_name (widget);
  gboolean named = g_strcmp0 (name, type) != 0;
  g_print ("self-test: fit %*s%s%s%s min %d x %.0f..%.0f %s\n", depth * 2, "", type,
           named ? " #" : "", named ? name : "", min, b.origin.x, b.origin.x + b.size.width,
           inside ? "inside" : "OUTSIDE");
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    self_test_print_fit (win, c, depth + 1);
}

/* What a GNOME app is expected to have, as the tests read it. */
static void
self_test_print_conventions (GraftApplication *self, GraftWindow *win)
{
  g_auto (GStrv) actions = gtk_application_list_action_descriptions (GTK_APPLICATION (self));
  for (guint i = 0; actions[i]; i++)
    {
      g_auto (GStrv) keys = gtk_application_get_accels_for_action (GTK_APPLICATION (self),
                                                                   actions[i]);
      g_autofree char *joined = g_strjoinv (" ", keys);
      g_print ("self-test: accel %s %s\n", actions[i], joined);
    }
  GtkShortcutsWindow *help = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (win));
  if (help)
    print_help_shortcuts (GTK_WIDGET (help));
  g_print ("self-test: primary menu %s\n",
           find_primary_menu (GTK_WIDGET (win)) ? "F10" : "none");
  GtkIconTheme *theme = gtk_icon_theme_get_for_display (gtk_widget_get_display (GTK_WIDGET (win)));
  g_print ("self-test: icon %s %s\n", GRAFT_APP_ID,
           gtk_icon_theme_has_icon (theme, GRAFT_APP_ID) ? "found" : "missing");
  print_spins (GTK_WIDGET (win));
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
  GtkWidget *dropdown = find_widget (GTK_WIDGET (win), GTK_TYPE_DROP_DOWN);
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

static void self_test_print_queue (GraftApplication *self, const char *when);
/* ---- self-tests of the plot ---------------------------------------------------------
 * Click legend toggles, point at a curve's point, export what is shown, and print what the
 * plot shows: its canvas's place in the window and style, its panels and their curves, the
 * legend's states, the readout. */
static gboolean
self_test_plot_act (GraftApplication *self, GraftWindow *win)
{
  GtkWidget *view = find_widget (GTK_WIDGET (win), GRAFT_TYPE_PLOT_VIEW);
  if (view == NULL || self->plot_done)
    return FALSE;
  self->plot_done = TRUE;
  GraftPlotView *plot = GRAFT_PLOT_VIEW (view);
  GraftPlotLegend *legend = graft_plot_view_get_legend (plot);
  for (guint i = 0; self->plot_toggle && self->plot_toggle[i]; i++)
    {
      GtkCheckButton *t = graft_plot_legend_get_toggle (legend, self->plot_toggle[i]);
      if (t == NULL)
        {
          g_printerr ("self-test: no legend entry %s\n", self->plot_toggle[i]);
          self->status = 1;
          continue;
        }
      gtk_check_button_set_active (t, !gtk_check_button_get_active (t));
      g_print ("self-test: plot toggled %s: %s, %u series\n", self->plot_toggle[i],
               gtk_check_button_get_active (t) ? "shown" : "hidden",
               graft_plot_view_n_series (plot));
    }
  if (self->plot_toggle)
    {
      /* Re-read the runs as an epoch's end does: the choices must survive it. */
      graft_plot_view_refresh (plot);
      g_print ("self-test: plot refreshed, %u series\n", graft_plot_view_n_series (plot));
    }
  if (self->plot_hover)
    {
      g_auto (GStrv) re = g_strsplit (self->plot_hover, ":", 2);
      double x = 0, y = 0;
      GraftPlotViewPoint pt = { 0 };
      int epoch = re[1] ? atoi (re[1]) : 0;
      if (!graft_plot_view_point_position (plot, re[0], epoch, &x, &y))
        {
          g_printerr ("self-test: no point of %s at epoch %d\n", re[0], epoch);
          self->status = 1;
        }
      else if (!graft_plot_view_hit_test (plot, x, y, &pt))
        {
          g_printerr ("self-test: nothing under the pointer at %.1f,%.1f\n", x, y);
          self->status = 1;
        }
      else
        {
          g_print ("self-test: plot hover %s at %.1f,%.1f: run=%s epoch=%d value=%.6f "
                   "drawn=%.6f panel=%s\n", self->plot_hover, x, y, pt.run, pt.epoch, pt.value,
                   pt.drawn, pt.panel);
          graft_plot_view_hover (plot, x, y);
          g_autofree char *readout = g_strdup (graft_plot_view_get_readout (plot));
          g_strdelimit (readout, "\n", '|');
          g_print ("self-test: plot readout %s\n", readout);
        }
      graft_plot_view_point_clear (&pt);
    }
  if (self->plot_export)
    {
      g_autoptr (GError) error = NULL;
      if (graft_plot_view_write (plot, self->plot_export, &error))
        g_print ("self-test: plot written %s\n", self->plot_export);
      else
        {
          g_printerr ("self-test: %s\n", error->message);
          self->status = 1;
        }
    }
  return self->plot_toggle || self->plot_hover;
}

static void
self_test_plot_print (GraftWindow *win)
{
  GtkWidget *view = find_widget (GTK_WIDGET (win), GRAFT_TYPE_PLOT_VIEW);
  if (view == NULL)
    return;
  GraftPlotView *plot = GRAFT_PLOT_VIEW (view);
  GraftPlotLegend *legend = graft_plot_view_get_legend (plot);
  graphene_rect_t b;
  GtkWidget *canvas = graft_plot_view_get_canvas (plot);
  if (gtk_widget_compute_bounds (canvas, GTK_WIDGET (win), &b))
    g_print ("self-test: plot canvas %.0f %.0f %.0f %.0f %s\n", b.origin.x, b.origin.y,
             b.size.width, b.size.height, graft_plot_view_is_dark (plot) ? "dark" : "light");
  g_autofree char *panels = graft_plot_view_describe (plot);
  g_auto (GStrv) lines = g_strsplit (panels, "\n", -1);
  for (guint i = 0; lines[i] && *lines[i]; i++)
    g_print ("self-test: plot panel %s\n", lines[i]);
  g_autofree char *entries = graft_plot_legend_describe (legend);
  g_auto (GStrv) states = g_strsplit (entries, "\n", -1);
  for (guint i = 0; states[i] && *states[i]; i++)
    g_print ("self-test: plot legend %s\n", states[i]);
}

/* The dark style as a user asks for it: libadwaita's style manager. */
static void
self_test_plot_ask_dark (void)
{
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      ADW_COLOR_SCHEME_FORCE_DARK);
  g_print ("self-test: plot asked libadwaita for the dark style\n");
}

static void
self_test_plot_options (GraftApplication *self, GVariantDict *options)
{
  g_variant_dict_lookup (options, "self-test-plot-toggle", "^as", &self->plot_toggle);
  g_variant_dict_lookup (options, "self-test-plot-hover", "s", &self->plot_hover);
  g_variant_dict_lookup (options, "self-test-plot-export", "^ay", &self->plot_export);
  g_variant_dict_lookup (options, "self-test-plot-dark", "b", &self->plot_dark);
}

static const GOptionEntry self_test_plot_entries[] = {
  { "self-test-plot-toggle", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING_ARRAY, NULL,
    "With --self-test-screenshot: click the plot legend's toggle of a curve", "KEY" },
  { "self-test-plot-hover", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
    "With --self-test-screenshot: point at a run's point of the plot", "RUN:EPOCH" },
  { "self-test-plot-export", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, NULL,
    "With --self-test-screenshot: write the plot shown after the toggles", "FILE" },
  { "self-test-plot-dark", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL,
    "With --self-test-screenshot: ask GTK for the dark style", NULL },
  { NULL },
};

static void
self_test_plot_free (GraftApplication *self)
{
  g_strfreev (self->plot_toggle);
  g_free (self->plot_hover);
  g_free (self->plot_export);
}
/* ---- end of the plot's self-tests ---------------------------------------------------- */

/* ---- Self-tests of the study editor's experiment list ----------------------------------
 * --self-test-editor STEP, in order: add | duplicate:ID | remove:ID:yes|no (the answer if it
 * asks) | rename:ID:NEW-ID[:NAME] | preset:ID:N | freeze:ID:0|1 | layers:ID:A,B,… |
 * show-layers:ID | arch:NAME | init:PATH | win.ACTION[::TARGET]. Each goes through the
 * editor's actions and widgets as a click would; the list and any checklist shown are printed with the screenshot. */

static GtkWidget *
self_test_editor (GtkWidget *win)
{
  return find_widget (win, GRAFT_TYPE_STUDY_EDITOR);
}

static GtkWidget *
self_test_editor_row (GraftApplication *self, GtkWidget *editor, const char *id)
{
  GtkWidget *row = graft_study_editor_find_row (GRAFT_STUDY_EDITOR (editor), id);
  if (row == NULL)
    {
      g_printerr ("self-test: the editor has no row %s\n", id);
      self->status = 1;
    }
  return row;
}

/* Opens @row's menu and activates @action as its item does: the menu closes, then the action
 * runs from inside it. */
static void
self_test_row_menu (GtkWidget *row, const char *action, const char *id)
{
  GtkWidget *menu = graft_experiment_row_popup_menu (GRAFT_EXPERIMENT_ROW (row));
  gtk_popover_popdown (GTK_POPOVER (menu));
  if (id)
    gtk_widget_activate_action (gtk_popover_get_child (GTK_POPOVER (menu)), action, "s", id);
  else
    gtk_widget_activate_action (gtk_popover_get_child (GTK_POPOVER (menu)), action, NULL);
}

static void
self_test_editor_step (GraftApplication *self, GtkWidget *win, const char *step)
{
  GtkWidget *editor = self_test_editor (win);
  g_auto (GStrv) f = g_strsplit (step, ":", 4);
  guint n = g_strv_length (f);
  GtkWidget *row = NULL;
  if (g_str_has_prefix (step, "win."))
    {
      g_autofree char *name = NULL;
      g_autoptr (GVariant) target = NULL;
      g_autoptr (GError) error = NULL;
      if (!g_action_parse_detailed_name (step, &name, &target, &error))
        {
          g_printerr ("self-test: %s\n", error->message);
          self->status = 1;
          return;
        }
      gboolean done = gtk_widget_activate_action_variant (win, name, target);
      g_print ("self-test: editor step %s: %s\n", step, done ? "done" : "disabled");
      return;
    }
  if (g_str_equal (f[0], "add"))
    gtk_widget_activate_action (editor, "editor.add-experiment", NULL);
  else if (g_str_equal (f[0], "duplicate") && n == 2
           && (row = self_test_editor_row (self, editor, f[1])))
    self_test_row_menu (row, "editor.duplicate-experiment", f[1]);
  else if (g_str_equal (f[0], "remove") && n == 3
           && (row = self_test_editor_row (self, editor, f[1])))
    {
      self_test_row_menu (row, "editor.remove-experiment", f[1]);
      GtkMessageDialog *dialog = find_message_dialog ();
      if (dialog)
        {
          g_autofree char *text = NULL, *secondary = NULL;
          g_object_get (dialog, "text", &text, "secondary-text", &secondary, NULL);
          g_print ("self-test: editor asked “%s” “%s”, answered %s\n", text, secondary, f[2]);
          gtk_dialog_response (GTK_DIALOG (dialog), g_str_equal (f[2], "yes")
                                                      ? GTK_RESPONSE_ACCEPT : GTK_RESPONSE_CANCEL);
        }
      else
        g_print ("self-test: editor removed %s without asking\n", f[1]);
    }
  else if (g_str_equal (f[0], "rename") && n >= 3
           && (row = self_test_editor_row (self, editor, f[1])))
    {
      self_test_row_menu (row, "row.rename", NULL);
      if (n == 4)
        gtk_editable_set_text (GTK_EDITABLE (find_field (row, "rename-name")), f[3]);
      gtk_editable_set_text (GTK_EDITABLE (find_field (row, "rename-id")), f[2]);
      const char *problem = graft_experiment_row_get_rename_error (GRAFT_EXPERIMENT_ROW (row));
      g_autofree char *message = g_strdup (problem);
      /* A refused id leaves the Rename button and its action disabled. */
      gtk_widget_activate_action (row, "row.rename-apply", NULL);
      gboolean done = g_str_equal (graft_experiment_row_get_run (GRAFT_EXPERIMENT_ROW (row))->id,
                                   f[2]);
      g_print ("self-test: editor rename %s to %s: %s%s%s\n", f[1], f[2],
               done ? "renamed" : "refused", message ? ", says " : "", message ? message : "");
      if (!done)
        gtk_widget_activate_action (row, "row.rename-cancel", NULL);
    }
  else if ((g_str_equal (f[0], "preset") || g_str_equal (f[0], "freeze")) && n == 3
           && (row = self_test_editor_row (self, editor, f[1])))
    gtk_drop_down_set_selected (GTK_DROP_DOWN (find_field (row, f[0])),
                                (guint) g_ascii_strtoull (f[2], NULL, 10));
  else if (g_str_equal (f[0], "layers") && n == 3
           && (row = self_test_editor_row (self, editor, f[1])))
    {
      g_auto (GStrv) names = g_strsplit (f[2], ",", -1);
      graft_layer_picker_set_selected (GRAFT_LAYER_PICKER (find_widget (row, GRAFT_TYPE_LAYER_PICKER)),
                                       (const char *const *) names);
    }
  else if (g_str_equal (f[0], "arch") && n == 2)
    {
      /* The Architecture dropdown, as picking the name there does. */
      GtkWidget *dd = find_field (editor, "architecture");
      GListModel *model = dd ? gtk_drop_down_get_model (GTK_DROP_DOWN (dd)) : NULL;
      guint i = 0;
      for (; model && i < g_list_model_get_n_items (model); i++)
        {
          g_autoptr (GObject) item = g_list_model_get_item (model, i);
          if (g_str_equal (gtk_string_object_get_string (GTK_STRING_OBJECT (item)), f[1]))
            break;
        }
      if (model && i < g_list_model_get_n_items (model))
        gtk_drop_down_set_selected (GTK_DROP_DOWN (dd), i);
      else
        {
          g_printerr ("self-test: the editor offers no architecture %s\n", f[1]);
          self->status = 1;
        }
    }
  else if (g_str_equal (f[0], "init") && n >= 2)
    /* What the Base weights file chooser does with the file picked. */
    graft_study_editor_set_init (GRAFT_STUDY_EDITOR (editor), step + strlen ("init:"));
  else if (g_str_equal (f[0], "show-layers") && n == 2)
    {
      self->popover = graft_study_editor_popup_layers (GRAFT_STUDY_EDITOR (editor), f[1]);
      if (self->popover == NULL)
        {
          g_printerr ("self-test: no transfer run %s\n", f[1]);
          self->status = 1;
        }
    }
  else
    {
      g_printerr ("self-test: cannot do the editor step %s\n", step);
      self->status = 1;
      return;
    }
  g_print ("self-test: editor step %s\n", step);
}

static void
self_test_editor_report (GraftApplication *self, GtkWidget *win)
{
  GtkWidget *editor = self_test_editor (win);
  g_autofree char *rows = editor ? graft_study_editor_describe (GRAFT_STUDY_EDITOR (editor))
                                 : g_strdup ("");
  g_auto (GStrv) lines = g_strsplit (rows, "\n", -1);
  for (guint i = 0; lines[i] && *lines[i]; i++)
    g_print ("self-test: editor %s\n", lines[i]);
  /* The re-init choices offered, as the first transfer run's dropdown lists them. */
  GtkWidget *presets = editor ? find_field (editor, "preset") : NULL;
  GListModel *model = presets ? gtk_drop_down_get_model (GTK_DROP_DOWN (presets)) : NULL;
  g_autoptr (GString) offered = g_string_new (NULL);
  for (guint i = 0; model && i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (GObject) item = g_list_model_get_item (model, i);
      g_string_append_printf (offered, "%s%s", i ? " | " : "",
                              gtk_string_object_get_string (GTK_STRING_OBJECT (item)));
    }
  if (model)
    g_print ("self-test: editor presets %s\n", offered->str);
  GtkWidget *picker = self->popover ? find_widget (self->popover, GRAFT_TYPE_LAYER_PICKER) : NULL;
  g_autofree char *checks = picker ? graft_layer_picker_describe (GRAFT_LAYER_PICKER (picker))
                                   : g_strdup ("");
  g_auto (GStrv) clines = g_strsplit (checks, "\n", -1);
  for (guint i = 0; clines[i] && *clines[i]; i++)
    g_print ("self-test: checklist %s\n", clines[i]);
}

/* A window or popover with a redraw pending has no render node to save ("nothing drawn"), as
 * under load when a dataset scan lands just before the screenshot: wait for the next frames. */
static gboolean
self_test_not_drawn_yet (GraftApplication *self, GtkWidget *win)
{
  GtkNative *natives[] = { GTK_NATIVE (win), self->popover ? GTK_NATIVE (self->popover) : NULL };
  for (guint i = 0; i < G_N_ELEMENTS (natives) && self->shot_tries < 300; i++)
    {
      g_autoptr (GError) error = NULL;
      if (natives[i] && !graft_native_save_png (natives[i], self->screenshot, &error))
        {
          self->shot_tries++;
          gtk_widget_queue_draw (GTK_WIDGET (natives[i]));
          return TRUE;
        }
    }
  return FALSE;
}

/* ---- end of the study editor's self-tests ---- */

static gboolean
count_frames_cb (GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  guint frames = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (widget), "self-test-frames"));
  g_object_set_data (G_OBJECT (widget), "self-test-frames", GUINT_TO_POINTER (frames + 1));
  return frames + 1 < 2 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Whether @widget (a window or popover) has been drawn: a second frame has begun, so the
 * first one was painted. A busy machine may take longer than any fixed delay. */
static gboolean
self_test_drawn (GtkWidget *widget)
{
  if (widget == NULL)
    return TRUE;
  if (!gtk_widget_get_mapped (widget))
    return FALSE;
  GObject *o = G_OBJECT (widget);
  if (g_object_get_data (o, "self-test-counting") == NULL)
    {
      g_object_set_data (o, "self-test-counting", GUINT_TO_POINTER (1));
      gtk_widget_add_tick_callback (widget, count_frames_cb, NULL, NULL);
      gtk_widget_queue_draw (widget);
    }
  return GPOINTER_TO_UINT (g_object_get_data (o, "self-test-frames")) >= 2;
}

static gboolean
self_test_shot_cb (gpointer user_data)
{
  GraftApplication *self = user_data;
  GraftWindow *win = GRAFT_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (self)));
  g_autoptr (GError) error = NULL;
  if (win && self_test_plot_act (self, win))
    {
      /* Drawn again before the screenshot. */
      g_timeout_add (300, self_test_shot_cb, self);
      return G_SOURCE_REMOVE;
    }
  GtkWidget *overlay = win ? GTK_WIDGET (gtk_application_window_get_help_overlay (
                                           GTK_APPLICATION_WINDOW (win))) : NULL;
  if (overlay && !gtk_widget_get_visible (overlay))
    overlay = NULL;
  if (win && (!self_test_drawn (GTK_WIDGET (win)) || !self_test_drawn (self->popover)
              || !self_test_drawn (overlay) || self_test_not_drawn_yet (self, GTK_WIDGET (win))))
    {
      g_timeout_add (100, self_test_shot_cb, self);
      return G_SOURCE_REMOVE;
    }
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
  /* After the screenshot: measuring the canvas's place drops the window's picture. */
  if (win)
    self_test_plot_print (win);
  if (win)
    {
      GtkWidget *band = find_field (GTK_WIDGET (win), "band");
      g_print ("self-test: plot %u series, %u with bands, band choice %u %s\n",
               graft_window_n_plot_series (win), graft_window_n_plot_banded (win),
               band ? gtk_drop_down_get_selected (GTK_DROP_DOWN (band)) : 0,
               band && gtk_widget_get_sensitive (band) ? "sensitive" : "insensitive");
    }
  if (win)
    self_test_print_conventions (self, win);
  if (win && self->size)
    self_test_print_fit (GTK_WIDGET (win), GTK_WIDGET (win), 0);
  if (win && self->editor_steps)
    self_test_editor_report (self, GTK_WIDGET (win));
  if (win)
    {
      g_autofree char *exports = graft_window_describe_exports (win);
      const char *info = graft_window_get_info (win), *err = graft_window_get_error (win);
      g_print ("self-test: exports offered: %s\n", exports);
      g_print ("self-test: banner info: %s\n", info ? info : "none");
      g_print ("self-test: banner error: %s\n", err ? err : "none");
      g_print ("self-test: run button label %s\n", graft_window_get_run_label (win));
      g_autofree char *rows = graft_window_describe_runs (win);
      g_auto (GStrv) lines = g_strsplit (rows, "\n", -1);
      for (guint i = 0; lines[i] && *lines[i]; i++)
        g_print ("self-test: run row %s\n", lines[i]);
      if (self->pauses)
        self_test_print_queue (self, "end");
    }
  GtkShortcutsWindow *help = win ? gtk_application_window_get_help_overlay (
                                     GTK_APPLICATION_WINDOW (win)) : NULL;
  if (help && gtk_widget_get_mapped (GTK_WIDGET (help)))
    {
      g_autofree char *path = g_strdup_printf ("%s.help.png", self->screenshot);
      g_clear_error (&error);
      if (graft_native_save_png (GTK_NATIVE (help), path, &error))
        g_print ("self-test: shortcuts window %s\n", path);
      else
        g_printerr ("self-test: %s\n", error->message);
    }
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
  if (!ok && !self->stop && !self->pause_stop)
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

static gboolean
self_test_after_close_cb (gpointer user_data)
{
  GraftApplication *self = user_data;
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (self));
  g_print ("self-test: window %s\n", GRAFT_IS_WINDOW (win) ? "still open" : "closed");
  if (GRAFT_IS_WINDOW (win))
    g_timeout_add (200, self_test_shot_cb, self);
  g_application_release (G_APPLICATION (self));
  return G_SOURCE_REMOVE;
}

static gboolean
self_test_answer_cb (gpointer user_data)
{
  GraftApplication *self = user_data;
  GtkMessageDialog *dialog = find_message_dialog ();
  if (dialog == NULL)
    g_print ("self-test: close did not ask\n");
  else
    {
      g_autofree char *text = NULL;
      g_object_get (dialog, "text", &text, NULL);
      g_print ("self-test: close asked “%s”\n", text);
      g_autofree char *path = g_strdup_printf ("%s.dialog.png", self->screenshot);
      g_autoptr (GError) error = NULL;
      if (graft_native_save_png (GTK_NATIVE (dialog), path, &error))
        g_print ("self-test: dialog %s\n", path);
      else
        g_printerr ("self-test: %s\n", error->message);
      int response = g_str_equal (self->close, "save") ? GTK_RESPONSE_ACCEPT
                     : g_str_equal (self->close, "discard") ? GTK_RESPONSE_REJECT
                     : GTK_RESPONSE_CANCEL;
      g_print ("self-test: answered %s\n", self->close);
      gtk_dialog_response (GTK_DIALOG (dialog), response);
    }
  g_timeout_add (300, self_test_after_close_cb, self);
  return G_SOURCE_REMOVE;
}

static gboolean
self_test_close_cb (gpointer user_data)
{
  GraftApplication *self = user_data;
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (self));
  g_print ("self-test: closing the window\n");
  if (win)
    gtk_window_close (win);
  /* Dialogs map asynchronously; give it time to be drawn. */
  g_timeout_add (500, self_test_answer_cb, self);
  return G_SOURCE_REMOVE;
}

/* ---- Queue self-tests: the run list's stage texts, queue progress and selection while a study
 * runs. The queue's worker is held at a stage (graft_study_job_add_pause) so that what the
 * list shows there is printed without depending on timing. ---- */

static void
self_test_print_queue (GraftApplication *self, const char *when)
{
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWidget *list = win ? find_widget (GTK_WIDGET (win), GRAFT_TYPE_RUN_LIST) : NULL;
  if (list == NULL)
    return;
  g_autofree char *queue = graft_run_list_describe_queue (GRAFT_RUN_LIST (list));
  g_print ("self-test: %s queue %s\n", when, queue);
  g_autofree char *rows = graft_window_describe_runs (GRAFT_WINDOW (win));
  g_auto (GStrv) lines = g_strsplit (rows, "\n", -1);
  for (guint i = 0; lines[i] && *lines[i]; i++)
    g_print ("self-test: %s row %s\n", when, lines[i]);
}

/* A frame later than the pause, so that the window has drawn what the list shows. */
static gboolean
self_test_paused_late_cb (gpointer user_data)
{
  GraftApplication *self = user_data;
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (self));
  guint k = ++self->n_paused;
  g_print ("self-test: paused (%u)\n", k);
  self_test_print_queue (self, "paused");
  if (win && self->screenshot)
    {
      g_autofree char *path = g_strdup_printf ("%s.paused%u.png", self->screenshot, k);
      g_autoptr (GError) error = NULL;
      if (graft_window_save_screenshot (GRAFT_WINDOW (win), path, &error))
        g_print ("self-test: paused screenshot %s\n", path);
      else
        g_printerr ("self-test: %s\n", error->message);
    }
  if (win && self->select && k == 1)
    {
      GtkWidget *list = find_widget (GTK_WIDGET (win), GRAFT_TYPE_RUN_LIST);
      if (list)
        graft_run_list_select (GRAFT_RUN_LIST (list), self->select);
      g_print ("self-test: selected %s\n", self->select);
    }
  if (win && self->pause_stop)
    {
      g_print ("self-test: pressing Stop\n");
      gtk_widget_activate_action (GTK_WIDGET (win), "win.stop-study", NULL);
    }
  else
    graft_study_job_release ();
  return G_SOURCE_REMOVE;
}

static gboolean
self_test_paused_cb (gpointer user_data)
{
  g_timeout_add (300, self_test_paused_late_cb, user_data);
  return G_SOURCE_REMOVE;
}

static void
self_test_add_pauses (GraftApplication *self)
{
  for (guint i = 0; self->pauses && self->pauses[i]; i++)
    {
      g_auto (GStrv) kv = g_strsplit (self->pauses[i], ":", 2);
      guint64 run = 0;
      if (kv[1] == NULL || !g_ascii_string_to_unsigned (kv[0], 10, 1, G_MAXUINT, &run, NULL))
        {
          g_printerr ("self-test: a pause is RUN-NUMBER:STAGE, not %s\n", self->pauses[i]);
          self->status = 1;
          continue;
        }
      graft_study_job_add_pause ((guint) run, kv[1], self_test_paused_cb, self);
    }
}

/* ---- end of the queue self-tests ---- */
/* ---- Inspecting views ---- */
static void
self_test_inspect_done (int status, gpointer user_data)
{
  GraftApplication *self = user_data;
  self->status |= status;
  g_timeout_add (1000, self_test_shot_cb, self);
}
/* ---- end of the inspecting views ---- */

static void
self_test_mapped_cb (GtkWidget *win, GraftApplication *self)
{
  if (self->plot_dark)
    self_test_plot_ask_dark ();
  for (guint i = 0; self->edits && self->edits[i]; i++)
    self_test_edit (self, win, self->edits[i], FALSE);
  for (guint i = 0; self->typed && self->typed[i]; i++)
    self_test_edit (self, win, self->typed[i], TRUE);
  for (guint i = 0; self->editor_steps && self->editor_steps[i]; i++)
    self_test_editor_step (self, win, self->editor_steps[i]);
  for (guint i = 0; self->activate && self->activate[i]; i++)
    {
      g_autofree char *name = NULL;
      g_autoptr (GVariant) target = NULL;
      g_autoptr (GError) error = NULL;
      if (!g_action_parse_detailed_name (self->activate[i], &name, &target, &error))
        {
          g_printerr ("self-test: %s\n", error->message);
          self->status = 1;
          continue;
        }
      gboolean done = gtk_widget_activate_action_variant (win, name, target);
      g_print ("self-test: activated %s: %s\n", self->activate[i], done ? "yes" : "no (disabled)");
    }
  const struct { const char *kind, *path; } exports[] = {
    { "plot", self->export_plot }, { "table", self->export_table },
  };
  for (guint i = 0; i < G_N_ELEMENTS (exports); i++)
    {
      if (exports[i].path == NULL)
        continue;
      gboolean ok = graft_window_export (GRAFT_WINDOW (win), exports[i].kind, exports[i].path,
                                         "png");
      g_print ("self-test: export %s %s: %s\n", exports[i].kind, exports[i].path,
               ok ? "ok" : "not written");
      GtkMessageDialog *dialog = find_message_dialog ();
      if (dialog)
        {
          /* Asked to replace a file: the test says no. */
          g_autofree char *text = NULL;
          g_object_get (dialog, "text", &text, NULL);
          g_print ("self-test: export asked “%s”, answered cancel\n", text);
          gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
        }
      const char *info = graft_window_get_info (GRAFT_WINDOW (win));
      g_print ("self-test: info: %s\n", info ? info : "none");
    }
  if (self->export_onnx)
    {
      g_auto (GStrv) kv = g_strsplit (self->export_onnx, "=", 2);
      g_autofree char *kind = g_strdup_printf ("onnx:%s", kv[0]);
      gboolean ok = kv[1] && graft_window_export (GRAFT_WINDOW (win), kind, kv[1], NULL);
      /* Written on a worker thread: the banner is printed with the screenshot. */
      g_print ("self-test: export onnx %s: %s\n", self->export_onnx, ok ? "started" : "refused");
    }
  if (self->close)
    {
      g_application_hold (G_APPLICATION (self));
      g_timeout_add (500, self_test_close_cb, self);
      return;
    }
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
      self_test_add_pauses (self);
      gtk_widget_activate_action (win, "win.run-study", NULL);
      return;
    }
  if (self->popup_layers
      && (self->popover = graft_window_popup_layers (GRAFT_WINDOW (win), self->popup_layers)) == NULL)
    {
      g_printerr ("self-test: no transfer run %s\n", self->popup_layers);
      self->status = 1;
    }
  if (self->popover && self->popup_layers)
    {
      /* Tick the "2 last conv. & output" preset, as a click would. */
      GtkWidget *picker = gtk_popover_get_child (GTK_POPOVER (self->popover));
      gtk_widget_activate_action (picker, "picker.preset", "i", 3);
      const GraftStudyRun *run = graft_study_find_run (graft_window_get_study (GRAFT_WINDOW (win)),
                                                       self->popup_layers);
      g_autofree char *layers = run->reinit ? g_strjoinv (",", run->reinit) : g_strdup ("");
      g_print ("self-test: %s re-initialises %s\n", run->id, layers);
    }
  /* ---- Inspecting views: the results table, datasets and run inspector ---- */
  if (graft_inspect_self_test_wanted (&self->inspect))
    {
      self->inspect.shot = self->screenshot;
      graft_inspect_self_test_start (&self->inspect, GTK_WINDOW (win), self_test_inspect_done,
                                     self);
      return;
    }
  /* ---- end of the inspecting views ---- */
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
      int w, h;
      if (self->size && sscanf (self->size, "%dx%d", &w, &h) == 2)
        gtk_window_set_default_size (win, w, h);
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
  g_variant_dict_lookup (options, "self-test-set", "^as", &self->edits);
  g_variant_dict_lookup (options, "self-test-type", "^as", &self->typed);
  g_variant_dict_lookup (options, "self-test-activate", "^as", &self->activate);
  g_variant_dict_lookup (options, "self-test-close", "s", &self->close);
  g_variant_dict_lookup (options, "self-test-export-plot", "^ay", &self->export_plot);
  g_variant_dict_lookup (options, "self-test-export-table", "^ay", &self->export_table);
  g_variant_dict_lookup (options, "self-test-export-onnx", "s", &self->export_onnx);
  g_variant_dict_lookup (options, "self-test-size", "s", &self->size);
  g_variant_dict_lookup (options, "self-test-devices", "b", &self->devices);
  g_variant_dict_lookup (options, "self-test-export", "^ay", &self->export_dir);
  g_variant_dict_lookup (options, "self-test-pause", "^as", &self->pauses);
  g_variant_dict_lookup (options, "self-test-pause-stop", "b", &self->pause_stop);
  g_variant_dict_lookup (options, "self-test-select", "s", &self->select);
  g_variant_dict_lookup (options, "self-test-editor", "^as", &self->editor_steps);
  self_test_plot_options (self, options);
  /* ---- Inspecting views ---- */
  g_variant_dict_lookup (options, "self-test-results-sort", "s", &self->inspect.results_sort);
  g_variant_dict_lookup (options, "self-test-results-select", "s", &self->inspect.results_select);
  g_variant_dict_lookup (options, "self-test-copy", "b", &self->inspect.copy);
  g_variant_dict_lookup (options, "self-test-datasets", "b", &self->inspect.datasets);
  g_variant_dict_lookup (options, "self-test-inspect", "s", &self->inspect.inspect);
  g_variant_dict_lookup (options, "self-test-inspect-cell", "s", &self->inspect.inspect_cell);
  /* ---- end of the inspecting views ---- */
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
  const char *developers[] = { "The Graft developers", NULL };
  GtkWidget *about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                                   "transient-for", win,
                                   "application-name", "Graft",
                                   "application-icon", GRAFT_APP_ID,
                                   "version", GRAFT_VERSION,
                                   "developer-name", "The Graft developers",
                                   "developers", developers,
                                   "comments", "Transfer-learning studies on any OpenCL device: "
                                               "train a base model, transfer its weights under "
                                               "several freeze and re-initialise strategies, "
                                               "and compare every run.",
                                   "license-type", GTK_LICENSE_GPL_3_0,
                                   NULL);
  gtk_window_present (GTK_WINDOW (about));
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
  /* The Keyboard Shortcuts window (gtk/help-overlay.ui, Ctrl+?) shows these by action. */
  static const struct { const char *action, *accel; } accels[] = {
    { "app.quit", "<Control>q" },
    { "window.close", "<Control>w" },
    { "win.open-study", "<Control>o" },
    { "win.save-study", "<Control>s" },
    { "win.run-study", "<Control>r" },
    { "win.stop-study", "<Control>period" },
    { "win.export-plot::png", "<Control>e" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    {
      const char *keys[] = { accels[i].accel, NULL };
      gtk_application_set_accels_for_action (GTK_APPLICATION (app), accels[i].action, keys);
    }

  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/graft/Graft/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  /* GtkApplication puts /org/graft/Graft/icons on the icon theme's path itself. */
}

static void
graft_application_finalize (GObject *object)
{
  GraftApplication *self = GRAFT_APPLICATION (object);
  g_clear_object (&self->settings);
  g_free (self->open_study);
  g_free (self->screenshot);
  g_free (self->popup_layers);
  g_strfreev (self->edits);
  g_strfreev (self->typed);
  g_strfreev (self->activate);
  g_free (self->close);
  g_free (self->export_plot);
  g_free (self->export_table);
  g_free (self->export_onnx);
  g_free (self->size);
  g_free (self->export_dir);
  g_strfreev (self->pauses);
  g_free (self->select);
  g_strfreev (self->editor_steps);
  self_test_plot_free (self);
  graft_inspect_self_test_clear (&self->inspect);
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
    { "self-test-set", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING_ARRAY, NULL,
      "With --self-test-screenshot: set an editor spin button (epochs, width, …)", "NAME=VALUE" },
    { "self-test-type", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING_ARRAY, NULL,
      "With --self-test-screenshot: type into an editor spin button without activating it",
      "NAME=TEXT" },
    { "self-test-activate", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING_ARRAY, NULL,
      "With --self-test-screenshot: activate a window action after the edits", "ACTION" },
    { "self-test-close", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
      "With --self-test-screenshot: close the window and answer its question", "save|discard|cancel" },
    { "self-test-size", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
      "With --self-test-screenshot: open the window at this size and report what does not fit",
      "WIDTHxHEIGHT" },
    { "self-test-export-plot", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, NULL,
      "With --self-test-screenshot: export the plot as the chooser would", "FILE" },
    { "self-test-export-table", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, NULL,
      "With --self-test-screenshot: export the results table as the chooser would", "FILE" },
    { "self-test-devices", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL,
      "With --self-test-screenshot: print the device menu's entries", NULL },
    { "self-test-export", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, NULL,
      "With --self-test-screenshot: export curves.png and results.csv into a folder first", "FOLDER" },
    { "self-test-export-onnx", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
      "With --self-test-screenshot: export this run's best checkpoint as ONNX as the chooser "
      "would", "RUN=FILE" },
    /* Queue self-tests */
    { "self-test-pause", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING_ARRAY, NULL,
      "With --self-test-run: hold run N at the first stage starting with STAGE, print the run "
      "list and a screenshot, then go on", "N:STAGE" },
    { "self-test-pause-stop", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL,
      "With --self-test-pause: press Stop at the pause instead", NULL },
    { "self-test-select", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
      "With --self-test-pause: select this run's row at the first pause", "RUN-ID" },
    { "self-test-editor", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING_ARRAY, NULL,
      "With --self-test-screenshot: edit the experiment list (add, duplicate:ID, remove:ID:yes|no, "
      "rename:ID:NEW-ID[:NAME], preset:ID:N, freeze:ID:N, layers:ID:A,B, show-layers:ID, "
      "arch:NAME, init:PATH, win.ACTION)", "STEP" },
    /* ---- Inspecting views ---- */
    { "self-test-results-sort", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
      "With --self-test-screenshot: sort the results table by a column", "TITLE:asc|desc" },
    { "self-test-results-select", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
      "With --self-test-screenshot: select rows of the sorted results table", "ROW,ROW…" },
    { "self-test-copy", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL,
      "With --self-test-screenshot: copy the results table and print the clipboard", NULL },
    { "self-test-datasets", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL,
      "With --self-test-screenshot: open the dataset view, print it, render it", NULL },
    { "self-test-inspect", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
      "With --self-test-screenshot: open a run's inspector, print its matrix, render it",
      "RUN-ID" },
    { "self-test-inspect-cell", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
      "With --self-test-inspect: select a matrix cell and print its gallery", "TRUE,PREDICTED" },
    /* ---- end of the inspecting views ---- */
    { NULL },
  };
  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_add_main_option_entries (G_APPLICATION (self), self_test_plot_entries);
}

GraftApplication *
graft_application_new (void)
{
  return g_object_new (GRAFT_TYPE_APPLICATION, "application-id", GRAFT_APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS, NULL);
}
