/* Run folders: the one owner of a training run's files, its epoch commits and its identity.
 *
 * A run folder (a study's runs/<id>/, or train's output folder) holds:
 *   config.json        the run's identity (format 2): every setting that decides its results,
 *                      the data folder's signature and the init checkpoint's digest
 *   commit.json        the commit manifest: the last committed epoch, Adam's step, the best
 *                      epoch, the size and SHA-256 of each file of that epoch, and the
 *                      committed text of metrics.csv. Renamed into place last: it *is* the
 *                      commit. Readers trust only what it names.
 *   checkpoints/epoch-NNNN.safetensors            weights after epoch N
 *   checkpoints/epoch-NNNN.optimizer.safetensors  Adam moments and step after epoch N
 *   metrics.csv        epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds,images_per_second
 *                      (one row per committed epoch), published after each commit
 *   last.safetensors, last.optimizer.safetensors, best.safetensors
 *                      the committed epoch's files and the best epoch's weights, published
 *                      (hard links, or copies) after each commit
 *   run.json           status: running | stopped | failed (with its error) | finished; device
 *   split.csv          path,class,subset of every image the run used (RFC 4180)
 *   log.txt            human-readable progress lines
 *   events.out.tfevents.<start>.graft
 *                      TensorBoard's log of the committed epochs (graft-tfevents.h)
 *   lock               held (flock) by the one process training the run
 *
 * Epoch commit (graft_run_commit_epoch): write the epoch's weights and optimizer files under
 * checkpoints/ (temp file, fsync, rename), then commit.json (temp file, fsync, rename, fsync of
 * the folder), then publish metrics.csv and the three stable names, then run.json, then remove
 * the files no manifest names. At every instant the folder holds one complete committed epoch;
 * leftovers of an uncommitted one are ignored by readers and removed by the next writer.
 *
 * Fault injection (tests only): GRAFT_FAULT_KILL=E:K kills the process with SIGKILL at the K-th
 * fault point of epoch E's commit; GRAFT_FAULT_ENOSPC=E:K makes the operation at that point fail
 * with ENOSPC (leaving a partial temp file, as a full disk does); GRAFT_FAULT_TRACE=1 prints
 * each point on stderr. graft_run_set_fault_enospc() sets the ENOSPC spec from a test that
 * runs the trainer in its own process (setenv is not safe once threads run).
 * GRAFT_FAULT_KILL_BATCH=E:B kills the process once the B-th training batch of epoch E has
 * been trained (graft_run_fault_batch, called by the trainer): a kill in the middle of an epoch,
 * at the same place on every machine. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "graft-dataset.h"

G_BEGIN_DECLS

#define GRAFT_RUN_FORMAT 2

#define GRAFT_RUN_CONFIG_FILE      "config.json"
#define GRAFT_RUN_COMMIT_FILE      "commit.json"
#define GRAFT_RUN_STATUS_FILE      "run.json"
#define GRAFT_RUN_METRICS_FILE     "metrics.csv"
#define GRAFT_RUN_SPLIT_FILE       "split.csv"
#define GRAFT_RUN_LOG_FILE         "log.txt"
#define GRAFT_RUN_LAST_FILE        "last.safetensors"
#define GRAFT_RUN_LAST_OPT_FILE    "last.optimizer.safetensors"
#define GRAFT_RUN_BEST_FILE        "best.safetensors"
#define GRAFT_RUN_CHECKPOINT_DIR   "checkpoints"
#define GRAFT_RUN_LOCK_FILE        "lock"
#define GRAFT_RUN_EVALUATION_FILE  "evaluation.json"

/* One row of metrics.csv. */
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

/* Parses metrics.csv text strictly: the exact header, then rows for epochs 1, 2, … in order,
 * eight finite numbers each. Errors name @what and the line. Returns GraftEpochMetrics rows. */
GArray     *graft_metrics_parse       (const char *text, gsize len, const char *what,
                                       GError **error);
/* Best = the largest val_acc, at the first epoch that reached it (NAN / 0 when none). */
void        graft_metrics_best        (const GArray *metrics, double *best_val_acc,
                                       int *best_epoch);
