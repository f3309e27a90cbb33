/* The per-run inspector: confusion matrix, misclassified-image gallery and log. */
#include "graft-config.h"
#include "graft-run-inspector.h"

#include "graft-run.h"
#include "graft-thumbnail.h"

struct _GraftRunInspector {
  GtkBox              parent_instance;
  char               *run_dir;
  char               *device;
  GtkLabel           *summary;
  GtkStack           *state;       /* "busy", "error", "matrix" */
  GtkLabel           *error_label;
  GtkSpinner         *spinner;
  GtkGrid            *matrix;
  GtkLabel           *gallery_title;
  GListStore         *gallery;
  GtkStack           *pages;       /* "matrix", "log" */
  GtkTextBuffer      *log;
  GtkWidget          *reload;
  GCancellable       *cancellable;
  GraftRunEvaluation *evaluation;
  char               *error;
  GtkWidget         **cells;       /* n_classes², the matrix buttons */
  guint               n_cells;
  gboolean            busy;
  GFileMonitor       *monitor;     /* commit.json: a new epoch may bring new best weights */
  guint               changed_timeout;
};

G_DEFINE_FINAL_TYPE (GraftRunInspector, graft_run_inspector, GTK_TYPE_BOX)

enum { READY, N_SIGNALS };
static guint signals[N_SIGNALS];

static const char css[] =
  ".cm-cell { min-width: 44px; min-height: 32px; padding: 2px 4px; font-feature-settings: \"tnum\"; }\n"
  ".cm-diag.cm-l1 { background: alpha(@success_color, 0.15); }\n"
  ".cm-diag.cm-l2 { background: alpha(@success_color, 0.35); }\n"
  ".cm-diag.cm-l3 { background: alpha(@success_color, 0.55); }\n"
  ".cm-diag.cm-l4 { background: alpha(@success_color, 0.8); }\n"
  ".cm-off.cm-l1 { background: alpha(@error_color, 0.15); }\n"
  ".cm-off.cm-l2 { background: alpha(@error_color, 0.35); }\n"
  ".cm-off.cm-l3 { background: alpha(@error_color, 0.55); }\n"
  ".cm-off.cm-l4 { background: alpha(@error_color, 0.8); }\n"
  ".cm-cell.cm-selected { outline: 3px solid @theme_selected_bg_color; outline-offset: -3px; }\n";

static void
load_log (GraftRunInspector *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftRun) run = graft_run_load (self->run_dir, &error);
  g_autofree char *text = run ? graft_run_read_log (run, 4 << 20, &error) : NULL;
  if (text == NULL)
    text = g_strdup (error->message);
  else if (*text == '\0')
    { g_free (text); text = g_strdup ("This run has no log yet."); }
  gtk_text_buffer_set_text (self->log, text, -1);
}

static void
clear_matrix (GraftRunInspector *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->matrix))) != NULL)
    gtk_grid_remove (self->matrix, child);
  g_clear_pointer (&self->cells, g_free);
  self->n_cells = 0;
  g_list_store_remove_all (self->gallery);
  gtk_label_set_text (self->gallery_title, "");
}

gboolean
graft_run_inspector_select_cell (GraftRunInspector *self, guint truth, guint predicted)
{
  const GraftRunEvaluation *e = self->evaluation;
  if (e == NULL || truth >= e->n_classes || predicted >= e->n_classes)
    return FALSE;
  for (guint i = 0; i < self->n_cells; i++)
    gtk_widget_remove_css_class (self->cells[i], "cm-selected");
  gtk_widget_add_css_class (self->cells[truth * e->n_classes + predicted], "cm-selected");
  g_autoptr (GArray) files = graft_run_evaluation_cell_files (e, truth, predicted);
  g_list_store_remove_all (self->gallery);
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < files->len; i++)
    {
      guint f = g_array_index (files, guint, i);
      g_autofree char *path = g_build_filename (e->data_dir, e->paths[f], NULL);
      g_autofree char *base = g_path_get_basename (e->paths[f]);
      g_autofree char *shown = g_filename_display_name (base);
      g_autofree char *caption = g_strdup_printf ("%s\n→ %s · %.0f %%", shown,
                                                  e->class_names[e->predicted[f]],
                                                  100.0 * e->confidence[f]);
      g_ptr_array_add (items, graft_thumbnail_new (path, caption));
    }
  g_list_store_splice (self->gallery, 0, 0, items->pdata, items->len);
  g_autofree char *title = g_strdup_printf (
    "%s %s, predicted %s: %u image%s", truth == predicted ? "Correct:" : "Misclassified:",
    e->class_names[truth], e->class_names[predicted], files->len, files->len == 1 ? "" : "s");
  gtk_label_set_text (self->gallery_title, title);
  return TRUE;
}

