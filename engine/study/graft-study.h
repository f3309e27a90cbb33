/* Transfer-learning studies: the study file, its run folders, their state, and the runner.
 *
 * A study folder holds:
 *   study.json          the study (format below), written atomically
 *   runs/<id>/          one training run folder per run (see graft-train.h)
 *   results.csv         written by graft_study_write_table()
 *   *.png|svg|pdf       figures written by graft_plot_write()
 *
 * study.json, format 1:
 *   {
 *     "format": 1,
 *     "name": "paper",                       display name of the study
 *     "architecture": "keras-cnn",           optional: a name of the architecture registry
 *                                            (graft-arch.h), default "keras-cnn"
 *     "source": "/data/stanford-dogs",       folder of class folders the base run learns
 *     "target": "/data/cats-vs-dogs",        folder of class folders the other runs learn
 *     "train": {                             shared hyper-parameters, all keys optional
 *       "epochs": 25, "batch": 64, "lr": 0.0001, "image_size": 180, "seed": 1337,
 *       "width": 1.0, "dropout": 0.5, "val_fraction": 0.2,
 *       "split": "keras"|"seeded", "filter": "decode"|"keras-jfif",
 *       "patience": 0, "augment": true
 *     },
 *     "base": "dogs120-base",                run id whose weights are transferred
 *     "baseline": "dogs-cats-base",          run id of the from-scratch run on the target
 *     "seeds": [1, 2, 3],                    optional: repeat every run once per seed
 *     "runs": [                              in display order
 *       { "id": "dogs120-base",              folder name under runs/: [a-z0-9._-], unique
 *         "name": "dogs120-base",            display name (the report's "Model" column)
 *         "experiment": 1,                   the report's "Exp." number
 *         "data": "source"|"target",
 *         "from": "dogs120-base",            optional: transfer best.safetensors of this run
 *         "init": "resnet18.safetensors",    optional: a checkpoint run: it trains nothing,
 *                                            its weights are this file ("data", "from",
 *                                            "reinit" and "freeze" do not apply)
 *         "reinit": ["dense"],               optional: layers re-initialised (Glorot-uniform)
 *         "freeze": "transferred"|"none" },  optional, default "none"
 *       ...
 *     ]
 *   }
 * Relative "source"/"target"/"init" paths are taken relative to the study folder.
 * Unknown keys are ignored so that later versions can add keys; a different
 * "format" is refused.
 *
 * The train config of a run is derived (graft_study_run_config): data_dir =
 * source or target, out_dir = runs/<id>, architecture = the study's, init_checkpoint =
 * runs/<from>/best.safetensors (or the "init" file when <from> is a checkpoint run),
 * reinit_layers = reinit, freeze_layers = { "transferred" } when frozen, every other
 * field from "train". Since the run identity (config.json) holds the architecture and the
 * SHA-256 of the init checkpoint, changing either makes the trained runs outdated.
 */
#pragma once

#include <gio/gio.h>

#include "graft-dataset.h"
#include "graft-run.h"
#include "graft-train.h"

G_BEGIN_DECLS

#define GRAFT_STUDY_FORMAT 1
#define GRAFT_STUDY_MAX_SEEDS 100

/* Hyper-parameters shared by every run of a study. */
typedef struct {
  int            epochs;
  int            batch;
  double         lr;
  int            image_size;
  guint32        seed;
  double         width;         /* channel multiplier, 1.0 = reference model */
  double         dropout;
  double         val_fraction;
  GraftSplitMode split;
  GraftFilter    filter;
  int            patience;      /* 0 = no early stopping */
  gboolean       augment;
  double         bn_momentum;   /* 0.99 as Keras; the demo's short runs use 0.9 */
} GraftStudyHyper;

/* The study's published setting: 25 epochs, batch 64, lr 1e-4, 180×180,
 * seed 1337, width 1, dropout 0.5, val 0.2, Keras split, Keras JFIF filter. */
