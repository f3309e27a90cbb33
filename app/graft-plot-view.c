/* Live learning curves of every run of a study, drawn with the engine's Cairo figures. */
#include "graft-config.h"
#include "graft-plot-view.h"

#include <math.h>

#include "graft-plot.h"

/* How near the pointer must be to a point for its readout, in pixels. */
#define HOVER_RADIUS 24.0

typedef enum { CHOSEN_SHOWN = 1, CHOSEN_HIDDEN = 2 } Chosen;

struct _GraftPlotView {
  GtkBox            parent_instance;
  GtkDropDown      *metric_dropdown;
  GtkDropDown      *smoothing_dropdown;
  GtkDropDown      *band_dropdown;
  GtkDrawingArea   *area;
  GtkLabel         *empty_label;
  GraftPlotLegend  *legend;
  const GraftStudy *study;
  GraftPlotFigure  *figure;     /* as drawn: the user's choices of curves applied */
  char             *error;
  GHashTable       *chosen;     /* legend key → Chosen, what the user toggled */
  gboolean          dark;
  guint             style_idle;
  gboolean          pointer_in;
  double            pointer_x, pointer_y;
  gboolean          has_hover;
  GraftPlotHit      hover;
  char             *readout;    /* markup */
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
count_all (const GraftPlotFigure *fig)
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
        {
          const GraftPlotSeries *s = series->pdata[j];
          n += s->lo != NULL && !s->hidden;
        }
    }
  return n;
}

/* The user's choices; keys never toggled keep the figure's default (the base model's curves
 * hidden, every other shown). */
static void
apply_choices (GraftPlotView *self, GraftPlotFigure *fig)
{
  g_autoptr (GPtrArray) entries = graft_plot_figure_legend (fig);
  for (guint i = 0; i < entries->len; i++)
    {
      const GraftPlotLegendEntry *e = entries->pdata[i];
      Chosen c = GPOINTER_TO_INT (g_hash_table_lookup (self->chosen, e->key));
      graft_plot_figure_set_hidden (fig, e->key, c ? c == CHOSEN_HIDDEN : e->optional);
    }
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
  GraftPlotFigure *fig = graft_study_figure_flags (self->study,
                                                   metrics[MIN (m, G_N_ELEMENTS (metrics) - 1)],
                                                   NULL, &smoothing,
                                                   bands[MIN (b, G_N_ELEMENTS (bands) - 1)],
                                                   GRAFT_STUDY_FIGURE_BASE_PANEL, error);
  if (fig)
    apply_choices (self, fig);
  return fig;
}

/* ---- hover ------------------------------------------------------------------ */

static double
canvas_width (GraftPlotView *self)
{
  return gtk_widget_get_width (GTK_WIDGET (self->area));
}

static double
canvas_height (GraftPlotView *self)
{
  return gtk_widget_get_height (GTK_WIDGET (self->area));
}

static void
fill_point (GraftPlotView *self, const GraftPlotHit *h, GraftPlotViewPoint *point)
{
  const GraftPlotPanel *p = self->figure->panels->pdata[h->panel];
  const GraftPlotSeries *s = p->series->pdata[h->series];
  *point = (GraftPlotViewPoint) { g_strdup (s->run), g_strdup (s->label), g_strdup (p->title),
                                  (int) lround (h->x), h->value, h->drawn, h->px, h->py };
}

void
graft_plot_view_point_clear (GraftPlotViewPoint *point)
{
  g_clear_pointer (&point->run, g_free);
  g_clear_pointer (&point->label, g_free);
  g_clear_pointer (&point->panel, g_free);
}

gboolean
graft_plot_view_hit_test (GraftPlotView *self, double x, double y, GraftPlotViewPoint *point)
{
  GraftPlotHit h;
  if (self->figure == NULL || count_all (self->figure) == 0
      || !graft_plot_hit_test (self->figure, canvas_width (self), canvas_height (self), x, y,
                               HOVER_RADIUS, &h))
    return FALSE;
  fill_point (self, &h, point);
  return TRUE;
}

