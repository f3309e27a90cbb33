/* Live learning curves of every run of a study, drawn with the engine's Cairo figures. */
#pragma once

#include <gtk/gtk.h>

#include "graft-study.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_PLOT_VIEW (graft_plot_view_get_type ())
G_DECLARE_FINAL_TYPE (GraftPlotView, graft_plot_view, GRAFT, PLOT_VIEW, GtkBox)

/* @study is borrowed. */
void     graft_plot_view_set_study (GraftPlotView *self, const GraftStudy *study);
/* Re-reads the runs' metrics.csv and redraws. */
void     graft_plot_view_refresh   (GraftPlotView *self);
/* Writes the figure shown (metric, smoothing and band as chosen) as PNG, SVG or
 * PDF by @path's extension. */
gboolean graft_plot_view_write     (GraftPlotView *self, const char *path, GError **error);
/* Series drawn, for tests and the status line. */
guint    graft_plot_view_n_series  (GraftPlotView *self);
/* Of those, the series drawn with a band (a seed sweep's spread). */
guint    graft_plot_view_n_banded  (GraftPlotView *self);

G_END_DECLS
