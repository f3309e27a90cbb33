/* Self-tests of the results table, the dataset view and the run inspector. */
#include "graft-config.h"
#include "graft-inspect-self-test.h"

#include "graft-dataset-view.h"
#include "graft-results-view.h"
#include "graft-run-inspector.h"
#include "graft-run-list.h"
#include "graft-thumbnail.h"
#include "graft-window.h"

typedef struct {
  const GraftInspectSelfTest *t;
  GtkWindow *win;
  GtkWindow *child;     /* the dataset or inspector window of the step */
  int        step;
  int        status;
  int        polls;
  void     (*done) (int status, gpointer user_data);
  gpointer   user_data;
} Driver;

static void next_step (Driver *d);

gboolean
graft_inspect_self_test_wanted (const GraftInspectSelfTest *t)
{
  return t->results_sort || t->copy || t->datasets || t->inspect;
}

void
graft_inspect_self_test_clear (GraftInspectSelfTest *t)
{
  g_clear_pointer (&t->results_sort, g_free);
  g_clear_pointer (&t->results_select, g_free);
  g_clear_pointer (&t->inspect, g_free);
  g_clear_pointer (&t->inspect_cell, g_free);
  t->shot = NULL;
}

static GtkWidget *
find_type (GtkWidget *widget, GType type)
{
  if (widget == NULL || G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_type (c, type);
      if (found)
        return found;
    }
  return NULL;
}

/* The newest toplevel whose child is of @type. */
static GtkWindow *
find_window (GType type)
{
  GListModel *tops = gtk_window_get_toplevels ();
  GtkWindow *found = NULL;
  for (guint i = 0; i < g_list_model_get_n_items (tops); i++)
    {
      g_autoptr (GObject) w = g_list_model_get_item (tops, i);
      if (GTK_IS_WINDOW (w) && G_TYPE_CHECK_INSTANCE_TYPE (gtk_window_get_child (GTK_WINDOW (w)),
                                                           type))
        found = GTK_WINDOW (w);
    }
  return found;
}

static void
save (Driver *d, GtkWindow *win, const char *suffix)
{
  /* Views that were already ready before the window mapped are drawn by now. */
  if (d->t->shot == NULL)
    return;
  g_autofree char *path = g_strdup_printf ("%s.%s.png", d->t->shot, suffix);
  g_autoptr (GError) error = NULL;
  if (graft_native_save_png (GTK_NATIVE (win), path, &error))
    g_print ("self-test: %s window %s %dx%d\n", suffix, path, gtk_widget_get_width (GTK_WIDGET (win)),
             gtk_widget_get_height (GTK_WIDGET (win)));
  else
    {
      g_printerr ("self-test: %s\n", error->message);
      d->status = 1;
    }
}

static void
print_thumbnails (const char *what, GListModel *model)
{
  guint n = g_list_model_get_n_items (model), failed = 0;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GraftThumbnail) th = g_list_model_get_item (model, i);
      g_autofree char *caption = g_strdup (graft_thumbnail_get_caption (th));
      g_strdelimit (caption, "\n", '|');
      g_print ("self-test: %s item %s | %s | %s\n", what, graft_thumbnail_get_path (th), caption,
               graft_thumbnail_get_texture (th) ? "decoded" :
               graft_thumbnail_get_error (th) ? graft_thumbnail_get_error (th) : "not decoded");
      failed += graft_thumbnail_get_texture (th) == NULL;
    }
  g_print ("self-test: %s %u items, %u not decoded\n", what, n, failed);
}

/* ---- Step 0: the results table ---- */

static void
clipboard_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Driver *d = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), res, &error);
  if (text == NULL)
    {
      g_printerr ("self-test: clipboard: %s\n", error ? error->message : "empty");
      d->status = 1;
    }
  else
    {
      g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i] && *lines[i]; i++)
        g_print ("self-test: clipboard %s\n", lines[i]);
    }
  next_step (d);
}

