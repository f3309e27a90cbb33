/* Training one run: data → model → Adam → metrics.csv and checkpoints, resumable.
 *
 * A run folder holds:
 *   config.json          the GraftTrainConfig it was started with (a rerun
 *                        with a different config is refused, naming the key)
 *   metrics.csv          epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds,images_per_second
 *                        one row per finished epoch (epoch starts at 1),
 *                        rewritten atomically after each epoch
 *   run.json             {"format": 1, "status": "running"|"finished"|"failed"|"stopped",
 *                         "epochs_done": N, "epochs": N, "best_val_acc": x, "best_epoch": N,
 *                         "device": "...", "train_seconds": x, "error": "..."}
 *   last.safetensors     weights after the last finished epoch
 *   last.optimizer.safetensors  Adam moments and step, for resume
 *   best.safetensors     weights of the epoch with the best validation accuracy
 *   log.txt              human-readable progress lines
 */
#pragma once

#include <gio/gio.h>

#include "graft-dataset.h"

G_BEGIN_DECLS

typedef struct {
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

/* Trains (or resumes) the run in cfg->out_dir. Returns TRUE when the run is
 * finished (already finished runs return TRUE at once). Cancelling stops after
 * the current batch with status "stopped"; the last finished epoch is kept. */
gboolean graft_train_run (const GraftTrainConfig *cfg, GraftTrainProgressFunc progress,
                          gpointer user_data, GCancellable *cancellable, GError **error);

G_END_DECLS
