/* Training one run: data → model → Adam, one committed epoch at a time, resumable.
 *
 * The run folder and its files (config.json, commit.json, metrics.csv, run.json, split.csv,
 * checkpoints, log.txt) belong to the run module (engine/run/graft-run.h); the trainer only
 * calls it. A rerun resumes after the last committed epoch and ends bit-identical to an
 * uninterrupted run; more epochs (or patience) extend a run, other settings are refused.
 */
#pragma once

#include <gio/gio.h>

#include "graft-dataset.h"

G_BEGIN_DECLS

typedef struct _GraftTrainConfig {
  char          *data_dir;         /* folder of class folders */
  char          *out_dir;          /* run folder, created if missing */
  char          *device;           /* spec for graft_device_find; NULL = default */
  int            epochs;           /* 25 */
  int            batch;            /* 64 */
  double         lr;               /* 1e-4 */
  int            image_size;       /* 180 */
  guint32        seed;             /* 1337 */
  double         width;            /* channel multiplier, 1.0 = reference */
  double         dropout;          /* 0.5 (Keras 2) */
  double         bn_momentum;      /* 0.99 (Keras); lower converges the moving statistics
                                      in fewer steps, for short runs */
  double         val_fraction;     /* 0.2 */
  GraftSplitMode split;
  GraftFilter    filter;
  int            patience;         /* 0 = no early stopping */
  gboolean       augment;          /* TRUE */
  char          *init_checkpoint;  /* NULL, or weights to transfer from */
  char         **reinit_layers;    /* NULL-terminated layer names, or NULL */
  char         **freeze_layers;    /* layer names, or { "transferred" }, or NULL */
  char          *architecture;     /* a name of the architecture registry; NULL = "keras-cnn" */
} GraftTrainConfig;

void              graft_train_config_init   (GraftTrainConfig *cfg);   /* the study's defaults */
void              graft_train_config_clear  (GraftTrainConfig *cfg);
GraftTrainConfig *graft_train_config_copy   (const GraftTrainConfig *cfg);
void              graft_train_config_free   (GraftTrainConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftTrainConfig, graft_train_config_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GraftTrainConfig, graft_train_config_clear)

typedef enum {
  GRAFT_TRAIN_STAGE_PREPARE,   /* scanning, building the image cache: done/total items */
  GRAFT_TRAIN_STAGE_TRAIN,     /* inside an epoch: batch/batches */
  GRAFT_TRAIN_STAGE_VALIDATE,
  GRAFT_TRAIN_STAGE_EPOCH_END, /* val_* valid */
} GraftTrainStage;

typedef struct {
  GraftTrainStage stage;
  const char *message;         /* PREPARE: what is being done */
  int    epoch, epochs;        /* epoch counts from 1 */
  guint64 done, total;         /* batches (or items while preparing) */
  double loss, acc;            /* running means over the epoch so far */
  double val_loss, val_acc;    /* EPOCH_END */
  double images_per_second;
  double eta_seconds;          /* for the current epoch */
} GraftTrainProgress;

typedef void (*GraftTrainProgressFunc) (const GraftTrainProgress *p, gpointer user_data);

#define GRAFT_TRAIN_MAX_EPOCHS      100000
#define GRAFT_TRAIN_MAX_BATCH       4096
#define GRAFT_TRAIN_MIN_IMAGE_SIZE  16
#define GRAFT_TRAIN_MAX_IMAGE_SIZE  1024

/* Checks every setting's range; the message names the setting. */
gboolean graft_train_config_validate (const GraftTrainConfig *cfg, GError **error);

/* Trains (or resumes) the run in cfg->out_dir. Returns TRUE when the run is
 * finished (already finished runs return TRUE at once). Cancelling stops after
 * the current batch with status "stopped"; the last finished epoch is kept. */
gboolean graft_train_run (const GraftTrainConfig *cfg, GraftTrainProgressFunc progress,
                          gpointer user_data, GCancellable *cancellable, GError **error);

G_END_DECLS
