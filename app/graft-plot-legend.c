/* The plot's legend as a list of check rows: colour and line of each curve key, checked = shown. */
#include "graft-config.h"
#include "graft-plot-legend.h"

struct _GraftPlotLegend {
  GtkBox     parent_instance;
  GtkFlowBox *flow;
  GtkLabel   *note;
  GPtrArray  *toggles;      /* GtkCheckButton*, in entry order */
  char       *signature;    /* what the toggles show, less their states */
};

G_DEFINE_FINAL_TYPE (GraftPlotLegend, graft_plot_legend, GTK_TYPE_BOX)

enum { SIGNAL_TOGGLED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* What a swatch draws: the curve's line as the figure draws it. */
typedef struct {
  double   rgb[3];
  gboolean neutral;
} Swatch;

static void
swatch_draw_cb (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  const Swatch *sw = user_data;
  GtkWidget *check = gtk_widget_get_next_sibling (GTK_WIDGET (area));
  gboolean shown = check == NULL || gtk_check_button_get_active (GTK_CHECK_BUTTON (check));
  cairo_set_source_rgba (cr, sw->rgb[0], sw->rgb[1], sw->rgb[2], shown ? 1.0 : 0.3);
  cairo_set_line_width (cr, 3);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  if (sw->neutral)
    {
      static const double dash[] = { 6, 4 };
      cairo_set_dash (cr, dash, 2, 0);
    }
  cairo_move_to (cr, 2, height / 2.0);
  cairo_line_to (cr, width - 2, height / 2.0);
  cairo_stroke (cr);
}

static void
toggled_cb (GtkCheckButton *check, GraftPlotLegend *self)
{
  gtk_widget_queue_draw (gtk_widget_get_prev_sibling (GTK_WIDGET (check)));
  g_signal_emit (self, signals[SIGNAL_TOGGLED], 0, g_object_get_data (G_OBJECT (check), "key"),
                 gtk_check_button_get_active (check));
}

/* A click on the colour sample is a click on its check button. */
static void
swatch_pressed_cb (GtkGestureClick *click, int n, double x, double y, GtkCheckButton *check)
{
  gtk_check_button_set_active (check, !gtk_check_button_get_active (check));
}

/* A row: the curve's line, then a check button with its label; checked = shown. */
static GtkWidget *
make_row (GraftPlotLegend *self, const GraftPlotFigure *fig, const GraftPlotLegendEntry *e,
          GtkCheckButton **out)
{
  Swatch *sw = g_new0 (Swatch, 1);
  graft_plot_figure_colour (fig, e->rgb, e->neutral, sw->rgb);
  sw->neutral = e->neutral;
  GtkWidget *area = gtk_drawing_area_new ();
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (area), 26);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (area), 12);
  gtk_widget_set_valign (area, GTK_ALIGN_CENTER);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (area), swatch_draw_cb, sw, g_free);
  GtkWidget *check = gtk_check_button_new_with_label (e->label);
  gtk_widget_set_name (check, "legend-entry");
  g_object_set_data_full (G_OBJECT (check), "key", g_strdup (e->key), g_free);
  g_autofree char *tip = g_strdup_printf (e->optional ? "Show or hide %s in a panel of its own"
                                                      : "Show or hide %s in every panel",
                                          e->label);
  gtk_widget_set_tooltip_text (check, tip);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), !e->hidden);
  g_signal_connect (check, "toggled", G_CALLBACK (toggled_cb), self);
  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect_object (click, "pressed", G_CALLBACK (swatch_pressed_cb), check, 0);
  gtk_widget_add_controller (area, GTK_EVENT_CONTROLLER (click));
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 2);
  gtk_box_append (GTK_BOX (row), area);
  gtk_box_append (GTK_BOX (row), check);
  *out = GTK_CHECK_BUTTON (check);
  return row;
}

static char *
signature (const GraftPlotFigure *fig, GPtrArray *entries)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < entries->len; i++)
    {
      const GraftPlotLegendEntry *e = entries->pdata[i];
      double c[3];
      graft_plot_figure_colour (fig, e->rgb, e->neutral, c);
      g_string_append_printf (s, "%s\x1f%s\x1f%.3f %.3f %.3f %d %d\x1e", e->key, e->label, c[0],
                              c[1], c[2], e->neutral, e->optional);
    }
  return g_string_free (s, FALSE);
}

