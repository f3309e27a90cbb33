/* The dataset view: per folder, its classes with counts and thumbnails, and its skipped
 * files with their reasons, all from the engine's dataset scan. */
#include "graft-config.h"
#include "graft-dataset-view.h"

#include "graft-thumbnail.h"

typedef struct {
  GraftDatasetView *view;
  guint         index;
  char         *title;
  char         *dir;
  GraftDataset *ds;
  char         *error;
  gboolean      busy;
  GtkLabel     *summary;
  GtkListBox   *classes;
  GPtrArray    *count_labels;   /* GtkLabel per class, borrowed */
  GListStore   *thumbs;
  GtkStringList *skipped;       /* "path\treason" */
  GtkStack     *right;          /* "busy", "error", "grid", "skipped" */
  GtkLabel     *error_label;
  GtkLabel     *right_title;
  GtkLabel     *skipped_title;  /* "Skipped files: N" */
  GtkWidget    *skipped_box;
} Page;

struct _GraftDatasetView {
  GtkBox     parent_instance;
  GtkStack  *stack;
  GPtrArray *pages;            /* Page* */
  GraftFilter filter;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (GraftDatasetView, graft_dataset_view, GTK_TYPE_BOX)

enum { READY, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
page_free (gpointer p)
{
  Page *page = p;
  g_free (page->title);
  g_free (page->dir);
  g_clear_pointer (&page->ds, graft_dataset_free);
  g_free (page->error);
  g_clear_pointer (&page->count_labels, g_ptr_array_unref);
  g_clear_object (&page->thumbs);
  g_clear_object (&page->skipped);
  g_free (page);
}

static Page *
get_page (GraftDatasetView *self, guint i)
{
  return self->pages && i < self->pages->len ? self->pages->pdata[i] : NULL;
}

void
graft_dataset_view_show (GraftDatasetView *self, guint i, guint klass)
{
  Page *page = get_page (self, i);
  if (page == NULL)
    return;
  g_autofree char *name = g_strdup_printf ("folder%u", i);
  gtk_stack_set_visible_child_name (self->stack, name);
  if (page->ds == NULL)
    return;
  guint nc = graft_dataset_n_classes (page->ds);
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (page->classes, (int) klass);
  if (row && gtk_list_box_get_selected_row (page->classes) != row)
    {
      gtk_list_box_select_row (page->classes, row);   /* comes back here */
      return;
    }
  if (klass >= nc)
    return;
  g_list_store_remove_all (page->thumbs);
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint f = 0; f < graft_dataset_n_files (page->ds); f++)
    if (graft_dataset_file_label (page->ds, f) == klass)
      {
        const char *path = graft_dataset_file_path (page->ds, f);
        g_autofree char *base = g_path_get_basename (path);
        g_autofree char *shown = g_filename_display_name (base);
        g_ptr_array_add (items, graft_thumbnail_new (path, shown));
      }
  g_list_store_splice (page->thumbs, 0, 0, items->pdata, items->len);
  g_autofree char *t = g_strdup_printf ("%s: %u image%s", graft_dataset_class_name (page->ds, klass),
                                        items->len, items->len == 1 ? "" : "s");
  gtk_label_set_text (page->right_title, t);
  gtk_stack_set_visible_child_name (page->right, "grid");
}

static void
row_selected_cb (GtkListBox *box, GtkListBoxRow *row, Page *page)
{
  if (row)
    graft_dataset_view_show (page->view, page->index, (guint) gtk_list_box_row_get_index (row));
}

static GtkWidget *
class_row (const char *name, const char *count, GtkLabel **count_label)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_margin_start (box, 8);
  gtk_widget_set_margin_end (box, 8);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  GtkWidget *l = gtk_label_new (name);
  gtk_label_set_xalign (GTK_LABEL (l), 0);
  gtk_label_set_ellipsize (GTK_LABEL (l), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_set_hexpand (l, TRUE);
  GtkWidget *c = gtk_label_new (count);
  gtk_widget_add_css_class (c, "numeric");
  gtk_widget_add_css_class (c, "dim-label");
  gtk_box_append (GTK_BOX (box), l);
  gtk_box_append (GTK_BOX (box), c);
  if (count_label)
    *count_label = GTK_LABEL (c);
  return box;
}

static void
show_scan (Page *page)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (page->classes))) != NULL)
    gtk_list_box_remove (page->classes, child);
  g_ptr_array_set_size (page->count_labels, 0);
  if (page->ds == NULL)
    {
      gtk_label_set_text (page->error_label, page->error);
      gtk_label_set_text (page->summary, page->dir);
      gtk_stack_set_visible_child_name (page->right, "error");
      return;
    }
  GraftDataset *ds = page->ds;
  guint nc = graft_dataset_n_classes (ds), ns = graft_dataset_n_skipped (ds);
  g_autofree char *shown = g_filename_display_name (page->dir);
  g_autofree char *summary = g_strdup_printf ("%s — %u usable image%s in %u classes, %u skipped",
                                              shown, graft_dataset_n_files (ds),
                                              graft_dataset_n_files (ds) == 1 ? "" : "s", nc, ns);
  gtk_label_set_text (page->summary, summary);
  for (guint c = 0; c < nc; c++)
    {
      g_autofree char *count = g_strdup_printf ("%u", graft_dataset_class_count (ds, c));
      g_autofree char *name = g_filename_display_name (graft_dataset_class_name (ds, c));
      GtkLabel *label;
      gtk_list_box_append (page->classes, class_row (name, count, &label));
      g_ptr_array_add (page->count_labels, label);
    }
  g_autofree char *st = ns ? g_strdup_printf ("Skipped files: %u", ns)
                           : g_strdup ("Skipped files: none");
  gtk_label_set_text (page->skipped_title, st);
  gtk_widget_set_visible (page->skipped_box, ns > 0);
  const char *root = graft_dataset_dir (ds);
  gsize rl = strlen (root);
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; i < ns; i++)
    {
      const char *p = graft_dataset_skipped_path (ds, i);
      if (g_str_has_prefix (p, root) && p[rl] == '/')
        p += rl + 1;
      g_autofree char *sp = g_filename_display_name (p);
      g_autofree char *line = g_strdup_printf ("%s\t%s", sp, graft_dataset_skipped_reason (ds, i));
      g_strv_builder_add (b, line);
    }
  g_auto (GStrv) lines = g_strv_builder_end (b);
  gtk_string_list_splice (page->skipped, 0, g_list_model_get_n_items (G_LIST_MODEL (page->skipped)),
                          (const char *const *) lines);
  graft_dataset_view_show (page->view, page->index, 0);
}