static void
cell_clicked_cb (GtkButton *button, GraftRunInspector *self)
{
  guint k = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "cell"));
  if (self->evaluation)
    graft_run_inspector_select_cell (self, k / self->evaluation->n_classes,
                                     k % self->evaluation->n_classes);
}

static void
show_evaluation (GraftRunInspector *self)
{
  const GraftRunEvaluation *e = self->evaluation;
  clear_matrix (self);
  guint nc = e->n_classes;
  GtkWidget *corner = gtk_label_new ("True ↓  Predicted →");
  gtk_widget_add_css_class (corner, "dim-label");
  gtk_grid_attach (self->matrix, corner, 0, 0, 1, 1);
  for (guint c = 0; c < nc; c++)
    {
      GtkWidget *head = gtk_label_new (e->class_names[c]);
      gtk_widget_add_css_class (head, "heading");
      gtk_label_set_ellipsize (GTK_LABEL (head), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (head), 10);
      gtk_widget_set_tooltip_text (head, e->class_names[c]);
      gtk_grid_attach (self->matrix, head, (int) c + 1, 0, 1, 1);
      GtkWidget *row = gtk_label_new (e->class_names[c]);
      gtk_widget_add_css_class (row, "heading");
      gtk_label_set_xalign (GTK_LABEL (row), 1);
      gtk_grid_attach (self->matrix, row, 0, (int) c + 1, 1, 1);
    }
  self->n_cells = nc * nc;
  self->cells = g_new0 (GtkWidget *, self->n_cells);
  guint worst = G_MAXUINT;   /* the largest off-diagonal cell */
  for (guint r = 0; r < nc; r++)
    {
      guint64 row_total = 0;
      for (guint c = 0; c < nc; c++)
        row_total += e->confusion[(gsize) r * nc + c];
      for (guint c = 0; c < nc; c++)
        {
          guint64 v = e->confusion[(gsize) r * nc + c];
          g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, v);
          GtkWidget *b = gtk_button_new_with_label (text);
          gtk_widget_add_css_class (b, "cm-cell");
          gtk_widget_add_css_class (b, r == c ? "cm-diag" : "cm-off");
          double frac = row_total ? (double) v / row_total : 0;
          int level = v == 0 ? 0 : 1 + MIN (3, (int) (frac * 4));
          g_autofree char *lc = g_strdup_printf ("cm-l%d", level);
          gtk_widget_add_css_class (b, lc);
          g_autofree char *tip = g_strdup_printf ("True %s, predicted %s: %" G_GUINT64_FORMAT
                                                  " of %" G_GUINT64_FORMAT " (%.0f %%)",
                                                  e->class_names[r], e->class_names[c], v,
                                                  row_total, 100 * frac);
          gtk_widget_set_tooltip_text (b, tip);
          g_object_set_data (G_OBJECT (b), "cell", GUINT_TO_POINTER (r * nc + c));
          g_signal_connect (b, "clicked", G_CALLBACK (cell_clicked_cb), self);
          gtk_grid_attach (self->matrix, b, (int) c + 1, (int) r + 1, 1, 1);
          self->cells[r * nc + c] = b;
          if (r != c && v > 0 && (worst == G_MAXUINT || v > e->confusion[worst]))
            worst = r * nc + c;
        }
    }
  g_autofree char *summary = g_strdup_printf (
    "Best epoch %d on the validation split: %u images, accuracy %.4f, loss %.4f%s",
    e->best_epoch, e->n, e->accuracy, e->loss,
    e->from_cache ? " (saved evaluation)" : "");
  gtk_label_set_text (self->summary, summary);
  /* Open on the most frequent mistake. */
  guint k = worst != G_MAXUINT ? worst : 0;
  graft_run_inspector_select_cell (self, k / nc, k % nc);
  gtk_stack_set_visible_child_name (self->state, "matrix");
}

