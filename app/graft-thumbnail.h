/* Image thumbnails for grids of dataset files: items decoded lazily, off the main thread,
 * through the engine's JPEG decoder, and a GtkGridView that shows them. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GRAFT_THUMBNAIL_SIZE 96

#define GRAFT_TYPE_THUMBNAIL (graft_thumbnail_get_type ())
G_DECLARE_FINAL_TYPE (GraftThumbnail, graft_thumbnail, GRAFT, THUMBNAIL, GObject)

/* @path: the image file; @caption: the line under it (Pango markup is not used). */
GraftThumbnail *graft_thumbnail_new         (const char *path, const char *caption);
const char     *graft_thumbnail_get_path    (GraftThumbnail *self);
const char     *graft_thumbnail_get_caption (GraftThumbnail *self);
/* The decoded picture, NULL until loaded ("texture" is notified when it is). */
GdkTexture     *graft_thumbnail_get_texture (GraftThumbnail *self);
/* Why the file could not be decoded, NULL otherwise. */
const char     *graft_thumbnail_get_error   (GraftThumbnail *self);
/* Starts decoding it on a worker thread unless it was already asked for. */
void            graft_thumbnail_load        (GraftThumbnail *self);

/* Decodes started and not finished yet, over every thumbnail (for tests). */
guint           graft_thumbnail_n_pending   (void);

/* A grid of the GraftThumbnail items of @model (taken); each item is decoded when the grid
 * first shows it. */
GtkWidget      *graft_thumbnail_grid_new    (GListModel *model);

G_END_DECLS
