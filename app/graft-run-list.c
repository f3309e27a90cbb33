/* The study's runs with their state, epoch and batch progress, speed and time left. */
#include "graft-config.h"
#include "graft-run-list.h"

#include <math.h>
#include <string.h>

#include "graft-slurm.h"

typedef struct {
  GtkWidget    *row;          /* the GtkListBoxRow */
  GtkWidget    *state;
  GtkWidget    *epoch_bar;
  GtkWidget    *batch_bar;
  GtkWidget    *detail;
  GtkWidget    *menu;         /* the run's exports: shown once it has a best epoch */
  int           epochs;
  GraftQueueRun queue;        /* what the queue's estimate needs of it */
} RunRow;

struct _GraftRunList {
  GtkBox            parent_instance;
  GtkLabel         *message_label;
  GtkListBox       *list;
  GtkWidget        *queue_box;    /* the queue's progress, while it runs */
  GtkWidget        *queue_label;
  GtkWidget        *queue_bar;
  const GraftStudy *study;
  GraftStudy       *expanded; /* the runs trained: one per seed in a sweep */
  GHashTable       *rows;     /* run id → RunRow* */
  /* The queue in progress */
  char             *active;       /* id of the run in training, or NULL */
  guint             active_index, active_count;
  int               active_epoch; /* the epoch in progress, from 1 */
  double            active_fraction, active_left;
  gboolean          selecting;    /* the list selects a row itself, not the user */
  gboolean          user_chose;   /* the user selected another row since the queue started */
  guint             n_outdated;   /* runs trained with other settings, at the last refresh */
};

G_DEFINE_FINAL_TYPE (GraftRunList, graft_run_list, GTK_TYPE_BOX)

char *
graft_format_duration (double seconds)
{
  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("—");
  guint64 s = (guint64) (seconds + 0.5);
  if (s >= 3600)
    return g_strdup_printf ("%" G_GUINT64_FORMAT ":%02u:%02u", s / 3600,
                            (guint) (s / 60 % 60), (guint) (s % 60));
  return g_strdup_printf ("%u:%02u", (guint) (s / 60), (guint) (s % 60));
}

/* "1,234": counts in the stage texts. */
static char *
format_count (guint64 n)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  GString *out = g_string_new (NULL);
  gsize len = strlen (digits);
  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (out, FALSE);
}

char *
graft_format_time_left (double seconds)
{
  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("estimating the time left");
  if (seconds < 60)
    return g_strdup ("less than a minute left");
  guint64 min = (guint64) (seconds / 60 + 0.5);
  if (min < 90)
    return g_strdup_printf ("about %" G_GUINT64_FORMAT " min left", min);
  return g_strdup_printf ("about %" G_GUINT64_FORMAT " h %02u min left", min / 60,
                          (guint) (min % 60));
}

static void
set_state (RunRow *row, const char *state, const char *css)
{
  gtk_label_set_text (GTK_LABEL (row->state), state);
  static const char *const classes[] = { "success", "error", "warning", "accent", NULL };
  for (guint i = 0; classes[i]; i++)
    gtk_widget_remove_css_class (row->state, classes[i]);
  if (css)
    gtk_widget_add_css_class (row->state, css);
}

static void
set_epochs (RunRow *row, int done, int epochs)
{
  row->epochs = epochs;
  g_autofree char *text = g_strdup_printf ("Epoch %d of %d", done, epochs);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (row->epoch_bar), text);
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (row->epoch_bar),
                                 epochs > 0 ? CLAMP ((double) done / epochs, 0, 1) : 0);
}

static void show_status (GraftRunList *self, RunRow *row, const GraftRunStatus *st,
                         const char *slurm);

/* @slurm: the state of the run's Slurm task while it is queued, or NULL. */
static void
show_disk_state (GraftRunList *self, const GraftStudyRun *run, RunRow *row, const char *slurm)
{
  GraftRunStatus st = { 0 };
  g_autoptr (GError) error = NULL;
  if (!graft_study_run_status (self->expanded, run, &st, &error))
    {
      set_state (row, "error", "error");
      gtk_label_set_text (GTK_LABEL (row->detail), error->message);
      return;
    }
  show_status (self, row, &st, slurm);
  self->n_outdated += st.state == GRAFT_RUN_STATE_OUTDATED;
  graft_study_queue_run_init (&row->queue, run, &st);
  graft_run_status_clear (&st);
}

