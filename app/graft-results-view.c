/* The study's results table (best and final validation accuracy per run). */
#include "graft-config.h"
#include "graft-results-view.h"

#include <math.h>

#include "graft-results.h"
#include "graft-run-list.h"

enum {
  COL_EXP, COL_FREEZE, COL_MODEL, COL_BEST, COL_BEST_EPOCH, COL_FINAL, COL_EPOCHS, COL_TIME,
  COL_DEVICE, COL_STATE, N_COLS
};

static const char *const titles[N_COLS + 1] = {
  "Exp.", "Freeze", "Model", "Best val. acc.", "Best epoch", "Final val. acc.", "Epochs",
  "Training time", "Device", "State", NULL
};
static const gboolean numeric[N_COLS] = { TRUE, FALSE, FALSE, TRUE, TRUE, TRUE, TRUE, TRUE,
                                          FALSE, FALSE };

/* ---- One row ---- */

#define GRAFT_TYPE_RESULT_ITEM (graft_result_item_get_type ())
G_DECLARE_FINAL_TYPE (GraftResultItem, graft_result_item, GRAFT, RESULT_ITEM, GObject)

struct _GraftResultItem {
  GObject parent_instance;
  char   *texts[N_COLS];
  double  keys[N_COLS];   /* numeric columns: the value sorted by (NAN: empty, sorted last) */
  guint   order;          /* position in the study */
  char   *run_id;
  gboolean trained;
};

G_DEFINE_FINAL_TYPE (GraftResultItem, graft_result_item, G_TYPE_OBJECT)

static void
graft_result_item_finalize (GObject *object)
{
  GraftResultItem *self = GRAFT_RESULT_ITEM (object);
  for (int c = 0; c < N_COLS; c++)
    g_free (self->texts[c]);
  g_free (self->run_id);
  G_OBJECT_CLASS (graft_result_item_parent_class)->finalize (object);
}

static void
graft_result_item_class_init (GraftResultItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = graft_result_item_finalize;
}

static void
graft_result_item_init (GraftResultItem *self)
{
}

/* ---- The view ---- */

struct _GraftResultsView {
  GtkBox             parent_instance;
  GtkColumnView     *column_view;
  GtkLabel          *message_label;
  GListStore        *store;
  GtkSortListModel  *sorted;
  GtkMultiSelection *selection;
  GtkColumnViewColumn *columns[N_COLS];
  const GraftStudy  *study;
};

G_DEFINE_FINAL_TYPE (GraftResultsView, graft_results_view, GTK_TYPE_BOX)

const char *const *
graft_results_view_column_titles (void)
{
  return titles;
}

static char *
acc_text (double v)
{
  return isnan (v) ? g_strdup ("") : g_strdup_printf ("%.4f", v);
}

void
graft_results_view_refresh (GraftResultsView *self)
{
  g_list_store_remove_all (self->store);
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
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint r = 0; r < rows->len; r++)
    {
      const GraftResultRow *row = rows->pdata[r];
      /* A sweep's rows are per seed: "<id>-seed<N>", grouped under the study's run. */
      const GraftStudyRun *run = graft_study_find_run (self->study,
                                                       row->group ? row->group : row->id);
      GraftResultItem *it = g_object_new (GRAFT_TYPE_RESULT_ITEM, NULL);
      it->order = r;
      it->run_id = g_strdup (row->id);
      it->trained = row->best_epoch > 0;
      it->texts[COL_EXP] = g_strdup_printf ("%d", row->experiment);
      it->texts[COL_FREEZE] = g_strdup (run && run->from ? (row->freeze ? "Frozen" : "Trainable")
                                                         : "—");
      it->texts[COL_MODEL] = row->group ? g_strdup_printf ("%s · seed %u", row->name, row->seed)
                                        : g_strdup (row->name);
      it->texts[COL_BEST] = acc_text (row->best_val_acc);
      it->texts[COL_BEST_EPOCH] = row->best_epoch > 0 ? g_strdup_printf ("%d", row->best_epoch)
                                                      : g_strdup ("");
      it->texts[COL_FINAL] = acc_text (row->final_val_acc);
      it->texts[COL_EPOCHS] = g_strdup_printf ("%d", row->epochs);
      it->texts[COL_TIME] = row->train_seconds > 0 ? graft_format_duration (row->train_seconds)
                                                   : g_strdup ("");
      it->texts[COL_DEVICE] = g_strdup (row->device ? row->device : "");
      it->texts[COL_STATE] = g_strdup (graft_run_state_to_string (row->state));
      it->keys[COL_EXP] = row->experiment;
      it->keys[COL_BEST] = row->best_val_acc;
      it->keys[COL_BEST_EPOCH] = row->best_epoch > 0 ? row->best_epoch : NAN;
      it->keys[COL_FINAL] = row->final_val_acc;
      it->keys[COL_EPOCHS] = row->epochs;
      it->keys[COL_TIME] = row->train_seconds > 0 ? row->train_seconds : NAN;
      g_ptr_array_add (items, it);
    }
  g_list_store_splice (self->store, 0, 0, items->pdata, items->len);
}

