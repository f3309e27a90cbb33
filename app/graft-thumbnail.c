/* Lazily decoded thumbnails and the grid that shows them. */
#include "graft-config.h"
#include "graft-thumbnail.h"

#include "graft-image.h"

struct _GraftThumbnail {
  GObject     parent_instance;
  char       *path;
  char       *caption;
  GdkTexture *texture;
  char       *error;
  gboolean    requested;
};

G_DEFINE_FINAL_TYPE (GraftThumbnail, graft_thumbnail, G_TYPE_OBJECT)

enum { PROP_0, PROP_TEXTURE, N_PROPS };
static GParamSpec *props[N_PROPS];
static guint n_pending;

GraftThumbnail *
graft_thumbnail_new (const char *path, const char *caption)
{
  GraftThumbnail *self = g_object_new (GRAFT_TYPE_THUMBNAIL, NULL);
  self->path = g_strdup (path);
  self->caption = g_strdup (caption);
  return self;
}

const char *graft_thumbnail_get_path (GraftThumbnail *self) { return self->path; }
const char *graft_thumbnail_get_caption (GraftThumbnail *self) { return self->caption; }
GdkTexture *graft_thumbnail_get_texture (GraftThumbnail *self) { return self->texture; }
const char *graft_thumbnail_get_error (GraftThumbnail *self) { return self->error; }
guint graft_thumbnail_n_pending (void) { return n_pending; }

typedef struct {
  GBytes *pixels;
  char   *reason;
} Decoded;

static void
decoded_free (gpointer p)
{
  Decoded *d = p;
  g_clear_pointer (&d->pixels, g_bytes_unref);
  g_free (d->reason);
  g_free (d);
}

/* The engine's decoder, as the image cache decodes: the model's view of the file. */
static void
decode_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  const char *path = task_data;
  gsize n = (gsize) GRAFT_THUMBNAIL_SIZE * GRAFT_THUMBNAIL_SIZE * 3;
  guint8 *px = g_malloc (n);
  Decoded *d = g_new0 (Decoded, 1);
  g_autoptr (GraftJpegDecoder) dec = graft_jpeg_decoder_new ();
  if (graft_jpeg_decoder_load_resized (dec, path, GRAFT_THUMBNAIL_SIZE, TRUE, px, &d->reason))
    d->pixels = g_bytes_new_take (px, n);
  else
    g_free (px);
  g_task_return_pointer (task, d, decoded_free);
}

static void
decode_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GraftThumbnail *self = GRAFT_THUMBNAIL (source);
  n_pending--;
  Decoded *d = g_task_propagate_pointer (G_TASK (res), NULL);
  if (d == NULL)
    return;
  if (d->pixels)
    self->texture = gdk_memory_texture_new (GRAFT_THUMBNAIL_SIZE, GRAFT_THUMBNAIL_SIZE,
                                            GDK_MEMORY_R8G8B8, d->pixels,
                                            GRAFT_THUMBNAIL_SIZE * 3);
  else
    self->error = g_strdup (d->reason ? d->reason : "cannot be decoded");
  decoded_free (d);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_TEXTURE]);
}

void
graft_thumbnail_load (GraftThumbnail *self)
{
  if (self->requested)
    return;
  self->requested = TRUE;
  n_pending++;
  g_autoptr (GTask) task = g_task_new (self, NULL, decode_done, NULL);
  g_task_set_task_data (task, g_strdup (self->path), g_free);
  g_task_run_in_thread (task, decode_thread);
}

static void
graft_thumbnail_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  GraftThumbnail *self = GRAFT_THUMBNAIL (object);
  if (id == PROP_TEXTURE)
    g_value_set_object (value, self->texture);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
}

static void
graft_thumbnail_finalize (GObject *object)
{
  GraftThumbnail *self = GRAFT_THUMBNAIL (object);
  g_free (self->path);
  g_free (self->caption);
  g_clear_object (&self->texture);
  g_free (self->error);
  G_OBJECT_CLASS (graft_thumbnail_parent_class)->finalize (object);
}

static void
graft_thumbnail_class_init (GraftThumbnailClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->get_property = graft_thumbnail_get_property;
  object_class->finalize = graft_thumbnail_finalize;
  props[PROP_TEXTURE] = g_param_spec_object ("texture", NULL, NULL, GDK_TYPE_TEXTURE,
                                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
graft_thumbnail_init (GraftThumbnail *self)
{
}

/* ---- The grid ---- */

static void
setup_cb (GtkSignalListItemFactory *f, GtkListItem *item, gpointer user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *picture = gtk_picture_new ();
  gtk_widget_set_size_request (picture, GRAFT_THUMBNAIL_SIZE, GRAFT_THUMBNAIL_SIZE);
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), FALSE);
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 16);
  gtk_label_set_lines (GTK_LABEL (label), 2);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_CENTER);
  gtk_widget_add_css_class (label, "caption");
  gtk_box_append (GTK_BOX (box), picture);
  gtk_box_append (GTK_BOX (box), label);
  gtk_list_item_set_child (item, box);
}

static void
texture_changed_cb (GraftThumbnail *thumb, GParamSpec *pspec, GtkPicture *picture)
{
  gtk_picture_set_paintable (picture, GDK_PAINTABLE (thumb->texture));
  if (thumb->error)
    gtk_widget_set_tooltip_text (GTK_WIDGET (picture), thumb->error);
}

static void
bind_cb (GtkSignalListItemFactory *f, GtkListItem *item, gpointer user_data)
{
  GraftThumbnail *thumb = gtk_list_item_get_item (item);
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *picture = gtk_widget_get_first_child (box);
  GtkWidget *label = gtk_widget_get_next_sibling (picture);
  gtk_label_set_text (GTK_LABEL (label), thumb->caption);
  g_autofree char *shown = g_filename_display_name (thumb->path);
  gtk_widget_set_tooltip_text (box, shown);
  gtk_picture_set_paintable (GTK_PICTURE (picture), GDK_PAINTABLE (thumb->texture));
  g_signal_connect_object (thumb, "notify::texture", G_CALLBACK (texture_changed_cb), picture, 0);
  graft_thumbnail_load (thumb);
}

static void
unbind_cb (GtkSignalListItemFactory *f, GtkListItem *item, gpointer user_data)
{
  GraftThumbnail *thumb = gtk_list_item_get_item (item);
  GtkWidget *picture = gtk_widget_get_first_child (gtk_list_item_get_child (item));
  g_signal_handlers_disconnect_by_func (thumb, texture_changed_cb, picture);
}

GtkWidget *
graft_thumbnail_grid_new (GListModel *model)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cb), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_cb), NULL);
  GtkSelectionModel *sel = GTK_SELECTION_MODEL (gtk_no_selection_new (model));
  GtkWidget *grid = gtk_grid_view_new (sel, factory);
  gtk_grid_view_set_max_columns (GTK_GRID_VIEW (grid), 12);
  return grid;
}
