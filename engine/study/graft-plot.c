/* Learning-curve figures: smoothing, layout, nice ticks, legends, PNG/SVG/PDF output with Cairo. */
#include "graft-plot.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "graft-error.h"

/* ---- smoothing ---------------------------------------------------------- */

gboolean
graft_smoothing_parse (const char *s, GraftSmoothing *out, GError **error)
{
  *out = (GraftSmoothing) { .kind = GRAFT_SMOOTH_NONE, .window = 1, .weight = 0 };
  if (s == NULL || g_str_equal (s, "none"))
    return TRUE;
  char *end = NULL;
  if (g_str_has_prefix (s, "window:"))
    {
      long w = strtol (s + 7, &end, 10);
      if (end != s + 7 && *end == '\0' && w >= 1 && w <= 100000)
        {
          out->kind = GRAFT_SMOOTH_WINDOW;
          out->window = (int) w;
          return TRUE;
        }
    }
  else if (g_str_has_prefix (s, "ema:"))
    {
      double w = g_ascii_strtod (s + 4, &end);
      if (end != s + 4 && *end == '\0' && w >= 0 && w < 1)
        {
          out->kind = GRAFT_SMOOTH_EMA;
          out->weight = w;
          return TRUE;
        }
    }
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
               "Unknown smoothing “%s” (expected none, window:N with N ≥ 1, or ema:W with "
               "0 ≤ W < 1)", s);
  return FALSE;
}

char *
graft_smoothing_to_string (const GraftSmoothing *s)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  switch (s->kind)
    {
    case GRAFT_SMOOTH_WINDOW:
      return g_strdup_printf ("window:%d", s->window);
    case GRAFT_SMOOTH_EMA:
      return g_strdup_printf ("ema:%s", g_ascii_formatd (buf, sizeof buf, "%g", s->weight));
    case GRAFT_SMOOTH_NONE:
      break;
    }
  return g_strdup ("none");
}

void
graft_smooth (const GraftSmoothing *s, const double *x, double *y, gsize n)
{
  if (s == NULL || s->kind == GRAFT_SMOOTH_NONE)
    {
      if (y != x)
        memmove (y, x, n * sizeof *y);
      return;
    }
  if (s->kind == GRAFT_SMOOTH_EMA)
    {
      double last = 0, wk = 1;   /* wk = w^k */
      for (gsize i = 0; i < n; i++)
        {
          if (!isfinite (x[i]))
            {
              y[i] = x[i];
              continue;
            }
          last = last * s->weight + (1 - s->weight) * x[i];
          wk *= s->weight;
          y[i] = wk < 1 ? last / (1 - wk) : x[i];
        }
      return;
    }
  /* Trailing window; a copy because y may alias x. */
  g_autofree double *src = g_memdup2 (x, n * sizeof *x);
  int w = MAX (s->window, 1);
  for (gsize i = 0; i < n; i++)
    {
      double sum = 0;
      int cnt = 0;
      for (gsize j = i + 1 > (gsize) w ? i + 1 - (gsize) w : 0; j <= i; j++)
        if (isfinite (src[j]))
          {
            sum += src[j];
            cnt++;
          }
      y[i] = cnt ? sum / cnt : src[i];
    }
}

/* ---- figure model ------------------------------------------------------- */

static void
series_free (gpointer p)
{
  GraftPlotSeries *s = p;
  g_free (s->label);
  g_free (s->key);
  g_free (s->run);
  g_array_unref (s->x);
  g_array_unref (s->y);
  g_clear_pointer (&s->lo, g_array_unref);
  g_clear_pointer (&s->hi, g_array_unref);
  g_free (s);
}

static void
panel_free (gpointer p)
{
  GraftPlotPanel *pa = p;
  g_free (pa->title);
  g_ptr_array_unref (pa->series);
  g_free (pa);
}

GraftPlotFigure *
graft_plot_figure_new (const char *x_label, const char *y_label)
{
  GraftPlotFigure *f = g_new0 (GraftPlotFigure, 1);
  f->x_label = g_strdup (x_label);
  f->y_label = g_strdup (y_label);
  f->panels = g_ptr_array_new_with_free_func (panel_free);
  return f;
}

void
graft_plot_figure_free (GraftPlotFigure *fig)
{
  if (fig == NULL)
    return;
  g_free (fig->x_label);
  g_free (fig->y_label);
  g_ptr_array_unref (fig->panels);
  g_free (fig);
}

GraftPlotPanel *
graft_plot_figure_add_panel (GraftPlotFigure *fig, const char *title,
                             const GraftSmoothing *smoothing)
{
  GraftPlotPanel *p = g_new0 (GraftPlotPanel, 1);
  p->title = g_strdup (title);
  if (smoothing)
    p->smoothing = *smoothing;
  else
    p->smoothing = (GraftSmoothing) { .kind = GRAFT_SMOOTH_NONE, .window = 1 };
  p->series = g_ptr_array_new_with_free_func (series_free);
  g_ptr_array_add (fig->panels, p);
  return p;
}

GraftPlotSeries *
graft_plot_panel_add_series (GraftPlotPanel *panel, const char *label, const double rgb[3],
                             gboolean neutral, const double *x, const double *y, gsize n)
{
  GraftPlotSeries *s = g_new0 (GraftPlotSeries, 1);
  s->label = g_strdup (label ? label : "");
  memcpy (s->rgb, rgb, sizeof s->rgb);
  s->neutral = neutral;
  s->x = g_array_sized_new (FALSE, FALSE, sizeof (double), (guint) n);
  s->y = g_array_sized_new (FALSE, FALSE, sizeof (double), (guint) n);
  if (n)
    {
      g_array_append_vals (s->x, x, (guint) n);
      g_array_append_vals (s->y, y, (guint) n);
    }
  g_ptr_array_add (panel->series, s);
  return s;
}

void
graft_plot_series_set_band (GraftPlotSeries *s, const double *lo, const double *hi)
{
  g_clear_pointer (&s->lo, g_array_unref);
  g_clear_pointer (&s->hi, g_array_unref);
  s->lo = g_array_sized_new (FALSE, FALSE, sizeof (double), s->x->len);
  s->hi = g_array_sized_new (FALSE, FALSE, sizeof (double), s->x->len);
  g_array_append_vals (s->lo, lo, s->x->len);
  g_array_append_vals (s->hi, hi, s->x->len);
}

void
graft_plot_series_set_ids (GraftPlotSeries *s, const char *key, const char *run)
{
  g_free (s->key);
  g_free (s->run);
  s->key = g_strdup (key);
  s->run = g_strdup (run);
}