typedef struct {
  char        *dir;
  GraftFilter  filter;
} ScanJob;

static void
scan_job_free (gpointer p)
{
  ScanJob *j = p;
  g_free (j->dir);
  g_free (j);
}

static void
scan_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ScanJob *j = task_data;
  GError *error = NULL;
  /* Empty classes are shown (count 0) rather than refused. */
  GraftDataset *ds = graft_dataset_scan_full (j->dir, j->filter, GRAFT_SCAN_ALLOW_EMPTY_CLASSES,
                                              NULL, NULL, cancellable, &error);
  if (ds)
    g_task_return_pointer (task, ds, (GDestroyNotify) graft_dataset_free);
  else
    g_task_return_error (task, error);
}

static void
scan_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GraftDatasetView *self = GRAFT_DATASET_VIEW (source);
  Page *page = user_data;   /* valid while self->pages holds it; see set_folders */
  g_autoptr (GError) error = NULL;
  GraftDataset *ds = g_task_propagate_pointer (G_TASK (res), &error);
  if (g_task_get_cancellable (G_TASK (res)) != self->cancellable || self->pages == NULL)
    {
      g_clear_pointer (&ds, graft_dataset_free);
      return;
    }
  page->busy = FALSE;
  page->ds = ds;
  if (ds == NULL)
    page->error = g_strdup (error->message);
  show_scan (page);
  if (!graft_dataset_view_is_busy (self))
    g_signal_emit (self, signals[READY], 0);
}

static GtkWidget *
scrolled (GtkWidget *child)
{
  GtkWidget *sw = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (sw), child);
  gtk_widget_set_vexpand (sw, TRUE);
  gtk_widget_set_hexpand (sw, TRUE);
  return sw;
}

static void
skipped_setup_cb (GtkSignalListItemFactory *f, GtkListItem *item, gpointer user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *path = gtk_label_new (NULL), *reason = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (path), 0);
  gtk_label_set_ellipsize (GTK_LABEL (path), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_width_chars (GTK_LABEL (path), 30);
  gtk_label_set_xalign (GTK_LABEL (reason), 0);
  gtk_label_set_wrap (GTK_LABEL (reason), TRUE);
  gtk_widget_set_hexpand (reason, TRUE);
  gtk_widget_add_css_class (reason, "error");
  gtk_box_append (GTK_BOX (box), path);
  gtk_box_append (GTK_BOX (box), reason);
  gtk_list_item_set_child (item, box);
}

static void
skipped_bind_cb (GtkSignalListItemFactory *f, GtkListItem *item, gpointer user_data)
{
  const char *line = gtk_string_object_get_string (gtk_list_item_get_item (item));
  g_auto (GStrv) kv = g_strsplit (line, "\t", 2);
  GtkWidget *path = gtk_widget_get_first_child (gtk_list_item_get_child (item));
  gtk_label_set_text (GTK_LABEL (path), kv[0]);
  gtk_widget_set_tooltip_text (path, kv[0]);
  gtk_label_set_text (GTK_LABEL (gtk_widget_get_next_sibling (path)), kv[1] ? kv[1] : "");
}

