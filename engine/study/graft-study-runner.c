/* The study runner: trains a study's runs in dependency order, resuming, skipping and blocking. */
#include "graft-study.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <math.h>

#include "graft-error.h"

typedef enum {
  OUTCOME_NONE,       /* not visited */
  OUTCOME_FINISHED,
  OUTCOME_FAILED,
  OUTCOME_BLOCKED,
} Outcome;

typedef struct {
  GraftStudyProgressFunc progress;
  gpointer               user_data;
  const GraftStudyRun   *run;
  guint                  index, count;
} Relay;

static void
emit_full (Relay *r, GraftStudyEvent ev, const GraftTrainProgress *train, const GError *error,
           const char *message)
{
  if (r->progress == NULL)
    return;
  GraftStudyProgress p = { .event = ev, .run = r->run, .index = r->index, .count = r->count,
                           .train = train, .error = error, .message = message };
  r->progress (&p, r->user_data);
}

static void
emit (Relay *r, GraftStudyEvent ev, const GraftTrainProgress *train, const GError *error)
{
  emit_full (r, ev, train, error, NULL);
}

static void
train_progress_cb (const GraftTrainProgress *p, gpointer user_data)
{
  emit (user_data, GRAFT_STUDY_EVENT_RUN_TRAIN, p, NULL);
}

/* Runs in dependency order: a run after the one it transfers from, otherwise
 * in study order. validate() has ruled out cycles and dangling links. */
static GPtrArray *
visit_order (const GraftStudy *study)
{
  GPtrArray *order = g_ptr_array_new ();
  g_autoptr (GHashTable) placed = g_hash_table_new (g_str_hash, g_str_equal);
  while (order->len < study->runs->len)
    {
      guint before = order->len;
      for (guint i = 0; i < study->runs->len; i++)
        {
          GraftStudyRun *r = study->runs->pdata[i];
          if (g_hash_table_contains (placed, r->id))
            continue;
          if (r->from && graft_study_find_run (study, r->from) &&
              !g_hash_table_contains (placed, r->from))
            continue;
          g_ptr_array_add (order, r);
          g_hash_table_add (placed, r->id);
        }
      if (order->len == before)   /* a cycle slipped through: keep the rest in study order */
        for (guint i = 0; i < study->runs->len; i++)
          if (!g_hash_table_contains (placed, ((GraftStudyRun *) study->runs->pdata[i])->id))
            {
              g_ptr_array_add (order, study->runs->pdata[i]);
              g_hash_table_add (placed, ((GraftStudyRun *) study->runs->pdata[i])->id);
            }
    }
  return order;
}

