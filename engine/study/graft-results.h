/* The study's results table (the report's Table 2), from each run's committed state. */
#pragma once

#include "graft-study.h"

G_BEGIN_DECLS

/* One row of the results table. */
typedef struct {
  char         *id;
  char         *name;            /* "Model" */
  int           experiment;      /* "Exp." */
  gboolean      freeze;          /* "Freeze" */
  GraftRunState state;
  char         *outdated;        /* OUTDATED: the settings that changed, else NULL */
  double        best_val_acc;    /* NAN when no epoch */
  int           best_epoch;
  double        final_val_acc;
  int           epochs;          /* epochs done */
  double        train_seconds;   /* run.json's, else the sum of metrics.csv's seconds */
  char         *device;          /* "" when unknown */
} GraftResultRow;

/* Rows in the study's run order, from each run's metrics.csv and run.json. */
GPtrArray  *graft_study_results       (const GraftStudy *study, GError **error);

typedef enum {
  GRAFT_TABLE_CSV,               /* RFC 4180: CRLF line ends, fields with , " CR LF quoted */
  GRAFT_TABLE_MARKDOWN,
} GraftTableFormat;

gboolean    graft_table_format_from_string (const char *s, GraftTableFormat *out,
                                            GError **error);
/* Columns: Exp.,Freeze,Model,Best val. acc.,Best epoch,Final val. acc.,
 * Epochs,Training time (s),Device,State. Accuracies with 4 decimals, empty
 * when unknown. */
char       *graft_results_format      (GPtrArray *rows, GraftTableFormat format);
/* Computes the table and writes it atomically to @path. */
gboolean    graft_study_write_table   (const GraftStudy *study, const char *path,
                                       GraftTableFormat format, GError **error);

G_END_DECLS