/* Re-reads what the queue's estimate needs of @id's run (its epochs and their times). */
static void
read_queue_run (GraftRunList *self, const char *id, RunRow *row)
{
  const GraftStudyRun *run = self->expanded ? graft_study_find_run (self->expanded, id) : NULL;
  GraftRunStatus st = { 0 };
  if (run && graft_study_run_status (self->expanded, run, &st, NULL))
    graft_study_queue_run_init (&row->queue, run, &st);
  graft_run_status_clear (&st);
}

static void
show_status (GraftRunList *self, RunRow *row, const GraftRunStatus *st, const char *slurm)
{
  static const char *const css[] = {
    [GRAFT_RUN_STATE_PENDING] = NULL, [GRAFT_RUN_STATE_RUNNING] = "warning",
    [GRAFT_RUN_STATE_STOPPED] = "warning", [GRAFT_RUN_STATE_FINISHED] = "success",
    [GRAFT_RUN_STATE_FAILED] = "error", [GRAFT_RUN_STATE_BLOCKED] = "error",
    [GRAFT_RUN_STATE_OUTDATED] = "warning",
  };
  /* On disk "running" with no runner here means it was interrupted. */
  set_state (row, st->state == GRAFT_RUN_STATE_RUNNING ? "interrupted"
                                                      : graft_run_state_to_string (st->state),
             css[st->state]);
  g_autofree char *why = st->outdated ? g_strdup_printf ("Trained with other settings (%s): "
                                                         "Run Study trains it again",
                                                         st->outdated)
                                      : NULL;
  gtk_widget_set_tooltip_text (row->state, why);
  set_epochs (row, st->epochs_done, st->epochs > 0 ? st->epochs : self->expanded->hyper.epochs);
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (row->batch_bar), 0);
  gtk_widget_set_visible (row->batch_bar, FALSE);
  g_autoptr (GString) detail = g_string_new (NULL);
  /* The reason first: it is why the row asks for attention. */
  if (st->outdated)
    g_string_append_printf (detail, "outdated: %s", st->outdated);
  else if (st->state == GRAFT_RUN_STATE_FAILED)
    g_string_append_printf (detail, "Failed: %s", st->error ? st->error : "no reason recorded");
  else if (st->state == GRAFT_RUN_STATE_BLOCKED && st->error)
    g_string_append (detail, st->error);   /* "Run “x” is blocked: …" */
  else if (st->state == GRAFT_RUN_STATE_STOPPED || st->state == GRAFT_RUN_STATE_RUNNING)
    {
      const char *how = st->state == GRAFT_RUN_STATE_STOPPED ? "Stopped" : "Interrupted";
      if (st->epochs_done > 0)
        g_string_append_printf (detail, "%s at epoch %d", how, st->epochs_done);
      else
        g_string_append_printf (detail, "%s before its first epoch", how);
    }
  /* Failed, stopped or pending runs may have no finished epoch, hence no best one. */
  if (st->best_epoch > 0 && isfinite (st->best_val_acc))
    g_string_append_printf (detail, "%sbest val. acc. %.4f (epoch %d)", detail->len ? " · " : "",
                            st->best_val_acc, st->best_epoch);
  if (st->train_seconds > 0)
    {
      g_autofree char *t = graft_format_duration (st->train_seconds);
      g_string_append_printf (detail, "%s%s", detail->len ? " · " : "", t);
    }
  if (slurm)
    g_string_append_printf (detail, "%sSlurm: %s", detail->len ? " · " : "", slurm);
  gtk_label_set_text (GTK_LABEL (row->detail), detail->str);
  gtk_widget_set_tooltip_text (row->detail, detail->str);
  gtk_widget_set_visible (row->menu, st->best_epoch > 0);
}