/* Epochs since the best one (0 when the last epoch is the best, or none). */
int         graft_metrics_since_best  (const GArray *metrics);
/* TRUE when a run with these rows is over: @epochs reached, or @patience (> 0) epochs
 * without a better validation accuracy. */
gboolean    graft_metrics_done        (const GArray *metrics, int epochs, int patience);

/* State of a run as found on disk; BLOCKED and OUTDATED are derived by studies. */
typedef enum {
  GRAFT_RUN_STATE_PENDING,      /* nothing trained yet */
  GRAFT_RUN_STATE_RUNNING,      /* run.json says running: in progress or interrupted */
  GRAFT_RUN_STATE_STOPPED,      /* cancelled, or more epochs asked for: resumable */
  GRAFT_RUN_STATE_FINISHED,
  GRAFT_RUN_STATE_FAILED,
  GRAFT_RUN_STATE_BLOCKED,      /* not finished, and the run it transfers from failed */
  GRAFT_RUN_STATE_OUTDATED,     /* trained with other settings than the study now has */
} GraftRunState;

const char *graft_run_state_to_string (GraftRunState s);

/* ---- Reading ---- */

typedef struct _GraftRun GraftRun;

/* Opens a run folder and validates its committed state: commit.json, metrics.csv against it,
 * config.json, run.json; every problem is an error naming the file (and line). A missing or
 * empty folder is a run with nothing committed. A folder written by an older Graft (no
 * commit.json, config.json format 1) loads as an outdated run with nothing committed. */
GraftRun   *graft_run_load            (const char *dir, GError **error);
void        graft_run_free            (GraftRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftRun, graft_run_free)

const char *graft_run_get_dir         (GraftRun *run);
/* What run.json says (PENDING when absent); FINISHED only with a committed epoch. */
GraftRunState graft_run_get_state     (GraftRun *run);
int         graft_run_epochs_done     (GraftRun *run);       /* committed epochs */
int         graft_run_epochs_planned  (GraftRun *run);       /* config.json's epochs, 0 if none */
const GArray *graft_run_metrics       (GraftRun *run);       /* rows 1..epochs_done */
double      graft_run_best_val_acc    (GraftRun *run);       /* NAN when none */
int         graft_run_best_epoch      (GraftRun *run);       /* 0 when none */
double      graft_run_train_seconds   (GraftRun *run);       /* sum of the committed epochs */
gint64      graft_run_step            (GraftRun *run);       /* Adam steps committed */
const char *graft_run_device          (GraftRun *run);       /* NULL when unknown */
const char *graft_run_error           (GraftRun *run);       /* failed: why; else NULL */
/* TRUE for a folder written by an older Graft (no commit manifest): nothing is trusted. */
gboolean    graft_run_is_legacy       (GraftRun *run);
/* Paths of the committed files (NULL when nothing is committed). */
const char *graft_run_last_weights    (GraftRun *run);
const char *graft_run_last_optimizer  (GraftRun *run);
const char *graft_run_best_weights    (GraftRun *run);
/* Checks the committed files' sizes and SHA-256 against the manifest. */
gboolean    graft_run_verify_files    (GraftRun *run, GError **error);

/* ---- Identity ---- */

typedef struct _GraftTrainConfig GraftTrainConfig;

/* The identity of a run with @cfg: every setting that decides the results (not the device,
 * not the folders' paths), the data folder's signature (graft_dataset_signature) and the
 * SHA-256 of the init checkpoint. Never fails: a missing data folder or checkpoint is
 * recorded as such. */
JsonNode   *graft_run_identity_new    (const GraftTrainConfig *cfg);
/* NULL when the run in @run was trained with the identity @now (committed epochs beyond
 * @now's epochs, or past where its patience stops, also count as a difference); otherwise
 * the differing settings, "lr 0.001 → 0.0005; reinit_layers [dense] → [conv2d, dense]".
 * A run with nothing trained is never outdated. */
char       *graft_run_outdated_reason (GraftRun *run, JsonNode *now);

