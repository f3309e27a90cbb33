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
/* How many runs the last refresh found outdated (trained with settings since changed). */
guint graft_run_list_n_outdated  (GraftRunList *self);
/* Marks the runs that are not finished as queued and shows the queue's progress ("Run 3 of 8 ·
 * epoch 2 of 6 · about 4 min left", a bar over all its epochs) until graft_run_list_queue_done().
 * While the queue runs the list selects the active run's row and scrolls to it, unless the user
 * selected another row since the queue started. */
void graft_run_list_mark_queued  (GraftRunList *self);
void graft_run_list_queue_done   (GraftRunList *self);
/* Selects @run_id's row, as a click does. */
void graft_run_list_select       (GraftRunList *self, const char *run_id);
/* What a double-click or Enter on @run_id's row does: opens the run's inspector (win.inspect-run)
 * once the run has a best epoch; FALSE when it has none yet. */
gboolean graft_run_list_activate (GraftRunList *self, const char *run_id);
/* "shown|hidden | queue text | fraction | selected ID | in view|out of view", for self-tests. */
char *graft_run_list_describe_queue (GraftRunList *self);
void graft_run_list_update       (GraftRunList *self, const GraftStudyJobEvent *ev);
void graft_run_list_set_message  (GraftRunList *self, const char *message);
const char *graft_run_list_get_message (GraftRunList *self);
/* One line per run, "id | state | epochs | detail | state tooltip", for self-tests. */
char *graft_run_list_describe    (GraftRunList *self);
/* The ids of the runs whose row offers an export (they have a best epoch), space-separated. */
char *graft_run_list_describe_exports (GraftRunList *self);

/* "1:05:09", "4:02", "0:07". */
char *graft_format_duration (double seconds);
/* "about 4 min left", "about 1 h 05 min left", "less than a minute left". */
char *graft_format_time_left (double seconds);

G_END_DECLS
