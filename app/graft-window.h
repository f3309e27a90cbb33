/* The main window: device menu, study editor, runs and plots. */
#pragma once

#include "graft-application.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_WINDOW (graft_window_get_type ())
G_DECLARE_FINAL_TYPE (GraftWindow, graft_window, GRAFT, WINDOW, GtkApplicationWindow)

GraftWindow *graft_window_new (GraftApplication *app);

G_END_DECLS