static RunRow *
add_row (GraftRunList *self, const GraftStudyRun *run)
{
  RunRow *row = g_new0 (RunRow, 1);

  GtkWidget *grid = gtk_grid_new ();
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 2);
  gtk_widget_set_margin_top (grid, 4);
  gtk_widget_set_margin_bottom (grid, 4);
  gtk_widget_set_margin_start (grid, 8);
  gtk_widget_set_margin_end (grid, 8);

  g_autofree char *seed = graft_study_is_sweep (self->expanded)
                            ? g_strdup_printf (" · seed %u", run->seed) : g_strdup ("");
  g_autofree char *title = g_strdup_printf ("%s%s%s", run->name,
                                            run->from ? (run->freeze ? " · frozen" : " · trainable")
                                                      : "", seed);
  GtkWidget *name = gtk_label_new (title);
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (name, TRUE);
  gtk_widget_add_css_class (name, "heading");
  gtk_widget_set_tooltip_text (name, run->id);
  gtk_grid_attach (GTK_GRID (grid), name, 0, 0, 1, 1);

  row->state = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (row->state), 1);
  gtk_widget_add_css_class (row->state, "run-state");
  gtk_grid_attach (GTK_GRID (grid), row->state, 1, 0, 1, 1);

  row->epoch_bar = gtk_progress_bar_new ();
  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (row->epoch_bar), TRUE);
  gtk_widget_set_size_request (row->epoch_bar, 110, -1);
  gtk_widget_set_valign (row->epoch_bar, GTK_ALIGN_CENTER);
  gtk_grid_attach (GTK_GRID (grid), row->epoch_bar, 2, 0, 1, 1);

  row->detail = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (row->detail), 0);
  gtk_label_set_ellipsize (GTK_LABEL (row->detail), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (row->detail, "dim-label");
  gtk_widget_add_css_class (row->detail, "caption");
  gtk_grid_attach (GTK_GRID (grid), row->detail, 0, 1, 2, 1);

  row->batch_bar = gtk_progress_bar_new ();
  gtk_widget_set_valign (row->batch_bar, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (row->batch_bar, "Batches of the current epoch");
  gtk_grid_attach (GTK_GRID (grid), row->batch_bar, 2, 1, 1, 1);

  g_autoptr (GMenu) menu = g_menu_new ();
  g_autoptr (GMenuItem) inspect = g_menu_item_new ("_Inspect…", NULL);
  g_menu_item_set_action_and_target_value (inspect, "win.inspect-run",
                                           g_variant_new_string (run->id));
  g_menu_append_item (menu, inspect);
  g_autoptr (GMenuItem) onnx = g_menu_item_new ("Export ONNX Model…", NULL);
  g_menu_item_set_action_and_target_value (onnx, "win.export-onnx", g_variant_new_string (run->id));
  g_menu_append_item (menu, onnx);
  row->menu = gtk_menu_button_new ();
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (row->menu), "view-more-symbolic");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (row->menu), G_MENU_MODEL (menu));
  gtk_widget_set_tooltip_text (row->menu, "Inspect this run (confusion matrix, images, log) or "
                               "export the model of its best epoch");
  gtk_widget_set_valign (row->menu, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (row->menu, "flat");
  gtk_widget_set_visible (row->menu, FALSE);
  gtk_grid_attach (GTK_GRID (grid), row->menu, 3, 0, 1, 2);

  gtk_list_box_append (self->list, grid);
  row->row = gtk_widget_get_parent (grid);
  g_object_set_data_full (G_OBJECT (row->row), "run-id", g_strdup (run->id), g_free);
  g_hash_table_insert (self->rows, g_strdup (run->id), row);
  return row;
}

static void
clear_rows (GraftRunList *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);
  g_hash_table_remove_all (self->rows);
}

/* Re-expands the study (its seeds, runs or folder may have changed) and rebuilds the rows
 * when the runs trained are no longer the ones shown. */
static void
expand_study (GraftRunList *self)
{
  g_clear_pointer (&self->expanded, graft_study_free);
  if (self->study == NULL)
    return;
  self->expanded = graft_study_expand (self->study);
  gboolean same = g_hash_table_size (self->rows) == self->expanded->runs->len;
  for (guint i = 0; same && i < self->expanded->runs->len; i++)
    same = g_hash_table_contains (self->rows,
                                  ((GraftStudyRun *) self->expanded->runs->pdata[i])->id);
  if (same)
    return;
  clear_rows (self);
  for (guint i = 0; i < self->expanded->runs->len; i++)
    add_row (self, self->expanded->runs->pdata[i]);
}

