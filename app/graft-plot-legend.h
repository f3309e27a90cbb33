/* The plot's legend as a list of check rows, one per curve key, each with the curve's colour and
 * line: checked shows the curves of that key in every panel, unchecked hides them. */
#pragma once

#include <gtk/gtk.h>

#include "graft-plot.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_PLOT_LEGEND (graft_plot_legend_get_type ())
G_DECLARE_FINAL_TYPE (GraftPlotLegend, graft_plot_legend, GRAFT, PLOT_LEGEND, GtkBox)

GtkWidget       *graft_plot_legend_new         (void);
/* Shows @entries (GraftPlotLegendEntry*, from graft_plot_figure_legend), checked unless
 * hidden, in the colours @fig draws them in; the note (smoothing) under them, or none. Keeps
 * the toggles when only their states change. */
void             graft_plot_legend_set_entries (GraftPlotLegend *self, const GraftPlotFigure *fig,
                                                GPtrArray *entries, const char *note);
/* The check button of @key, or NULL. */
GtkCheckButton  *graft_plot_legend_get_toggle  (GraftPlotLegend *self, const char *key);
/* Entries shown, for tests: "key=shown|hidden" lines. */
char            *graft_plot_legend_describe    (GraftPlotLegend *self);

G_END_DECLS
