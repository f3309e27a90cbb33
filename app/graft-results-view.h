/* The study's results table (best and final validation accuracy per run). */
#pragma once

#include <gtk/gtk.h>

#include "graft-study.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_RESULTS_VIEW (graft_results_view_get_type ())
G_DECLARE_FINAL_TYPE (GraftResultsView, graft_results_view, GRAFT, RESULTS_VIEW, GtkBox)

/* @study is borrowed. */
void graft_results_view_set_study (GraftResultsView *self, const GraftStudy *study);
void graft_results_view_refresh   (GraftResultsView *self);

G_END_DECLS