void
graft_results_view_set_study (GraftResultsView *self, const GraftStudy *study)
{
  self->study = study;
  graft_results_view_refresh (self);
}

/* Numbers by value (an empty cell is the smallest), texts in the user's collation; ties keep
 * the study's order. */
static int
compare_items (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const GraftResultItem *x = a, *y = b;
  int col = GPOINTER_TO_INT (user_data);
  int r = 0;
  if (numeric[col])
    {
      double u = x->keys[col], v = y->keys[col];
      if (isnan (u) || isnan (v))
        r = isnan (u) == isnan (v) ? 0 : isnan (u) ? -1 : 1;
      else
        r = u < v ? -1 : u > v;
    }
  else
    r = g_utf8_collate (x->texts[col], y->texts[col]);
  if (r == 0)
    r = x->order < y->order ? -1 : x->order > y->order;
  return r < 0 ? GTK_ORDERING_SMALLER : r > 0 ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
}

static void
cell_setup_cb (GtkSignalListItemFactory *f, GtkListItem *item, gpointer user_data)
{
  int col = GPOINTER_TO_INT (user_data);
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), numeric[col] ? 1 : 0);
  if (numeric[col])
    gtk_widget_add_css_class (label, "numeric");
  if (col == COL_DEVICE)
    gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (item, label);
}

static void
cell_bind_cb (GtkSignalListItemFactory *f, GtkListItem *item, gpointer user_data)
{
  GraftResultItem *it = gtk_list_item_get_item (item);
  GtkWidget *label = gtk_list_item_get_child (item);
  gtk_label_set_text (GTK_LABEL (label), it->texts[GPOINTER_TO_INT (user_data)]);
  if (GPOINTER_TO_INT (user_data) == COL_DEVICE)
    gtk_widget_set_tooltip_text (label, it->texts[GPOINTER_TO_INT (user_data)]);
}

static void
inspect_setup_cb (GtkSignalListItemFactory *f, GtkListItem *item, gpointer user_data)
{
  GtkWidget *b = gtk_button_new_with_label ("Inspect");
  gtk_widget_add_css_class (b, "flat");
  gtk_widget_set_tooltip_text (b, "Confusion matrix, misclassified images and log of this run");
  gtk_list_item_set_child (item, b);
}

static void
inspect_bind_cb (GtkSignalListItemFactory *f, GtkListItem *item, gpointer user_data)
{
  GraftResultItem *it = gtk_list_item_get_item (item);
  GtkWidget *b = gtk_list_item_get_child (item);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (b), "s", it->run_id);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (b), "win.inspect-run");
  /* Shown on every row, so that rows keep one height; usable once an epoch is committed. */
  gtk_widget_set_sensitive (b, it->trained);
}

static gboolean
scroll_to_top_cb (gpointer user_data)
{
  GraftResultsView *self = user_data;
  GtkWidget *sw = self->column_view ? gtk_widget_get_parent (GTK_WIDGET (self->column_view)) : NULL;
  if (GTK_IS_SCROLLED_WINDOW (sw))
    gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw)), 0);
  return G_SOURCE_REMOVE;
}

gboolean
graft_results_view_sort_by (GraftResultsView *self, const char *title, gboolean ascending)
{
  for (int c = 0; c < N_COLS; c++)
    if (g_str_equal (titles[c], title))
      {
        gtk_column_view_sort_by_column (self->column_view, self->columns[c],
                                        ascending ? GTK_SORT_ASCENDING : GTK_SORT_DESCENDING);
        /* From the first row on, once the rows are laid out again. */
        g_timeout_add_full (G_PRIORITY_DEFAULT, 50, scroll_to_top_cb, g_object_ref (self),
                            g_object_unref);
        return TRUE;
      }
  return FALSE;
}

void
graft_results_view_select (GraftResultsView *self, const guint *rows, guint n)
{
  GtkSelectionModel *sel = GTK_SELECTION_MODEL (self->selection);
  gtk_selection_model_unselect_all (sel);
  for (guint i = 0; i < n; i++)
    gtk_selection_model_select_item (sel, rows[i], FALSE);
}

