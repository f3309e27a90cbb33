/* Figures: one legend under the panels and outside every plot area, hidden curves, the
 * optional base-model panel, hit tests, the dark canvas, smoothing on both panels. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graft-plot.h"
#include "graft-study.h"

#define W 900
#define H 420

static guint32
pixel (cairo_surface_t *s, int x, int y)
{
  const guint8 *d = cairo_image_surface_get_data (s);
  return *(const guint32 *) (d + y * cairo_image_surface_get_stride (s) + x * 4) & 0xffffff;
}

static cairo_surface_t *
render (const GraftPlotFigure *fig)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create (s);
  graft_plot_draw (fig, cr, W, H);
  cairo_destroy (cr);
  cairo_surface_flush (s);
  return s;
}

static gboolean
near_rgb (guint32 p, const double rgb[3], int tol)
{
  int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
  return abs (r - (int) lround (rgb[0] * 255)) <= tol && abs (g - (int) lround (rgb[1] * 255)) <= tol
         && abs (b - (int) lround (rgb[2] * 255)) <= tol;
}

/* Two panels whose curves sweep every corner of their plot areas (the old legend always found
 * a corner over some curve), three runs, the middle one in both panels. */
static GraftPlotFigure *
busy_figure (const char *suffix)
{
  GraftPlotFigure *fig = graft_plot_figure_new ("Epoch", "Accuracy");
  const char *names[] = { "alpha", "beta", "gamma" };
  for (int pi = 0; pi < 2; pi++)
    {
      GraftPlotPanel *p = graft_plot_figure_add_panel (fig, pi ? "right" : "left", NULL);
      for (int k = 0; k < 3; k++)
        {
          if (pi == 1 && k == 0)
            continue;
          double x[20], y[20];
          for (int e = 0; e < 20; e++)
            {
              x[e] = e + 1;
              y[e] = (e + k) % 2 ? 0.1 * k : 1 - 0.1 * k;   /* zigzag, top to bottom */
            }
          double rgb[3];
          graft_plot_palette ((guint) k, rgb);
          g_autofree char *label = g_strdup_printf ("%s%s", names[k], suffix);
          GraftPlotSeries *s = graft_plot_panel_add_series (p, label, rgb, FALSE, x, y, 20);
          graft_plot_series_set_ids (s, names[k], names[k]);
        }
    }
  return fig;
}

static void
test_legend_outside (void)
{
  g_autoptr (GraftPlotFigure) a = busy_figure ("");
  g_autoptr (GraftPlotFigure) b = busy_figure (" (relabelled)");
  /* One entry per key: beta's curves in both panels share one. */
  g_autoptr (GPtrArray) entries = graft_plot_figure_legend (a);
  g_assert_cmpuint (entries->len, ==, 3);

  cairo_surface_t *sa = render (a), *sb = render (b);
  /* The curves' pixels, and the pixels a change of the labels changes: the legend. */
  int curve_bottom = -1, legend_top = H, legend_n = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        guint32 p = pixel (sa, x, y);
        for (guint k = 0; k < 3; k++)
          {
            double rgb[3];
            graft_plot_palette (k, rgb);
            /* Curves are wide strokes; the legend's samples are short lines. */
            if (near_rgb (p, rgb, 10) && y < H - 60)
              curve_bottom = MAX (curve_bottom, y);
          }
        if (p != pixel (sb, x, y))
          {
            legend_top = MIN (legend_top, y);
            legend_n++;
          }
      }
  g_test_message ("curves end at y=%d, the legend's text starts at y=%d (%d pixels)",
                  curve_bottom, legend_top, legend_n);
  g_assert_cmpint (legend_n, >, 100);
  g_assert_cmpint (curve_bottom, >, 0);
  /* Drawn once, under every curve. */
  g_assert_cmpint (legend_top, >, curve_bottom);
  cairo_surface_destroy (sa);
  cairo_surface_destroy (sb);

  /* The layout agrees: the legend box meets no plot area. */
  GraftPlotFrame frames[2];
  double box[4];
  graft_plot_layout (a, W, H, frames, box);
  g_assert_cmpfloat (box[2], >, 0);
  for (int i = 0; i < 2; i++)
    {
      g_assert_true (frames[i].shown);
      g_assert_cmpfloat (box[1], >, frames[i].y1 + 20);   /* under the x-axis title too */
    }
  g_assert_cmpfloat (box[1] + box[3], <=, H);

  /* No legend asked: the plot areas take the room. */
  a->legend = GRAFT_PLOT_LEGEND_NONE;
  GraftPlotFrame bare[2];
  graft_plot_layout (a, W, H, bare, box);
  g_assert_cmpfloat (box[2], ==, 0);
  g_assert_cmpfloat (bare[0].y1, >, frames[0].y1);
}

