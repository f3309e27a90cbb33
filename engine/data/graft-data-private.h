/* Pieces shared between the data-pipeline sources (not part of the engine API). */
#pragma once

#include "graft-dataset.h"

G_BEGIN_DECLS

/* Work shared by a pool of worker threads: items 0..total-1 are claimed with
 * graft_work_take() until done or cancelled. */
typedef struct {
  gint          next;
  gint          done;
  guint         total;
  GCancellable *cancellable;
} GraftWork;

gboolean graft_work_take        (GraftWork *w, guint *item);
/* Runs graft_data_get_threads() copies of @func (@job) and reports progress of
 * @work under @stage from the calling thread until they finish. */
void     graft_data_run_workers (GThreadFunc func, gpointer job, GraftWork *work,
                                 const char *stage, GraftDataProgressFunc progress,
                                 gpointer user_data);
/* $GRAFT_IMAGE_CACHE or $XDG_CACHE_HOME/graft/images. */
char    *graft_data_cache_dir   (void);
int      graft_data_guint_cmp   (const guint *a, const guint *b);

G_END_DECLS