gboolean
graft_plot_band_from_string (const char *s, GraftPlotBand *out, GError **error)
{
  if (g_strcmp0 (s, "minmax") == 0)
    *out = GRAFT_PLOT_BAND_MINMAX;
  else if (g_strcmp0 (s, "std") == 0)
    *out = GRAFT_PLOT_BAND_STD;
  else if (g_strcmp0 (s, "none") == 0)
    *out = GRAFT_PLOT_BAND_NONE;
  else
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Unknown band “%s” (expected minmax, std or none)", s ? s : "");
      return FALSE;
    }
  return TRUE;
}

void
graft_plot_palette (guint i, double rgb[3])
{
  /* matplotlib's tab10 reordered so the report's three experiments come out
   * blue, green and red as in its Figure 1. */
  static const guint32 pal[] = { 0x1f77b4, 0x2ca02c, 0xd62728, 0x9467bd, 0xff7f0e,
                                 0x8c564b, 0xe377c2, 0xbcbd22, 0x17becf };
  guint32 c = pal[i % G_N_ELEMENTS (pal)];
  rgb[0] = ((c >> 16) & 0xff) / 255.0;
  rgb[1] = ((c >> 8) & 0xff) / 255.0;
  rgb[2] = (c & 0xff) / 255.0;
}

void
graft_plot_neutral (double rgb[3])
{
  rgb[0] = rgb[1] = rgb[2] = 0.35;
}

/* ---- drawing ------------------------------------------------------------ */

#define FONT_TITLE  15.0
#define FONT_LABEL  13.0
#define FONT_TICK   11.5
#define FONT_LEGEND 12.0
#define PAD         10.0

typedef struct {
  double lo, hi, step;
  int    decimals;
} Axis;

/* The figure's colours: a light page for figures, a dark one for the app's dark style. */
typedef struct {
  double bg[3], grid[3], frame[3], text[3], dim[3];
} Style;

static Style
figure_style (const GraftPlotFigure *fig)
{
  if (fig->dark)   /* libadwaita's dark view background and text */
    return (Style) { { 0.118, 0.118, 0.118 }, { 0.26, 0.26, 0.26 }, { 0.6, 0.6, 0.6 },
                     { 0.88, 0.88, 0.88 }, { 0.62, 0.62, 0.62 } };
  return (Style) { { 1, 1, 1 }, { 0.88, 0.88, 0.88 }, { 0.25, 0.25, 0.25 },
                   { 0.15, 0.15, 0.15 }, { 0.4, 0.4, 0.4 } };
}

void
graft_plot_figure_colour (const GraftPlotFigure *fig, const double rgb[3], gboolean neutral,
                          double out[3])
{
  for (int i = 0; i < 3; i++)
    {
      if (!fig || !fig->dark)
        out[i] = rgb[i];
      else if (neutral)
        out[i] = 0.7;   /* the light baseline grey would vanish on a dark page */
      else
        out[i] = rgb[i] + (1 - rgb[i]) * 0.22;   /* tab10 lightened: brown and blue stay clear */
    }
}

void
graft_plot_figure_background (const GraftPlotFigure *fig, double out[3])
{
  Style st = figure_style (fig);
  memcpy (out, st.bg, sizeof st.bg);
}

static void
set_rgb (cairo_t *cr, const double c[3])
{
  cairo_set_source_rgb (cr, c[0], c[1], c[2]);
}

static double
nice_step (double range, int target)
{
  double raw = range / MAX (target, 1);
  if (!(raw > 0))
    return 1;
  double mag = pow (10, floor (log10 (raw)));
  double f = raw / mag;
  /* Nearest of 1, 2, 2.5, 5, 10 rather than the next one up, so that small
   * panels still get about @target ticks. */
  double nf = f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10;
  return nf * mag;
}

static int
step_decimals (double step)
{
  /* 2.5 needs one more decimal than 2 or 5. */
  int d = (int) MAX (0, -floor (log10 (step) + 1e-9));
  double scaled = step * pow (10, d);
  if (fabs (scaled - round (scaled)) > 1e-6)
    d++;
  return d;
}

static Axis
make_axis (double lo, double hi, int target, gboolean integer, gboolean pad)
{
  Axis a;
  if (!isfinite (lo) || !isfinite (hi))
    lo = 0, hi = 1;
  if (hi - lo < 1e-12)
    {
      double d = integer ? 1 : MAX (fabs (lo) * 0.05, 0.05);
      lo -= d;
      hi += d;
    }
  if (pad)
    {
      double d = (hi - lo) * 0.04;
      lo -= d;
      hi += d;
    }
  a.step = nice_step (hi - lo, target);
  if (integer)   /* epochs: whole steps only */
    a.step = MAX (1, floor (a.step));
  if (pad)
    {
      a.lo = floor (lo / a.step + 1e-9) * a.step;
      a.hi = ceil (hi / a.step - 1e-9) * a.step;
    }
  else
    {
      a.lo = lo;
      a.hi = hi;
    }
  a.decimals = step_decimals (a.step);
  return a;
}

static void
set_font (cairo_t *cr, double size, gboolean bold)
{
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                          bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, size);
}

static double
text_width (cairo_t *cr, const char *s)
{
  cairo_text_extents_t e;
  cairo_text_extents (cr, s, &e);
  return e.x_advance;
}

/* Draws @s with its horizontal anchor at @ax (0 left, 0.5 centre, 1 right)
 * and its vertical centre on @y (cap height based, so digits look centred). */
static void
draw_text (cairo_t *cr, const char *s, double x, double y, double ax)
{
  cairo_font_extents_t fe;
  cairo_font_extents (cr, &fe);
  cairo_move_to (cr, x - text_width (cr, s) * ax, y + fe.ascent * 0.36);
  cairo_show_text (cr, s);
}

static char *
tick_label (double v, int decimals)
{
  char buf[64];
  if (fabs (v) < 1e-12)
    v = 0;
  g_snprintf (buf, sizeof buf, "%.*f", decimals, v);
  return g_strdup (buf);
}

/* The drawn curve of a series: its y smoothed as the panel is. */
static double *
smoothed_y (const GraftPlotPanel *p, const GraftPlotSeries *s)
{
  double *y = g_new (double, MAX (s->y->len, 1));
  graft_smooth (&p->smoothing, (const double *) s->y->data, y, s->y->len);
  return y;
}

typedef struct {
  double x0, y0, x1, y1;    /* plot area */
  Axis   ax, ay;
} Frame;

static double
map_x (const Frame *f, double v)
{
  return f->x0 + (v - f->ax.lo) / (f->ax.hi - f->ax.lo) * (f->x1 - f->x0);
}

static double
map_y (const Frame *f, double v)
{
  return f->y1 - (v - f->ay.lo) / (f->ay.hi - f->ay.lo) * (f->y1 - f->y0);
}