static Page *
page_new (GraftDatasetView *self, guint index, const char *title, const char *dir)
{
  Page *page = g_new0 (Page, 1);
  page->view = self;
  page->index = index;
  page->title = g_strdup (title);
  page->dir = g_strdup (dir);
  page->count_labels = g_ptr_array_new ();
  page->thumbs = g_list_store_new (GRAFT_TYPE_THUMBNAIL);
  page->skipped = gtk_string_list_new (NULL);

  GtkWidget *outer = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  page->summary = GTK_LABEL (gtk_label_new (dir));
  gtk_label_set_xalign (page->summary, 0);
  gtk_label_set_ellipsize (page->summary, PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_add_css_class (GTK_WIDGET (page->summary), "dim-label");
  gtk_box_append (GTK_BOX (outer), GTK_WIDGET (page->summary));
  GtkWidget *paned = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  gtk_widget_set_vexpand (paned, TRUE);
  page->classes = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_widget_add_css_class (GTK_WIDGET (page->classes), "navigation-sidebar");
  g_signal_connect (page->classes, "row-selected", G_CALLBACK (row_selected_cb), page);
  GtkWidget *left = scrolled (GTK_WIDGET (page->classes));
  gtk_widget_set_size_request (left, 200, -1);
  gtk_paned_set_start_child (GTK_PANED (paned), left);
  gtk_paned_set_shrink_start_child (GTK_PANED (paned), FALSE);
  gtk_paned_set_resize_start_child (GTK_PANED (paned), FALSE);

  GtkWidget *right = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_margin_start (right, 8);
  page->right_title = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (page->right_title, 0);
  gtk_widget_add_css_class (GTK_WIDGET (page->right_title), "heading");
  gtk_box_append (GTK_BOX (right), GTK_WIDGET (page->right_title));
  page->right = GTK_STACK (gtk_stack_new ());
  GtkWidget *spinner = gtk_spinner_new ();
  gtk_spinner_start (GTK_SPINNER (spinner));
  gtk_widget_set_size_request (spinner, 32, 32);
  gtk_widget_set_valign (spinner, GTK_ALIGN_CENTER);
  gtk_stack_add_named (page->right, spinner, "busy");
  page->error_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (page->error_label, TRUE);
  gtk_label_set_selectable (page->error_label, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (page->error_label), "error");
  gtk_label_set_xalign (page->error_label, 0);
  gtk_label_set_yalign (page->error_label, 0);
  gtk_stack_add_named (page->right, scrolled (GTK_WIDGET (page->error_label)), "error");
  GtkWidget *grid = graft_thumbnail_grid_new (G_LIST_MODEL (g_object_ref (page->thumbs)));
  gtk_stack_add_named (page->right, scrolled (grid), "grid");
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (skipped_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (skipped_bind_cb), NULL);
  GtkWidget *list = gtk_list_view_new (
    GTK_SELECTION_MODEL (gtk_no_selection_new (G_LIST_MODEL (g_object_ref (page->skipped)))),
    factory);
  gtk_widget_set_name (list, "skipped-files");
  gtk_stack_set_visible_child_name (page->right, "busy");
  gtk_widget_set_vexpand (GTK_WIDGET (page->right), TRUE);
  gtk_box_append (GTK_BOX (right), GTK_WIDGET (page->right));
  /* What the scan left out, and why: always in view under the images. */
  page->skipped_title = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (page->skipped_title, 0);
  gtk_widget_add_css_class (GTK_WIDGET (page->skipped_title), "heading");
  gtk_box_append (GTK_BOX (right), GTK_WIDGET (page->skipped_title));
  page->skipped_box = scrolled (list);
  gtk_widget_set_vexpand (page->skipped_box, FALSE);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (page->skipped_box), 72);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (page->skipped_box), 160);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (page->skipped_box),
                                                    TRUE);
  gtk_widget_set_visible (page->skipped_box, FALSE);
  gtk_box_append (GTK_BOX (right), page->skipped_box);
  gtk_paned_set_end_child (GTK_PANED (paned), right);
  gtk_box_append (GTK_BOX (outer), paned);

  g_autofree char *name = g_strdup_printf ("folder%u", index);
  gtk_stack_add_titled (self->stack, outer, name, title);
  return page;
}

