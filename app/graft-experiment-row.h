/* One run of a study in the editor: its transfer source, freeze choice, re-initialised layers,
 * and its menu (duplicate, rename, remove). */
#pragma once

#include <gtk/gtk.h>

#include "graft-study.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_EXPERIMENT_ROW (graft_experiment_row_get_type ())
G_DECLARE_FINAL_TYPE (GraftExperimentRow, graft_experiment_row, GRAFT, EXPERIMENT_ROW,
                      GtkListBoxRow)

/* @run is borrowed from @study, which outlives the row; edits go through the study model and
 * emit "changed". @layers: the model's layers with weights (GraftLayerInfo*). The row's menu
 * activates editor.duplicate-experiment and editor.remove-experiment with the run's id. */
GtkWidget *graft_experiment_row_new        (GraftStudy *study, GraftStudyRun *run,
                                            GPtrArray *layers);
GraftStudyRun *graft_experiment_row_get_run (GraftExperimentRow *self);
void       graft_experiment_row_set_layers (GraftExperimentRow *self, GPtrArray *layers);
/* Shows the run's fields again (after another run was renamed). */
void       graft_experiment_row_update     (GraftExperimentRow *self);
/* Opens the re-init layer checklist; returns its popover. */
GtkWidget *graft_experiment_row_popup_layers (GraftExperimentRow *self);
/* Opens the row's menu (Duplicate, Rename…, Remove); returns its popover. */
GtkWidget *graft_experiment_row_popup_menu (GraftExperimentRow *self);
/* The inline message of the rename fields, or NULL while the typed id and name are valid or
 * no rename is under way. */
const char *graft_experiment_row_get_rename_error (GraftExperimentRow *self);
/* "<id> | <title> | <detail> | <re-init choice> | <freeze choice>" as the row shows them. */
char      *graft_experiment_row_describe   (GraftExperimentRow *self);

G_END_DECLS
