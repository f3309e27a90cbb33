/* The GtkApplication: actions, settings, windows. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GRAFT_TYPE_APPLICATION (graft_application_get_type ())
G_DECLARE_FINAL_TYPE (GraftApplication, graft_application, GRAFT, APPLICATION, GtkApplication)

GraftApplication *graft_application_new (void);

G_END_DECLS
