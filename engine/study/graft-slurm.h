/* A study as Slurm job arrays: the sbatch script, the submission plan, jobs.json, squeue states.
 *
 * One script per submission (STUDY/slurm/submit-<time>.sh) holds the explicit list of the
 * expanded study's run ids in dependency levels: level 0 = runs that transfer from nothing,
 * level L = runs that transfer from a level L−1 run. Each level is one job array over its
 * range of list indices (`sbatch --array=A-B%K`), and level L depends on level L−1's whole
 * array (`--dependency=afterok:<job>`, `--kill-on-invalid-dep=yes` so a failed level cancels
 * what depends on it instead of leaving it pending for ever). Task i runs
 * `graft-cli study run STUDY` with GRAFT_STUDY_RUNS set to the list and SLURM_ARRAY_TASK_ID = i,
 * and trains run i of the list (graft_slurm_task_run): the script itself is the mapping.
 *
 * STUDY/slurm/jobs.json, format 1, written atomically after a submission:
 *   { "format": 1, "script": "slurm/submit-….sh", "submitted": "2026-12-01T09:00:00Z",
 *     "runs": ["source-base", …],                       the script's list
 *     "arrays": [ { "job": "123", "first": 0, "last": 1 }, … ] }   one per level
 */
#pragma once

#include <glib.h>

#include "graft-study.h"

G_BEGIN_DECLS

#define GRAFT_SLURM_JOBS_FORMAT 1
#define GRAFT_SLURM_DIR         "slurm"
#define GRAFT_SLURM_JOBS_FILE   "jobs.json"
/* The environment variable the script sets to its run list (space separated ids). */
#define GRAFT_SLURM_RUNS_ENV    "GRAFT_STUDY_RUNS"

typedef struct {
  const char *partition;      /* NULL: the cluster's default */
  const char *gres;           /* "gpu:1", or NULL */
  const char *time;           /* "1:00:00", or NULL */
  int         max_parallel;   /* the arrays' %K; 0 = no cap */
  const char *cli;            /* absolute path of graft-cli the tasks run */
} GraftSlurmOptions;

typedef struct {
  guint first, last;          /* indices into runs, inclusive */
} GraftSlurmArray;

typedef struct {
  char      *study_dir;
  GPtrArray *runs;            /* char*: run ids of the expanded study, level by level */
  GArray    *arrays;          /* GraftSlurmArray, one per dependency level */
  char      *script;          /* the sbatch script's text */
} GraftSlurmPlan;

void            graft_slurm_plan_free    (GraftSlurmPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftSlurmPlan, graft_slurm_plan_free)

/* The plan for @study (loaded: study->dir set). Refuses option values Slurm could not take
 * in an #SBATCH line (empty, white space, control characters) and max_parallel < 0, naming
 * the option. */
GraftSlurmPlan *graft_slurm_plan_new     (const GraftStudy *study, const GraftSlurmOptions *opt,
                                          GError **error);

/* The sbatch arguments for array @level of @plan (argv, NULL-terminated): --parsable,
 * --array=A-B[%K], for level > 0 --dependency=afterok:@prev_job and --kill-on-invalid-dep=yes,
 * then @script_path. Run it in the study folder (the script's output paths are relative). */
char          **graft_slurm_sbatch_argv  (const GraftSlurmPlan *plan, const GraftSlurmOptions *opt,
                                          guint level, const char *prev_job,
                                          const char *script_path);
/* The submission as shell commands (JOB0=$(sbatch …); JOB1=$(sbatch … afterok:$JOB0 …)),
 * each argument quoted: what --dry-run prints after the script. */
char           *graft_slurm_commands     (const GraftSlurmPlan *plan, const GraftSlurmOptions *opt,
                                          const char *script_path);

/* The job id in `sbatch --parsable` output ("123" or "123;cluster"). */
char           *graft_slurm_parse_job_id (const char *output, GError **error);

/* jobs.json's text for a submitted @plan (@jobs: one id per array). */
char           *graft_slurm_jobs_to_json (const GraftSlurmPlan *plan, const char *script_rel,
                                          const char *const *jobs);
/* Reads @study_dir/slurm/jobs.json: run id → "<job>_<task>" of its array task. NULL with
 * no error when the file does not exist. */
GHashTable     *graft_slurm_jobs_load    (const char *study_dir, GError **error);
/* The job ids jobs.json names, comma separated (squeue -j), from a jobs_load table. */
char           *graft_slurm_jobs_list    (GHashTable *tasks);

/* `squeue -h -r -o '%i %T'` output: "<job>_<task>" → state ("PENDING", "RUNNING", …). */
GHashTable     *graft_slurm_parse_squeue (const char *text);

/* The run an array task trains: element @task_id of the space-separated @runs list.
 * Errors name the variable that is missing or out of range. */
char           *graft_slurm_task_run     (const char *runs, const char *task_id, GError **error);

/* Run id → Slurm state ("PENDING", "RUNNING", …) of its array task, for the jobs of
 * STUDY/slurm/jobs.json that squeue still lists; NULL without jobs.json, squeue or queued
 * tasks (finished jobs leave squeue: the run folder's own state is then the whole story). */
GHashTable     *graft_slurm_queue_states (const char *study_dir);

G_END_DECLS
