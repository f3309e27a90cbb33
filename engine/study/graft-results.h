/* Per-epoch metrics of a run (metrics.csv) and the study's results table (the report's Table 2). */
#pragma once

#include "graft-study.h"

G_BEGIN_DECLS

/* One row of metrics.csv. Columns missing from the file read as NAN. */
typedef struct {
  int    epoch;
  double train_loss, train_acc, val_loss, val_acc, lr, seconds, images_per_second;
} GraftEpochMetrics;

typedef enum {
  GRAFT_METRIC_VAL_ACC,
  GRAFT_METRIC_VAL_LOSS,
  GRAFT_METRIC_TRAIN_ACC,
  GRAFT_METRIC_TRAIN_LOSS,
} GraftMetric;

gboolean    graft_metric_from_string  (const char *s, GraftMetric *out, GError **error);
const char *graft_metric_to_string    (GraftMetric m);     /* "val_acc" … */
const char *graft_metric_title        (GraftMetric m);     /* "Validation accuracy" … */
double      graft_epoch_metrics_get   (const GraftEpochMetrics *m, GraftMetric which);

/* Reads metrics.csv (header row names the columns, in any order; "epoch"
 * required). Returns a GArray of GraftEpochMetrics; an empty array when the
 * file does not exist. Malformed files are an error naming file and line. */
GArray     *graft_metrics_load        (const char *path, GError **error);

/* Best = the largest val_acc, at the first epoch that reached it (NAN/0 when
 * no finite val_acc). */
void        graft_metrics_best        (const GArray *metrics, double *best_val_acc,
                                       int *best_epoch);

/* One row of the results table. */
typedef struct {
  char         *id;
  char         *name;            /* "Model" */
  int           experiment;      /* "Exp." */
  gboolean      freeze;          /* "Freeze" */
  GraftRunState state;
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

/* Quotes one CSV field per RFC 4180 when needed (appends to @out). */
void        graft_csv_append_field    (GString *out, const char *field);

G_END_DECLS