static void
test_hidden_and_hits (void)
{
  g_autoptr (GraftPlotFigure) fig = busy_figure ("");
  GraftPlotPanel *right = fig->panels->pdata[1];
  /* A third, optional panel with its own range: left out while its curve is hidden. */
  GraftPlotPanel *extra = graft_plot_figure_add_panel (fig, "extra", NULL);
  extra->optional = extra->own_range = TRUE;
  double x[3] = { 1, 2, 3 }, y[3] = { 5, 7, 6 }, rgb[3];
  graft_plot_palette (5, rgb);
  GraftPlotSeries *es = graft_plot_panel_add_series (extra, "extra run", rgb, FALSE, x, y, 3);
  graft_plot_series_set_ids (es, "extra", "extra-run");
  es->hidden = TRUE;
  g_assert_cmpuint (graft_plot_figure_n_shown (fig), ==, 5);

  GraftPlotFrame frames[3];
  graft_plot_layout (fig, W, H, frames, NULL);
  g_assert_true (frames[0].shown && frames[1].shown);
  g_assert_false (frames[2].shown);
  g_assert_cmpfloat (frames[1].x1, >, W * 0.9);   /* two panels fill the width */

  /* A point found at its own place reports its series, epoch and value. */
  GraftPlotHit at, hit;
  g_assert_true (graft_plot_point_at (fig, W, H, 1, 0, 6, &at));   /* beta, epoch 7 */
  g_assert_cmpfloat (at.x, ==, 7);
  g_assert_cmpfloat (at.value, ==, 0.1);   /* (6 + 1) % 2: the low side of the zigzag */
  g_assert_true (graft_plot_hit_test (fig, W, H, at.px + 2, at.py - 1, 20, &hit));
  g_assert_cmpuint (hit.panel, ==, 1);
  g_assert_cmpstr (((GraftPlotSeries *) right->series->pdata[hit.series])->run, ==, "beta");
  g_assert_cmpuint (hit.point, ==, 6);
  g_assert_cmpfloat (hit.value, ==, 0.1);
  /* Nothing near: nothing found. */
  g_assert_false (graft_plot_hit_test (fig, W, H, 2, 2, 20, &hit));

  /* Hiding a key hides its curves in every panel; hit tests skip them. */
  g_assert_cmpuint (graft_plot_figure_set_hidden (fig, "beta", TRUE), ==, 2);
  g_assert_cmpuint (graft_plot_figure_n_shown (fig), ==, 3);
  g_assert_false (graft_plot_point_at (fig, W, H, 1, 0, 6, &hit));
  if (graft_plot_hit_test (fig, W, H, at.px, at.py, 20, &hit))
    g_assert_cmpstr (((GraftPlotSeries *) right->series->pdata[hit.series])->run, !=, "beta");
  cairo_surface_t *s = render (fig);
  double beta[3];
  graft_plot_palette (1, beta);
  guint n = 0;
  for (int py = 0; py < H; py++)
    for (int px = 0; px < W; px++)
      n += near_rgb (pixel (s, px, py), beta, 10);
  g_assert_cmpuint (n, ==, 0);
  cairo_surface_destroy (s);

  /* Showing the optional panel's curve brings its panel, with its own y range. */
  graft_plot_figure_set_hidden (fig, "extra", FALSE);
  graft_plot_layout (fig, W, H, frames, NULL);
  g_assert_true (frames[2].shown);
  g_assert_cmpfloat (frames[2].ylo, <=, 5);
  g_assert_cmpfloat (frames[2].yhi, >=, 7);
  g_assert_cmpfloat (frames[0].yhi, <, 2);
  g_assert_cmpfloat (frames[1].x1, <, W * 0.7);
}

