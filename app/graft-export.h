/* File names for exports: a default built from the study's name, and the format's extension. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "@title@suffix.@ext" as a file name: "/", "\" and control characters become "-", leading
 * dots and spaces are dropped (no hidden or empty names); an empty title is "study". */
char        *graft_export_file_name      (const char *title, const char *suffix, const char *ext);
/* @path when its extension is one of @known (case-insensitive), otherwise @path + "." + @ext. */
char        *graft_export_add_extension  (const char *path, const char *const *known,
                                          const char *ext);
/* The extension of @path (lower-case, without the dot), or NULL. */
char        *graft_export_extension      (const char *path);

G_END_DECLS