static void
results_step (Driver *d)
{
  GtkWidget *view = find_type (GTK_WIDGET (d->win), GRAFT_TYPE_RESULTS_VIEW);
  if (view == NULL)
    {
      g_printerr ("self-test: no results table\n");
      d->status = 1;
      next_step (d);
      return;
    }
  /* Show the table's tab, for the screenshot. */
  for (GtkWidget *w = view; w; w = gtk_widget_get_parent (w))
    {
      GtkWidget *parent = gtk_widget_get_parent (w);
      if (GTK_IS_NOTEBOOK (parent))
        gtk_notebook_set_current_page (GTK_NOTEBOOK (parent),
                                       gtk_notebook_page_num (GTK_NOTEBOOK (parent), w));
      else if (GTK_IS_STACK (parent))
        gtk_stack_set_visible_child (GTK_STACK (parent), w);
    }
  GraftResultsView *rv = GRAFT_RESULTS_VIEW (view);
  if (d->t->results_sort)
    {
      g_auto (GStrv) kv = g_strsplit (d->t->results_sort, ":", 2);
      gboolean ok = kv[1] && graft_results_view_sort_by (rv, kv[0], g_str_equal (kv[1], "asc"));
      g_print ("self-test: sorted by %s: %s\n", d->t->results_sort, ok ? "yes" : "no such column");
      d->status |= !ok;
    }
  if (d->t->results_select)
    {
      g_auto (GStrv) parts = g_strsplit (d->t->results_select, ",", -1);
      g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (guint));
      for (guint i = 0; parts[i]; i++)
        {
          guint r = (guint) g_ascii_strtoull (parts[i], NULL, 10);
          g_array_append_val (rows, r);
        }
      graft_results_view_select (rv, (guint *) rows->data, rows->len);
    }
  g_autofree char *tsv = graft_results_view_to_tsv (rv);
  g_auto (GStrv) lines = g_strsplit (tsv, "\n", -1);
  for (guint i = 0; lines[i] && *lines[i]; i++)
    g_print ("self-test: results %s\n", lines[i]);
  if (!d->t->copy)
    {
      next_step (d);
      return;
    }
  /* Ctrl+C on the table, as a user presses it. */
  gboolean ok = gtk_widget_activate_action (view, "results.copy", NULL);
  g_print ("self-test: copy activated: %s\n", ok ? "yes" : "no");
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (view), NULL, clipboard_cb, d);
}

/* ---- Waiting ---- */

typedef gboolean (*ReadyFunc) (Driver *d);

typedef struct {
  Driver   *d;
  ReadyFunc ready;
  void    (*then) (Driver *d);
} Wait;

static gboolean
wait_cb (gpointer user_data)
{
  Wait *w = user_data;
  if (!w->ready (w->d) && ++w->d->polls < 1200)
    return G_SOURCE_CONTINUE;
  if (w->d->polls >= 1200)
    {
      g_printerr ("self-test: gave up waiting\n");
      w->d->status = 1;
    }
  w->d->polls = 0;
  w->then (w->d);
  g_free (w);
  return G_SOURCE_REMOVE;
}

/* Calls @then once @ready says so (polled every 100 ms, at most two minutes). */
static void
wait_for (Driver *d, ReadyFunc ready, void (*then) (Driver *d))
{
  Wait *w = g_new0 (Wait, 1);
  w->d = d;
  w->ready = ready;
  w->then = then;
  d->polls = 0;
  g_timeout_add (100, wait_cb, w);
}

/* Decodes finished and a few frames drawn. */
static gboolean
thumbnails_ready (Driver *d)
{
  static int settled;
  if (graft_thumbnail_n_pending () > 0 || !gtk_widget_get_mapped (GTK_WIDGET (d->child)))
    {
      settled = 0;
      return FALSE;
    }
  return ++settled >= 10;
}

/* ---- Step 1: the dataset view ---- */

static gboolean
datasets_ready (Driver *d)
{
  GraftDatasetView *v = graft_dataset_view_window_get_view (d->child);
  return !graft_dataset_view_is_busy (v);
}

static void
datasets_shot (Driver *d)
{
  GraftDatasetView *v = graft_dataset_view_window_get_view (d->child);
  guint last = graft_dataset_view_n_folders (v) - 1;
  print_thumbnails ("dataset thumbnail", graft_dataset_view_get_thumbnails (v, last));
  save (d, d->child, "dataset");
  gtk_window_destroy (g_steal_pointer (&d->child));
  next_step (d);
}

static void
datasets_scanned (Driver *d)
{
  GraftDatasetView *v = graft_dataset_view_window_get_view (d->child);
  for (guint i = 0; i < graft_dataset_view_n_folders (v); i++)
    {
      const char *title = graft_dataset_view_get_title (v, i);
      GraftDataset *ds = graft_dataset_view_get_dataset (v, i);
      if (ds == NULL)
        {
          g_print ("self-test: dataset %s error %s\n", title, graft_dataset_view_get_error (v, i));
          continue;
        }
      for (guint c = 0; c < graft_dataset_n_classes (ds); c++)
        g_print ("self-test: dataset %s class %s shows %s\n", title,
                 graft_dataset_class_name (ds, c), graft_dataset_view_get_count_text (v, i, c));
      g_print ("self-test: dataset %s skipped shows %s\n", title,
               graft_dataset_view_get_count_text (v, i, graft_dataset_n_classes (ds)));
      for (guint k = 0; k < graft_dataset_n_skipped (ds); k++)
        g_print ("self-test: dataset %s skipped %s | %s\n", title,
                 graft_dataset_skipped_path (ds, k), graft_dataset_skipped_reason (ds, k));
    }
  /* The last folder (the target), its first class. */
  guint last = graft_dataset_view_n_folders (v) - 1;
  graft_dataset_view_show (v, last, 0);
  wait_for (d, thumbnails_ready, datasets_shot);
}

