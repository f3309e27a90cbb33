/* The study's runs with their state, epoch and batch progress, speed and time left. */
#include "graft-config.h"
#include "graft-run-list.h"

#include <math.h>

#include "graft-slurm.h"

typedef struct {
  GtkWidget *state;
  GtkWidget *epoch_bar;
  GtkWidget *batch_bar;
  GtkWidget *detail;
  GtkWidget *menu;        /* the run's exports: shown once it has a best epoch */
  int        epochs;
} RunRow;

struct _GraftRunList {
  GtkBox            parent_instance;
  GtkLabel         *message_label;
  GtkListBox       *list;
  const GraftStudy *study;
  GraftStudy       *expanded; /* the runs trained: one per seed in a sweep */
  GHashTable       *rows;     /* run id → RunRow* */
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
  /* Failed, stopped or pending runs may have no finished epoch, hence no best one. */
  if (st->best_epoch > 0 && isfinite (st->best_val_acc))
    g_string_append_printf (detail, "%sbest val. acc. %.4f (epoch %d)", detail->len ? " · " : "",
                            st->best_val_acc, st->best_epoch);
  if (st->train_seconds > 0)
    {
      g_autofree char *t = graft_format_duration (st->train_seconds);
      g_string_append_printf (detail, "%s%s", detail->len ? " · " : "", t);
    }
  if (st->error)
    g_string_append_printf (detail, "%s%s", detail->len ? " · " : "", st->error);
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
  g_autoptr (GMenuItem) onnx = g_menu_item_new ("Export ONNX Model…", NULL);
  g_menu_item_set_action_and_target_value (onnx, "win.export-onnx", g_variant_new_string (run->id));
  g_menu_append_item (menu, onnx);
  row->menu = gtk_menu_button_new ();
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (row->menu), "view-more-symbolic");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (row->menu), G_MENU_MODEL (menu));
  gtk_widget_set_tooltip_text (row->menu, "Export the model of this run's best epoch");
  gtk_widget_set_valign (row->menu, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (row->menu, "flat");
  gtk_widget_set_visible (row->menu, FALSE);
  gtk_grid_attach (GTK_GRID (grid), row->menu, 3, 0, 1, 2);

  gtk_list_box_append (self->list, grid);
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
  for (guint i = 0; i < self->expanded->runs->len; i++)
    {
      const GraftStudyRun *run = self->expanded->runs->pdata[i];
      RunRow *row = g_hash_table_lookup (self->rows, run->id);
      if (row)
        show_disk_state (self, run, row, slurm ? g_hash_table_lookup (slurm, run->id) : NULL);
    }
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
  switch (ev->event)
    {
    case GRAFT_STUDY_EVENT_RUN_START:
      set_state (row, "running", "accent");
      gtk_widget_set_visible (row->batch_bar, TRUE);
      gtk_label_set_text (GTK_LABEL (row->detail), "Preparing…");
      break;
    case GRAFT_STUDY_EVENT_RUN_SKIPPED:
      set_state (row, "finished", "success");
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
          gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (row->batch_bar),
                                         t->total ? (double) t->done / t->total : 0);
          break;
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
      break;
    case GRAFT_STUDY_EVENT_RUN_FAILED:
    case GRAFT_STUDY_EVENT_RUN_BLOCKED:
      set_state (row, ev->event == GRAFT_STUDY_EVENT_RUN_FAILED ? "failed" : "blocked", "error");
      gtk_widget_set_visible (row->batch_bar, FALSE);
      gtk_label_set_text (GTK_LABEL (row->detail), ev->error ? ev->error : "");
      gtk_widget_set_tooltip_text (row->detail, ev->error);
      break;
    default:
      break;
    }
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
  gtk_widget_init_template (GTK_WIDGET (self));
}