void
graft_run_list_set_study (GraftRunList *self, const GraftStudy *study)
{
  clear_rows (self);
  self->study = study;
  gtk_label_set_text (self->message_label, study ? "" : "No study open");
  graft_run_list_refresh (self);
}

void
graft_run_list_refresh (GraftRunList *self)
{
  expand_study (self);
  if (self->expanded == NULL)
    return;
  /* Runs submitted to a cluster: what Slurm's queue says of their tasks. */
  g_autoptr (GHashTable) slurm = self->study->dir ? graft_slurm_queue_states (self->study->dir)
                                                  : NULL;
  self->n_outdated = 0;
  for (guint i = 0; i < self->expanded->runs->len; i++)
    {
      const GraftStudyRun *run = self->expanded->runs->pdata[i];
      RunRow *row = g_hash_table_lookup (self->rows, run->id);
      if (row)
        show_disk_state (self, run, row, slurm ? g_hash_table_lookup (slurm, run->id) : NULL);
    }
}

guint
graft_run_list_n_outdated (GraftRunList *self)
{
  return self->n_outdated;
}

char *
graft_run_list_describe (GraftRunList *self)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; self->expanded && i < self->expanded->runs->len; i++)
    {
      const GraftStudyRun *run = self->expanded->runs->pdata[i];
      RunRow *row = g_hash_table_lookup (self->rows, run->id);
      if (row == NULL)
        continue;
      const char *tip = gtk_widget_get_tooltip_text (row->state);
      g_string_append_printf (s, "%s | %s | %s | %s | %s\n", run->id,
                              gtk_label_get_text (GTK_LABEL (row->state)),
                              gtk_progress_bar_get_text (GTK_PROGRESS_BAR (row->epoch_bar)),
                              gtk_label_get_text (GTK_LABEL (row->detail)), tip ? tip : "");
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

char *
graft_run_list_describe_exports (GraftRunList *self)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; self->expanded && i < self->expanded->runs->len; i++)
    {
      const GraftStudyRun *run = self->expanded->runs->pdata[i];
      RunRow *row = g_hash_table_lookup (self->rows, run->id);
      if (row && gtk_widget_get_visible (row->menu))
        g_string_append_printf (s, "%s%s", s->len ? " " : "", run->id);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

void
graft_run_list_mark_queued (GraftRunList *self)
{
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, self->rows);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      RunRow *row = value;
      if (!g_str_equal (gtk_label_get_text (GTK_LABEL (row->state)), "finished"))
        set_state (row, "queued", NULL);
    }
  /* A new queue: the list follows its runs again. */
  self->user_chose = FALSE;
  g_clear_pointer (&self->active, g_free);
  self->active_count = 0;
  gtk_label_set_text (GTK_LABEL (self->queue_label), "Starting…");
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->queue_bar), 0);
  gtk_widget_set_visible (self->queue_box, TRUE);
}

void
graft_run_list_queue_done (GraftRunList *self)
{
  g_clear_pointer (&self->active, g_free);
  gtk_widget_set_visible (self->queue_box, FALSE);
}

/* "Run 3 of 8 · epoch 2 of 6 · about 4 min left" and the bar over the whole queue. */
static void
show_queue (GraftRunList *self)
{
  if (self->expanded == NULL || self->active_count == 0)
    return;
  guint n = self->expanded->runs->len;
  g_autofree GraftQueueRun *runs = g_new0 (GraftQueueRun, MAX (n, 1));
  int active = -1, epochs = 0;
  for (guint i = 0; i < n; i++)
    {
      const GraftStudyRun *run = self->expanded->runs->pdata[i];
      RunRow *row = g_hash_table_lookup (self->rows, run->id);
      if (row == NULL)
        continue;
      runs[i] = row->queue;
      if (self->active && g_str_equal (run->id, self->active))
        {
          active = (int) i;
          epochs = row->queue.epochs;
        }
    }
  GraftQueueEstimate e;
  graft_study_queue_estimate (runs, n, active, self->active_fraction, self->active_left, &e);
  g_autofree char *left = graft_format_time_left (e.seconds_left);
  g_autofree char *text =
    active >= 0 ? g_strdup_printf ("Run %u of %u · epoch %d of %d · %s", self->active_index + 1,
                                   self->active_count, self->active_epoch, epochs, left)
                : g_strdup_printf ("Run %u of %u · %s", MIN (self->active_index + 1,
                                                             self->active_count),
                                   self->active_count, left);
  gtk_label_set_text (GTK_LABEL (self->queue_label), text);
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->queue_bar), e.fraction);
  g_autofree char *tip = g_strdup_printf ("%.0f of %.0f epochs of the queue trained",
                                          floor (e.epochs_done), e.epochs_total);
  gtk_widget_set_tooltip_text (self->queue_bar, tip);
}