gboolean
graft_plot_view_point_position (GraftPlotView *self, const char *run, int epoch, double *x,
                                double *y)
{
  for (guint pi = 0; self->figure && pi < self->figure->panels->len; pi++)
    {
      const GraftPlotPanel *p = self->figure->panels->pdata[pi];
      for (guint si = 0; si < p->series->len; si++)
        {
          const GraftPlotSeries *s = p->series->pdata[si];
          if (s->hidden || g_strcmp0 (s->run, run) != 0)
            continue;
          for (guint k = 0; k < s->x->len; k++)
            {
              GraftPlotHit h;
              if (lround (g_array_index (s->x, double, k)) == epoch
                  && graft_plot_point_at (self->figure, canvas_width (self),
                                          canvas_height (self), pi, si, k, &h))
                {
                  *x = h.px;
                  *y = h.py;
                  return TRUE;
                }
            }
        }
    }
  return FALSE;
}

static void
update_hover (GraftPlotView *self)
{
  g_clear_pointer (&self->readout, g_free);
  self->has_hover = FALSE;
  GraftPlotHit h;
  if (!self->pointer_in || self->figure == NULL || count_all (self->figure) == 0
      || !graft_plot_hit_test (self->figure, canvas_width (self), canvas_height (self),
                               self->pointer_x, self->pointer_y, HOVER_RADIUS, &h))
    return;
  self->has_hover = TRUE;
  self->hover = h;
  const GraftPlotPanel *p = self->figure->panels->pdata[h.panel];
  const GraftPlotSeries *s = p->series->pdata[h.series];
  g_autofree char *smoothed = fabs (h.drawn - h.value) > 5e-7
                              ? g_strdup_printf (" (smoothed %.4f)", h.drawn) : g_strdup ("");
  g_autofree char *spread = NULL;
  if (s->lo && s->hi)
    spread = g_strdup_printf ("\nseeds %.4f – %.4f", g_array_index (s->lo, double, h.point),
                              g_array_index (s->hi, double, h.point));
  /* The panel is where the pointer is; the run's id tells frozen from trainable. */
  self->readout = g_markup_printf_escaped ("<b>%s</b>\n%s %d: %.4f%s%s\n<small>%s</small>",
                                           s->label, self->figure->x_label,
                                           (int) lround (h.x), h.value, smoothed,
                                           spread ? spread : "", s->run ? s->run : "");
}

void
graft_plot_view_hover (GraftPlotView *self, double x, double y)
{
  self->pointer_in = TRUE;
  self->pointer_x = x;
  self->pointer_y = y;
  update_hover (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->area));
}

const char *
graft_plot_view_get_readout (GraftPlotView *self)
{
  return self->readout;
}

static void
motion_cb (GtkEventControllerMotion *motion, double x, double y, GraftPlotView *self)
{
  gboolean had = self->has_hover;
  GraftPlotHit before = self->hover;
  self->pointer_in = TRUE;
  self->pointer_x = x;
  self->pointer_y = y;
  update_hover (self);
  if (had != self->has_hover || (had && (before.panel != self->hover.panel
                                         || before.series != self->hover.series
                                         || before.point != self->hover.point)))
    gtk_widget_queue_draw (GTK_WIDGET (self->area));
}

static void
leave_cb (GtkEventControllerMotion *motion, GraftPlotView *self)
{
  self->pointer_in = FALSE;
  update_hover (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->area));
}

/* ---- the figure --------------------------------------------------------------- */

static void
update_legend (GraftPlotView *self)
{
  if (self->legend == NULL)   /* the template's choices are set before it exists */
    return;
  if (self->figure == NULL)
    {
      g_autoptr (GPtrArray) none = g_ptr_array_new ();
      graft_plot_legend_set_entries (self->legend, NULL, none, NULL);
      return;
    }
  g_autoptr (GPtrArray) entries = graft_plot_figure_legend (self->figure);
  g_autofree char *note = graft_plot_figure_smoothing_note (self->figure);
  graft_plot_legend_set_entries (self->legend, self->figure, entries, note);
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
      else
        {
          /* The legend is the list under the canvas; the canvas follows the style. */
          self->figure->legend = GRAFT_PLOT_LEGEND_NONE;
          self->figure->dark = self->dark;
        }
    }
  guint n = count_all (self->figure);
  /* Only a seed sweep has several curves to band. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->band_dropdown),
                            self->study && graft_study_is_sweep (self->study));
  gtk_label_set_text (self->empty_label,
                      self->error ? self->error
                      : self->study == NULL ? "No study open"
                      : n == 0 ? "No finished epochs yet: curves appear as runs train"
                      : "");
  gtk_widget_set_visible (GTK_WIDGET (self->empty_label), self->error || n == 0);
  update_legend (self);
  update_hover (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->area));
}

void
graft_plot_view_set_study (GraftPlotView *self, const GraftStudy *study)
{
  if (study != self->study)
    g_hash_table_remove_all (self->chosen);
  self->study = study;
  graft_plot_view_refresh (self);
}

guint
graft_plot_view_n_series (GraftPlotView *self)
{
  return graft_plot_figure_n_shown (self->figure);
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
  /* A figure of its own: light, its legend under the panels. */
  g_autoptr (GraftPlotFigure) fig = build_figure (self, error);
  if (fig == NULL)
    return FALSE;
  /* The report's figure proportions, 150 dpi for PNG. */
  return graft_plot_write (fig, path, 1200, 480, 150, error);
}

