/* The study's runs with their state, epoch and batch progress, speed and time left. */
#pragma once

#include <gtk/gtk.h>

#include "graft-study.h"
#include "graft-study-job.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_RUN_LIST (graft_run_list_get_type ())
G_DECLARE_FINAL_TYPE (GraftRunList, graft_run_list, GRAFT, RUN_LIST, GtkBox)

/* @study is borrowed; rows show the state found on disk. */
void graft_run_list_set_study    (GraftRunList *self, const GraftStudy *study);
/* Re-reads every run's state from disk. */
void graft_run_list_refresh      (GraftRunList *self);
/* Marks the runs that are not finished as queued. */
void graft_run_list_mark_queued  (GraftRunList *self);
void graft_run_list_update       (GraftRunList *self, const GraftStudyJobEvent *ev);
void graft_run_list_set_message  (GraftRunList *self, const char *message);
const char *graft_run_list_get_message (GraftRunList *self);
/* One line per run, "id | state | epochs | detail | state tooltip", for self-tests. */
char *graft_run_list_describe    (GraftRunList *self);
/* The ids of the runs whose row offers an export (they have a best epoch), space-separated. */
char *graft_run_list_describe_exports (GraftRunList *self);

/* "1:05:09", "4:02", "0:07". */
char *graft_format_duration (double seconds);

G_END_DECLS
