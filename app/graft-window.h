/* The main window: device menu, study editor, runs, live curves and results. */
#pragma once

#include "graft-application.h"
#include "graft-study.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_WINDOW (graft_window_get_type ())
G_DECLARE_FINAL_TYPE (GraftWindow, graft_window, GRAFT, WINDOW, AdwApplicationWindow)

GraftWindow *graft_window_new             (GraftApplication *app);
/* @path: a study folder or its study.json. */
gboolean     graft_window_open_study      (GraftWindow *self, const char *path, GError **error);
/* Renders the window as it is now into a PNG of its size. */
gboolean     graft_window_save_screenshot (GraftWindow *self, const char *path, GError **error);
/* Series in the plot, for self-tests. */
guint        graft_window_n_plot_series   (GraftWindow *self);
guint        graft_window_n_plot_banded   (GraftWindow *self);
/* The study shown (edits included), or NULL. */
const GraftStudy *graft_window_get_study  (GraftWindow *self);
/* Opens the re-init layer checklist of run @id in the editor; returns its
 * popover, or NULL. */
GtkWidget   *graft_window_popup_layers    (GraftWindow *self, const char *id);
/* What the export choosers do with the path chosen: writes the plot (@kind "plot", in
 * @format png, svg or pdf unless the path names one), the results table ("table", CSV or
 * .md) or a run's best checkpoint as ONNX ("onnx:<run id>", on a worker thread: the banner
 * or the error comes when it is written), adding the format's extension to a name without
 * one (and asking before that replaces a file). Errors are shown in the window; FALSE when
 * nothing was written (yet). */
gboolean     graft_window_export          (GraftWindow *self, const char *kind, const char *path,
                                           const char *format);
/* The Run button's label: "Run Study", or "Retrain Changed Runs" while runs are outdated. */
const char  *graft_window_get_run_label   (GraftWindow *self);
/* The run list's rows as text, one line each, for self-tests. */
char        *graft_window_describe_runs   (GraftWindow *self);
/* The runs whose row offers an ONNX export, space-separated. */
char        *graft_window_describe_exports (GraftWindow *self);
/* The feedback line shown now (an export's file), or NULL. */
const char  *graft_window_get_info        (GraftWindow *self);
/* The error shown now, or NULL. */
const char  *graft_window_get_error       (GraftWindow *self);
/* Renders a shown window or popover as it is now into a PNG of its size. */
gboolean     graft_native_save_png        (GtkNative *native, const char *path, GError **error);

G_END_DECLS