static void
legend_toggled_cb (GraftPlotLegend *legend, const char *key, gboolean shown, GraftPlotView *self)
{
  g_hash_table_insert (self->chosen, g_strdup (key),
                       GINT_TO_POINTER (shown ? CHOSEN_SHOWN : CHOSEN_HIDDEN));
  if (self->figure)
    graft_plot_figure_set_hidden (self->figure, key, !shown);
  update_legend (self);
  update_hover (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->area));
}

GraftPlotLegend *
graft_plot_view_get_legend (GraftPlotView *self)
{
  return self->legend;
}

GtkWidget *
graft_plot_view_get_canvas (GraftPlotView *self)
{
  return GTK_WIDGET (self->area);
}

gboolean
graft_plot_view_is_dark (GraftPlotView *self)
{
  return self->dark;
}

char *
graft_plot_view_describe (GraftPlotView *self)
{
  GString *s = g_string_new (NULL);
  g_autofree GraftPlotFrame *frames = NULL;
  if (self->figure)
    {
      frames = g_new0 (GraftPlotFrame, MAX (self->figure->panels->len, 1));
      graft_plot_layout (self->figure, MAX (canvas_width (self), 50), MAX (canvas_height (self), 50),
                         frames, NULL);
    }
  for (guint pi = 0; self->figure && pi < self->figure->panels->len; pi++)
    {
      const GraftPlotPanel *p = self->figure->panels->pdata[pi];
      if (!frames[pi].shown)
        continue;
      g_autofree char *sm = graft_smoothing_to_string (&p->smoothing);
      g_string_append_printf (s, "%s [%s]:", p->title ? p->title : "", sm);
      for (guint i = 0; i < p->series->len; i++)
        {
          const GraftPlotSeries *ser = p->series->pdata[i];
          if (!ser->hidden)
            g_string_append_printf (s, " %s;", ser->run ? ser->run : ser->label);
        }
      g_string_append_c (s, '\n');
    }
  return g_string_free (s, FALSE);
}

/* ---- drawing and style -------------------------------------------------------- */

static void
draw_readout (GraftPlotView *self, cairo_t *cr, int width, int height)
{
  const GraftPlotPanel *p = self->figure->panels->pdata[self->hover.panel];
  const GraftPlotSeries *s = p->series->pdata[self->hover.series];
  double c[3], bg[3];
  graft_plot_figure_colour (self->figure, s->rgb, s->neutral, c);
  graft_plot_figure_background (self->figure, bg);
  double x = self->hover.px, y = self->hover.py;
  /* The marker: a ring in the curve's colour around the point. */
  cairo_set_dash (cr, NULL, 0, 0);
  cairo_arc (cr, x, y, 6.5, 0, 2 * G_PI);
  cairo_set_source_rgb (cr, bg[0], bg[1], bg[2]);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, c[0], c[1], c[2]);
  cairo_set_line_width (cr, 2.5);
  cairo_stroke (cr);
  cairo_arc (cr, x, y, 3, 0, 2 * G_PI);
  cairo_fill (cr);

  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self->area), NULL);
  pango_layout_set_markup (layout, self->readout, -1);
  int tw, th;
  pango_layout_get_pixel_size (layout, &tw, &th);
  const double pad = 7;
  double bw = tw + 2 * pad, bh = th + 2 * pad;
  /* Centred above the point, or under it near the top, always on the canvas. */
  double bx = x - bw / 2, by = y - 14 - bh;
  if (by < 2)
    by = y + 14;
  bx = CLAMP (bx, 2, MAX (2, width - 2 - bw));
  by = CLAMP (by, 2, MAX (2, height - 2 - bh));
  double fg = self->dark ? 0.92 : 0.1;
  cairo_rectangle (cr, round (bx) + 0.5, round (by) + 0.5, round (bw), round (bh));
  if (self->dark)
    cairo_set_source_rgba (cr, 0.19, 0.19, 0.19, 0.96);
  else
    cairo_set_source_rgba (cr, 1, 1, 1, 0.96);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, c[0], c[1], c[2]);
  cairo_set_line_width (cr, 1.5);
  cairo_stroke (cr);
  cairo_set_source_rgb (cr, fg, fg, fg);
  cairo_move_to (cr, round (bx + pad), round (by + pad));
  pango_cairo_show_layout (cr, layout);
  g_object_unref (layout);
}

