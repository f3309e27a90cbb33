/* One run of a study in the editor: its transfer source, freeze choice and re-initialised layers. */
#pragma once

#include <gtk/gtk.h>

#include "graft-study.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_EXPERIMENT_ROW (graft_experiment_row_get_type ())
G_DECLARE_FINAL_TYPE (GraftExperimentRow, graft_experiment_row, GRAFT, EXPERIMENT_ROW,
                      GtkListBoxRow)

/* @run is borrowed from a study that outlives the row; edits write into it
 * and emit "changed". @layers: the model's layers with weights. */
GtkWidget *graft_experiment_row_new        (GraftStudyRun *run, const char *const *layers);
GraftStudyRun *graft_experiment_row_get_run (GraftExperimentRow *self);
void       graft_experiment_row_set_layers (GraftExperimentRow *self, const char *const *layers);
/* Opens the re-init layer checklist; returns its popover. */
GtkWidget *graft_experiment_row_popup_layers (GraftExperimentRow *self);

G_END_DECLS