static void
datasets_step (Driver *d)
{
  gboolean ok = gtk_widget_activate_action (GTK_WIDGET (d->win), "win.show-datasets", NULL);
  d->child = find_window (GRAFT_TYPE_DATASET_VIEW);
  g_print ("self-test: datasets opened: %s\n", ok && d->child ? "yes" : "no");
  if (d->child == NULL)
    {
      d->status = 1;
      next_step (d);
      return;
    }
  wait_for (d, datasets_ready, datasets_scanned);
}

/* ---- Step 2: the run inspector ---- */

static gboolean
inspector_ready (Driver *d)
{
  return !graft_run_inspector_is_busy (graft_run_inspector_window_get_inspector (d->child));
}

static gboolean
log_drawn (Driver *d)
{
  return d->polls >= 10;
}

static void
log_shot (Driver *d)
{
  save (d, d->child, "log");
  gtk_window_destroy (g_steal_pointer (&d->child));
  next_step (d);
}

static void
inspect_shot (Driver *d)
{
  GraftRunInspector *ins = graft_run_inspector_window_get_inspector (d->child);
  print_thumbnails ("gallery", graft_run_inspector_get_gallery (ins));
  save (d, d->child, "inspect");
  graft_run_inspector_show_page (ins, "log");
  g_autofree char *log = graft_run_inspector_get_log_text (ins);
  g_auto (GStrv) lines = g_strsplit (log, "\n", -1);
  guint n = 0;
  for (guint i = 0; lines[i]; i++)
    n += *lines[i] != '\0';
  g_print ("self-test: log %u lines, first: %s\n", n, lines[0] ? lines[0] : "");
  wait_for (d, log_drawn, log_shot);
}

static void
inspect_evaluated (Driver *d)
{
  GraftRunInspector *ins = graft_run_inspector_window_get_inspector (d->child);
  const GraftRunEvaluation *e = graft_run_inspector_get_evaluation (ins);
  if (e == NULL)
    {
      g_print ("self-test: inspect error %s\n", graft_run_inspector_get_error (ins));
      save (d, d->child, "inspect");
      gtk_window_destroy (g_steal_pointer (&d->child));
      next_step (d);
      return;
    }
  g_print ("self-test: inspect evaluation %s, %u images, best epoch %d, accuracy %.4f\n",
           e->from_cache ? "cached" : "computed", e->n, e->best_epoch, e->accuracy);
  for (guint r = 0; r < e->n_classes; r++)
    for (guint c = 0; c < e->n_classes; c++)
      g_print ("self-test: matrix %s %s %s\n", e->class_names[r], e->class_names[c],
               graft_run_inspector_get_cell_text (ins, r, c));
  if (d->t->inspect_cell)
    {
      guint r = 0, c = 0;
      gboolean ok = sscanf (d->t->inspect_cell, "%u,%u", &r, &c) == 2 &&
                    graft_run_inspector_select_cell (ins, r, c);
      g_print ("self-test: selected cell %s: %s\n", d->t->inspect_cell, ok ? "yes" : "no");
      d->status |= !ok;
    }
  wait_for (d, thumbnails_ready, inspect_shot);
}

static void
inspect_step (Driver *d)
{
  /* As a double-click on the run's row in the run list does; that offers only runs with a best
   * epoch, so for the others the action itself (what a damaged run folder would meet). */
  GtkWidget *list = find_type (GTK_WIDGET (d->win), GRAFT_TYPE_RUN_LIST);
  gboolean from_list = list && graft_run_list_activate (GRAFT_RUN_LIST (list), d->t->inspect);
  gboolean ok = from_list || gtk_widget_activate_action (GTK_WIDGET (d->win), "win.inspect-run",
                                                         "s", d->t->inspect);
  d->child = find_window (GRAFT_TYPE_RUN_INSPECTOR);
  g_print ("self-test: inspector of %s opened %s: %s\n", d->t->inspect,
           from_list ? "from the run list" : "by its action (not offered by the run list)",
           ok && d->child ? "yes" : "no");
  if (d->child == NULL)
    {
      d->status = 1;
      next_step (d);
      return;
    }
  wait_for (d, inspector_ready, inspect_evaluated);
}

static void
next_step (Driver *d)
{
  for (;;)
    switch (++d->step)
      {
      case 1:
        if (d->t->results_sort || d->t->copy || d->t->results_select)
          {
            results_step (d);
            return;
          }
        break;
      case 2:
        if (d->t->datasets)
          {
            datasets_step (d);
            return;
          }
        break;
      case 3:
        if (d->t->inspect)
          {
            inspect_step (d);
            return;
          }
        break;
      default:
        d->done (d->status, d->user_data);
        g_free (d);
        return;
      }
}

void
graft_inspect_self_test_start (const GraftInspectSelfTest *t, GtkWindow *win,
                               void (*done) (int status, gpointer user_data), gpointer user_data)
{
  Driver *d = g_new0 (Driver, 1);
  d->t = t;
  d->win = win;
  d->done = done;
  d->user_data = user_data;
  next_step (d);
}