gboolean
graft_study_run_all (const GraftStudy *study, GraftStudyTrainFunc train, const char *device,
                     const char *only, GraftStudyRunFlags flags,
                     GraftStudyProgressFunc progress, gpointer user_data,
                     GCancellable *cancellable, GraftStudySummary *summary, GError **error)
{
  g_return_val_if_fail (train != NULL, FALSE);
  g_return_val_if_fail (study->dir != NULL, FALSE);
  GraftStudySummary sum = { 0 };
  g_autofree char *what = g_build_filename (study->dir, "study.json", NULL);
  if (!graft_study_validate (study, what, error))
    return FALSE;
  /* A seed sweep trains every run once per seed. */
  g_autoptr (GraftStudy) expanded = graft_study_expand (study);
  study = expanded;
  if (only && graft_study_find_run (study, only) == NULL)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s has no run “%s”", what, only);
      return FALSE;
    }

  g_autoptr (GPtrArray) order = visit_order (study);
  if (only)
    {
      g_ptr_array_set_size (order, 0);
      g_ptr_array_add (order, graft_study_find_run (study, only));
    }
  g_autoptr (GHashTable) outcome = g_hash_table_new (g_str_hash, g_str_equal);
  Relay relay = { .progress = progress, .user_data = user_data, .count = order->len };

  for (guint i = 0; i < order->len; i++)
    {
      const GraftStudyRun *run = order->pdata[i];
      relay.run = run;
      relay.index = i;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      GraftRunStatus st = { 0 };
      g_autoptr (GError) serr = NULL;
      if (!graft_study_run_status (study, run, &st, &serr))
        {
          /* A malformed run.json: report it rather than overwrite the run. */
          sum.failed++;
          g_hash_table_insert (outcome, run->id, GINT_TO_POINTER (OUTCOME_FAILED));
          emit (&relay, GRAFT_STUDY_EVENT_RUN_FAILED, NULL, serr);
          continue;
        }
      GraftRunState state = st.state;
      g_autofree char *outdated = g_steal_pointer (&st.outdated);
      g_autofree char *why = g_steal_pointer (&st.error);
      graft_run_status_clear (&st);
      if (graft_study_run_is_checkpoint (run) && state != GRAFT_RUN_STATE_FINISHED)
        {
          /* A checkpoint run trains nothing: without its file there is nothing to start. */
          g_autoptr (GError) cerr = g_error_new (GRAFT_ERROR, GRAFT_ERROR_IO, "Run “%s”: %s",
                                                 run->id, why ? why : "no checkpoint");
          sum.failed++;
          g_hash_table_insert (outcome, run->id, GINT_TO_POINTER (OUTCOME_FAILED));
          emit (&relay, GRAFT_STUDY_EVENT_RUN_FAILED, NULL, cerr);
          continue;
        }
      if (state == GRAFT_RUN_STATE_FINISHED)
        {
          sum.skipped++;
          g_hash_table_insert (outcome, run->id, GINT_TO_POINTER (OUTCOME_FINISHED));
          emit (&relay, GRAFT_STUDY_EVENT_RUN_SKIPPED, NULL, NULL);
          continue;
        }
      if (state == GRAFT_RUN_STATE_OUTDATED)
        {
          /* Its results belong to other settings: keep them aside, never reuse them. */
          g_autofree char *dir = graft_study_run_dir (study, run);
          g_autofree char *moved = NULL;
          g_autoptr (GError) merr = NULL;
          if (!graft_run_retire (dir, flags & GRAFT_STUDY_DISCARD_OUTDATED, &moved, &merr))
            {
              sum.failed++;
              g_hash_table_insert (outcome, run->id, GINT_TO_POINTER (OUTCOME_FAILED));
              emit (&relay, GRAFT_STUDY_EVENT_RUN_FAILED, NULL, merr);
              continue;
            }
          g_autofree char *msg = moved
                                   ? g_strdup_printf ("Run “%s” is outdated (%s): its old folder "
                                                      "is now %s", run->id, outdated, moved)
                                   : g_strdup_printf ("Run “%s” is outdated (%s): its old folder "
                                                      "was deleted", run->id, outdated);
          sum.outdated++;
          emit_full (&relay, GRAFT_STUDY_EVENT_RUN_OUTDATED, NULL, NULL, msg);
        }

      if (run->from)
        {
          const GraftStudyRun *dep = graft_study_find_run (study, run->from);
          Outcome o = GPOINTER_TO_INT (g_hash_table_lookup (outcome, dep->id));
          g_autoptr (GError) berr = NULL;
          if (o == OUTCOME_FAILED || o == OUTCOME_BLOCKED)
            berr = g_error_new (GRAFT_ERROR, GRAFT_ERROR_FAILED,
                                "Run “%s” is blocked: the run it transfers from, “%s”, %s",
                                run->id, dep->id, o == OUTCOME_FAILED ? "failed" : "is blocked");
          else if (o == OUTCOME_NONE)
            {
              /* Not visited now (--only): its weights must already be there. */
              GraftRunStatus ds = { 0 };
              gboolean done = graft_study_run_status (study, dep, &ds, NULL) &&
                              ds.state == GRAFT_RUN_STATE_FINISHED;
              graft_run_status_clear (&ds);
              if (!done)
                berr = g_error_new (GRAFT_ERROR, GRAFT_ERROR_FAILED,
                                    "Run “%s” is blocked: train “%s” first, it transfers from it",
                                    run->id, dep->id);
            }
          if (berr)
            {
              sum.blocked++;
              g_hash_table_insert (outcome, run->id, GINT_TO_POINTER (OUTCOME_BLOCKED));
              emit (&relay, GRAFT_STUDY_EVENT_RUN_BLOCKED, NULL, berr);
              continue;
            }
        }

      GraftTrainConfig *cfg = graft_study_run_config (study, run, device);
      emit (&relay, GRAFT_STUDY_EVENT_RUN_START, NULL, NULL);
      g_autoptr (GError) terr = NULL;
      gboolean ok = train (cfg, train_progress_cb, &relay, cancellable, &terr);
      if (!ok && terr == NULL)
        terr = g_error_new (GRAFT_ERROR, GRAFT_ERROR_FAILED, "training run “%s” failed", run->id);
      if (!ok && (g_cancellable_is_cancelled (cancellable) ||
                  g_error_matches (terr, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
                  g_error_matches (terr, GRAFT_ERROR, GRAFT_ERROR_CANCELLED)))
        {
          graft_train_config_free (cfg);
          if (summary)
            *summary = sum;
          g_propagate_error (error, g_steal_pointer (&terr));
          return FALSE;
        }
      if (ok)
        {
          sum.trained++;
          g_hash_table_insert (outcome, run->id, GINT_TO_POINTER (OUTCOME_FINISHED));
          emit (&relay, GRAFT_STUDY_EVENT_RUN_FINISHED, NULL, NULL);
        }
      else
        {
          GraftRunStatus after = { 0 };
          gboolean recorded = graft_study_run_status (study, run, &after, NULL) &&
                              after.state == GRAFT_RUN_STATE_FAILED && after.error != NULL;
          graft_run_status_clear (&after);
          /* A run another process trains is left to it. */
          if (!recorded && !g_error_matches (terr, G_IO_ERROR, G_IO_ERROR_BUSY))
            graft_run_record_failure (cfg->out_dir, terr->message);
          sum.failed++;
          g_hash_table_insert (outcome, run->id, GINT_TO_POINTER (OUTCOME_FAILED));
          emit (&relay, GRAFT_STUDY_EVENT_RUN_FAILED, NULL, terr);
        }
      graft_train_config_free (cfg);
    }

  if (summary)
    *summary = sum;
  if (sum.failed > 0 || sum.blocked > 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FAILED,
                   "%s: %u run%s failed and %u %s blocked; the others are finished", what,
                   sum.failed, sum.failed == 1 ? "" : "s", sum.blocked,
                   sum.blocked == 1 ? "was" : "were");
      return FALSE;
    }
  return TRUE;
}