static void
draw_curve (cairo_t *cr, const Frame *f, const GArray *xs, const double *ys, gboolean markers)
{
  gboolean pen = FALSE;
  for (guint i = 0; i < xs->len; i++)
    {
      double x = g_array_index (xs, double, i), y = ys[i];
      if (!isfinite (x) || !isfinite (y))
        {
          pen = FALSE;
          continue;
        }
      if (pen)
        cairo_line_to (cr, map_x (f, x), map_y (f, y));
      else
        cairo_move_to (cr, map_x (f, x), map_y (f, y));
      pen = TRUE;
    }
  cairo_stroke (cr);
  if (!markers)
    return;
  for (guint i = 0; i < xs->len; i++)
    {
      double x = g_array_index (xs, double, i), y = ys[i];
      if (!isfinite (x) || !isfinite (y))
        continue;
      cairo_new_sub_path (cr);
      cairo_arc (cr, map_x (f, x), map_y (f, y), 2.6, 0, 2 * G_PI);
    }
  cairo_fill (cr);
}

static void
set_line_style (cairo_t *cr, const GraftPlotFigure *fig, const double rgb[3], gboolean neutral,
                double alpha, double width)
{
  double c[3];
  graft_plot_figure_colour (fig, rgb, neutral, c);
  cairo_set_source_rgba (cr, c[0], c[1], c[2], alpha);
  cairo_set_line_width (cr, width);
  if (neutral)
    {
      static const double dash[] = { 7, 4 };
      cairo_set_dash (cr, dash, 2, 0);
    }
  else
    cairo_set_dash (cr, NULL, 0, 0);
}

/* ---- legend entries and visibility -------------------------------------- */

const char *
graft_plot_series_key (const GraftPlotSeries *s)
{
  return s->key ? s->key : s->label;
}

static gboolean
panel_shown (const GraftPlotPanel *p)
{
  if (!p->optional)
    return TRUE;
  for (guint i = 0; i < p->series->len; i++)
    if (!((GraftPlotSeries *) p->series->pdata[i])->hidden)
      return TRUE;
  return FALSE;
}

static void
legend_entry_free (gpointer p)
{
  GraftPlotLegendEntry *e = p;
  if (e == NULL)   /* taken by another array */
    return;
  g_free (e->key);
  g_free (e->label);
  g_free (e);
}

static gboolean
label_listed (const char *joined, const char *label)
{
  g_auto (GStrv) parts = g_strsplit (joined, " / ", -1);
  return g_strv_contains ((const char *const *) parts, label);
}

GPtrArray *
graft_plot_figure_legend (const GraftPlotFigure *fig)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (legend_entry_free);
  for (guint pi = 0; pi < fig->panels->len; pi++)
    {
      const GraftPlotPanel *p = fig->panels->pdata[pi];
      for (guint i = 0; i < p->series->len; i++)
        {
          const GraftPlotSeries *s = p->series->pdata[i];
          const char *key = graft_plot_series_key (s);
          GraftPlotLegendEntry *e = NULL;
          for (guint k = 0; k < out->len && e == NULL; k++)
            if (g_str_equal (((GraftPlotLegendEntry *) out->pdata[k])->key, key))
              e = out->pdata[k];
          if (e == NULL)
            {
              e = g_new0 (GraftPlotLegendEntry, 1);
              e->key = g_strdup (key);
              e->label = g_strdup (s->label);
              memcpy (e->rgb, s->rgb, sizeof e->rgb);
              e->neutral = s->neutral;
              e->hidden = s->hidden;
              e->optional = p->optional;
              g_ptr_array_add (out, e);
              continue;
            }
          if (!label_listed (e->label, s->label))
            {
              char *joined = g_strconcat (e->label, " / ", s->label, NULL);
              g_free (e->label);
              e->label = joined;
            }
          e->hidden = e->hidden && s->hidden;
          e->optional = e->optional && p->optional;
        }
    }
  return out;
}

guint
graft_plot_figure_set_hidden (GraftPlotFigure *fig, const char *key, gboolean hidden)
{
  guint n = 0;
  for (guint pi = 0; pi < fig->panels->len; pi++)
    {
      GraftPlotPanel *p = fig->panels->pdata[pi];
      for (guint i = 0; i < p->series->len; i++)
        {
          GraftPlotSeries *s = p->series->pdata[i];
          if (g_str_equal (graft_plot_series_key (s), key))
            {
              s->hidden = hidden;
              n++;
            }
        }
    }
  return n;
}

guint
graft_plot_figure_n_shown (const GraftPlotFigure *fig)
{
  guint n = 0;
  for (guint pi = 0; fig && pi < fig->panels->len; pi++)
    {
      const GraftPlotPanel *p = fig->panels->pdata[pi];
      for (guint i = 0; i < p->series->len; i++)
        n += !((GraftPlotSeries *) p->series->pdata[i])->hidden;
    }
  return n;
}

static char *
smoothing_words (const GraftSmoothing *s)
{
  if (s->kind == GRAFT_SMOOTH_WINDOW)
    return g_strdup_printf ("mean of the last %d epochs", s->window);
  if (s->kind == GRAFT_SMOOTH_EMA)
    return g_strdup_printf ("EMA %.2g (debiased)", s->weight);
  return NULL;
}

char *
graft_plot_figure_smoothing_note (const GraftPlotFigure *fig)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *common = NULL;
  gboolean same = TRUE;
  guint raw = 0;
  for (guint pi = 0; pi < fig->panels->len; pi++)
    {
      const GraftPlotPanel *p = fig->panels->pdata[pi];
      if (!panel_shown (p) || graft_plot_figure_n_shown (fig) == 0)
        continue;
      g_autofree char *words = smoothing_words (&p->smoothing);
      if (words == NULL)
        {
          raw++;
          continue;
        }
      if (common == NULL)
        common = g_strdup (words);
      else if (!g_str_equal (common, words))
        same = FALSE;
      g_ptr_array_add (parts, g_strdup_printf ("%s: %s", p->title && *p->title ? p->title
                                                         : "Smoothed", words));
    }
  if (parts->len == 0)
    return NULL;
  if (same && raw == 0)
    return g_strdup_printf ("Smoothed: %s; faint: raw", common);
  g_ptr_array_add (parts, g_strdup ("faint: raw"));
  g_ptr_array_add (parts, NULL);
  return g_strjoinv ("; ", (char **) parts->pdata);
}

/* ---- layout --------------------------------------------------------------- */

typedef struct {
  GPtrArray *entries;        /* GraftPlotLegendEntry* shown, or NULL: no legend */
  char      *note;           /* smoothing note, or NULL */
  double     row, sample, lpad, colw, notew;
  guint      ncol, nrows;
  double     x, y, w, h;
} Legend;

typedef struct {
  gboolean shown;
  double   px, pw;           /* the panel's column */
  Frame    f;
} PanelBox;

typedef struct {
  PanelBox *boxes;           /* one per panel */
  Legend    lg;
} Layout;