/* Whether @row lies wholly inside the scrolled window's view. */
static gboolean
row_in_view (GraftRunList *self, GtkWidget *row, double *top, double *bottom)
{
  GtkWidget *sw = gtk_widget_get_ancestor (GTK_WIDGET (self->list), GTK_TYPE_SCROLLED_WINDOW);
  double x = 0, y = 0;
  *top = *bottom = 0;   /* unknown while the list is not laid out (another tab shows) */
  if (sw == NULL ||
      !gtk_widget_translate_coordinates (row, GTK_WIDGET (self->list), 0, 0, &x, &y))
    return FALSE;
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw));
  *top = y;
  *bottom = y + gtk_widget_get_height (row);
  double v = gtk_adjustment_get_value (adj);
  return *top >= v - 0.5 && *bottom <= v + gtk_adjustment_get_page_size (adj) + 0.5;
}

/* Selects the active run's row and scrolls to it, unless the user chose another row. */
static void
follow (GraftRunList *self, RunRow *row)
{
  if (self->user_chose)
    return;
  self->selecting = TRUE;
  gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (row->row));
  self->selecting = FALSE;
  double top, bottom;
  if (!row_in_view (self, row->row, &top, &bottom) && bottom > top)
    {
      GtkWidget *sw = gtk_widget_get_ancestor (GTK_WIDGET (self->list), GTK_TYPE_SCROLLED_WINDOW);
      if (sw)
        gtk_adjustment_clamp_page (
          gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw)), top, bottom);
    }
}

static void
row_selected_cb (GtkListBox *list, GtkListBoxRow *row, GraftRunList *self)
{
  if (!self->selecting && row != NULL && self->active_count > 0)
    self->user_chose = TRUE;
}

gboolean
graft_run_list_activate (GraftRunList *self, const char *run_id)
{
  RunRow *r = run_id ? g_hash_table_lookup (self->rows, run_id) : NULL;
  /* The row's menu (Inspect…, Export ONNX Model…) shows once the run has a best epoch. */
  return r && gtk_widget_get_visible (r->menu) &&
         gtk_widget_activate_action (GTK_WIDGET (self), "win.inspect-run", "s", run_id);
}

static void
row_activated_cb (GtkListBox *list, GtkListBoxRow *row, GraftRunList *self)
{
  graft_run_list_activate (self, g_object_get_data (G_OBJECT (row), "run-id"));
}

void
graft_run_list_select (GraftRunList *self, const char *run_id)
{
  RunRow *row = g_hash_table_lookup (self->rows, run_id);
  if (row)
    gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (row->row));
}

char *
graft_run_list_describe_queue (GraftRunList *self)
{
  GtkListBoxRow *sel = gtk_list_box_get_selected_row (self->list);
  const char *id = sel ? g_object_get_data (G_OBJECT (sel), "run-id") : NULL;
  double top, bottom;
  gboolean seen = sel && row_in_view (self, GTK_WIDGET (sel), &top, &bottom);
  return g_strdup_printf ("%s | %s | %.3f | selected %s | %s",
                          gtk_widget_get_visible (self->queue_box) ? "shown" : "hidden",
                          gtk_label_get_text (GTK_LABEL (self->queue_label)),
                          gtk_progress_bar_get_fraction (GTK_PROGRESS_BAR (self->queue_bar)),
                          id ? id : "none", sel ? (seen ? "in view" : "out of view") : "-");
}

const char *
graft_run_list_get_message (GraftRunList *self)
{
  return gtk_label_get_text (self->message_label);
}

void
graft_run_list_set_message (GraftRunList *self, const char *message)
{
  gtk_label_set_text (self->message_label, message ? message : "");
}

