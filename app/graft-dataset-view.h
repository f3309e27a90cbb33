/* The study's datasets as the engine's scan sees them: per class the usable images (count
 * and a grid of thumbnails) and the files skipped, each with its reason. */
/* The skipped list is a GtkListView named "skipped-files" whose rows hold the path and the
 * reason. */
#pragma once

#include <gtk/gtk.h>

#include "graft-dataset.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_DATASET_VIEW (graft_dataset_view_get_type ())
G_DECLARE_FINAL_TYPE (GraftDatasetView, graft_dataset_view, GRAFT, DATASET_VIEW, GtkBox)

GtkWidget  *graft_dataset_view_new          (void);
/* Scans each folder (NULL or "" for none) on a worker thread with @filter; "ready" is
 * emitted when every scan has ended. @titles name them ("Source", "Target"). */
void        graft_dataset_view_set_folders  (GraftDatasetView *self, const char *const *titles,
                                             const char *const *folders, guint n,
                                             GraftFilter filter);
gboolean    graft_dataset_view_is_busy      (GraftDatasetView *self);
guint       graft_dataset_view_n_folders    (GraftDatasetView *self);
/* The scan of folder @i (NULL while busy or when it failed: see _get_error). */
GraftDataset *graft_dataset_view_get_dataset (GraftDatasetView *self, guint i);
const char *graft_dataset_view_get_error    (GraftDatasetView *self, guint i);
const char *graft_dataset_view_get_title    (GraftDatasetView *self, guint i);
/* Shows folder @i's page and in it class @klass's thumbnails (its skipped files are listed
 * under them). */
void        graft_dataset_view_show         (GraftDatasetView *self, guint i, guint klass);
/* The thumbnails shown now (GraftThumbnail). */
GListModel *graft_dataset_view_get_thumbnails (GraftDatasetView *self, guint i);
/* The count label of class @klass in folder @i's list, as shown; for @klass = the class
 * count, the skipped files' heading ("Skipped files: 2"). */
const char *graft_dataset_view_get_count_text (GraftDatasetView *self, guint i, guint klass);

/* A window of its own for the view, transient for @parent. */
GtkWindow  *graft_dataset_view_window_new   (GtkWindow *parent);
GraftDatasetView *graft_dataset_view_window_get_view (GtkWindow *window);

G_END_DECLS
