/* Inference with a trained checkpoint: evaluation over a dataset (loss, accuracy, confusion
 * matrix, every file's prediction) and prediction of image files. Shared by the CLI and the
 * app; normalisation and decoding are the trainer's own. */
#pragma once

#include <gio/gio.h>

#include "graft-dataset.h"
#include "graft-model.h"

G_BEGIN_DECLS

typedef struct _GraftPredictor GraftPredictor;

/* Loads @checkpoint (its model, class names and weights, which must all be finite) onto
 * @device (NULL = default) for batches of up to @batch images (1..GRAFT_TRAIN_MAX_BATCH). */
GraftPredictor *graft_predictor_new       (const char *checkpoint, const char *device, int batch,
                                           GError **error);
void            graft_predictor_free      (GraftPredictor *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftPredictor, graft_predictor_free)

GraftModel     *graft_predictor_model     (GraftPredictor *p);
const char     *graft_predictor_device    (GraftPredictor *p);   /* the device's name */
int             graft_predictor_n_classes (GraftPredictor *p);
const char     *graft_predictor_class_name (GraftPredictor *p, int k);

typedef struct {
  guint    n;              /* images evaluated */
  guint    n_classes;
  double   loss, accuracy; /* means */
  guint64 *confusion;      /* n_classes × n_classes, rows: true class, columns: predicted */
  guint   *files;          /* dataset file index of each evaluated image */
  guint   *predicted;      /* predicted class of each */
  float   *confidence;     /* probability of the predicted class */
} GraftEvaluation;

void            graft_evaluation_clear    (GraftEvaluation *e);

/* Evaluates the first @n of @indices (dataset file indices; NULL = every file) of @ds.
 * The dataset's classes must be the checkpoint's (count, and names: a name that differs is
 * an error naming both). */
gboolean        graft_evaluate            (GraftPredictor *p, GraftDataset *ds,
                                           const guint *indices, guint n,
                                           GraftDataProgressFunc progress, gpointer user_data,
                                           GCancellable *cancellable, GraftEvaluation *out,
                                           GError **error);

/* Called once per file: @probs (n_classes values) and @predicted, or @reason when the file
 * cannot be used (then @probs is NULL). */
typedef void (*GraftPredictFunc) (const char *path, const float *probs, int predicted,
                                  const char *reason, gpointer user_data);

/* Predicts every image among @paths (files, or folders walked as graft_images_collect does),
 * in order. Returns FALSE only on a device error; unusable files go to @func with a reason. */
gboolean        graft_predict_paths       (GraftPredictor *p, const char *const *paths,
                                           GraftPredictFunc func, gpointer user_data,
                                           guint *n_files, GError **error);

/* The CSV of predictions (RFC 4180): header "file,predicted,p_<class>…", then rows. */
void            graft_predict_csv_header  (GraftPredictor *p, GString *out);
void            graft_predict_csv_row     (GraftPredictor *p, GString *out, const char *path,
                                           const float *probs, int predicted);

/* ---- A run's evaluation, cached in its folder ---- */

/* The best checkpoint of a run evaluated on the run's validation split (the trainer's split
 * of its data folder, from config.json's settings), as kept in the run folder's evaluation
 * cache. */
typedef struct {
  char    *run_dir;
  char    *checkpoint_sha256;  /* of the best weights evaluated: the cache's key */
  char    *data_signature;     /* graft_dataset_signature of the data folder then */
  char    *data_dir;
  int      best_epoch;
  guint    n, n_classes;
  double   loss, accuracy;
  char   **class_names;        /* n_classes */
  guint64 *confusion;          /* n_classes × n_classes, rows: true class, columns: predicted */
  char   **paths;              /* n files, relative to data_dir */
  guint   *truth, *predicted;
  float   *confidence;         /* probability of the predicted class */
  gboolean from_cache;         /* read from evaluation.json rather than computed */
} GraftRunEvaluation;

void graft_run_evaluation_free (GraftRunEvaluation *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftRunEvaluation, graft_run_evaluation_free)

/* Evaluates the best checkpoint of the run in @run_dir on its validation split, or, with
 * @use_cache, returns the run's cached evaluation when it was made of the same best weights
 * (SHA-256 from the commit manifest) and the same data (the folder's signature); a computed
 * evaluation replaces the cache (when the folder can be written). Fails naming the folder when the run has no best epoch yet. */
GraftRunEvaluation *graft_run_evaluate (const char *run_dir, const char *device, int batch,
                                        gboolean use_cache, GraftDataProgressFunc progress,
                                        gpointer user_data, GCancellable *cancellable,
                                        GError **error);
/* The indices of the files whose true class is @truth and predicted class @predicted. */
GArray *graft_run_evaluation_cell_files (const GraftRunEvaluation *e, guint truth,
                                         guint predicted);

G_END_DECLS