static void
append_line (GString *out, char *const *fields)
{
  for (int c = 0; c < N_COLS; c++)
    {
      /* A tab or line break inside a field would shift the columns. */
      g_autofree char *f = g_strdup (fields[c]);
      g_strdelimit (f, "\t\r\n", ' ');
      g_string_append_printf (out, "%s%s", c ? "\t" : "", f);
    }
  g_string_append_c (out, '\n');
}

char *
graft_results_view_to_tsv (GraftResultsView *self)
{
  GString *out = g_string_new (NULL);
  append_line (out, (char *const *) titles);
  GListModel *model = G_LIST_MODEL (self->selection);
  guint n = g_list_model_get_n_items (model);
  g_autoptr (GtkBitset) selected = gtk_selection_model_get_selection (
    GTK_SELECTION_MODEL (self->selection));
  gboolean all = gtk_bitset_is_empty (selected);
  for (guint i = 0; i < n; i++)
    if (all || gtk_bitset_contains (selected, i))
      {
        g_autoptr (GraftResultItem) it = g_list_model_get_item (model, i);
        append_line (out, it->texts);
      }
  return g_string_free (out, FALSE);
}

void
graft_results_view_copy (GraftResultsView *self)
{
  g_autofree char *text = graft_results_view_to_tsv (self);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), text);
}

static void
copy_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  graft_results_view_copy (GRAFT_RESULTS_VIEW (widget));
}

static void
graft_results_view_dispose (GObject *object)
{
  GraftResultsView *self = GRAFT_RESULTS_VIEW (object);
  gtk_widget_dispose_template (GTK_WIDGET (object), GRAFT_TYPE_RESULTS_VIEW);
  g_clear_object (&self->selection);
  self->sorted = NULL;
  g_clear_object (&self->store);
  G_OBJECT_CLASS (graft_results_view_parent_class)->dispose (object);
}

static void
graft_results_view_class_init (GraftResultsViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = graft_results_view_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/graft/Graft/ui/graft-results-view.ui");
  gtk_widget_class_bind_template_child (widget_class, GraftResultsView, column_view);
  gtk_widget_class_bind_template_child (widget_class, GraftResultsView, message_label);
  gtk_widget_class_install_action (widget_class, "results.copy", NULL, copy_action_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_c, GDK_CONTROL_MASK,
                                       "results.copy", NULL);
}

static void
graft_results_view_init (GraftResultsView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->store = g_list_store_new (GRAFT_TYPE_RESULT_ITEM);
  for (int c = 0; c < N_COLS; c++)
    {
      GtkListItemFactory *f = gtk_signal_list_item_factory_new ();
      g_signal_connect (f, "setup", G_CALLBACK (cell_setup_cb), GINT_TO_POINTER (c));
      g_signal_connect (f, "bind", G_CALLBACK (cell_bind_cb), GINT_TO_POINTER (c));
      GtkColumnViewColumn *col = gtk_column_view_column_new (titles[c], f);
      GtkSorter *sorter = GTK_SORTER (gtk_custom_sorter_new (compare_items, GINT_TO_POINTER (c),
                                                             NULL));
      gtk_column_view_column_set_sorter (col, sorter);
      g_object_unref (sorter);
      if (c == COL_DEVICE)
        gtk_column_view_column_set_expand (col, TRUE);
      gtk_column_view_column_set_resizable (col, TRUE);
      gtk_column_view_append_column (self->column_view, col);
      self->columns[c] = col;
      g_object_unref (col);
    }
  GtkListItemFactory *f = gtk_signal_list_item_factory_new ();
  g_signal_connect (f, "setup", G_CALLBACK (inspect_setup_cb), NULL);
  g_signal_connect (f, "bind", G_CALLBACK (inspect_bind_cb), NULL);
  GtkColumnViewColumn *col = gtk_column_view_column_new ("", f);
  /* Beside the run's name, in view without scrolling sideways. */
  gtk_column_view_insert_column (self->column_view, COL_MODEL + 1, col);
  g_object_unref (col);
  GtkSorter *sorter = gtk_column_view_get_sorter (self->column_view);
  self->sorted = gtk_sort_list_model_new (G_LIST_MODEL (g_object_ref (self->store)),
                                          g_object_ref (sorter));
  self->selection = gtk_multi_selection_new (G_LIST_MODEL (self->sorted));
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
}