static void
layout_clear (Layout *L)
{
  g_free (L->boxes);
  g_clear_pointer (&L->lg.entries, g_ptr_array_unref);
  g_free (L->lg.note);
}

/* Text is measured on a surface of its own with unhinted metrics, so that the app's
 * pointer hit tests and every drawing of a figure at one size agree to the unit. */
static cairo_t *
measure_context (void)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create (s);
  cairo_surface_destroy (s);
  cairo_font_options_t *fo = cairo_font_options_create ();
  cairo_font_options_set_hint_metrics (fo, CAIRO_HINT_METRICS_OFF);
  cairo_set_font_options (cr, fo);
  cairo_font_options_destroy (fo);
  return cr;
}

/* Plot area of a panel, leaving @below_h units under the x-axis title. */
static Frame
panel_frame (const GraftPlotFigure *fig, const GraftPlotPanel *p, cairo_t *cr, double px,
             double pw, double height, Axis ay, double xmin, double xmax, double below_h)
{
  double top = PAD + ((p->title && *p->title) ? FONT_TITLE + 10 : 6);
  double bottom = height - PAD - below_h - (FONT_TICK + 10);
  if (fig->x_label && *fig->x_label)
    bottom -= FONT_LABEL + 8;
  /* Widest y tick label decides the left margin. */
  set_font (cr, FONT_TICK, FALSE);
  double tw = 0;
  for (double v = ay.lo; v <= ay.hi + ay.step * 1e-6; v += ay.step)
    {
      g_autofree char *t = tick_label (v, ay.decimals);
      tw = MAX (tw, text_width (cr, t));
    }
  double left = px + PAD + tw + 8;
  if (fig->y_label && *fig->y_label)
    left += FONT_LABEL + 8;
  double right = px + pw - PAD - 8;   /* room for the last x tick label's half */
  double span = MAX (right - left, 40) / 50;   /* about one x tick per 50 units */
  Axis ax = make_axis (xmin, xmax, (int) CLAMP (span, 2, 10), TRUE, FALSE);
  /* A little room at both ends so end markers are not cut by the frame. */
  double xpad = (ax.hi - ax.lo) * 0.025;
  ax.lo -= xpad;
  ax.hi += xpad;
  return (Frame) { left, top, right, bottom, ax, ay };
}

/* The shown values of @p (raw, band) into the running ranges. */
static void
panel_range (const GraftPlotPanel *p, double *lo, double *hi, double *xmin, double *xmax)
{
  for (guint i = 0; i < p->series->len; i++)
    {
      const GraftPlotSeries *s = p->series->pdata[i];
      if (s->hidden)
        continue;
      for (guint k = 0; k < s->y->len; k++)
        {
          double v = g_array_index (s->y, double, k), x = g_array_index (s->x, double, k);
          if (!isfinite (v) || !isfinite (x))
            continue;
          *lo = MIN (*lo, v);
          *hi = MAX (*hi, v);
          *xmin = MIN (*xmin, x);
          *xmax = MAX (*xmax, x);
          if (s->lo && isfinite (g_array_index (s->lo, double, k)))
            *lo = MIN (*lo, g_array_index (s->lo, double, k));
          if (s->hi && isfinite (g_array_index (s->hi, double, k)))
            *hi = MAX (*hi, g_array_index (s->hi, double, k));
        }
    }
}

static void
finish_range (double *lo, double *hi, double *xmin, double *xmax)
{
  if (!isfinite (*lo))
    *lo = 0, *hi = 1;
  if (!isfinite (*xmin))
    *xmin = 1, *xmax = 10;
  if (*xmax - *xmin < 1)
    *xmax = *xmin + 1;
}

/* One legend under the panels, centred, in as many columns as the width takes. */
static void
layout_legend (const GraftPlotFigure *fig, cairo_t *cr, double width, double height, Legend *lg)
{
  memset (lg, 0, sizeof *lg);
  if (fig->legend != GRAFT_PLOT_LEGEND_BELOW)
    return;
  g_autoptr (GPtrArray) all = graft_plot_figure_legend (fig);
  lg->entries = g_ptr_array_new_with_free_func (legend_entry_free);
  for (guint i = 0; i < all->len; i++)
    if (!((GraftPlotLegendEntry *) all->pdata[i])->hidden)
      g_ptr_array_add (lg->entries, g_steal_pointer (&all->pdata[i]));
  lg->note = graft_plot_figure_smoothing_note (fig);
  if (lg->entries->len == 0 && lg->note == NULL)
    {
      g_clear_pointer (&lg->entries, g_ptr_array_unref);
      return;
    }
  lg->row = FONT_LEGEND + 7;
  lg->sample = 26;
  lg->lpad = 8;
  set_font (cr, FONT_LEGEND, FALSE);
  double lw = 0;
  for (guint i = 0; i < lg->entries->len; i++)
    lw = MAX (lw, text_width (cr, ((GraftPlotLegendEntry *) lg->entries->pdata[i])->label));
  lg->colw = lg->sample + 6 + lw + 18;
  if (lg->note)
    {
      set_font (cr, FONT_TICK, FALSE);
      lg->notew = text_width (cr, lg->note);
    }
  guint n = lg->entries->len;
  double avail = width - 2 * PAD;
  lg->ncol = n ? (guint) CLAMP (floor ((avail - 2 * lg->lpad + 18) / lg->colw), 1, n) : 1;
  lg->nrows = (n + lg->ncol - 1) / lg->ncol + (lg->note ? 1 : 0);
  lg->w = MAX (n ? lg->ncol * lg->colw - 18 : 0, lg->notew) + 2 * lg->lpad;
  lg->h = 2 * lg->lpad + lg->row * lg->nrows - 7;
  lg->x = MAX (PAD, (width - lg->w) / 2);
  lg->y = height - PAD - lg->h;
}

static void
layout_figure (const GraftPlotFigure *fig, double width, double height, Layout *L)
{
  cairo_t *cr = measure_context ();
  guint np = fig->panels->len;
  L->boxes = g_new0 (PanelBox, MAX (np, 1));
  layout_legend (fig, cr, width, height, &L->lg);
  double below = L->lg.entries ? L->lg.h + 6 : 0;

  /* One y range for the panels that share it (raw and smoothed values both show). */
  double lo = INFINITY, hi = -INFINITY, xmin = INFINITY, xmax = -INFINITY;
  guint nshown = 0;
  for (guint pi = 0; pi < np; pi++)
    {
      const GraftPlotPanel *p = fig->panels->pdata[pi];
      L->boxes[pi].shown = panel_shown (p);
      nshown += L->boxes[pi].shown;
      if (L->boxes[pi].shown && !p->own_range)
        panel_range (p, &lo, &hi, &xmin, &xmax);
    }
  finish_range (&lo, &hi, &xmin, &xmax);
  int ytarget = (int) CLAMP ((height - below) / 70, 3, 10);
  Axis ay = make_axis (lo, hi, ytarget, FALSE, TRUE);
  double pw = width / MAX (nshown, 1);
  guint k = 0;
  for (guint pi = 0; pi < np; pi++)
    {
      const GraftPlotPanel *p = fig->panels->pdata[pi];
      PanelBox *b = &L->boxes[pi];
      if (!b->shown)
        continue;
      b->px = k++ * pw;
      b->pw = pw;
      if (p->own_range)
        {
          double plo = INFINITY, phi = -INFINITY, pxmin = INFINITY, pxmax = -INFINITY;
          panel_range (p, &plo, &phi, &pxmin, &pxmax);
          finish_range (&plo, &phi, &pxmin, &pxmax);
          b->f = panel_frame (fig, p, cr, b->px, pw, height,
                              make_axis (plo, phi, ytarget, FALSE, TRUE), pxmin, pxmax, below);
        }
      else
        b->f = panel_frame (fig, p, cr, b->px, pw, height, ay, xmin, xmax, below);
    }
  cairo_destroy (cr);
}

