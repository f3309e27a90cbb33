/* The study's results table (best and final validation accuracy per run): a column view
 * sortable by every column, with Copy (Ctrl+C: the selected rows, or all, as tab-separated
 * text with a header) and, per trained run, Inspect (win.inspect-run). */
#pragma once

#include <gtk/gtk.h>

#include "graft-study.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_RESULTS_VIEW (graft_results_view_get_type ())
G_DECLARE_FINAL_TYPE (GraftResultsView, graft_results_view, GRAFT, RESULTS_VIEW, GtkBox)

/* @study is borrowed. */
void graft_results_view_set_study (GraftResultsView *self, const GraftStudy *study);
void graft_results_view_refresh   (GraftResultsView *self);

/* The columns' titles, in order ("Exp.", "Freeze", "Model", "Best val. acc.", …). */
const char *const *graft_results_view_column_titles (void);
/* Sorts by the column titled @title, ascending or not; FALSE when there is no such column. */
gboolean graft_results_view_sort_by  (GraftResultsView *self, const char *title,
                                      gboolean ascending);
/* Selects the rows at these positions of the sorted table (none: clears the selection). */
void     graft_results_view_select   (GraftResultsView *self, const guint *rows, guint n);
/* What Copy puts on the clipboard: a header line and the selected rows (all when none is
 * selected) in the order shown, fields separated by tabs, lines by "\n". */
char    *graft_results_view_to_tsv   (GraftResultsView *self);
/* Copies that text to the clipboard (the action results.copy, Ctrl+C). */
void     graft_results_view_copy     (GraftResultsView *self);

G_END_DECLS
