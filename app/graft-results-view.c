/* The study's results table (best and final validation accuracy per run). */
#include "graft-config.h"
#include "graft-results-view.h"

#include <math.h>

#include "graft-results.h"
#include "graft-run-list.h"

struct _GraftResultsView {
  GtkBox            parent_instance;
  GtkGrid          *grid;
  GtkLabel         *message_label;
  const GraftStudy *study;
};

G_DEFINE_FINAL_TYPE (GraftResultsView, graft_results_view, GTK_TYPE_BOX)

static void
cell (GraftResultsView *self, int col, int row, const char *text, gboolean numeric,
      gboolean header)
{
  GtkWidget *label = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (label), numeric ? 1 : 0);
  gtk_widget_add_css_class (label, header ? "heading" : "results-cell");
  if (numeric && !header)
    gtk_widget_add_css_class (label, "numeric");
  gtk_grid_attach (self->grid, label, col, row, 1, 1);
}

static char *
acc_text (double v)
{
  return isnan (v) ? g_strdup ("") : g_strdup_printf ("%.4f", v);
}

void
graft_results_view_refresh (GraftResultsView *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->grid))) != NULL)
    gtk_grid_remove (self->grid, child);
  if (self->study == NULL)
    {
      gtk_label_set_text (self->message_label, "No study open");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = graft_study_results (self->study, &error);
  gtk_label_set_text (self->message_label, rows ? "" : error->message);
  if (rows == NULL)
    return;
  static const char *const heads[] = { "Exp.", "Freeze", "Model", "Best val. acc.",
                                       "Best epoch", "Final val. acc.", "Epochs",
                                       "Training time", "Device", "State" };
  static const gboolean numeric[] = { TRUE, FALSE, FALSE, TRUE, TRUE, TRUE, TRUE, TRUE, FALSE,
                                      FALSE };
  for (guint c = 0; c < G_N_ELEMENTS (heads); c++)
    cell (self, c, 0, heads[c], numeric[c], TRUE);
  for (guint r = 0; r < rows->len; r++)
    {
      const GraftResultRow *row = rows->pdata[r];
      /* A sweep's rows are per seed: "<id>-seed<N>", grouped under the study's run. */
      const GraftStudyRun *run = graft_study_find_run (self->study,
                                                       row->group ? row->group : row->id);
      g_autofree char *model = row->group ? g_strdup_printf ("%s · seed %u", row->name, row->seed)
                                          : g_strdup (row->name);
      g_autofree char *exp = g_strdup_printf ("%d", row->experiment);
      g_autofree char *best = acc_text (row->best_val_acc);
      g_autofree char *best_epoch = row->best_epoch > 0 ? g_strdup_printf ("%d", row->best_epoch)
                                                        : g_strdup ("");
      g_autofree char *final = acc_text (row->final_val_acc);
      g_autofree char *epochs = g_strdup_printf ("%d", row->epochs);
      g_autofree char *time = row->train_seconds > 0 ? graft_format_duration (row->train_seconds)
                                                     : g_strdup ("");
      const char *texts[] = {
        exp, run && run->from ? (row->freeze ? "Frozen" : "Trainable") : "—", model, best,
        best_epoch, final, epochs, time, row->device ? row->device : "",
        graft_run_state_to_string (row->state),
      };
      for (guint c = 0; c < G_N_ELEMENTS (texts); c++)
        cell (self, c, r + 1, texts[c], numeric[c], FALSE);
    }
}

void
graft_results_view_set_study (GraftResultsView *self, const GraftStudy *study)
{
  self->study = study;
  graft_results_view_refresh (self);
}

static void
graft_results_view_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), GRAFT_TYPE_RESULTS_VIEW);
  G_OBJECT_CLASS (graft_results_view_parent_class)->dispose (object);
}

static void
graft_results_view_class_init (GraftResultsViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = graft_results_view_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/graft/Graft/ui/graft-results-view.ui");
  gtk_widget_class_bind_template_child (widget_class, GraftResultsView, grid);
  gtk_widget_class_bind_template_child (widget_class, GraftResultsView, message_label);
}

static void
graft_results_view_init (GraftResultsView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