/* ---- Writing (the trainer) ---- */

/* Writes one file of an epoch (a checkpoint) at @path. */
typedef gboolean (*GraftRunWriteFunc) (const char *path, gpointer user_data, GError **error);

/* Opens @dir for training with @identity: creates it, refuses a folder trained with another
 * identity (naming the settings; @move_hint says what the user can do), writes config.json,
 * checks the committed files, re-publishes what a crash left unpublished and removes
 * leftovers of an uncommitted epoch. Marks the run "running". */
GraftRun   *graft_run_begin           (const char *dir, JsonNode *identity, GError **error);
/* Commits one epoch (@row->epoch must be epochs_done + 1): @write_weights and
 * @write_optimizer write the epoch's files. @row's numbers are rounded to what metrics.csv
 * keeps, so that a resumed run compares exactly what an uninterrupted one compared.
 * @improved gets whether this epoch is the new best. */
gboolean    graft_run_commit_epoch    (GraftRun *run, GraftEpochMetrics *row, gint64 step,
                                       GraftRunWriteFunc write_weights,
                                       GraftRunWriteFunc write_optimizer, gpointer user_data,
                                       gboolean *improved, GError **error);
/* Records the status in run.json (RUNNING, STOPPED, FINISHED or FAILED with @message). */
gboolean    graft_run_set_status      (GraftRun *run, GraftRunState state, const char *device,
                                       const char *message, GError **error);
/* Writes split.csv: every usable file's path (relative to the data folder), class and
 * subset ("train" or "validation"). */
gboolean    graft_run_write_split     (GraftRun *run, GraftDataset *ds, const GArray *train,
                                       const GArray *val, GError **error);
/* Appends a time-stamped line to log.txt. */
void        graft_run_log             (GraftRun *run, const char *message);

/* Makes run.json of @dir say "failed" with @message (failures before training began). */
void        graft_run_record_failure  (const char *dir, const char *message);
/* Moves @dir aside to "<dir>.outdated-YYYYMMDD-HHMMSS" (@moved_to gets it; may be NULL),
 * or deletes it when @discard. A missing @dir is nothing to do. */
gboolean    graft_run_retire          (const char *dir, gboolean discard, char **moved_to,
                                       GError **error);

/* Tests only: "E:K" as GRAFT_FAULT_ENOSPC would say, or NULL to follow the environment. */
void        graft_run_set_fault_enospc (const char *spec);
void        graft_run_fault_batch      (int epoch, guint batch);

/* ---- What inspecting a run reads and keeps (additive) ---- */

/* The SHA-256 of the committed best weights, as the manifest records it (NULL when none). */
const char *graft_run_best_sha256     (GraftRun *run);
/* The data settings config.json records: the data folder, its filter, the split and its
 * fraction and seed. FALSE with an error naming config.json when a setting is missing. */
gboolean    graft_run_data_settings   (GraftRun *run, char **data_dir, GraftFilter *filter,
                                       GraftSplitMode *split, double *val_fraction,
                                       guint32 *seed, GError **error);
/* The text of log.txt ("" when the run has none yet), at most its last @max_bytes
 * (0: all of it; a cut starts at a line). */
char       *graft_run_read_log        (GraftRun *run, gsize max_bytes, GError **error);
/* The evaluation cache (evaluation.json; its content is graft-infer's): the parsed object,
 * or NULL with no error when absent; a damaged file is an error naming it. */
JsonObject *graft_run_read_evaluation (GraftRun *run, GError **error);
/* Replaces evaluation.json atomically. */
gboolean    graft_run_write_evaluation (GraftRun *run, JsonNode *node, GError **error);
/* Its path (for messages and tests). */
char       *graft_run_evaluation_path (GraftRun *run);

/* Quotes one CSV field per RFC 4180 when needed (appends to @out). */
void        graft_csv_append_field    (GString *out, const char *field);

/* Moves the run folder @from to @to (a path that does not exist yet), unless a process is
 * training the run (its lock is held): a renamed run keeps its results. */
gboolean graft_run_move (const char *from, const char *to, GError **error);

G_END_DECLS
