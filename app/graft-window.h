/* The main window: device menu, study editor, runs, live curves and results. */
#pragma once

#include "graft-application.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_WINDOW (graft_window_get_type ())
G_DECLARE_FINAL_TYPE (GraftWindow, graft_window, GRAFT, WINDOW, GtkApplicationWindow)

GraftWindow *graft_window_new             (GraftApplication *app);
/* @path: a study folder or its study.json. */
gboolean     graft_window_open_study      (GraftWindow *self, const char *path, GError **error);
/* Renders the window as it is now into a PNG of its size. */
gboolean     graft_window_save_screenshot (GraftWindow *self, const char *path, GError **error);
/* Series in the plot, for self-tests. */
guint        graft_window_n_plot_series   (GraftWindow *self);

G_END_DECLS