void
graft_plot_layout (const GraftPlotFigure *fig, double width, double height,
                   GraftPlotFrame *frames, double legend[4])
{
  Layout L = { 0 };
  layout_figure (fig, width, height, &L);
  for (guint pi = 0; pi < fig->panels->len; pi++)
    {
      const PanelBox *b = &L.boxes[pi];
      frames[pi] = (GraftPlotFrame) { b->shown, b->f.x0, b->f.y0, b->f.x1, b->f.y1,
                                      b->f.ax.lo, b->f.ax.hi, b->f.ay.lo, b->f.ay.hi };
      if (!b->shown)
        memset (&frames[pi], 0, sizeof frames[pi]);
    }
  if (legend)
    {
      legend[0] = L.lg.entries ? L.lg.x : 0;
      legend[1] = L.lg.entries ? L.lg.y : 0;
      legend[2] = L.lg.entries ? L.lg.w : 0;
      legend[3] = L.lg.entries ? L.lg.h : 0;
    }
  layout_clear (&L);
}

/* ---- hit tests ------------------------------------------------------------- */

static gboolean
point_hit (const GraftPlotFigure *fig, const Layout *L, guint pi, guint si, guint k,
           const double *drawn, GraftPlotHit *hit)
{
  const GraftPlotPanel *p = fig->panels->pdata[pi];
  const GraftPlotSeries *s = p->series->pdata[si];
  const Frame *f = &L->boxes[pi].f;
  double x = g_array_index (s->x, double, k);
  if (!L->boxes[pi].shown || s->hidden || !isfinite (x) || !isfinite (drawn[k]))
    return FALSE;
  *hit = (GraftPlotHit) { pi, si, k, x, g_array_index (s->y, double, k), drawn[k],
                          map_x (f, x), map_y (f, drawn[k]) };
  return TRUE;
}

gboolean
graft_plot_hit_test (const GraftPlotFigure *fig, double width, double height, double x,
                     double y, double radius, GraftPlotHit *hit)
{
  Layout L = { 0 };
  layout_figure (fig, width, height, &L);
  double best = radius * radius;
  gboolean found = FALSE;
  for (guint pi = 0; pi < fig->panels->len; pi++)
    {
      const GraftPlotPanel *p = fig->panels->pdata[pi];
      for (guint si = 0; si < p->series->len; si++)
        {
          const GraftPlotSeries *s = p->series->pdata[si];
          g_autofree double *drawn = smoothed_y (p, s);
          for (guint k = 0; k < s->x->len; k++)
            {
              GraftPlotHit h;
              if (!point_hit (fig, &L, pi, si, k, drawn, &h))
                continue;
              double d = (h.px - x) * (h.px - x) + (h.py - y) * (h.py - y);
              if (d <= best)
                {
                  best = d;
                  *hit = h;
                  found = TRUE;
                }
            }
        }
    }
  layout_clear (&L);
  return found;
}

gboolean
graft_plot_point_at (const GraftPlotFigure *fig, double width, double height, guint panel,
                     guint series, guint point, GraftPlotHit *hit)
{
  if (panel >= fig->panels->len)
    return FALSE;
  const GraftPlotPanel *p = fig->panels->pdata[panel];
  if (series >= p->series->len || point >= ((GraftPlotSeries *) p->series->pdata[series])->x->len)
    return FALSE;
  Layout L = { 0 };
  layout_figure (fig, width, height, &L);
  g_autofree double *drawn = smoothed_y (p, p->series->pdata[series]);
  gboolean ok = point_hit (fig, &L, panel, series, point, drawn, hit);
  layout_clear (&L);
  return ok;
}

/* ---- painting --------------------------------------------------------------- */

static void
draw_legend (const GraftPlotFigure *fig, cairo_t *cr, const Legend *lg, const Style *st)
{
  double bx = round (lg->x) + 0.5, by = round (lg->y) + 0.5;
  cairo_set_dash (cr, NULL, 0, 0);
  set_rgb (cr, st->grid);
  cairo_set_line_width (cr, 1);
  cairo_rectangle (cr, bx, by, round (lg->w), round (lg->h));
  cairo_stroke (cr);
  set_font (cr, FONT_LEGEND, FALSE);
  for (guint i = 0; i < lg->entries->len; i++)
    {
      const GraftPlotLegendEntry *e = lg->entries->pdata[i];
      guint r = i / lg->ncol, c = i % lg->ncol;
      double x = bx + lg->lpad + c * lg->colw;
      double y = by + lg->lpad + lg->row * r + FONT_LEGEND * 0.5;
      set_line_style (cr, fig, e->rgb, e->neutral, 1.0, 2.2);
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x + lg->sample, y);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      set_rgb (cr, st->text);
      draw_text (cr, e->label, x + lg->sample + 6, y, 0);
    }
  if (lg->note)
    {
      set_font (cr, FONT_TICK, FALSE);
      set_rgb (cr, st->dim);
      draw_text (cr, lg->note, bx + lg->lpad, by + lg->lpad + lg->row * (lg->nrows - 1) +
                 FONT_LEGEND * 0.5, 0);
    }
}