void
graft_dataset_view_set_folders (GraftDatasetView *self, const char *const *titles,
                                const char *const *folders, guint n, GraftFilter filter)
{
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->stack))) != NULL)
    gtk_stack_remove (self->stack, child);
  /* Pages of cancelled scans stay alive until those scans end. */
  if (self->pages)
    g_object_set_data_full (G_OBJECT (self->cancellable), "old-pages",
                            g_steal_pointer (&self->pages), (GDestroyNotify) g_ptr_array_unref);
  self->pages = g_ptr_array_new_with_free_func (page_free);
  self->filter = filter;
  for (guint i = 0; i < n; i++)
    {
      if (folders[i] == NULL || *folders[i] == '\0')
        continue;
      Page *page = page_new (self, self->pages->len, titles[i], folders[i]);
      page->busy = TRUE;
      g_ptr_array_add (self->pages, page);
      ScanJob *job = g_new0 (ScanJob, 1);
      job->dir = g_strdup (folders[i]);
      job->filter = filter;
      g_autoptr (GTask) task = g_task_new (self, self->cancellable, scan_done, page);
      g_task_set_task_data (task, job, scan_job_free);
      /* Keep the pages (and the cancellable naming them) until this scan ends. */
      g_object_set_data_full (G_OBJECT (task), "pages", g_ptr_array_ref (self->pages),
                              (GDestroyNotify) g_ptr_array_unref);
      g_task_run_in_thread (task, scan_thread);
    }
  if (self->pages->len == 0)
    g_signal_emit (self, signals[READY], 0);
}

gboolean
graft_dataset_view_is_busy (GraftDatasetView *self)
{
  for (guint i = 0; self->pages && i < self->pages->len; i++)
    if (((Page *) self->pages->pdata[i])->busy)
      return TRUE;
  return FALSE;
}

guint graft_dataset_view_n_folders (GraftDatasetView *self) { return self->pages ? self->pages->len : 0; }

GraftDataset *
graft_dataset_view_get_dataset (GraftDatasetView *self, guint i)
{
  Page *p = get_page (self, i);
  return p ? p->ds : NULL;
}

const char *
graft_dataset_view_get_error (GraftDatasetView *self, guint i)
{
  Page *p = get_page (self, i);
  return p ? p->error : NULL;
}

const char *
graft_dataset_view_get_title (GraftDatasetView *self, guint i)
{
  Page *p = get_page (self, i);
  return p ? p->title : NULL;
}

GListModel *
graft_dataset_view_get_thumbnails (GraftDatasetView *self, guint i)
{
  Page *p = get_page (self, i);
  return p ? G_LIST_MODEL (p->thumbs) : NULL;
}

const char *
graft_dataset_view_get_count_text (GraftDatasetView *self, guint i, guint klass)
{
  Page *p = get_page (self, i);
  if (p == NULL || klass > p->count_labels->len)
    return NULL;
  if (klass == p->count_labels->len)
    return gtk_label_get_text (p->skipped_title);
  return gtk_label_get_text (p->count_labels->pdata[klass]);
}

static void
graft_dataset_view_dispose (GObject *object)
{
  GraftDatasetView *self = GRAFT_DATASET_VIEW (object);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->pages, g_ptr_array_unref);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_box_remove (GTK_BOX (self), child);
  G_OBJECT_CLASS (graft_dataset_view_parent_class)->dispose (object);
}

static void
graft_dataset_view_class_init (GraftDatasetViewClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = graft_dataset_view_dispose;
  /* Every folder's scan ended. */
  signals[READY] = g_signal_new ("ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                 NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
graft_dataset_view_init (GraftDatasetView *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 6);
  gtk_widget_set_margin_start (GTK_WIDGET (self), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self), 12);
  gtk_widget_set_margin_top (GTK_WIDGET (self), 8);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self), 12);
  self->stack = GTK_STACK (gtk_stack_new ());
  GtkWidget *switcher = gtk_stack_switcher_new ();
  gtk_stack_switcher_set_stack (GTK_STACK_SWITCHER (switcher), self->stack);
  gtk_widget_set_halign (switcher, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (self), switcher);
  gtk_widget_set_vexpand (GTK_WIDGET (self->stack), TRUE);
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->stack));
}

GtkWidget *
graft_dataset_view_new (void)
{
  return g_object_new (GRAFT_TYPE_DATASET_VIEW, NULL);
}

GtkWindow *
graft_dataset_view_window_new (GtkWindow *parent)
{
  GtkWindow *win = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_title (win, "Datasets");
  gtk_window_set_transient_for (win, parent);
  gtk_window_set_destroy_with_parent (win, TRUE);
  gtk_window_set_default_size (win, 980, 640);
  if (parent && gtk_window_get_application (parent))
    gtk_window_set_application (win, gtk_window_get_application (parent));
  gtk_window_set_child (win, graft_dataset_view_new ());
  return win;
}

GraftDatasetView *
graft_dataset_view_window_get_view (GtkWindow *window)
{
  GtkWidget *child = gtk_window_get_child (window);
  return GRAFT_IS_DATASET_VIEW (child) ? GRAFT_DATASET_VIEW (child) : NULL;
}