static void
draw_cb (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  GraftPlotView *self = user_data;
  GraftPlotFigure light = { .dark = self->dark };
  double bg[3];
  graft_plot_figure_background (&light, bg);
  cairo_set_source_rgb (cr, bg[0], bg[1], bg[2]);
  cairo_paint (cr);
  if (self->figure == NULL || count_all (self->figure) == 0)
    return;
  graft_plot_draw (self->figure, cr, width, height);
  if (self->has_hover && self->readout)
    draw_readout (self, cr, width, height);
}

/* Dark when the style's text is light: GTK's own dark variant (gtk-application-prefer-dark-
 * theme, GTK_THEME=Adwaita:dark) and libadwaita's style manager both end there. */
static gboolean
style_is_dark (GtkWidget *widget)
{
  GdkRGBA fg;
#if GTK_CHECK_VERSION (4, 10, 0)
  gtk_widget_get_color (widget, &fg);
#else
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
#endif
  return 0.2126 * fg.red + 0.7152 * fg.green + 0.0722 * fg.blue > 0.5;
}

static gboolean
style_idle_cb (gpointer user_data)
{
  GraftPlotView *self = user_data;
  self->style_idle = 0;
  gboolean dark = style_is_dark (GTK_WIDGET (self));
  if (dark != self->dark)
    {
      self->dark = dark;
      if (self->figure)
        self->figure->dark = dark;
      update_legend (self);
      gtk_widget_queue_draw (GTK_WIDGET (self->area));
    }
  return G_SOURCE_REMOVE;
}

static void
queue_style_check (GraftPlotView *self)
{
  /* After the style is settled, and never while widgets are being styled. */
  if (self->style_idle == 0)
    self->style_idle = g_idle_add (style_idle_cb, self);
}

static void
graft_plot_view_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (graft_plot_view_parent_class)->css_changed (widget, change);
  queue_style_check (GRAFT_PLOT_VIEW (widget));
}

static void
dark_setting_cb (GtkSettings *settings, GParamSpec *pspec, GraftPlotView *self)
{
  queue_style_check (self);
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
  GtkSettings *settings = gtk_settings_get_default ();
  if (settings)
    g_signal_handlers_disconnect_by_data (settings, self);
  g_clear_handle_id (&self->style_idle, g_source_remove);
  g_clear_pointer (&self->figure, graft_plot_figure_free);
  g_clear_pointer (&self->error, g_free);
  g_clear_pointer (&self->readout, g_free);
  g_clear_pointer (&self->chosen, g_hash_table_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), GRAFT_TYPE_PLOT_VIEW);
  G_OBJECT_CLASS (graft_plot_view_parent_class)->dispose (object);
}

static void
graft_plot_view_class_init (GraftPlotViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = graft_plot_view_dispose;
  widget_class->css_changed = graft_plot_view_css_changed;
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
  self->chosen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* Named for self-tests, as the band dropdown is in the template. */
  gtk_widget_set_name (GTK_WIDGET (self->metric_dropdown), "metric");
  gtk_widget_set_name (GTK_WIDGET (self->smoothing_dropdown), "smoothing");
  self->legend = GRAFT_PLOT_LEGEND (graft_plot_legend_new ());
  gtk_widget_set_visible (GTK_WIDGET (self->legend), FALSE);
  g_signal_connect (self->legend, "toggled", G_CALLBACK (legend_toggled_cb), self);
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->legend));
  /* Figure 1 smooths its trainable curves with a window of 5 epochs. */
  gtk_drop_down_set_selected (self->smoothing_dropdown, 1);
  gtk_drawing_area_set_draw_func (self->area, draw_cb, self, NULL);

  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "enter", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->area), motion);

  GtkSettings *settings = gtk_settings_get_default ();
  if (settings)
    {
      g_signal_connect_object (settings, "notify::gtk-application-prefer-dark-theme",
                               G_CALLBACK (dark_setting_cb), self, 0);
      g_signal_connect_object (settings, "notify::gtk-theme-name", G_CALLBACK (dark_setting_cb),
                               self, 0);
    }
}