static void
draw_panel (const GraftPlotFigure *fig, const GraftPlotPanel *p, const PanelBox *b, cairo_t *cr,
            const Style *st)
{
  const Frame *fp = &b->f;
  Frame f = *fp;
  Axis ax = f.ax, ay = f.ay;
  if (f.x1 - f.x0 < 10 || f.y1 - f.y0 < 10)
    return;

  /* Background, grid, frame. */
  set_rgb (cr, st->bg);
  cairo_rectangle (cr, f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
  cairo_fill (cr);
  cairo_set_line_width (cr, 1);
  set_rgb (cr, st->grid);
  double xt0 = ceil (ax.lo / ax.step - 1e-9) * ax.step;
  for (double v = xt0; v <= ax.hi + ax.step * 1e-6; v += ax.step)
    {
      double x = round (map_x (&f, v)) + 0.5;
      cairo_move_to (cr, x, f.y0);
      cairo_line_to (cr, x, f.y1);
    }
  for (double v = ay.lo; v <= ay.hi + ay.step * 1e-6; v += ay.step)
    {
      double y = round (map_y (&f, v)) + 0.5;
      cairo_move_to (cr, f.x0, y);
      cairo_line_to (cr, f.x1, y);
    }
  cairo_stroke (cr);
  set_rgb (cr, st->frame);
  cairo_rectangle (cr, round (f.x0) + 0.5, round (f.y0) + 0.5, round (f.x1 - f.x0),
                   round (f.y1 - f.y0));
  cairo_stroke (cr);

  /* Ticks and their labels. */
  set_font (cr, FONT_TICK, FALSE);
  for (double v = xt0; v <= ax.hi + ax.step * 1e-6; v += ax.step)
    {
      double x = round (map_x (&f, v)) + 0.5;
      set_rgb (cr, st->frame);
      cairo_move_to (cr, x, f.y1);
      cairo_line_to (cr, x, f.y1 + 4);
      cairo_stroke (cr);
      g_autofree char *t = tick_label (v, ax.decimals);
      set_rgb (cr, st->text);
      draw_text (cr, t, x, f.y1 + 6 + FONT_TICK * 0.5, 0.5);
    }
  for (double v = ay.lo; v <= ay.hi + ay.step * 1e-6; v += ay.step)
    {
      double y = round (map_y (&f, v)) + 0.5;
      set_rgb (cr, st->frame);
      cairo_move_to (cr, f.x0 - 4, y);
      cairo_line_to (cr, f.x0, y);
      cairo_stroke (cr);
      g_autofree char *t = tick_label (v, ay.decimals);
      set_rgb (cr, st->text);
      draw_text (cr, t, f.x0 - 6, y, 1.0);
    }

  /* Titles: the panel title shrinks to fit and stays inside the panel. */
  set_rgb (cr, st->text);
  double px = b->px, pw = b->pw;
  if (p->title && *p->title)
    {
      double size = FONT_TITLE;
      set_font (cr, size, TRUE);
      while (text_width (cr, p->title) > pw - 2 * PAD && size > 8)
        set_font (cr, size -= 0.5, TRUE);
      double tw = text_width (cr, p->title);
      double cx = CLAMP ((f.x0 + f.x1) / 2, px + PAD + tw / 2, px + pw - PAD - tw / 2);
      draw_text (cr, p->title, cx, PAD + FONT_TITLE * 0.5, 0.5);
    }
  set_font (cr, FONT_LABEL, FALSE);
  if (fig->x_label && *fig->x_label)
    draw_text (cr, fig->x_label, (f.x0 + f.x1) / 2, f.y1 + FONT_TICK + 18 + FONT_LABEL * 0.5, 0.5);
  if (fig->y_label && *fig->y_label)
    {
      cairo_save (cr);
      cairo_translate (cr, px + PAD + FONT_LABEL * 0.5, (f.y0 + f.y1) / 2);
      cairo_rotate (cr, -G_PI / 2);
      draw_text (cr, fig->y_label, 0, 0, 0.5);
      cairo_restore (cr);
    }

  guint shown = 0;
  for (guint i = 0; i < p->series->len; i++)
    shown += !((GraftPlotSeries *) p->series->pdata[i])->hidden;
  if (shown == 0)
    {
      set_font (cr, FONT_LABEL, FALSE);
      set_rgb (cr, st->dim);
      draw_text (cr, p->series->len ? "All curves hidden" : "No data yet", (f.x0 + f.x1) / 2,
                 (f.y0 + f.y1) / 2, 0.5);
      return;
    }

  g_autoptr (GPtrArray) drawn = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < p->series->len; i++)
    g_ptr_array_add (drawn, smoothed_y (p, p->series->pdata[i]));

  /* Curves, clipped to the plot area; raw underneath when smoothing. */
  cairo_save (cr);
  cairo_rectangle (cr, f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
  cairo_clip (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  /* Seed sweeps: the band between the lowest and highest seed (or ±1 std), smoothed as the
   * curve is, under everything. */
  for (guint i = 0; i < p->series->len; i++)
    {
      const GraftPlotSeries *s = p->series->pdata[i];
      if (s->hidden || s->lo == NULL || s->x->len == 0)
        continue;
      g_autofree double *lo = g_new (double, s->x->len);
      g_autofree double *hi = g_new (double, s->x->len);
      graft_smooth (&p->smoothing, (const double *) s->lo->data, lo, s->x->len);
      graft_smooth (&p->smoothing, (const double *) s->hi->data, hi, s->x->len);
      gboolean started = FALSE;
      for (guint k = 0; k < s->x->len; k++)
        if (isfinite (hi[k]))
          {
            double qx = map_x (&f, g_array_index (s->x, double, k)), qy = map_y (&f, hi[k]);
            started ? cairo_line_to (cr, qx, qy) : cairo_move_to (cr, qx, qy);
            started = TRUE;
          }
      for (guint k = s->x->len; k-- > 0;)
        if (isfinite (lo[k]))
          cairo_line_to (cr, map_x (&f, g_array_index (s->x, double, k)), map_y (&f, lo[k]));
      cairo_close_path (cr);
      double c[3];
      graft_plot_figure_colour (fig, s->rgb, s->neutral, c);
      cairo_set_source_rgba (cr, c[0], c[1], c[2], fig->dark ? 0.24 : 0.18);
      cairo_fill (cr);
    }
  if (p->smoothing.kind != GRAFT_SMOOTH_NONE)
    for (guint i = 0; i < p->series->len; i++)
      {
        const GraftPlotSeries *s = p->series->pdata[i];
        if (s->hidden)
          continue;
        set_line_style (cr, fig, s->rgb, s->neutral, fig->dark ? 0.35 : 0.25, 1.3);
        draw_curve (cr, &f, s->x, (const double *) s->y->data, FALSE);
      }
  /* The neutral baseline first so experiments draw over it. */
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < p->series->len; i++)
      {
        const GraftPlotSeries *s = p->series->pdata[i];
        if (s->hidden || s->neutral != (pass == 0))
          continue;
        set_line_style (cr, fig, s->rgb, s->neutral, 1.0, 2.2);
        gboolean markers = s->x->len <= 30 && (f.x1 - f.x0) / MAX (s->x->len, 1) > 12;
        draw_curve (cr, &f, s->x, drawn->pdata[i], markers);
      }
  cairo_restore (cr);
  cairo_set_dash (cr, NULL, 0, 0);
}

void
graft_plot_draw (const GraftPlotFigure *fig, cairo_t *cr, double width, double height)
{
  Style st = figure_style (fig);
  cairo_save (cr);
  set_rgb (cr, st.bg);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_fill (cr);
  Layout L = { 0 };
  layout_figure (fig, width, height, &L);
  for (guint pi = 0; pi < fig->panels->len; pi++)
    if (L.boxes[pi].shown)
      draw_panel (fig, fig->panels->pdata[pi], &L.boxes[pi], cr, &st);
  if (L.lg.entries)
    draw_legend (fig, cr, &L.lg, &st);
  layout_clear (&L);
  cairo_restore (cr);
}

/* Cairo writes figures through this sink into a temporary file, so that a
 * short write or ENOSPC is seen (cairo's own file output drops write errors
 * when it closes the file, and PDF output is written as the surface finishes). */
typedef struct {
  int fd;
  int error;   /* errno of the first failed write, 0 if none */
} FigureSink;

static cairo_status_t
sink_write_cb (void *closure, const unsigned char *data, unsigned int length)
{
  FigureSink *sink = closure;
  if (sink->error)
    return CAIRO_STATUS_WRITE_ERROR;
  while (length > 0)
    {
      ssize_t w = write (sink->fd, data, length);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          sink->error = w < 0 ? errno : EIO;
          return CAIRO_STATUS_WRITE_ERROR;
        }
      data += w;
      length -= (unsigned int) w;
    }
  return CAIRO_STATUS_SUCCESS;
}