static void
test_dark (void)
{
  g_autoptr (GraftPlotFigure) fig = busy_figure ("");
  cairo_surface_t *light = render (fig);
  fig->dark = TRUE;
  cairo_surface_t *dark = render (fig);
  guint32 lp = pixel (light, 3, 3), dp = pixel (dark, 3, 3);
  g_test_message ("corner: light %06x, dark %06x", lp, dp);
  g_assert_cmpuint (lp, ==, 0xffffff);
  g_assert_cmpuint ((dp >> 16) & 0xff, <, 60);
  /* The curves stay apart from one another and from the page. */
  double c[3][3];
  for (guint k = 0; k < 3; k++)
    {
      double rgb[3];
      graft_plot_palette (k, rgb);
      graft_plot_figure_colour (fig, rgb, FALSE, c[k]);
      double lum = 0.2126 * c[k][0] + 0.7152 * c[k][1] + 0.0722 * c[k][2];
      g_assert_cmpfloat (lum, >, 0.25);
    }
  cairo_surface_destroy (light);
  cairo_surface_destroy (dark);
}

static void
rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      const char *n;
      while (d && (n = g_dir_read_name (d)))
        {
          g_autofree char *c = g_build_filename (path, n, NULL);
          rm_rf (c);
        }
      if (d)
        g_dir_close (d);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

/* The study's figure: a smoothing chosen applies to both panels; the base panel is there only
 * when asked, optional and hidden. */
static void
test_study_panels (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("graft-plot-XXXXXX", &error);
  g_assert_no_error (error);
  g_autoptr (GraftStudy) s = graft_study_new_preset (GRAFT_STUDY_PRESET_DEMO, "/data/src", "/data/dst",
                                                        NULL);
  g_assert_true (graft_study_create (s, dir, &error));
  g_assert_no_error (error);

  GraftSmoothing ema = { .kind = GRAFT_SMOOTH_EMA, .weight = 0.6 };
  g_autoptr (GraftPlotFigure) fig = graft_study_figure (s, GRAFT_METRIC_VAL_ACC, NULL, &ema,
                                                        &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fig->panels->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      GraftPlotPanel *p = fig->panels->pdata[i];
      g_assert_cmpint (p->smoothing.kind, ==, GRAFT_SMOOTH_EMA);
      g_assert_cmpfloat (p->smoothing.weight, ==, 0.6);
    }
  /* No smoothing given: the report's figure, frozen raw and trainable window:5. */
  g_autoptr (GraftPlotFigure) ref = graft_study_figure (s, GRAFT_METRIC_VAL_ACC, NULL, NULL,
                                                        &error);
  g_assert_cmpint (((GraftPlotPanel *) ref->panels->pdata[0])->smoothing.kind, ==,
                   GRAFT_SMOOTH_NONE);
  g_assert_cmpint (((GraftPlotPanel *) ref->panels->pdata[1])->smoothing.kind, ==,
                   GRAFT_SMOOTH_WINDOW);

  g_autoptr (GraftPlotFigure) base = graft_study_figure_flags (
    s, GRAFT_METRIC_VAL_ACC, NULL, &ema, GRAFT_PLOT_BAND_MINMAX, GRAFT_STUDY_FIGURE_BASE_PANEL,
    &error);
  g_assert_no_error (error);
  g_assert_cmpuint (base->panels->len, ==, 3);
  GraftPlotPanel *bp = base->panels->pdata[2];
  g_assert_true (bp->optional && bp->own_range);
  g_assert_cmpint (bp->smoothing.kind, ==, GRAFT_SMOOTH_EMA);
  rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plot/legend-outside", test_legend_outside);
  g_test_add_func ("/plot/hidden-and-hits", test_hidden_and_hits);
  g_test_add_func ("/plot/dark", test_dark);
  g_test_add_func ("/plot/study-panels", test_study_panels);
  return g_test_run ();
}