void graft_study_hyper_init_paper (GraftStudyHyper *h);
/* The small demo scale on Fashion-MNIST-derived folders: 6 epochs, batch 64,
 * lr 1e-3, 32×32, seed 1337, width 0.25, dropout 0.5, val 0.2, seeded split,
 * decode filter. */
void graft_study_hyper_init_demo  (GraftStudyHyper *h);

typedef enum {
  GRAFT_STUDY_DATA_SOURCE,
  GRAFT_STUDY_DATA_TARGET,
} GraftStudyData;

typedef struct {
  char           *id;           /* run folder name */
  char           *name;         /* display name */
  int             experiment;
  GraftStudyData  data;
  char           *from;         /* run id to transfer from, or NULL (from scratch) */
  char          **reinit;       /* NULL-terminated, or NULL */
  gboolean        freeze;       /* freeze every transferred, non-re-initialised layer */
  /* Set on the runs of an expanded seed sweep (graft_study_expand): */
  guint32         seed;         /* its seed; 0 = the study's train.seed */
  char           *group;        /* the id of the run it repeats, or NULL */
  char           *init;         /* a checkpoint run: its weights are this .safetensors file
                                   (as written, relative to the study folder); it trains
                                   nothing. NULL for the runs that train. */
  char           *saved_id;     /* the id study.json has for it (set by load and save), whose
                                   folder holds its results; NULL for a run not saved yet. A
                                   renamed run's folders move on the next save. */
} GraftStudyRun;

typedef struct {
  char            *dir;         /* study folder; NULL until created or loaded */
  char            *name;
  char            *architecture;  /* a registry name (graft-arch.h), never NULL */
  char            *source;
  char            *target;
  GraftStudyHyper  hyper;
  char            *base;        /* run id, or NULL */
  char            *baseline;    /* run id, or NULL */
  GPtrArray       *runs;        /* GraftStudyRun*, owned */
  GArray          *seeds;       /* guint32: a seed sweep when 2 or more; empty = train.seed */
} GraftStudy;

typedef enum {
  GRAFT_STUDY_PRESET_PAPER,
  GRAFT_STUDY_PRESET_DEMO,
  GRAFT_STUDY_PRESET_EMPTY,   /* no runs yet, the paper's hyper-parameters */
} GraftStudyPreset;

gboolean    graft_study_preset_from_string (const char *s, GraftStudyPreset *out, GError **error);

/* The report's eight runs: dogs120-base (source, from scratch),
 * dogs-cats-base (target, from scratch) and "only output",
 * "3-first-conv2d & output", "2-last-conv2d & output", each frozen and
 * trainable, transferring from dogs120-base. The demo preset has the same
 * runs (ids source-base and target-base for the two from-scratch runs). The
 * empty preset has no runs ("untitled"): experiments are added with
 * graft_study_add_experiment().
 * @hyper NULL = the preset's defaults. */
GraftStudy *graft_study_new_preset    (GraftStudyPreset preset, const char *source,
                                       const char *target, const GraftStudyHyper *hyper);
/* The reference study's grid on architecture @arch (NULL = keras-cnn): a base run, the
 * from-scratch baseline "target-base" on the target, and every registry preset of @arch
 * re-initialised, frozen and trainable, transferring from the base (a preset that
 * re-initialises every layer only trainable: frozen it would freeze nothing). The base is
 * "pretrained", a checkpoint run on @init, or, when @init is NULL, "source-base" trained
 * from scratch on the source. @preset picks the hyper-parameters when @hyper is NULL; the
 * ImageNet networks get PyTorch's batch-norm momentum (0.9 in the Keras form). NULL with an
 * error naming "architecture" for an unknown @arch. */
GraftStudy *graft_study_new_arch      (GraftStudyPreset preset, const char *arch,
                                       const char *init, const char *source,
                                       const char *target, const GraftStudyHyper *hyper,
                                       GError **error);
/* Gives the study architecture @arch (checked against the registry; the message names
 * "architecture" and the known names). */