void
graft_run_list_update (GraftRunList *self, const GraftStudyJobEvent *ev)
{
  RunRow *row = ev->run_id ? g_hash_table_lookup (self->rows, ev->run_id) : NULL;
  if (row == NULL)
    return;
  const GraftTrainProgress *t = &ev->train;
  self->active_count = ev->count;
  self->active_index = ev->index;
  switch (ev->event)
    {
    case GRAFT_STUDY_EVENT_RUN_START:
      set_state (row, "running", "accent");
      gtk_widget_set_visible (row->batch_bar, TRUE);
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (row->batch_bar), 0);
      gtk_label_set_text (GTK_LABEL (row->detail), "Preparing…");
      gtk_widget_set_tooltip_text (row->detail, NULL);
      g_free (self->active);
      self->active = g_strdup (ev->run_id);
      read_queue_run (self, ev->run_id, row);
      self->active_epoch = row->queue.epochs_done + 1;
      self->active_fraction = 0;
      self->active_left = NAN;
      {
        const GraftStudyRun *run = graft_study_find_run (self->expanded, ev->run_id);
        g_autofree char *msg = g_strdup_printf ("Training “%s”", run ? run->name : ev->run_id);
        graft_run_list_set_message (self, msg);
      }
      follow (self, row);
      break;
    case GRAFT_STUDY_EVENT_RUN_SKIPPED:
      set_state (row, "finished", "success");
      row->queue.skip = TRUE;
      break;
    case GRAFT_STUDY_EVENT_RUN_OUTDATED:
      set_state (row, "outdated", "warning");
      gtk_label_set_text (GTK_LABEL (row->detail), ev->error ? ev->error : "");
      gtk_widget_set_tooltip_text (row->detail, ev->error);
      gtk_widget_set_tooltip_text (row->state, ev->error);
      break;
    case GRAFT_STUDY_EVENT_RUN_TRAIN:
      if (t->stage == GRAFT_TRAIN_STAGE_PREPARE)
        {
          /* What the trainer does before the first batch, with a count where it has one. */
          g_autofree char *done = format_count (t->done), *total = format_count (t->total);
          g_autofree char *text = t->total ? g_strdup_printf ("%s: %s of %s", t->message ? t->message : "Preparing", done, total)
                                           : g_strdup (t->message ? t->message : "Preparing…");
          gtk_label_set_text (GTK_LABEL (row->detail), text);
          gtk_widget_set_tooltip_text (row->detail, text);
          gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (row->batch_bar),
                                         t->total ? CLAMP ((double) t->done / t->total, 0, 1) : 0);
          gtk_widget_set_tooltip_text (row->batch_bar, t->total ? "Preparation" : NULL);
          break;
        }
      gtk_widget_set_tooltip_text (row->batch_bar, "Batches of the current epoch");
      gtk_widget_set_tooltip_text (row->detail, NULL);
      self->active_epoch = t->epoch;
      self->active_fraction = t->stage == GRAFT_TRAIN_STAGE_TRAIN && t->total
                                ? CLAMP ((double) t->done / t->total, 0, 1)
                                : t->stage == GRAFT_TRAIN_STAGE_TRAIN ? 0 : 1;
      self->active_left = t->stage == GRAFT_TRAIN_STAGE_TRAIN ? t->eta_seconds
                          : t->stage == GRAFT_TRAIN_STAGE_VALIDATE ? 0 : NAN;
      if (t->stage == GRAFT_TRAIN_STAGE_EPOCH_END)
        {
          /* Its epoch is committed: the measured time joins the estimate. */
          read_queue_run (self, ev->run_id, row);
          self->active_epoch = MIN (t->epoch + 1, MAX (t->epochs, 1));
          self->active_fraction = 0;
          self->active_left = NAN;
        }
      set_epochs (row, t->stage == GRAFT_TRAIN_STAGE_EPOCH_END ? t->epoch : t->epoch - 1,
                  t->epochs);
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (row->batch_bar),
                                     t->total ? CLAMP ((double) t->done / t->total, 0, 1) : 0);
      {
        g_autofree char *eta = graft_format_duration (t->eta_seconds);
        g_autofree char *text =
          t->stage == GRAFT_TRAIN_STAGE_EPOCH_END
            ? g_strdup_printf ("epoch %d: val. acc. %.4f · val. loss %.4f · %.0f images/s",
                               t->epoch, t->val_acc, t->val_loss, t->images_per_second)
            : g_strdup_printf ("%s batch %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
                               " · loss %.4f · acc. %.4f · %.0f images/s · epoch ETA %s",
                               t->stage == GRAFT_TRAIN_STAGE_VALIDATE ? "validation" : "training",
                               t->done, t->total, t->loss, t->acc, t->images_per_second, eta);
        gtk_label_set_text (GTK_LABEL (row->detail), text);
      }
      if (t->stage == GRAFT_TRAIN_STAGE_EPOCH_END)
        gtk_widget_set_visible (row->menu, TRUE);   /* it has a best epoch now */
      break;
    case GRAFT_STUDY_EVENT_RUN_FINISHED:
      if (self->expanded)
        {
          const GraftStudyRun *run = graft_study_find_run (self->expanded, ev->run_id);
          if (run)
            show_disk_state (self, run, row, NULL);
        }
      row->queue.skip = TRUE;
      g_clear_pointer (&self->active, g_free);
      break;
    case GRAFT_STUDY_EVENT_RUN_FAILED:
    case GRAFT_STUDY_EVENT_RUN_BLOCKED:
      {
        gboolean failed = ev->event == GRAFT_STUDY_EVENT_RUN_FAILED;
        g_autofree char *text = failed ? g_strdup_printf ("Failed: %s", ev->error ? ev->error : "")
                                       : g_strdup (ev->error ? ev->error : "");
        set_state (row, failed ? "failed" : "blocked", "error");
        gtk_widget_set_visible (row->batch_bar, FALSE);
        gtk_label_set_text (GTK_LABEL (row->detail), text);
        gtk_widget_set_tooltip_text (row->detail, text);
        row->queue.skip = TRUE;
        if (g_strcmp0 (self->active, ev->run_id) == 0)
          g_clear_pointer (&self->active, g_free);
      }
      break;
    default:
      break;
    }
  show_queue (self);
}

