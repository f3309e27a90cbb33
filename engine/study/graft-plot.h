/* Learning-curve figures drawn with Cairo (toy text API), shared by the GUI and the CLI.
 *
 * A figure is a row of panels; each panel has a title, a smoothing and
 * series (label, colour, x/y points). graft_plot_draw() draws it into any
 * cairo_t (GUI widgets draw live curves with it), graft_plot_write() writes a
 * PNG, SVG or PDF chosen by the file's extension. All panels share one
 * y range so that they compare at a glance (a panel with its own range aside).
 * The figure has one legend, under the panels, with one entry per key: the
 * curves of one run in several panels share their entry.
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
  char   *key;               /* legend entry it belongs to (NULL: its label) */
  char   *run;               /* id of the run (or seed sweep's group) it shows, or NULL */
  gboolean hidden;           /* left out of the drawing, the axes' ranges and the legend */
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
  gboolean        own_range;  /* its own axes' ranges (a run of another task) */
  gboolean        optional;   /* left out of the figure while none of its series is shown */
} GraftPlotPanel;

typedef enum {
  GRAFT_PLOT_LEGEND_BELOW,    /* one legend under the panels, outside every plot area */
  GRAFT_PLOT_LEGEND_NONE,     /* none: the caller shows the entries (the app's legend list) */
} GraftPlotLegendPlace;

typedef struct {
  char      *x_label;
  char      *y_label;
  GPtrArray *panels;          /* GraftPlotPanel*, owned */
  GraftPlotLegendPlace legend;
  gboolean   dark;            /* colours for a dark background (the app's dark style);
                               * figures are light unless asked */
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
/* Sets the legend key and run id of @s (copied; NULL clears). */
void graft_plot_series_set_ids  (GraftPlotSeries *s, const char *key, const char *run);
/* The legend key of @s: its key, else its label. */
const char *graft_plot_series_key (const GraftPlotSeries *s);

/* One entry of the figure's legend: the curves sharing a key, in the order they first
 * appear. */
typedef struct {
  char    *key;
  char    *label;            /* the curves' label; distinct labels joined by " / " */
  double   rgb[3];           /* as given; graft_plot_figure_colour gives the drawn one */
  gboolean neutral;
  gboolean hidden;           /* every curve of the key is hidden */
  gboolean optional;         /* its curves are only in optional panels */
} GraftPlotLegendEntry;

/* Every key of @fig, hidden or not: GraftPlotLegendEntry*, owned by the array. */
GPtrArray *graft_plot_figure_legend     (const GraftPlotFigure *fig);
/* Hides or shows every curve of @key; returns how many curves have it. */
guint      graft_plot_figure_set_hidden (GraftPlotFigure *fig, const char *key, gboolean hidden);
/* Curves shown (not hidden, in a panel that is drawn). */
guint      graft_plot_figure_n_shown    (const GraftPlotFigure *fig);
/* What the smoothing of the panels drawn means ("Smoothed: mean of the last 5 epochs; faint:
 * raw"), or NULL when no panel is smoothed. The legend's last line. */
char      *graft_plot_figure_smoothing_note (const GraftPlotFigure *fig);
/* The colour a curve of @rgb is drawn in (@neutral: the baseline) on @fig's background: as
 * given on a light one, lighter on a dark one. */
void       graft_plot_figure_colour     (const GraftPlotFigure *fig, const double rgb[3],
                                         gboolean neutral, double out[3]);
/* The figure's background colour. */
void       graft_plot_figure_background (const GraftPlotFigure *fig, double out[3]);

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

/* Where graft_plot_draw puts things at @width×@height. A panel's plot area in units and the
 * data values at its edges; a panel left out (optional, nothing shown) has shown FALSE. */
typedef struct {
  gboolean shown;
  double   x0, y0, x1, y1;
  double   xlo, xhi, ylo, yhi;
} GraftPlotFrame;

/* One GraftPlotFrame per panel into @frames (fig->panels->len of them), and the legend's box
 * (x, y, w, h; all 0 when there is none) into @legend (may be NULL). */
void     graft_plot_layout (const GraftPlotFigure *fig, double width, double height,
                            GraftPlotFrame *frames, double legend[4]);

/* A point of a drawn curve. */
typedef struct {
  guint  panel, series, point;   /* indices in fig->panels, the panel's series, its points */
  double x;                      /* epoch */
  double value;                  /* the point's value (a sweep's: the mean over seeds) */
  double drawn;                  /* the value drawn (smoothed as the panel is) */
  double px, py;                 /* where it is drawn, in units */
} GraftPlotHit;

/* The drawn point of a shown curve nearest to (@x, @y), within @radius units, in @fig drawn
 * at @width×@height. */
gboolean graft_plot_hit_test      (const GraftPlotFigure *fig, double width, double height,
                                   double x, double y, double radius, GraftPlotHit *hit);
/* The same for point @point of series @series of panel @panel (FALSE when it is not drawn). */
gboolean graft_plot_point_at      (const GraftPlotFigure *fig, double width, double height,
                                   guint panel, guint series, guint point, GraftPlotHit *hit);

/* The study's figure for @metric. @runs NULL: Figure 1 of the report — left
 * panel "Transferred weights frozen" (frozen runs + baseline), right panel
 * "Transferred weights trainable" (the other transfer runs + baseline); both
 * smoothed by @smoothing, or with @smoothing NULL as in the report: frozen
 * raw, trainable window:5. @runs non-NULL
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

typedef enum {
  GRAFT_STUDY_FIGURE_DEFAULT    = 0,
  /* With @runs NULL: a third panel "Base model (source task)" with the base runs (those
   * trained from scratch other than the baseline), its own axes' ranges, optional (left out
   * while its curves are hidden) and hidden: the reference figure stays two panels until a
   * caller shows its curves. */
  GRAFT_STUDY_FIGURE_BASE_PANEL = 1 << 0,
  /* With BASE_PANEL: its curves shown (a figure that asks for the base runs). */
  GRAFT_STUDY_FIGURE_SHOW_BASE  = 1 << 1,
} GraftStudyFigureFlags;

/* graft_study_figure_full with @flags. A @smoothing given applies to every panel; NULL keeps
 * the report's (frozen raw, trainable window:5). Each curve's key is its run's display name
 * (frozen and trainable runs of one experiment share an entry; with @runs, its label) and its
 * run the run's id. */
GraftPlotFigure *graft_study_figure_flags (const GraftStudy *study, GraftMetric metric,
                                           const char *const *runs,
                                           const GraftSmoothing *smoothing, GraftPlotBand band,
                                           GraftStudyFigureFlags flags, GError **error);

G_END_DECLS
