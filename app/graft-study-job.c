/* Running a study's queue on a worker thread, with progress delivered on the main loop. */
#include "graft-config.h"
#include "graft-study-job.h"

typedef struct {
  GraftStudy                *study;
  char                      *device;
  GraftStudyJobProgressFunc  progress;
  gpointer                   progress_data;
  GMainContext              *context;
  GObject                   *source;    /* ref: the receiver of the events */
  gint64                     last_batch_us;
  GraftStudySummary          summary;
  GCancellable              *cancellable;   /* ref, or NULL */
} Job;

static gboolean stop_at_epoch_end;

/* Self-test pause points. */
typedef struct {
  guint       run;
  char       *prefix;
  GSourceFunc paused;
  gpointer    data;
  gboolean    used;
} Pause;

static GMutex  pause_lock;
static GCond   pause_cond;
static GArray *pauses;      /* Pause */
static gboolean pause_released;

void
graft_study_job_add_pause (guint run, const char *prefix, GSourceFunc paused, gpointer data)
{
  g_mutex_lock (&pause_lock);
  if (pauses == NULL)
    pauses = g_array_new (FALSE, TRUE, sizeof (Pause));
  Pause p = { run, g_strdup (prefix), paused, data, FALSE };
  g_array_append_val (pauses, p);
  g_mutex_unlock (&pause_lock);
}

void
graft_study_job_release (void)
{
  g_mutex_lock (&pause_lock);
  pause_released = TRUE;
  g_cond_broadcast (&pause_cond);
  g_mutex_unlock (&pause_lock);
}

static const char *
stage_text (const GraftTrainProgress *t)
{
  switch (t->stage)
    {
    case GRAFT_TRAIN_STAGE_PREPARE:   return t->message ? t->message : "";
    case GRAFT_TRAIN_STAGE_TRAIN:     return "training";
    case GRAFT_TRAIN_STAGE_VALIDATE:  return "validation";
    case GRAFT_TRAIN_STAGE_EPOCH_END: return "epoch-end";
    default:                          return "";
    }
}

/* The pause point @p matches, marked used, or NULL. */
static Pause *
take_pause (const GraftStudyProgress *p)
{
  Pause *hit = NULL;
  g_mutex_lock (&pause_lock);
  for (guint i = 0; pauses && p->event == GRAFT_STUDY_EVENT_RUN_TRAIN && i < pauses->len; i++)
    {
      Pause *q = &g_array_index (pauses, Pause, i);
      if (!q->used && q->run == p->index + 1 && g_str_has_prefix (stage_text (p->train), q->prefix))
        {
          q->used = TRUE;
          pause_released = FALSE;
          hit = q;
          break;
        }
    }
  g_mutex_unlock (&pause_lock);
  return hit;
}

/* Holds the worker until released or cancelled. */
static void
hold (GCancellable *cancellable)
{
  g_mutex_lock (&pause_lock);
  while (!pause_released && !g_cancellable_is_cancelled (cancellable))
    g_cond_wait_until (&pause_cond, &pause_lock, g_get_monotonic_time () + 20 * G_TIME_SPAN_MILLISECOND);
  g_mutex_unlock (&pause_lock);
}

void
graft_study_job_set_stop_at_epoch_end (gboolean stop)
{
  stop_at_epoch_end = stop;
}

static void
job_clear (Job *job)
{
  graft_study_free (job->study);
  g_free (job->device);
  g_main_context_unref (job->context);
  g_clear_object (&job->source);
  g_clear_object (&job->cancellable);
}

static void
job_release (Job *job)
{
  g_atomic_rc_box_release_full (job, (GDestroyNotify) job_clear);
}

typedef struct {
  Job               *job;       /* ref */
  GraftStudyJobEvent ev;
} Dispatch;

static void
dispatch_free (Dispatch *d)
{
  g_free (d->ev.run_id);
  g_free (d->ev.error);
  g_free ((char *) d->ev.train.message);
  job_release (d->job);
  g_free (d);
}

static gboolean
dispatch_cb (gpointer data)
{
  Dispatch *d = data;
  d->job->progress (&d->ev, d->job->progress_data);
  return G_SOURCE_REMOVE;
}

static void
progress_thread_cb (const GraftStudyProgress *p, gpointer user_data)
{
  Job *job = user_data;
  /* Cancelled on this thread, so the run stops in its next epoch whatever the main loop does. */
  if (stop_at_epoch_end && job->cancellable && p->event == GRAFT_STUDY_EVENT_RUN_TRAIN &&
      p->train->stage == GRAFT_TRAIN_STAGE_EPOCH_END)
    g_cancellable_cancel (job->cancellable);
  if (job->progress == NULL)
    return;
  Pause *pause = take_pause (p);
  /* Batches come hundreds a second on a GPU; the window needs a few. */
  if (pause == NULL && p->event == GRAFT_STUDY_EVENT_RUN_TRAIN &&
      p->train->stage != GRAFT_TRAIN_STAGE_EPOCH_END)
    {
      gint64 now = g_get_monotonic_time ();
      if (now - job->last_batch_us < 150000 && p->train->done != p->train->total)
        return;
      job->last_batch_us = now;
    }
  Dispatch *d = g_new0 (Dispatch, 1);
  d->job = g_atomic_rc_box_acquire (job);
  d->ev.event = p->event;
  d->ev.run_id = g_strdup (p->run ? p->run->id : NULL);
  d->ev.index = p->index;
  d->ev.count = p->count;
  if (p->train)
    {
      d->ev.train = *p->train;
      d->ev.train.message = g_strdup (p->train->message);
    }
  d->ev.error = p->error ? g_strdup (p->error->message) : g_strdup (p->message);
  g_main_context_invoke_full (job->context, G_PRIORITY_DEFAULT, dispatch_cb, d,
                              (GDestroyNotify) dispatch_free);
  if (pause)
    {
      /* After the event, on the same context: the window shows it when @paused runs. */
      g_main_context_invoke (job->context, pause->paused, pause->data);
      hold (job->cancellable);
    }
}

static void
run_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Job *job = task_data;
  g_autoptr (GError) error = NULL;
  if (!graft_study_run_all (job->study, graft_train_run, job->device, NULL, 0, progress_thread_cb,
                            job, cancellable, &job->summary, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
graft_study_job_run_async (GObject *source_object, const GraftStudy *study, const char *device,
                           GraftStudyJobProgressFunc progress, gpointer progress_data,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  /* Shared by the task and each queued event, so that late events still
   * find their receiver alive. */
  Job *job = g_atomic_rc_box_new0 (Job);
  job->study = graft_study_copy (study);
  job->device = g_strdup (device);
  job->progress = progress;
  job->progress_data = progress_data;
  job->context = g_main_context_ref_thread_default ();
  job->source = g_object_ref (source_object);
  job->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  g_autoptr (GTask) task = g_task_new (source_object, cancellable, callback, user_data);
  g_task_set_source_tag (task, graft_study_job_run_async);
  g_task_set_task_data (task, job, (GDestroyNotify) job_release);
  g_task_run_in_thread (task, run_thread);
}

gboolean
graft_study_job_run_finish (GAsyncResult *result, GraftStudySummary *summary, GError **error)
{
  GTask *task = G_TASK (result);
  Job *job = g_task_get_task_data (task);
  if (summary)
    *summary = job->summary;
  return g_task_propagate_boolean (task, error);
}
