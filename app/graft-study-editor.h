/* The study editor: dataset folders, shared hyper-parameters and the list of experiments. */
#pragma once

#include <gtk/gtk.h>

#include "graft-study.h"

G_BEGIN_DECLS

#define GRAFT_TYPE_STUDY_EDITOR (graft_study_editor_get_type ())
G_DECLARE_FINAL_TYPE (GraftStudyEditor, graft_study_editor, GRAFT, STUDY_EDITOR, GtkBox)

/* @study is borrowed and edited in place; "changed" is emitted after each
 * edit. NULL shows an empty editor. */
void graft_study_editor_set_study    (GraftStudyEditor *self, GraftStudy *study);
/* Takes the text typed into the spin buttons as their values (emitting
 * "changed" when that edits the study): call before the study is read. */
/* Makes the study's base run start from the checkpoint @path (NULL: train on the source
 * folder), as choosing a file under "Base weights" does. */
void graft_study_editor_set_init     (GraftStudyEditor *self, const char *path);
void graft_study_editor_commit       (GraftStudyEditor *self);
/* Why the study as edited cannot be saved or run (a field shows an error), or NULL. */
const char *graft_study_editor_get_problem (GraftStudyEditor *self);
/* Where folder choices are remembered; may be NULL. */
void graft_study_editor_set_settings (GraftStudyEditor *self, GSettings *settings);
/* Locks editing while the study runs. */
void graft_study_editor_set_locked   (GraftStudyEditor *self, gboolean locked);
/* Opens the layer checklist of run @id and returns its popover; NULL when no
 * transfer run has that id. */
GtkWidget *graft_study_editor_popup_layers (GraftStudyEditor *self, const char *id);

/* The row of run @id, or NULL. */
GtkWidget *graft_study_editor_find_row (GraftStudyEditor *self, const char *id);
/* What the experiment list shows: "row <id> | <title> | <detail> | <re-init> | <freeze>"
 * per row, then "empty state shown|hidden". */
char      *graft_study_editor_describe (GraftStudyEditor *self);

/* "1, 2, 3" into @out (guint32); "" gives none. Refuses numbers outside 1..4294967295,
 * duplicates and more than GRAFT_STUDY_MAX_SEEDS. */
gboolean graft_study_parse_seeds (const char *text, GArray *out, GError **error);

/* A dataset folder of @study as a path usable from anywhere. */
char *graft_study_resolve_path (const GraftStudy *study, const char *path);

G_END_DECLS
