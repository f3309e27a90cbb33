/* Live learning curves of every run of a study, drawn with the engine's Cairo figures: a
 * legend of toggles under the canvas, the readout of the point under the pointer, the base
 * model's runs in a panel of their own when shown, the app's light or dark style. */
#pragma once

#include <gtk/gtk.h>

#include "graft-plot-legend.h"
#include "graft-study.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_PLOT_VIEW (graft_plot_view_get_type ())
G_DECLARE_FINAL_TYPE (GraftPlotView, graft_plot_view, GRAFT, PLOT_VIEW, GtkBox)

/* @study is borrowed. */
void     graft_plot_view_set_study (GraftPlotView *self, const GraftStudy *study);
/* Re-reads the runs' metrics.csv and redraws; curves hidden stay hidden. */
void     graft_plot_view_refresh   (GraftPlotView *self);
/* Writes the figure shown (metric, smoothing, band, curves shown) as PNG, SVG or PDF by
 * @path's extension, light and with its legend under the panels. */
gboolean graft_plot_view_write     (GraftPlotView *self, const char *path, GError **error);
/* Curves drawn (hidden ones not counted), for tests and the status line. */
guint    graft_plot_view_n_series  (GraftPlotView *self);
/* Of those, the series drawn with a band (a seed sweep's spread). */
guint    graft_plot_view_n_banded  (GraftPlotView *self);

/* A point of a curve on the canvas. */
typedef struct {
  char   *run;        /* the run's id (a seed sweep's: the group's) */
  char   *label;      /* the curve's label */
  char   *panel;      /* the panel's title */
  int     epoch;
  double  value;      /* the metric at that epoch as metrics.csv has it (a sweep's mean) */
  double  drawn;      /* the value drawn (smoothed as the panel is) */
  double  x, y;       /* where it is drawn on the canvas */
} GraftPlotViewPoint;

void     graft_plot_view_point_clear    (GraftPlotViewPoint *point);
/* The drawn point nearest to (@x, @y) on the canvas, within the hover radius. */
gboolean graft_plot_view_hit_test       (GraftPlotView *self, double x, double y,
                                         GraftPlotViewPoint *point);
/* Where the point of @run at @epoch is drawn (its first panel). */
gboolean graft_plot_view_point_position (GraftPlotView *self, const char *run, int epoch,
                                         double *x, double *y);
/* What moving the pointer to (@x, @y) on the canvas does: marks the nearest point and shows
 * its readout (none when nothing is near). */
void     graft_plot_view_hover          (GraftPlotView *self, double x, double y);
/* The readout shown, or NULL. */
const char *graft_plot_view_get_readout (GraftPlotView *self);

GraftPlotLegend *graft_plot_view_get_legend (GraftPlotView *self);
/* The drawing area. */
GtkWidget *graft_plot_view_get_canvas      (GraftPlotView *self);
/* Whether the canvas is drawn dark (follows the style's text colour). */
gboolean   graft_plot_view_is_dark         (GraftPlotView *self);
/* Panels drawn, and their titles with their curves' keys, for tests. */
char      *graft_plot_view_describe        (GraftPlotView *self);

G_END_DECLS
