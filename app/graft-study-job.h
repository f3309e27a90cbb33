/* Running a study's queue on a worker thread, with progress delivered on the main loop. */
#pragma once

#include <gio/gio.h>

#include "graft-study.h"

G_BEGIN_DECLS

/* A GraftStudyProgress copied off the worker thread. */
typedef struct {
  GraftStudyEvent    event;
  char              *run_id;
  guint              index, count;
  GraftTrainProgress train;     /* RUN_TRAIN only; train.message is owned by the event */
  char              *error;     /* RUN_FAILED, RUN_BLOCKED */
} GraftStudyJobEvent;

typedef void (*GraftStudyJobProgressFunc) (const GraftStudyJobEvent *ev, gpointer user_data);

/* Runs graft_study_run_all() with graft_train_run on a snapshot of @study
 * (later edits do not reach the running queue). @progress is called on the
 * main context of the caller; in-epoch batch progress is thinned to a few
 * updates a second. @source_object is kept alive until the callback. */
void     graft_study_job_run_async  (GObject *source_object, const GraftStudy *study,
                                     const char *device, GraftStudyJobProgressFunc progress,
                                     gpointer progress_data, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean graft_study_job_run_finish (GAsyncResult *result, GraftStudySummary *summary,
                                     GError **error);

/* Self-tests: cancel the queue from the worker thread at the first finished epoch. */
void     graft_study_job_set_stop_at_epoch_end (gboolean stop);

/* Self-tests: hold the queue's worker thread at the first trainer event of run number @run
 * (from 1, in the order the runner visits them) whose stage starts with @prefix (a PREPARE
 * event's message, or "training", "validation", "epoch-end"), once the event reached the main
 * context and @paused (called there with @data) has seen it; the worker goes on after
 * graft_study_job_release() or a cancel. Several pause points may be set; each holds once. */
void     graft_study_job_add_pause (guint run, const char *prefix, GSourceFunc paused,
                                    gpointer data);
void     graft_study_job_release   (void);

G_END_DECLS
