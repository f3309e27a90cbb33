/* Learning-curve figures drawn with Cairo (toy text API), shared by the GUI and the CLI.
 *
 * A figure is a row of panels; each panel has a title, a smoothing and
 * series (label, colour, x/y points). graft_plot_draw() draws it into any
 * cairo_t (GUI widgets draw live curves with it), graft_plot_write() writes a
 * PNG, SVG or PDF chosen by the file's extension. All panels share one
 * y range so that they compare at a glance.
 */
#pragma once

#include <cairo.h>

#include "graft-results.h"

G_BEGIN_DECLS

/* Smoothing of a curve.
 * WINDOW w: trailing mean, y[i] = mean (x[max(0, i−w+1)] … x[i]); the first
 *   points average what exists so far. The curve keeps its length and never
 *   looks into the future, like a sliding window over the epochs seen so far.
 * EMA w (0 ≤ w < 1): TensorBoard's debiased exponential moving average:
 *   last = last·w + (1−w)·x[i] (last starts at 0), y[i] = last / (1 − w^k)
 *   with k the number of finite points so far; non-finite points are copied
 *   and do not advance the average. */
typedef enum {
  GRAFT_SMOOTH_NONE,
  GRAFT_SMOOTH_WINDOW,
  GRAFT_SMOOTH_EMA,
} GraftSmoothKind;

typedef struct {
  GraftSmoothKind kind;
  int             window;   /* WINDOW: ≥ 1 */
  double          weight;   /* EMA: [0, 1) */
} GraftSmoothing;

/* "none", "window:5", "ema:0.6". */
gboolean graft_smoothing_parse     (const char *s, GraftSmoothing *out, GError **error);
char    *graft_smoothing_to_string (const GraftSmoothing *s);
/* y[0..n-1] = smoothed x; y may equal x. */
void     graft_smooth              (const GraftSmoothing *s, const double *x, double *y, gsize n);

typedef struct {
  char   *label;
  double  rgb[3];
  gboolean neutral;          /* baseline: drawn dashed */
  GArray *x, *y;             /* double */
  GArray *lo, *hi;           /* double: a band drawn under the curve (seed sweeps), or NULL */
} GraftPlotSeries;

typedef enum {
  GRAFT_PLOT_BAND_MINMAX,    /* between the lowest and the highest seed */
  GRAFT_PLOT_BAND_STD,       /* mean ± 1 standard deviation */
  GRAFT_PLOT_BAND_NONE,
} GraftPlotBand;

/* "minmax", "std", "none". */
gboolean graft_plot_band_from_string (const char *s, GraftPlotBand *out, GError **error);

typedef struct {
  char           *title;
  GraftSmoothing  smoothing;  /* when not NONE the raw curve is drawn faint underneath */
  GPtrArray      *series;     /* GraftPlotSeries*, owned */
} GraftPlotPanel;

typedef struct {
  char      *x_label;
  char      *y_label;
  GPtrArray *panels;          /* GraftPlotPanel*, owned */
} GraftPlotFigure;

GraftPlotFigure *graft_plot_figure_new  (const char *x_label, const char *y_label);
void             graft_plot_figure_free (GraftPlotFigure *fig);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftPlotFigure, graft_plot_figure_free)
GraftPlotPanel  *graft_plot_figure_add_panel (GraftPlotFigure *fig, const char *title,
                                              const GraftSmoothing *smoothing /* NULL = none */);
/* Copies the points. Returns the series (owned by the panel) so that live
 * curves can append to ->x and ->y. */
GraftPlotSeries *graft_plot_panel_add_series (GraftPlotPanel *panel, const char *label,
                                              const double rgb[3], gboolean neutral,
                                              const double *x, const double *y, gsize n);

/* Gives @s a band (as many values as its points). */
void graft_plot_series_set_band (GraftPlotSeries *s, const double *lo, const double *hi);

/* Colour i of the palette (blue, green, red, purple, orange, brown, pink,
 * olive, cyan, then repeating) and the neutral baseline colour. */
void graft_plot_palette (guint i, double rgb[3]);
void graft_plot_neutral (double rgb[3]);

/* Draws the figure into @cr over (0, 0)–(@width, @height) in @cr's user
 * units (one unit = one pixel at 96 dpi: fonts and lines are sized in it). */
void     graft_plot_draw  (const GraftPlotFigure *fig, cairo_t *cr, double width, double height);
/* Writes .png, .svg or .pdf (by @path's extension, case-insensitive) at
 * @width×@height units scaled by @dpi/96 (PNG pixels = units·dpi/96; SVG and
 * PDF pages in points = units·72/96, so @dpi only affects PNG). Atomic. */
gboolean graft_plot_write (const GraftPlotFigure *fig, const char *path, double width,
                           double height, double dpi, GError **error);

/* The study's figure for @metric. @runs NULL: Figure 1 of the report — left
 * panel "Transferred weights frozen" (frozen runs + baseline, raw as in the
 * report), right panel "Transferred weights trainable" (the other transfer
 * runs + baseline, smoothed by @smoothing; NULL = window:5). @runs non-NULL
 * (run ids): one panel with exactly those runs (@smoothing NULL = none).
 * Colours are stable per display name across panels (transfer experiments
 * first, in study order); the baseline is neutral. Runs without metrics are
 * left out; an unknown id is an error. */
GraftPlotFigure *graft_study_figure (const GraftStudy *study, GraftMetric metric,
                                     const char *const *runs, const GraftSmoothing *smoothing,
                                     GError **error);
/* The same with the band of a seed sweep's curves chosen (graft_study_figure: min–max). A
 * sweep's curve is the mean over its seeds at each epoch. */
GraftPlotFigure *graft_study_figure_full (const GraftStudy *study, GraftMetric metric,
                                          const char *const *runs,
                                          const GraftSmoothing *smoothing, GraftPlotBand band,
                                          GError **error);

G_END_DECLS