gboolean    graft_study_set_architecture (GraftStudy *study, const char *arch, GError **error);
/* The base run's weights: @init (a .safetensors path) makes the base a checkpoint run
 * (a study without a base gets one, "pretrained"); NULL makes it train on the source
 * folder again. The runs transferring from it keep doing so. */
void        graft_study_set_base_init (GraftStudy *study, const char *init);
/* Whether @run is a checkpoint run (has "init"). */
gboolean    graft_study_run_is_checkpoint (const GraftStudyRun *run);
/* The checkpoint file of @run resolved against the study folder, or NULL. */
char       *graft_study_run_init_path (const GraftStudy *study, const GraftStudyRun *run);
GraftStudy *graft_study_new           (void);   /* empty, paper hyper-parameters */
/* A deep copy: folder, settings, seeds and every run. */
GraftStudy *graft_study_copy          (const GraftStudy *study);
void        graft_study_free          (GraftStudy *study);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftStudy, graft_study_free)

/* Appends a run; @reinit may be NULL. Returns the run (owned by the study). */
GraftStudyRun *graft_study_add_run    (GraftStudy *study, const char *id, const char *name,
                                       int experiment, GraftStudyData data, const char *from,
                                       const char *const *reinit, gboolean freeze);
GraftStudyRun *graft_study_find_run   (const GraftStudy *study, const char *id);

/* Lower-case, [a-z0-9-] only, no leading/trailing/double dashes:
 * "3-first-conv2d & output" → "3-first-conv2d-output". */
char       *graft_study_slug          (const char *name);

/* Editing the runs. Ids are run folder names: 1 to 100 of a–z, 0–9, "-", "_", ".", not
 * starting with "."; unique in the study. The edit functions keep every reference ("from",
 * "base", "baseline") naming a run of the study. */

/* Whether @id can name a run: not empty, allowed characters, no other run (than @except,
 * which may be NULL) has it. The message names the setting ("id"). */
gboolean    graft_study_check_run_id  (const GraftStudy *study, const GraftStudyRun *except,
                                       const char *id, GError **error);
/* @stem if no run has it, else "@stem-2", "@stem-3", … (@stem a valid id). */
char       *graft_study_unique_run_id (const GraftStudy *study, const char *stem);
/* Appends a new experiment: "Experiment N" (N one more than the highest experiment number)
 * on the target data, starting from the base run's weights with the output layer
 * re-initialised, trainable. A study without a base run gets one first: "source-base", from
 * scratch on the source data. Returns the new run. */
GraftStudyRun *graft_study_add_experiment (GraftStudy *study);
/* Inserts a copy of run @id after it: id "<id>-copy" (made unique), name "<name> (copy)",
 * the same data, source run, layers and freeze choice. NULL with an error when no run has
 * @id. */
GraftStudyRun *graft_study_duplicate_run (GraftStudy *study, const char *id, GError **error);
/* Gives run @id the id @new_id (checked as graft_study_check_run_id does) and, unless NULL,
 * the display name @new_name (not empty); the runs transferring from it and the study's
 * "base"/"baseline" follow the new id. Its run folder keeps the old name: the run trains
 * again under the new one. */
gboolean    graft_study_rename_run    (GraftStudy *study, const char *id, const char *new_id,
                                       const char *new_name, GError **error);
/* The runs that start from run @id's weights, directly or through others, in study order
 * (ids, NULL-terminated; empty when none). */
GStrv       graft_study_run_dependants (const GraftStudy *study, const char *id);
typedef enum {
  GRAFT_STUDY_REMOVE_DEFAULT    = 0,
  GRAFT_STUDY_REMOVE_DEPENDANTS = 1 << 0,   /* also remove the runs that depend on it */
} GraftStudyRemoveFlags;
/* Removes run @id. A run others start from is refused, naming them, unless
 * GRAFT_STUDY_REMOVE_DEPENDANTS, which removes them too. "base" and "baseline" naming a
 * removed run are cleared. Run folders on disk are left alone. */
gboolean    graft_study_remove_run    (GraftStudy *study, const char *id,
                                       GraftStudyRemoveFlags flags, GError **error);