static gboolean
figure_error (const char *path, const FigureSink *sink, cairo_status_t st, GError **error)
{
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write the figure %s: %s", path,
               sink->error ? g_strerror (sink->error) : cairo_status_to_string (st));
  return FALSE;
}

gboolean
graft_plot_write (const GraftPlotFigure *fig, const char *path, double width, double height,
                  double dpi, GError **error)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);
  if (!(width >= 50 && height >= 50 && width <= 20000 && height <= 20000))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Figure size %g×%g is out of range (50 to 20000 per side)", width, height);
      return FALSE;
    }
  if (!(dpi >= 24 && dpi <= 1200))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Figure resolution %g dpi is out of range (24 to 1200)", dpi);
      return FALSE;
    }
  gboolean png = g_str_has_suffix (lower, ".png");
  gboolean svg = g_str_has_suffix (lower, ".svg");
  gboolean pdf = g_str_has_suffix (lower, ".pdf");
  if (!png && !svg && !pdf)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Cannot tell the figure format of %s: use .png, .svg or .pdf", path);
      return FALSE;
    }
  g_autofree char *tmp = g_strdup_printf ("%s.XXXXXX", path);
  FigureSink sink = { g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0644), 0 };
  if (sink.fd < 0)
    {
      int e = errno;
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write the figure %s: %s", path,
                   g_strerror (e));
      return FALSE;
    }
  double scale = png ? dpi / 96.0 : 0.75;
  cairo_surface_t *surface;
  if (png)
    surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) ceil (width * scale),
                                          (int) ceil (height * scale));
  else if (svg)
    surface = cairo_svg_surface_create_for_stream (sink_write_cb, &sink, width * scale,
                                                   height * scale);
  else
    surface = cairo_pdf_surface_create_for_stream (sink_write_cb, &sink, width * scale,
                                                   height * scale);
  cairo_status_t st = cairo_surface_status (surface);
  if (st == CAIRO_STATUS_SUCCESS)
    {
      cairo_t *cr = cairo_create (surface);
      cairo_scale (cr, scale, scale);
      graft_plot_draw (fig, cr, width, height);
      st = cairo_status (cr);
      cairo_destroy (cr);
    }
  if (st == CAIRO_STATUS_SUCCESS && png)
    st = cairo_surface_write_to_png_stream (surface, sink_write_cb, &sink);
  /* SVG and PDF write most of the file here: check after it, not before. */
  cairo_surface_finish (surface);
  if (st == CAIRO_STATUS_SUCCESS)
    st = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (st == CAIRO_STATUS_SUCCESS && sink.error == 0 && fsync (sink.fd) != 0)
    sink.error = errno;
  if (close (sink.fd) != 0 && sink.error == 0)
    sink.error = errno;
  if (st != CAIRO_STATUS_SUCCESS || sink.error != 0)
    {
      g_unlink (tmp);
      return figure_error (path, &sink, st, error);
    }
  if (g_rename (tmp, path) != 0)
    {
      int e = errno;
      g_unlink (tmp);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write the figure %s: %s", path,
                   g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

/* ---- the study's figure ------------------------------------------------- */

/* The committed rows of one run of @expanded; NULL with @error on a damaged folder. */
static GArray *
run_metrics (const GraftStudy *expanded, const GraftStudyRun *run, gboolean *outdated,
             GError **error)
{
  GraftRunStatus st;
  if (!graft_study_run_status (expanded, run, &st, error))
    return NULL;
  GArray *m = g_array_ref (st.metrics);
  *outdated = *outdated || st.state == GRAFT_RUN_STATE_OUTDATED;
  graft_run_status_clear (&st);
  return m;
}

/* The curve of the study's run @def: its own, or for a seed sweep the mean over the seeds at
 * each epoch with a band (min–max or ±1 std) around it. */
static gboolean
add_run_series (const GraftStudy *expanded, const GraftStudyRun *def, GraftPlotPanel *panel,
                GraftMetric metric, const char *label, const char *key, const double rgb[3],
                gboolean neutral, GraftPlotBand band, GError **error)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  gboolean outdated = FALSE;
  guint longest = 0;
  for (guint i = 0; i < expanded->runs->len; i++)
    {
      const GraftStudyRun *r = expanded->runs->pdata[i];
      if (!g_str_equal (r->group ? r->group : r->id, def->id))
        continue;
      GArray *m = run_metrics (expanded, r, &outdated, error);
      if (m == NULL)
        return FALSE;
      longest = MAX (longest, m->len);
      g_ptr_array_add (all, m);
    }
  if (longest == 0)
    return TRUE;
  gboolean sweep = all->len > 1;
  g_autofree double *x = g_new (double, longest);
  g_autofree double *y = g_new (double, longest);
  g_autofree double *lo = g_new (double, longest);
  g_autofree double *hi = g_new (double, longest);
  for (guint e = 0; e < longest; e++)
    {
      double sum = 0, sq = 0, mn = INFINITY, mx = -INFINITY;
      guint n = 0;
      for (guint k = 0; k < all->len; k++)
        {
          GArray *m = all->pdata[k];
          if (e >= m->len)
            continue;
          double v = graft_epoch_metrics_get (&g_array_index (m, GraftEpochMetrics, e), metric);
          if (!isfinite (v))
            continue;
          sum += v;
          sq += v * v;
          mn = MIN (mn, v);
          mx = MAX (mx, v);
          n++;
        }
      x[e] = e + 1;
      y[e] = n ? sum / n : NAN;
      double sd = n > 1 ? sqrt (MAX (sq - n * y[e] * y[e], 0) / (n - 1)) : 0;
      lo[e] = !n ? NAN : band == GRAFT_PLOT_BAND_STD ? y[e] - sd : mn;
      hi[e] = !n ? NAN : band == GRAFT_PLOT_BAND_STD ? y[e] + sd : mx;
    }
  /* Curves of settings the study no longer has say so; a sweep's say how many seeds. */
  g_autofree char *shown = sweep ? g_strdup_printf ("%s (%u seeds%s)", label, all->len,
                                                    outdated ? ", outdated" : "")
                           : outdated ? g_strdup_printf ("%s (outdated)", label)
                                      : g_strdup (label);
  GraftPlotSeries *s = graft_plot_panel_add_series (panel, shown, rgb, neutral, x, y, longest);
  graft_plot_series_set_ids (s, key, def->id);
  if (sweep && band != GRAFT_PLOT_BAND_NONE)
    graft_plot_series_set_band (s, lo, hi);
  return TRUE;
}