/* ---- the queue's time left ---- */

void
graft_study_queue_run_init (GraftQueueRun *q, const GraftStudyRun *run, const GraftRunStatus *st)
{
  memset (q, 0, sizeof *q);
  q->data = run->data;
  q->epochs = st->epochs;
  q->epochs_done = st->state == GRAFT_RUN_STATE_OUTDATED ? 0 : MIN (st->epochs_done, st->epochs);
  q->skip = st->state == GRAFT_RUN_STATE_FINISHED;
  double sum = 0;
  guint n = 0;
  for (guint i = 0; st->metrics && i < st->metrics->len; i++)
    {
      double s = g_array_index (st->metrics, GraftEpochMetrics, i).seconds;
      if (isfinite (s) && s > 0)
        {
          sum += s;
          n++;
        }
    }
  q->epoch_seconds = n ? sum / n : 0;
}

/* Mean epoch time of the runs that have one, on @data only unless @data < 0. */
static double
mean_epoch_seconds (const GraftQueueRun *runs, guint n, int data)
{
  double sum = 0;
  guint k = 0;
  for (guint i = 0; i < n; i++)
    if (runs[i].epoch_seconds > 0 && (data < 0 || (int) runs[i].data == data))
      {
        sum += runs[i].epoch_seconds;
        k++;
      }
  return k ? sum / k : NAN;
}

void
graft_study_queue_estimate (const GraftQueueRun *runs, guint n, int active,
                            double active_fraction, double active_epoch_left,
                            GraftQueueEstimate *out)
{
  memset (out, 0, sizeof *out);
  double f = isfinite (active_fraction) ? CLAMP (active_fraction, 0, 1) : 0;
  /* Before any epoch ended: the trainer's view of the epoch in progress. */
  double active_epoch = NAN;
  if (active >= 0 && (guint) active < n && isfinite (active_epoch_left) && f > 0 && f < 1)
    active_epoch = active_epoch_left / (1 - f);
  double left = 0;
  for (guint i = 0; i < n; i++)
    {
      const GraftQueueRun *q = &runs[i];
      int done = CLAMP (q->epochs_done, 0, MAX (q->epochs, 0));
      if (q->skip)
        {
          out->epochs_done += done;
          out->epochs_total += done;
          continue;
        }
      out->epochs_total += MAX (q->epochs, 0);
      out->epochs_done += done;
      int remaining = MAX (q->epochs, 0) - done;
      if (remaining <= 0)
        continue;
      double s = q->epoch_seconds > 0 ? q->epoch_seconds : mean_epoch_seconds (runs, n, q->data);
      if (!isfinite (s))
        s = mean_epoch_seconds (runs, n, -1);
      if (!isfinite (s))
        s = active_epoch;
      if ((int) i == active)
        {
          out->epochs_done += f;
          double current = isfinite (active_epoch_left) ? active_epoch_left : (1 - f) * s;
          left += current + (remaining > 1 ? (remaining - 1) * s : 0);
        }
      else
        left += remaining * s;
    }
  out->fraction = out->epochs_total > 0 ? CLAMP (out->epochs_done / out->epochs_total, 0, 1) : 0;
  out->seconds_left = left;   /* NAN when some remaining epoch had no measure at all */
}