/* Checks the architecture, ids (slugs, unique), references (from/base/baseline name runs,
 * no cycles, checkpoint runs transfer from nothing) and hyper-parameters; @what names the file in messages. A study
 * without runs is valid (there is nothing to train yet). */
gboolean    graft_study_validate      (const GraftStudy *study, const char *what, GError **error);

char       *graft_study_to_json       (const GraftStudy *study);
/* Parses study.json text; @what (a file name) starts every error message. */
GraftStudy *graft_study_from_json     (const char *text, gssize len, const char *what,
                                       GError **error);

/* Creates @dir (and runs/) and writes study.json; refuses when @dir already
 * has a study.json. Sets study->dir. */
gboolean    graft_study_create        (GraftStudy *study, const char *dir, GError **error);
/* Writes @study->dir/study.json atomically. */
gboolean    graft_study_save          (GraftStudy *study, GError **error);
/* @path: a study folder or its study.json. */
GraftStudy *graft_study_load          (const char *path, GError **error);

/* The runs that get trained. With two or more seeds, every run repeated once per seed: id
 * "<id>-seed<N>", "from" the same seed's copy of its run, group = the run's id, seed = N.
 * Otherwise graft_study_copy(). Runners, status, tables and figures work on this. */
GraftStudy *graft_study_expand        (const GraftStudy *study);
gboolean    graft_study_is_sweep      (const GraftStudy *study);

/* runs/<id> of the study. */
char       *graft_study_run_dir       (const GraftStudy *study, const GraftStudyRun *run);
/* The derived train config (see above); @device may be NULL. Free with
 * graft_train_config_free(). */
GraftTrainConfig *graft_study_run_config (const GraftStudy *study, const GraftStudyRun *run,
                                          const char *device);

/* A run's state (graft-run.h's GraftRunState) with what a study derives: FINISHED when its
 * committed epochs are all the study asks for; OUTDATED when it was trained with settings the
 * study no longer has (or the run it transfers from is outdated); BLOCKED when it is not
 * finished and the run it transfers from (directly or further up) failed. */
typedef struct {
  GraftRunState state;
  int           epochs_done;    /* committed epochs */
  int           epochs;         /* planned */
  double        best_val_acc;   /* NAN when no epoch finished */
  int           best_epoch;     /* 0 when none */
  double        train_seconds;
  char         *device;         /* NULL when unknown */
  char         *error;          /* failed / blocked: why */
  char         *outdated;       /* OUTDATED: the settings that changed */
  GArray       *metrics;        /* GraftEpochMetrics of the committed epochs */
} GraftRunStatus;

void        graft_run_status_clear    (GraftRunStatus *st);

/* The state of one run from its folder (graft-run.h). A damaged run folder is an error
 * naming the file. */
gboolean    graft_study_run_status    (const GraftStudy *study, const GraftStudyRun *run,
                                       GraftRunStatus *out, GError **error);

/* The runner. A GraftStudyTrainFunc has graft_train_run's signature; front
 * ends pass graft_train_run, tests a fake. */
typedef gboolean (*GraftStudyTrainFunc) (const GraftTrainConfig *cfg,
                                         GraftTrainProgressFunc progress, gpointer user_data,
                                         GCancellable *cancellable, GError **error);

typedef enum {
  GRAFT_STUDY_EVENT_RUN_START,      /* about to call the trainer */
  GRAFT_STUDY_EVENT_RUN_SKIPPED,    /* already finished */
  GRAFT_STUDY_EVENT_RUN_OUTDATED,   /* trained with other settings: @message says which and
                                       where the old folder went; it is trained again */
  GRAFT_STUDY_EVENT_RUN_TRAIN,      /* trainer progress: @train valid */
  GRAFT_STUDY_EVENT_RUN_FINISHED,
  GRAFT_STUDY_EVENT_RUN_FAILED,     /* @error valid */
  GRAFT_STUDY_EVENT_RUN_BLOCKED,    /* @error valid: names the failed run */
} GraftStudyEvent;