static void
graft_run_list_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), GRAFT_TYPE_RUN_LIST);
  G_OBJECT_CLASS (graft_run_list_parent_class)->dispose (object);
}

static void
graft_run_list_finalize (GObject *object)
{
  g_hash_table_unref (GRAFT_RUN_LIST (object)->rows);
  g_free (GRAFT_RUN_LIST (object)->active);
  g_clear_pointer (&GRAFT_RUN_LIST (object)->expanded, graft_study_free);
  G_OBJECT_CLASS (graft_run_list_parent_class)->finalize (object);
}

static void
graft_run_list_class_init (GraftRunListClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = graft_run_list_dispose;
  G_OBJECT_CLASS (klass)->finalize = graft_run_list_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/graft/Graft/ui/graft-run-list.ui");
  gtk_widget_class_bind_template_child (widget_class, GraftRunList, message_label);
  gtk_widget_class_bind_template_child (widget_class, GraftRunList, list);
}

static void
graft_run_list_init (GraftRunList *self)
{
  self->rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->active_left = NAN;
  gtk_widget_init_template (GTK_WIDGET (self));

  /* The queue's progress, under the message while a study runs. */
  self->queue_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  gtk_widget_set_margin_start (self->queue_box, 8);
  gtk_widget_set_margin_end (self->queue_box, 8);
  gtk_widget_set_margin_bottom (self->queue_box, 6);
  self->queue_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->queue_label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (self->queue_label), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (self->queue_label, "numeric");
  self->queue_bar = gtk_progress_bar_new ();
  gtk_box_append (GTK_BOX (self->queue_box), self->queue_label);
  gtk_box_append (GTK_BOX (self->queue_box), self->queue_bar);
  gtk_widget_set_visible (self->queue_box, FALSE);
  gtk_widget_insert_after (self->queue_box, GTK_WIDGET (self), GTK_WIDGET (self->message_label));

  /* The active run's row is selected; a row the user selects stays so. */
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_SINGLE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "run-list");
  g_signal_connect (self->list, "row-selected", G_CALLBACK (row_selected_cb), self);
  g_signal_connect (self->list, "row-activated", G_CALLBACK (row_activated_cb), self);
}