/* Palette slot per display name: transfer runs first, in study order. */
static GHashTable *
colour_slots (const GraftStudy *study)
{
  GHashTable *slots = g_hash_table_new (g_str_hash, g_str_equal);
  guint next = 0;
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < study->runs->len; i++)
      {
        GraftStudyRun *r = study->runs->pdata[i];
        if ((r->from != NULL) != (pass == 0) || g_strcmp0 (r->id, study->baseline) == 0 ||
            g_hash_table_contains (slots, r->name))
          continue;
        g_hash_table_insert (slots, r->name, GUINT_TO_POINTER (next++));
      }
  return slots;
}

GraftPlotFigure *
graft_study_figure (const GraftStudy *study, GraftMetric metric, const char *const *runs,
                    const GraftSmoothing *smoothing, GError **error)
{
  return graft_study_figure_flags (study, metric, runs, smoothing, GRAFT_PLOT_BAND_MINMAX,
                                   GRAFT_STUDY_FIGURE_DEFAULT, error);
}

GraftPlotFigure *
graft_study_figure_full (const GraftStudy *study, GraftMetric metric, const char *const *runs,
                         const GraftSmoothing *smoothing, GraftPlotBand band, GError **error)
{
  return graft_study_figure_flags (study, metric, runs, smoothing, band,
                                   GRAFT_STUDY_FIGURE_DEFAULT, error);
}

GraftPlotFigure *
graft_study_figure_flags (const GraftStudy *study, GraftMetric metric, const char *const *runs,
                          const GraftSmoothing *smoothing, GraftPlotBand band,
                          GraftStudyFigureFlags flags, GError **error)
{
  g_autoptr (GraftStudy) expanded = graft_study_expand (study);
  g_autoptr (GraftPlotFigure) fig = graft_plot_figure_new ("Epoch", graft_metric_title (metric));
  g_autoptr (GHashTable) slots = colour_slots (study);
  double neutral[3];
  graft_plot_neutral (neutral);
  const GraftStudyRun *baseline = graft_study_find_run (study, study->baseline);

  if (runs == NULL)
    {
      /* The report's figure: frozen raw, trainable smoothed; a smoothing chosen applies to
       * every panel alike. */
      GraftSmoothing window5 = { .kind = GRAFT_SMOOTH_WINDOW, .window = 5 };
      GraftPlotPanel *panels[2] = {
        graft_plot_figure_add_panel (fig, "Transferred weights frozen", smoothing),
        graft_plot_figure_add_panel (fig, "Transferred weights trainable",
                                     smoothing ? smoothing : &window5),
      };
      for (int pi = 0; pi < 2; pi++)
        {
          gboolean frozen = pi == 0;
          if (baseline && !add_run_series (expanded, baseline, panels[pi], metric,
                                           baseline->name, baseline->name, neutral, TRUE, band,
                                           error))
            return NULL;
          for (guint i = 0; i < study->runs->len; i++)
            {
              const GraftStudyRun *r = study->runs->pdata[i];
              if (r->from == NULL || r->freeze != frozen || r == baseline)
                continue;
              double rgb[3];
              graft_plot_palette (GPOINTER_TO_UINT (g_hash_table_lookup (slots, r->name)), rgb);
              if (!add_run_series (expanded, r, panels[pi], metric, r->name, r->name, rgb, FALSE,
                                   band, error))
                return NULL;
            }
        }
      if (flags & GRAFT_STUDY_FIGURE_BASE_PANEL)
        {
          /* The source task's runs: another task, so their own axes; hidden until asked. */
          GraftPlotPanel *bp = graft_plot_figure_add_panel (fig, "Base model (source task)",
                                                            smoothing);
          bp->own_range = TRUE;
          bp->optional = TRUE;
          for (guint i = 0; i < study->runs->len; i++)
            {
              const GraftStudyRun *r = study->runs->pdata[i];
              if (r->from != NULL || r == baseline)
                continue;
              double rgb[3];
              graft_plot_palette (GPOINTER_TO_UINT (g_hash_table_lookup (slots, r->name)), rgb);
              if (!add_run_series (expanded, r, bp, metric, r->name, r->name, rgb, FALSE, band,
                                   error))
                return NULL;
            }
          for (guint i = 0; i < bp->series->len; i++)
            ((GraftPlotSeries *) bp->series->pdata[i])->hidden =
              !(flags & GRAFT_STUDY_FIGURE_SHOW_BASE);
        }
      return g_steal_pointer (&fig);
    }
  GraftPlotPanel *panel = graft_plot_figure_add_panel (fig, NULL, smoothing);
  guint n = g_strv_length ((char **) runs);
  for (guint i = 0; i < n; i++)
    if (graft_study_find_run (study, runs[i]) == NULL)
      {
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                     "The study in %s has no run “%s”", study->dir ? study->dir : "memory",
                     runs[i]);
        return NULL;
      }
  for (guint i = 0; i < n; i++)
    {
      const GraftStudyRun *r = graft_study_find_run (study, runs[i]);
      /* Frozen and trainable runs share a display name: tell them apart here. */
      gboolean shared = FALSE;
      for (guint j = 0; j < n; j++)
        if (j != i && g_str_equal (graft_study_find_run (study, runs[j])->name, r->name))
          shared = TRUE;
      g_autofree char *label = shared ? g_strdup_printf ("%s (%s)", r->name,
                                                         r->freeze ? "frozen" : "trainable")
                                      : g_strdup (r->name);
      double rgb[3];
      if (r == baseline)
        graft_plot_neutral (rgb);
      else
        graft_plot_palette (i, rgb);
      if (!add_run_series (expanded, r, panel, metric, label, label, rgb, r == baseline, band,
                           error))
        return NULL;
    }
  return g_steal_pointer (&fig);
}