void
graft_plot_legend_set_entries (GraftPlotLegend *self, const GraftPlotFigure *fig,
                               GPtrArray *entries, const char *note)
{
  g_autofree char *sig = signature (fig, entries);
  if (g_strcmp0 (sig, self->signature) != 0)
    {
      GtkWidget *c;
      while ((c = gtk_widget_get_first_child (GTK_WIDGET (self->flow))))
        gtk_flow_box_remove (self->flow, c);
      g_ptr_array_set_size (self->toggles, 0);
      for (guint i = 0; i < entries->len; i++)
        {
          GtkCheckButton *check;
          gtk_flow_box_append (self->flow, make_row (self, fig, entries->pdata[i], &check));
          g_ptr_array_add (self->toggles, check);
        }
      g_free (self->signature);
      self->signature = g_steal_pointer (&sig);
    }
  else
    for (guint i = 0; i < entries->len; i++)
      {
        GtkCheckButton *t = self->toggles->pdata[i];
        const GraftPlotLegendEntry *e = entries->pdata[i];
        if (gtk_check_button_get_active (t) == !e->hidden)
          continue;
        g_signal_handlers_block_by_func (t, toggled_cb, self);
        gtk_check_button_set_active (t, !e->hidden);
        g_signal_handlers_unblock_by_func (t, toggled_cb, self);
        gtk_widget_queue_draw (gtk_widget_get_prev_sibling (GTK_WIDGET (t)));
      }
  /* Epochs arrive often: change nothing that did not change. */
  if (g_strcmp0 (gtk_label_get_text (self->note), note ? note : "") != 0)
    gtk_label_set_text (self->note, note ? note : "");
  gtk_widget_set_visible (GTK_WIDGET (self->note), note != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self), entries->len > 0);
}

GtkCheckButton *
graft_plot_legend_get_toggle (GraftPlotLegend *self, const char *key)
{
  for (guint i = 0; i < self->toggles->len; i++)
    if (g_strcmp0 (g_object_get_data (self->toggles->pdata[i], "key"), key) == 0)
      return self->toggles->pdata[i];
  return NULL;
}

char *
graft_plot_legend_describe (GraftPlotLegend *self)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < self->toggles->len; i++)
    g_string_append_printf (s, "%s=%s\n",
                            (const char *) g_object_get_data (self->toggles->pdata[i], "key"),
                            gtk_check_button_get_active (self->toggles->pdata[i]) ? "shown"
                                                                                   : "hidden");
  return g_string_free (s, FALSE);
}

static void
graft_plot_legend_finalize (GObject *object)
{
  GraftPlotLegend *self = GRAFT_PLOT_LEGEND (object);
  g_ptr_array_unref (self->toggles);
  g_free (self->signature);
  G_OBJECT_CLASS (graft_plot_legend_parent_class)->finalize (object);
}

static void
graft_plot_legend_class_init (GraftPlotLegendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = graft_plot_legend_finalize;
  /* A toggle changed by the user: the curves of KEY are now shown (TRUE) or hidden. */
  signals[SIGNAL_TOGGLED] = g_signal_new ("toggled", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                          G_TYPE_STRING, G_TYPE_BOOLEAN);
  gtk_widget_class_set_accessible_role (GTK_WIDGET_CLASS (klass), GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
graft_plot_legend_init (GraftPlotLegend *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_widget_set_margin_start (GTK_WIDGET (self), 8);
  gtk_widget_set_margin_end (GTK_WIDGET (self), 8);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self), 6);
  self->toggles = g_ptr_array_new ();
  self->flow = GTK_FLOW_BOX (gtk_flow_box_new ());
  gtk_flow_box_set_selection_mode (self->flow, GTK_SELECTION_NONE);
  gtk_flow_box_set_min_children_per_line (self->flow, 1);
  gtk_flow_box_set_max_children_per_line (self->flow, 8);
  gtk_flow_box_set_column_spacing (self->flow, 12);
  gtk_flow_box_set_row_spacing (self->flow, 0);
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->flow));
  self->note = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->note, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->note), "dim-label");
  gtk_widget_add_css_class (GTK_WIDGET (self->note), "caption");
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->note));
}

GtkWidget *
graft_plot_legend_new (void)
{
  return g_object_new (GRAFT_TYPE_PLOT_LEGEND, NULL);
}
