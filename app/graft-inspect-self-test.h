/* Self-tests of the inspecting views (results table, datasets, run inspector), driven
 * through their actions and widget APIs under Xvfb; see tests/app/test-gui-inspect.sh. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef struct {
  char *results_sort;   /* "TITLE:asc" or "TITLE:desc": sort the results table */
  char *results_select; /* "0,2": select these rows of the sorted table before Copy */
  gboolean copy;        /* copy the results table and print the clipboard */
  gboolean datasets;    /* open the dataset view and print it */
  char *inspect;        /* run id: open its inspector and print the matrix */
  char *inspect_cell;   /* "TRUE,PREDICTED": then select that cell and print its gallery */
  char *shot;           /* screenshot path: the views go to <shot>.dataset.png, … */
} GraftInspectSelfTest;

gboolean graft_inspect_self_test_wanted (const GraftInspectSelfTest *t);
/* Runs the steps asked for on @win, then calls @done (status 0 or 1). */
void     graft_inspect_self_test_start  (const GraftInspectSelfTest *t, GtkWindow *win,
                                         void (*done) (int status, gpointer user_data),
                                         gpointer user_data);
void     graft_inspect_self_test_clear  (GraftInspectSelfTest *t);

G_END_DECLS
