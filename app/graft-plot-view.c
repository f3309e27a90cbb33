/* Live learning curves of every run of a study, drawn with the engine's Cairo figures. */
#include "graft-config.h"
#include "graft-plot-view.h"

#include "graft-plot.h"

struct _GraftPlotView {
  GtkBox            parent_instance;
  GtkDropDown      *metric_dropdown;
  GtkDropDown      *smoothing_dropdown;
  GtkDropDown      *band_dropdown;
  GtkDrawingArea   *area;
  GtkLabel         *empty_label;
  const GraftStudy *study;
  GraftPlotFigure  *figure;
  char             *error;
};

G_DEFINE_FINAL_TYPE (GraftPlotView, graft_plot_view, GTK_TYPE_BOX)

static const GraftMetric metrics[] = {
  GRAFT_METRIC_VAL_ACC, GRAFT_METRIC_VAL_LOSS, GRAFT_METRIC_TRAIN_ACC, GRAFT_METRIC_TRAIN_LOSS,
};
static const char *const smoothings[] = { "none", "window:5", "ema:0.6" };
/* In the band dropdown's order. */
static const GraftPlotBand bands[] = {
  GRAFT_PLOT_BAND_MINMAX, GRAFT_PLOT_BAND_STD, GRAFT_PLOT_BAND_NONE,
};

static guint
count_series (const GraftPlotFigure *fig)
{
  guint n = 0;
  for (guint i = 0; fig && i < fig->panels->len; i++)
    n += ((GraftPlotPanel *) fig->panels->pdata[i])->series->len;
  return n;
}

static guint
count_banded (const GraftPlotFigure *fig)
{
  guint n = 0;
  for (guint i = 0; fig && i < fig->panels->len; i++)
    {
      GPtrArray *series = ((GraftPlotPanel *) fig->panels->pdata[i])->series;
      for (guint j = 0; j < series->len; j++)
        n += ((GraftPlotSeries *) series->pdata[j])->lo != NULL;
    }
  return n;
}

static GraftPlotFigure *
build_figure (GraftPlotView *self, GError **error)
{
  guint m = gtk_drop_down_get_selected (self->metric_dropdown);
  guint s = gtk_drop_down_get_selected (self->smoothing_dropdown);
  GraftSmoothing smoothing;
  if (!graft_smoothing_parse (smoothings[MIN (s, G_N_ELEMENTS (smoothings) - 1)], &smoothing,
                              error))
    return NULL;
  guint b = gtk_drop_down_get_selected (self->band_dropdown);
  return graft_study_figure_full (self->study, metrics[MIN (m, G_N_ELEMENTS (metrics) - 1)],
                                  NULL, &smoothing, bands[MIN (b, G_N_ELEMENTS (bands) - 1)],
                                  error);
}

void
graft_plot_view_refresh (GraftPlotView *self)
{
  g_clear_pointer (&self->figure, graft_plot_figure_free);
  g_clear_pointer (&self->error, g_free);
  if (self->study)
    {
      g_autoptr (GError) error = NULL;
      self->figure = build_figure (self, &error);
      if (self->figure == NULL)
        self->error = g_strdup (error->message);
    }
  guint n = count_series (self->figure);
  /* Only a seed sweep has several curves to band. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->band_dropdown),
                            self->study && graft_study_is_sweep (self->study));
  gtk_label_set_text (self->empty_label,
                      self->error ? self->error
                      : self->study == NULL ? "No study open"
                      : n == 0 ? "No finished epochs yet: curves appear as runs train"
                      : "");
  gtk_widget_set_visible (GTK_WIDGET (self->empty_label), self->error || n == 0);
  gtk_widget_queue_draw (GTK_WIDGET (self->area));
}

void
graft_plot_view_set_study (GraftPlotView *self, const GraftStudy *study)
{
  self->study = study;
  graft_plot_view_refresh (self);
}

guint
graft_plot_view_n_series (GraftPlotView *self)
{
  return count_series (self->figure);
}

guint
graft_plot_view_n_banded (GraftPlotView *self)
{
  return count_banded (self->figure);
}

gboolean
graft_plot_view_write (GraftPlotView *self, const char *path, GError **error)
{
  if (self->study == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "No study open to plot into %s", path);
      return FALSE;
    }
  g_autoptr (GraftPlotFigure) fig = build_figure (self, error);
  if (fig == NULL)
    return FALSE;
  /* The report's figure proportions, 150 dpi for PNG. */
  return graft_plot_write (fig, path, 1200, 480, 150, error);
}

static void
draw_cb (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  GraftPlotView *self = user_data;
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  if (self->figure && count_series (self->figure) > 0)
    graft_plot_draw (self->figure, cr, width, height);
}

static void
choice_changed_cb (GtkDropDown *dropdown, GParamSpec *pspec, GraftPlotView *self)
{
  graft_plot_view_refresh (self);
}

static void
graft_plot_view_dispose (GObject *object)
{
  GraftPlotView *self = GRAFT_PLOT_VIEW (object);
  g_clear_pointer (&self->figure, graft_plot_figure_free);
  g_clear_pointer (&self->error, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), GRAFT_TYPE_PLOT_VIEW);
  G_OBJECT_CLASS (graft_plot_view_parent_class)->dispose (object);
}

static void
graft_plot_view_class_init (GraftPlotViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = graft_plot_view_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/graft/Graft/ui/graft-plot-view.ui");
  gtk_widget_class_bind_template_child (widget_class, GraftPlotView, metric_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GraftPlotView, smoothing_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GraftPlotView, band_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GraftPlotView, area);
  gtk_widget_class_bind_template_child (widget_class, GraftPlotView, empty_label);
  gtk_widget_class_bind_template_callback (widget_class, choice_changed_cb);
}

static void
graft_plot_view_init (GraftPlotView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* Figure 1 compares raw frozen curves with smoothed trainable ones. */
  gtk_drop_down_set_selected (self->smoothing_dropdown, 1);
  gtk_drawing_area_set_draw_func (self->area, draw_cb, self, NULL);
}
