/* What one run did: the confusion matrix of its best checkpoint on its validation split, the
 * validation images of a matrix cell (true and predicted class, confidence), and its log. */
#pragma once

#include <gtk/gtk.h>

#include "graft-infer.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_RUN_INSPECTOR (graft_run_inspector_get_type ())
G_DECLARE_FINAL_TYPE (GraftRunInspector, graft_run_inspector, GRAFT, RUN_INSPECTOR, GtkBox)

/* Starts evaluating (or reading the cached evaluation of) the run in @run_dir on a worker
 * thread; @device: a device spec, or NULL for the default. "ready" is emitted when it ends.
 * Each new commit of the run (commit.json replaced) reloads it, through the cache. */
GtkWidget  *graft_run_inspector_new           (const char *run_dir, const char *device);
/* Evaluates again (after the run changed), through the cache. */
void        graft_run_inspector_reload        (GraftRunInspector *self);
gboolean    graft_run_inspector_is_busy       (GraftRunInspector *self);
/* The evaluation shown, or NULL (busy, or it failed: see _get_error). */
const GraftRunEvaluation *graft_run_inspector_get_evaluation (GraftRunInspector *self);
const char *graft_run_inspector_get_error     (GraftRunInspector *self);
/* The text of matrix cell (@truth, @predicted) as shown, or NULL. */
const char *graft_run_inspector_get_cell_text (GraftRunInspector *self, guint truth,
                                               guint predicted);
/* Shows the images of cell (@truth, @predicted) in the gallery, as clicking it does. */
gboolean    graft_run_inspector_select_cell   (GraftRunInspector *self, guint truth,
                                               guint predicted);
/* The gallery's items (GraftThumbnail). */
GListModel *graft_run_inspector_get_gallery   (GraftRunInspector *self);
/* "matrix" or "log". */
void        graft_run_inspector_show_page     (GraftRunInspector *self, const char *page);
/* The log text shown. */
char       *graft_run_inspector_get_log_text  (GraftRunInspector *self);

/* A window of its own for the inspector, transient for @parent. */
GtkWindow  *graft_run_inspector_window_new    (GtkWindow *parent, const char *run_dir,
                                               const char *title, const char *device);
GraftRunInspector *graft_run_inspector_window_get_inspector (GtkWindow *window);

G_END_DECLS