static void
evaluate_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GraftRunInspector *self = source;
  GError *error = NULL;
  GraftRunEvaluation *e = graft_run_evaluate (self->run_dir, self->device, 32, TRUE, NULL, NULL,
                                              cancellable, &error);
  if (e)
    g_task_return_pointer (task, e, (GDestroyNotify) graft_run_evaluation_free);
  else
    g_task_return_error (task, error);
}

static void
evaluate_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GraftRunInspector *self = GRAFT_RUN_INSPECTOR (source);
  g_autoptr (GError) error = NULL;
  GraftRunEvaluation *e = g_task_propagate_pointer (G_TASK (res), &error);
  self->busy = FALSE;
  if (self->summary == NULL)   /* disposed meanwhile */
    {
      graft_run_evaluation_free (e);
      return;
    }
  gtk_spinner_stop (self->spinner);
  gtk_widget_set_sensitive (self->reload, TRUE);
  g_clear_pointer (&self->evaluation, graft_run_evaluation_free);
  g_clear_pointer (&self->error, g_free);
  if (e)
    {
      self->evaluation = e;
      show_evaluation (self);
    }
  else
    {
      self->error = g_strdup (error->message);
      gtk_label_set_text (self->error_label, error->message);
      gtk_label_set_text (self->summary, "");
      gtk_stack_set_visible_child_name (self->state, "error");
    }
  load_log (self);
  g_signal_emit (self, signals[READY], 0);
}

void
graft_run_inspector_reload (GraftRunInspector *self)
{
  if (self->busy)
    return;
  self->busy = TRUE;
  clear_matrix (self);
  gtk_stack_set_visible_child_name (self->state, "busy");
  gtk_spinner_start (self->spinner);
  gtk_widget_set_sensitive (self->reload, FALSE);
  gtk_label_set_text (self->summary, "Evaluating the best checkpoint on the validation split…");
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, evaluate_done, NULL);
  g_task_run_in_thread (task, evaluate_thread);
  load_log (self);
}

static gboolean
run_changed_timeout_cb (gpointer user_data)
{
  GraftRunInspector *self = user_data;
  self->changed_timeout = 0;
  /* Through the cache: only new best weights are evaluated again. */
  if (!self->busy)
    graft_run_inspector_reload (self);
  else
    load_log (self);
  return G_SOURCE_REMOVE;
}

static void
commit_changed_cb (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event,
                   GraftRunInspector *self)
{
  if (event != G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT && event != G_FILE_MONITOR_EVENT_CREATED &&
      event != G_FILE_MONITOR_EVENT_MOVED_IN && event != G_FILE_MONITOR_EVENT_RENAMED)
    return;
  g_clear_handle_id (&self->changed_timeout, g_source_remove);
  self->changed_timeout = g_timeout_add (500, run_changed_timeout_cb, self);
}

static void
reload_clicked_cb (GtkButton *button, GraftRunInspector *self)
{
  graft_run_inspector_reload (self);
}

gboolean graft_run_inspector_is_busy (GraftRunInspector *self) { return self->busy; }
const char *graft_run_inspector_get_error (GraftRunInspector *self) { return self->error; }
GListModel *graft_run_inspector_get_gallery (GraftRunInspector *self)
{
  return G_LIST_MODEL (self->gallery);
}

const GraftRunEvaluation *
graft_run_inspector_get_evaluation (GraftRunInspector *self)
{
  return self->busy ? NULL : self->evaluation;
}

const char *
graft_run_inspector_get_cell_text (GraftRunInspector *self, guint truth, guint predicted)
{
  if (self->evaluation == NULL || truth >= self->evaluation->n_classes ||
      predicted >= self->evaluation->n_classes || self->cells == NULL)
    return NULL;
  return gtk_button_get_label (GTK_BUTTON (self->cells[truth * self->evaluation->n_classes
                                                       + predicted]));
}

void
graft_run_inspector_show_page (GraftRunInspector *self, const char *page)
{
  gtk_stack_set_visible_child_name (self->pages, page);
}

char *
graft_run_inspector_get_log_text (GraftRunInspector *self)
{
  GtkTextIter a, b;
  gtk_text_buffer_get_bounds (self->log, &a, &b);
  return gtk_text_buffer_get_text (self->log, &a, &b, FALSE);
}