typedef struct {
  GraftStudyEvent           event;
  const GraftStudyRun      *run;
  guint                     index;  /* of the run in the order the runner visits them */
  guint                     count;  /* runs the runner visits */
  const GraftTrainProgress *train;  /* RUN_TRAIN only */
  const GError             *error;  /* RUN_FAILED, RUN_BLOCKED */
  const char               *message;/* RUN_OUTDATED */
} GraftStudyProgress;

typedef void (*GraftStudyProgressFunc) (const GraftStudyProgress *p, gpointer user_data);

typedef struct {
  guint trained;    /* trainer calls that returned TRUE */
  guint skipped;    /* already finished */
  guint outdated;   /* trained again because their settings changed */
  guint failed;
  guint blocked;
} GraftStudySummary;

/* Trains the study's runs in dependency order (a run after the run it
 * transfers from), skipping finished runs and calling @train again for
 * interrupted, stopped or failed ones (the trainer resumes by itself). An
 * outdated run's folder is moved aside ("runs/<id>.outdated-<time>") and the run trained
 * again; with GRAFT_STUDY_DISCARD_OUTDATED it is deleted instead. A
 * failing run is recorded (run.json status "failed" with its error) and the
 * others go on, except the runs that depend on it, which are reported
 * BLOCKED and not started. @only: a run id, or NULL for all. @progress is
 * called on the calling thread. Returns TRUE when every visited run is
 * finished; FALSE with an error saying how many failed or were blocked, or
 * a G_IO_ERROR_CANCELLED error when cancelled (the current run is left
 * "stopped" by the trainer). @summary may be NULL. */
typedef enum {
  GRAFT_STUDY_RUN_DEFAULT          = 0,
  GRAFT_STUDY_DISCARD_OUTDATED     = 1 << 0,
} GraftStudyRunFlags;

gboolean    graft_study_run_all       (const GraftStudy *study, GraftStudyTrainFunc train,
                                       const char *device, const char *only,
                                       GraftStudyRunFlags flags,
                                       GraftStudyProgressFunc progress, gpointer user_data,
                                       GCancellable *cancellable, GraftStudySummary *summary,
                                       GError **error);

/* The time a queue has left. One GraftQueueRun per run of the queue; graft_study_queue_run_init
 * fills one from the run's status (its metrics.csv rows carry each epoch's seconds). */
typedef struct {
  GraftStudyData data;          /* runs on the same data stand in for each other's timing */
  int            epochs_done;   /* committed (0 for an outdated run: it is trained again) */
  int            epochs;        /* planned */
  double         epoch_seconds; /* mean seconds of its committed epochs; 0 = none measured */
  gboolean       skip;          /* not trained by this queue (finished, failed, blocked) */
} GraftQueueRun;

typedef struct {
  double epochs_done;           /* over the queue, the epoch in progress by its fraction */
  double epochs_total;
  double fraction;              /* epochs_done / epochs_total, 0 to 1 */
  double seconds_left;          /* NAN while no epoch time is known */
} GraftQueueEstimate;

void        graft_study_queue_run_init (GraftQueueRun *q, const GraftStudyRun *run,
                                        const GraftRunStatus *st);

/* The remaining time of the queue: each run's remaining epochs times its mean measured epoch
 * time, or, before it has one, the mean of the runs on the same data that have one, else of
 * all runs that have one. @active: the index of the run in training, or -1; it is in its
 * (epochs_done + 1)th epoch, @active_fraction of the way through, with @active_epoch_left
 * seconds of that epoch left by the trainer's estimate (NAN when it has none; then the
 * epoch's mean time stands in). Before any epoch has finished anywhere, the active epoch's
 * estimate is the only measure and stands in for every epoch. */
void        graft_study_queue_estimate (const GraftQueueRun *runs, guint n, int active,
                                        double active_fraction, double active_epoch_left,
                                        GraftQueueEstimate *out);

G_END_DECLS
