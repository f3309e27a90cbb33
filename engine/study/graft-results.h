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
  double        train_seconds;   /* the committed epochs' seconds */
  char         *device;          /* "" when unknown */
  char         *group;           /* seed sweeps: the id of the run repeated, else NULL */
  guint32       seed;
} GraftResultRow;

/* A seed sweep's rows summarised per run of the study: best validation accuracy as mean,
 * standard deviation (n − 1; 0 for one seed) and the per-seed values. */
typedef struct {
  char    *id;               /* the study's run id */
  char    *name;
  int      experiment;
  gboolean freeze;
  guint    n;                /* seeds with a best accuracy */
  double   mean, std, min, max;
  GArray  *values;           /* double, in seed order; NAN for seeds not trained yet */
  GArray  *seeds;            /* guint32 */
} GraftResultGroup;

/* Groups the rows of a sweep by group, in the order the study lists them. */
GPtrArray  *graft_results_groups      (GPtrArray *rows);

/* Rows in the study's run order, from each run's metrics.csv and run.json. */
GPtrArray  *graft_study_results       (const GraftStudy *study, GError **error);

typedef enum {
  GRAFT_TABLE_CSV,               /* RFC 4180: CRLF line ends, fields with , " CR LF quoted */
  GRAFT_TABLE_MARKDOWN,
} GraftTableFormat;

gboolean    graft_table_format_from_string (const char *s, GraftTableFormat *out,
                                            GError **error);
/* Columns: Exp.,Freeze,Model,Best val. acc.,Best epoch,Final val. acc.,
 * Epochs,Training time (s),Device,State (and Seed for a sweep's rows). Accuracies with 4
 * decimals, empty when unknown. A sweep's Markdown table is one row per run of the study:
 * Exp.,Freeze,Model,Best val. acc. (mean ± std),Seeds,Per seed; its CSV keeps the per-seed
 * rows. */
char       *graft_results_format      (GPtrArray *rows, GraftTableFormat format);
/* Computes the table and writes it atomically to @path. */
gboolean    graft_study_write_table   (const GraftStudy *study, const char *path,
                                       GraftTableFormat format, GError **error);

G_END_DECLS