static void
graft_run_inspector_dispose (GObject *object)
{
  GraftRunInspector *self = GRAFT_RUN_INSPECTOR (object);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->changed_timeout, g_source_remove);
  if (self->monitor)
    g_signal_handlers_disconnect_by_func (self->monitor, commit_changed_cb, self);
  g_clear_object (&self->monitor);
  self->summary = NULL;
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_box_remove (GTK_BOX (self), child);
  G_OBJECT_CLASS (graft_run_inspector_parent_class)->dispose (object);
}

static void
graft_run_inspector_finalize (GObject *object)
{
  GraftRunInspector *self = GRAFT_RUN_INSPECTOR (object);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->gallery);
  g_clear_pointer (&self->evaluation, graft_run_evaluation_free);
  g_free (self->cells);
  g_free (self->error);
  g_free (self->run_dir);
  g_free (self->device);
  G_OBJECT_CLASS (graft_run_inspector_parent_class)->finalize (object);
}

static void
graft_run_inspector_class_init (GraftRunInspectorClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = graft_run_inspector_dispose;
  G_OBJECT_CLASS (klass)->finalize = graft_run_inspector_finalize;
  /* The evaluation ended: shown, or its error. */
  signals[READY] = g_signal_new ("ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                 NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static GtkWidget *
scrolled (GtkWidget *child)
{
  GtkWidget *sw = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (sw), child);
  gtk_widget_set_vexpand (sw, TRUE);
  gtk_widget_set_hexpand (sw, TRUE);
  return sw;
}

static void
graft_run_inspector_init (GraftRunInspector *self)
{
  static gboolean styled;
  if (!styled)
    {
      styled = TRUE;
      g_autoptr (GtkCssProvider) p = gtk_css_provider_new ();
      gtk_css_provider_load_from_data (p, css, -1);
      gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                                  GTK_STYLE_PROVIDER (p),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    }
  GtkBox *box = GTK_BOX (self);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (box, 6);
  gtk_widget_set_margin_start (GTK_WIDGET (self), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self), 12);
  gtk_widget_set_margin_top (GTK_WIDGET (self), 8);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self), 12);

  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  self->pages = GTK_STACK (gtk_stack_new ());
  GtkWidget *switcher = gtk_stack_switcher_new ();
  gtk_stack_switcher_set_stack (GTK_STACK_SWITCHER (switcher), self->pages);
  gtk_box_append (GTK_BOX (top), switcher);
  self->summary = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->summary, 0);
  gtk_label_set_ellipsize (self->summary, PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (GTK_WIDGET (self->summary), TRUE);
  gtk_box_append (GTK_BOX (top), GTK_WIDGET (self->summary));
  self->reload = gtk_button_new_from_icon_name ("view-refresh-symbolic");
  gtk_widget_set_tooltip_text (self->reload, "Evaluate again if the run changed");
  g_signal_connect (self->reload, "clicked", G_CALLBACK (reload_clicked_cb), self);
  gtk_box_append (GTK_BOX (top), self->reload);
  gtk_box_append (box, top);

  /* Matrix page: a spinner, the error, or the matrix beside the gallery. */
  self->state = GTK_STACK (gtk_stack_new ());
  GtkWidget *busy = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_set_valign (busy, GTK_ALIGN_CENTER);
  self->spinner = GTK_SPINNER (gtk_spinner_new ());
  gtk_widget_set_size_request (GTK_WIDGET (self->spinner), 32, 32);
  gtk_box_append (GTK_BOX (busy), GTK_WIDGET (self->spinner));
  gtk_box_append (GTK_BOX (busy), gtk_label_new ("Evaluating…"));
  gtk_stack_add_named (self->state, busy, "busy");
  self->error_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->error_label, TRUE);
  gtk_label_set_selectable (self->error_label, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->error_label), "error");
  gtk_label_set_xalign (self->error_label, 0);
  gtk_label_set_yalign (self->error_label, 0);
  /* Scrolled: a long message must not make the stack's height depend on its width. */
  GtkWidget *esw = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (esw), GTK_WIDGET (self->error_label));
  gtk_stack_add_named (self->state, esw, "error");

  GtkWidget *paned = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *left = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *caption = gtk_label_new ("Rows: true class, columns: predicted.\n"
                                      "Click a cell to see its images.");
  gtk_label_set_xalign (GTK_LABEL (caption), 0);
  gtk_widget_add_css_class (caption, "dim-label");
  gtk_box_append (GTK_BOX (left), caption);
  self->matrix = GTK_GRID (gtk_grid_new ());
  gtk_grid_set_row_spacing (self->matrix, 4);
  gtk_grid_set_column_spacing (self->matrix, 4);
  GtkWidget *msw = scrolled (GTK_WIDGET (self->matrix));
  gtk_widget_set_hexpand (msw, FALSE);
  /* As wide as the matrix (up to 640 pixels), the rest for the gallery. */
  gtk_scrolled_window_set_propagate_natural_width (GTK_SCROLLED_WINDOW (msw), TRUE);
  gtk_scrolled_window_set_max_content_width (GTK_SCROLLED_WINDOW (msw), 640);
  gtk_widget_set_margin_end (left, 8);
  gtk_box_append (GTK_BOX (left), msw);
  gtk_box_append (GTK_BOX (paned), left);
  gtk_box_append (GTK_BOX (paned), gtk_separator_new (GTK_ORIENTATION_VERTICAL));
  GtkWidget *right = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  self->gallery_title = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->gallery_title, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->gallery_title), "heading");
  gtk_box_append (GTK_BOX (right), GTK_WIDGET (self->gallery_title));
  self->gallery = g_list_store_new (GRAFT_TYPE_THUMBNAIL);
  GtkWidget *grid = graft_thumbnail_grid_new (G_LIST_MODEL (g_object_ref (self->gallery)));
  gtk_box_append (GTK_BOX (right), scrolled (grid));
  gtk_box_append (GTK_BOX (paned), right);
  gtk_stack_add_named (self->state, paned, "matrix");
  gtk_stack_add_titled (self->pages, GTK_WIDGET (self->state), "matrix", "Confusion Matrix");

  GtkWidget *view = gtk_text_view_new ();
  gtk_text_view_set_editable (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (view), TRUE);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  gtk_widget_set_name (view, "run-log");
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (view), 8);
  gtk_text_view_set_right_margin (GTK_TEXT_VIEW (view), 8);
  gtk_text_view_set_top_margin (GTK_TEXT_VIEW (view), 6);
  self->log = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  gtk_stack_add_titled (self->pages, scrolled (view), "log", "Log");
  gtk_widget_set_vexpand (GTK_WIDGET (self->pages), TRUE);
  gtk_box_append (box, GTK_WIDGET (self->pages));
}

GtkWidget *
graft_run_inspector_new (const char *run_dir, const char *device)
{
  GraftRunInspector *self = g_object_new (GRAFT_TYPE_RUN_INSPECTOR, NULL);
  self->run_dir = g_strdup (run_dir);
  self->device = g_strdup (device);
  g_autofree char *commit = g_build_filename (run_dir, GRAFT_RUN_COMMIT_FILE, NULL);
  g_autoptr (GFile) file = g_file_new_for_path (commit);
  self->monitor = g_file_monitor_file (file, G_FILE_MONITOR_WATCH_MOVES, NULL, NULL);
  if (self->monitor)
    g_signal_connect (self->monitor, "changed", G_CALLBACK (commit_changed_cb), self);
  graft_run_inspector_reload (self);
  return GTK_WIDGET (self);
}

GtkWindow *
graft_run_inspector_window_new (GtkWindow *parent, const char *run_dir, const char *title,
                                const char *device)
{
  GtkWindow *win = GTK_WINDOW (gtk_window_new ());
  g_autofree char *t = g_strdup_printf ("Run %s", title);
  gtk_window_set_title (win, t);
  gtk_window_set_transient_for (win, parent);
  gtk_window_set_destroy_with_parent (win, TRUE);
  gtk_window_set_default_size (win, 1180, 720);
  if (parent && gtk_window_get_application (parent))
    gtk_window_set_application (win, gtk_window_get_application (parent));
  gtk_window_set_child (win, graft_run_inspector_new (run_dir, device));
  return win;
}

GraftRunInspector *
graft_run_inspector_window_get_inspector (GtkWindow *window)
{
  GtkWidget *child = gtk_window_get_child (window);
  return GRAFT_IS_RUN_INSPECTOR (child) ? GRAFT_RUN_INSPECTOR (child) : NULL;
}
