/* graft-cli study new|run|status, table and plot: transfer-learning studies from the command line. */
#include "graft-cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "graft-device.h"
#include "graft-error.h"
#include "graft-plot.h"
#include "graft-results.h"
#include "graft-slurm.h"
#include "graft-study.h"
#include "graft-train.h"

int
graft_cli_study_new (int argc, char **argv)
{
  g_autofree char *preset_s = NULL, *source = NULL, *target = NULL, *out = NULL, *name = NULL;
  g_autofree char *seeds = NULL, *arch = NULL, *init = NULL;
  g_autofree char *split = NULL, *filter = NULL;
  int epochs = -1, batch = -1, image_size = -1, patience = -1;
  gint64 seed = -1;
  double lr = NAN, width = NAN, dropout = NAN, val_fraction = NAN;
  gboolean no_augment = FALSE;
  GOptionEntry entries[] = {
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset_s, "paper or demo (default paper)", "NAME" },
    { "source", 's', 0, G_OPTION_ARG_FILENAME, &source, "Folder of class folders for the base run", "DIR" },
    { "target", 't', 0, G_OPTION_ARG_FILENAME, &target, "Folder of class folders for the other runs", "DIR" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Study folder to create", "STUDY" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "Display name of the study", "TEXT" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "Architecture (keras-cnn, resnet18, mobilenetv2): its presets make the experiments", "NAME" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init, "Start from this checkpoint instead of training a base run on --source", "FILE.safetensors" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Epochs per run", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Batch size", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Learning rate", "X" },
    { "image-size", 0, 0, G_OPTION_ARG_INT, &image_size, "Image side in pixels", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed", "N" },
    { "width", 0, 0, G_OPTION_ARG_DOUBLE, &width, "Channel multiplier (1 = reference model)", "X" },
    { "dropout", 0, 0, G_OPTION_ARG_DOUBLE, &dropout, "Dropout before the output layer", "X" },
    { "val-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &val_fraction, "Validation fraction", "X" },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split, "keras or seeded", "MODE" },
    { "filter", 0, 0, G_OPTION_ARG_STRING, &filter, "decode or keras-jfif", "MODE" },
    { "patience", 0, 0, G_OPTION_ARG_INT, &patience, "Early-stopping patience (0 = off)", "N" },
    { "no-augment", 0, 0, G_OPTION_ARG_NONE, &no_augment, "Train without flips and rotations", NULL },
    { "seeds", 0, 0, G_OPTION_ARG_STRING, &seeds, "Repeat every run once per seed (e.g. 1,2,3)", "A,B,…" },
    { NULL }
  };
  graft_cli_parse ("study new", NULL,
                   "Create a study folder from a preset: paper = the report's eight runs at its "
                   "scale, demo = the same runs at a small scale. With --arch and --init, the "
                   "experiments are the architecture's presets, transferring from the "
                   "checkpoint (see docs/pretrained.md).",
                   entries, &argc, &argv);
  g_autoptr (GError) error = NULL;
  GraftStudyPreset preset = GRAFT_STUDY_PRESET_PAPER;
  if (preset_s && !graft_study_preset_from_string (preset_s, &preset, &error))
    return graft_cli_fail (error);
  if ((source == NULL && init == NULL) || target == NULL || out == NULL)
    {
      g_printerr ("graft-cli study new: --source (or --init), --target and --out are "
                  "required\n");
      return 2;
    }
  /* Data folders are kept absolute so the study folder can be moved. */
  g_autofree char *src = source ? g_canonicalize_filename (source, NULL) : g_strdup ("");
  g_autofree char *dst = g_canonicalize_filename (target, NULL);
  g_autofree char *ckpt = init ? g_canonicalize_filename (init, NULL) : NULL;
  g_autoptr (GraftStudy) study = NULL;
  if (arch || init)
    study = graft_study_new_arch (preset, arch, ckpt, src, dst, NULL, &error);
  else
    study = graft_study_new_preset (preset, src, dst, NULL);
  if (study == NULL)
    return graft_cli_fail (error);
  GraftStudyHyper *h = &study->hyper;
  if (epochs >= 0) h->epochs = epochs;
  if (batch >= 0) h->batch = batch;
  if (image_size >= 0) h->image_size = image_size;
  if (patience >= 0) h->patience = patience;
  if (seed >= 0) h->seed = (guint32) seed;
  if (!isnan (lr)) h->lr = lr;
  if (!isnan (width)) h->width = width;
  if (!isnan (dropout)) h->dropout = dropout;
  if (!isnan (val_fraction)) h->val_fraction = val_fraction;
  if (no_augment) h->augment = FALSE;
  if ((split && !graft_split_mode_from_string (split, &h->split, &error)) ||
      (filter && !graft_filter_from_string (filter, &h->filter, &error)))
    return graft_cli_fail (error);
  if (name)
    {
      g_free (study->name);
      study->name = g_strdup (name);
    }
  g_auto (GStrv) seed_list = seeds ? g_strsplit (seeds, ",", -1) : NULL;
  for (guint i = 0; seed_list && seed_list[i]; i++)
    {
      guint64 v;
      if (!g_ascii_string_to_unsigned (g_strstrip (seed_list[i]), 10, 1, G_MAXUINT32, &v, NULL))
        {
          g_printerr ("graft-cli study new: --seeds: “%s” is not a seed (1 to 4294967295)\n",
                      seed_list[i]);
          return 2;
        }
      guint32 s32 = (guint32) v;
      g_array_append_val (study->seeds, s32);
    }
  if (!graft_study_create (study, out, &error))
    return graft_cli_fail (error);
  printf ("Created %s/study.json with %u runs:\n", out, study->runs->len);
  for (guint i = 0; i < study->runs->len; i++)
    {
      GraftStudyRun *r = study->runs->pdata[i];
      g_autofree char *re = r->reinit ? g_strjoinv (", ", r->reinit) : g_strdup ("all (from scratch)");
      if (r->init)
        printf ("  %-32s %-9s weights: %s\n", r->id, "", r->init);
      else
        printf ("  %-32s %-9s re-init: %s\n", r->id,
                r->from ? (r->freeze ? "frozen" : "trainable") : "", re);
    }
  printf ("Train them with: graft-cli study run %s\n", out);
  return 0;
}

static volatile sig_atomic_t interrupted;

static void
on_sigint (int sig)
{
  interrupted = 1;
  signal (sig, SIG_DFL);   /* a second Ctrl+C (or SIGTERM) ends the program at once */
}

typedef struct {
  GCancellable *cancellable;
  int           last_epoch;
} RunPrint;

static void
study_progress_cb (const GraftStudyProgress *p, gpointer user_data)
{
  RunPrint *rp = user_data;
  if (interrupted)
    g_cancellable_cancel (rp->cancellable);
  const char *id = p->run->id;
  switch (p->event)
    {
    case GRAFT_STUDY_EVENT_RUN_START:
      printf ("[%u/%u] %s: training\n", p->index + 1, p->count, id);
      rp->last_epoch = 0;
      break;
    case GRAFT_STUDY_EVENT_RUN_SKIPPED:
      printf ("[%u/%u] %s: finished already\n", p->index + 1, p->count, id);
      break;
    case GRAFT_STUDY_EVENT_RUN_OUTDATED:
      printf ("[%u/%u] %s\n", p->index + 1, p->count, p->message);
      break;
    case GRAFT_STUDY_EVENT_RUN_TRAIN:
      if (p->train->stage == GRAFT_TRAIN_STAGE_EPOCH_END && p->train->epoch != rp->last_epoch)
        {
          rp->last_epoch = p->train->epoch;
          printf ("  %s epoch %d/%d: loss %.4f acc %.4f, val_loss %.4f val_acc %.4f\n", id,
                  p->train->epoch, p->train->epochs, p->train->loss, p->train->acc,
                  p->train->val_loss, p->train->val_acc);
        }
      break;
    case GRAFT_STUDY_EVENT_RUN_FINISHED:
      printf ("[%u/%u] %s: finished\n", p->index + 1, p->count, id);
      break;
    case GRAFT_STUDY_EVENT_RUN_FAILED:
      printf ("[%u/%u] %s: FAILED: %s\n", p->index + 1, p->count, id, p->error->message);
      break;
    case GRAFT_STUDY_EVENT_RUN_BLOCKED:
      printf ("[%u/%u] %s: blocked: %s\n", p->index + 1, p->count, id, p->error->message);
      break;
    }
  fflush (stdout);
}

int
graft_cli_study_run (int argc, char **argv)
{
  g_autofree char *device = NULL, *only = NULL;
  gboolean discard = FALSE;
  GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "Device index, id or name part", "ID" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "Train only this run", "RUN" },
    { "discard-outdated", 0, 0, G_OPTION_ARG_NONE, &discard,
      "Delete the folders of outdated runs instead of moving them aside", NULL },
    { NULL }
  };
  graft_cli_parse ("study run", "STUDY",
                   "Train the study's runs in order (base first), skipping finished runs and "
                   "resuming interrupted ones; a run trained with other settings than the study "
                   "now has (outdated) is moved aside to <run>.outdated-<time> and trained "
                   "again. Then write results.csv and figure.png.",
                   entries, &argc, &argv);
  if (argc != 2)
    {
      g_printerr ("graft-cli study run: give one study folder\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftStudy) study = graft_study_load (argv[1], &error);
  if (study == NULL)
    return graft_cli_fail (error);
  /* A task of the array graft-cli study submit wrote: its run is the script's list at the
   * task's index, its device one of the GPUs Slurm granted (else the default). */
  const char *task_id = g_getenv ("SLURM_ARRAY_TASK_ID");
  if (only == NULL && task_id != NULL)
    {
      only = graft_slurm_task_run (g_getenv (GRAFT_SLURM_RUNS_ENV), task_id, &error);
      if (only == NULL)
        return graft_cli_fail (error);
      printf ("Slurm array task %s: run %s\n", task_id, only);
    }
  if (device == NULL)
    device = graft_device_granted_spec ();
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  RunPrint rp = { .cancellable = cancellable };
  /* Slurm ends a task (time limit, preemption, scancel) with SIGTERM, then SIGKILL after
   * KillWait: stop as Ctrl+C does, so that the run says "stopped". */
  signal (SIGINT, on_sigint);
  signal (SIGTERM, on_sigint);
  GraftStudySummary sum;
  gboolean ok = graft_study_run_all (study, graft_train_run, device, only,
                                     discard ? GRAFT_STUDY_DISCARD_OUTDATED : 0, study_progress_cb, &rp,
                                     cancellable, &sum, &error);
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  if (!ok && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      printf ("Stopped; run the same command again to resume.\n");
      return 130;
    }
  printf ("%u trained, %u finished before, %u failed, %u blocked", sum.trained, sum.skipped,
          sum.failed, sum.blocked);
  if (sum.outdated)
    printf (" (%u trained again: outdated)", sum.outdated);
  printf ("\n");
  g_autofree char *csv = g_build_filename (study->dir, "results.csv", NULL);
  g_autofree char *png = g_build_filename (study->dir, "figure.png", NULL);
  g_autoptr (GError) werr = NULL;
  g_autoptr (GraftPlotFigure) fig = NULL;
  if (!graft_study_write_table (study, csv, GRAFT_TABLE_CSV, &werr) ||
      (fig = graft_study_figure (study, GRAFT_METRIC_VAL_ACC, NULL, NULL, &werr)) == NULL ||
      !graft_plot_write (fig, png, 1200, 460, 96, &werr))
    g_printerr ("graft-cli: %s\n", werr->message);
  else
    printf ("Wrote %s and %s\n", csv, png);
  return ok ? 0 : graft_cli_fail (error);
}

int
graft_cli_study_status (int argc, char **argv)
{
  graft_cli_parse ("study status", "STUDY", "Show the state of every run of a study.", NULL,
                   &argc, &argv);
  if (argc != 2)
    {
      g_printerr ("graft-cli study status: give one study folder\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftStudy) study = graft_study_load (argv[1], &error);
  if (study == NULL)
    return graft_cli_fail (error);
  printf ("%s: %s → %s\n", study->name, study->source, study->target);
  g_autoptr (GHashTable) slurm = graft_slurm_queue_states (study->dir);
  printf ("%-32s %-9s %-9s %7s %14s  %s%s\n", "run", "freeze", "state", "epochs", "best val acc",
          slurm ? "slurm      " : "", "device / error");
  int rc = 0;
  g_autoptr (GraftStudy) expanded = graft_study_expand (study);
  for (guint i = 0; i < expanded->runs->len; i++)
    {
      GraftStudyRun *r = expanded->runs->pdata[i];
      GraftRunStatus st;
      if (!graft_study_run_status (expanded, r, &st, &error))
        {
          printf ("%-32s %s\n", r->id, error->message);
          g_clear_error (&error);
          rc = 1;
          continue;
        }
      g_autofree char *ep = g_strdup_printf ("%d/%d", st.epochs_done, st.epochs);
      g_autofree char *best = isfinite (st.best_val_acc)
                                  ? g_strdup_printf ("%.4f (ep %d)", st.best_val_acc, st.best_epoch)
                                  : g_strdup ("—");
      const char *job_state = slurm ? g_hash_table_lookup (slurm, r->id) : NULL;
      g_autofree char *job_col = slurm ? g_strdup_printf ("%-10s ", job_state ? job_state : "")
                                       : g_strdup ("");
      printf ("%-32s %-9s %-9s %7s %14s  %s%s\n", r->id,
              r->from ? (r->freeze ? "frozen" : "trainable") : "", graft_run_state_to_string (st.state),
              ep, best, job_col, st.outdated ? st.outdated : st.error ? st.error : st.device ? st.device : "");
      graft_run_status_clear (&st);
    }
  return rc;
}

int
graft_cli_study_submit (int argc, char **argv)
{
  g_autofree char *partition = NULL, *gres = NULL, *time_limit = NULL;
  int max_parallel = 0;
  gboolean dry_run = FALSE;
  GOptionEntry entries[] = {
    { "partition", 0, 0, G_OPTION_ARG_STRING, &partition, "Slurm partition", "P" },
    { "gres", 0, 0, G_OPTION_ARG_STRING, &gres, "Generic resources per task, e.g. gpu:1", "GRES" },
    { "time", 0, 0, G_OPTION_ARG_STRING, &time_limit, "Time limit per task, e.g. 2:00:00", "T" },
    { "max-parallel", 0, 0, G_OPTION_ARG_INT, &max_parallel,
      "Tasks of an array running at once (%K; default no cap)", "K" },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Print the script and the sbatch commands; submit nothing", NULL },
    { NULL }
  };
  graft_cli_parse ("study submit", "STUDY",
                   "Write an sbatch script into STUDY/slurm/ that trains one run per array task "
                   "and submit it: one job array per dependency level, each after the level "
                   "before succeeded. The job ids go to STUDY/slurm/jobs.json. Submitting again "
                   "resumes interrupted runs and skips finished ones.",
                   entries, &argc, &argv);
  if (argc != 2)
    {
      g_printerr ("graft-cli study submit: give one study folder\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftStudy) study = graft_study_load (argv[1], &error);
  if (study == NULL)
    return graft_cli_fail (error);
  /* The tasks run this very program, wherever it was started from. */
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  GraftSlurmOptions opt = { .partition = partition, .gres = gres, .time = time_limit,
                            .max_parallel = max_parallel, .cli = self ? self : "graft-cli" };
  g_autoptr (GraftSlurmPlan) plan = graft_slurm_plan_new (study, &opt, &error);
  if (plan == NULL)
    return graft_cli_fail (error);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *script_rel = g_strdup_printf (GRAFT_SLURM_DIR "/submit-%s.sh", stamp);
  g_autofree char *commands = graft_slurm_commands (plan, &opt, script_rel);
  if (dry_run)
    {
      printf ("# %s\n%s\n# Submission:\n%s", script_rel, plan->script, commands);
      return 0;
    }
  g_autofree char *sbatch = g_find_program_in_path ("sbatch");
  if (sbatch == NULL)
    {
      g_printerr ("graft-cli study submit: sbatch is not in PATH (is this a Slurm login node?); "
                  "--dry-run prints the script\n");
      return 1;
    }
  /* Two submissions at once would race for the same runs (the run lock lets one train, the
   * other's task fails and cancels its dependants): one at a time. */
  g_autoptr (GHashTable) queued = graft_slurm_queue_states (study->dir);
  if (queued)
    {
      g_printerr ("graft-cli study submit: %u run%s of the last submission %s still in Slurm's "
                  "queue (graft-cli study status %s); wait for them or scancel them first\n",
                  g_hash_table_size (queued), g_hash_table_size (queued) == 1 ? "" : "s",
                  g_hash_table_size (queued) == 1 ? "is" : "are", argv[1]);
      return 1;
    }
  g_autofree char *slurm_dir = g_build_filename (study->dir, GRAFT_SLURM_DIR, NULL);
  g_autofree char *script = g_build_filename (study->dir, script_rel, NULL);
  if (g_mkdir_with_parents (slurm_dir, 0755) != 0)
    {
      g_printerr ("graft-cli: cannot create %s: %s\n", slurm_dir, g_strerror (errno));
      return 1;
    }
  if (!g_file_set_contents_full (script, plan->script, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0755,
                                 &error))
    return graft_cli_fail (error);
  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func (g_free);
  for (guint l = 0; l < plan->arrays->len; l++)
    {
      g_auto (GStrv) args = graft_slurm_sbatch_argv (plan, &opt, l,
                                                     l ? jobs->pdata[l - 1] : NULL, script_rel);
      g_free (args[0]);
      args[0] = g_strdup (sbatch);
      g_autofree char *out = NULL, *err = NULL;
      int wait_status = 0;
      if (!g_spawn_sync (study->dir, args, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                         &wait_status, &error))
        return graft_cli_fail (error);
      g_autofree char *job = NULL;
      if (!g_spawn_check_wait_status (wait_status, NULL) ||
          (job = graft_slurm_parse_job_id (out, &error)) == NULL)
        {
          g_printerr ("graft-cli study submit: sbatch failed for level %u%s: %s\n", l,
                      l ? " (the levels before are submitted: scancel them or submit again)" : "",
                      err && *err ? g_strstrip (err) : error ? error->message : "");
          return 1;
        }
      printf ("Submitted level %u (runs %u–%u) as job %s\n", l,
              g_array_index (plan->arrays, GraftSlurmArray, l).first,
              g_array_index (plan->arrays, GraftSlurmArray, l).last, job);
      g_ptr_array_add (jobs, g_steal_pointer (&job));
    }
  g_ptr_array_add (jobs, NULL);
  g_autofree char *json = graft_slurm_jobs_to_json (plan, script_rel,
                                                    (const char *const *) jobs->pdata);
  g_autofree char *jobs_path = g_build_filename (slurm_dir, GRAFT_SLURM_JOBS_FILE, NULL);
  if (!g_file_set_contents_full (jobs_path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
    return graft_cli_fail (error);
  printf ("Wrote %s and %s; follow it with: graft-cli study status %s\n", script, jobs_path,
          argv[1]);
  return 0;
}

int
graft_cli_table (int argc, char **argv)
{
  g_autofree char *out = NULL, *format_s = NULL;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the table here (default: print it)", "FILE" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format_s,
      "csv or md (default: md for a .md file, otherwise csv)", "FORMAT" },
    { NULL }
  };
  graft_cli_parse ("table", "STUDY",
                   "The study's results: the report's Table 2 columns plus best epoch, final "
                   "accuracy, epochs, training time and device.",
                   entries, &argc, &argv);
  if (argc != 2)
    {
      g_printerr ("graft-cli table: give one study folder\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  GraftTableFormat format = out && g_str_has_suffix (out, ".md") ? GRAFT_TABLE_MARKDOWN : GRAFT_TABLE_CSV;
  if (format_s && !graft_table_format_from_string (format_s, &format, &error))
    return graft_cli_fail (error);
  g_autoptr (GraftStudy) study = graft_study_load (argv[1], &error);
  if (study == NULL)
    return graft_cli_fail (error);
  if (out)
    return graft_study_write_table (study, out, format, &error) ? 0 : graft_cli_fail (error);
  g_autoptr (GPtrArray) rows = graft_study_results (study, &error);
  if (rows == NULL)
    return graft_cli_fail (error);
  g_autofree char *text = graft_results_format (rows, format);
  fputs (text, stdout);
  return 0;
}

int
graft_cli_plot (int argc, char **argv)
{
  g_autofree char *out = NULL, *size = NULL, *smooth = NULL, *metric_s = NULL, *runs = NULL, *band_s = NULL;
  double dpi = 96;
  gboolean base = FALSE;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Figure file: .png, .svg or .pdf", "FILE" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "Size in pixels at 96 dpi (default 1200x460)", "WxH" },
    { "dpi", 0, 0, G_OPTION_ARG_DOUBLE, &dpi, "PNG resolution (default 96; 192 doubles the pixels)", "N" },
    { "smooth", 0, 0, G_OPTION_ARG_STRING, &smooth,
      "none, window:N (trailing mean) or ema:W (TensorBoard), for every panel; default window:5 on "
      "the trainable panel", "HOW" },
    { "base", 0, 0, G_OPTION_ARG_NONE, &base,
      "Add a third panel with the base model's runs (the source task)", NULL },
    { "metric", 'm', 0, G_OPTION_ARG_STRING, &metric_s,
      "val_acc (default), val_loss, train_acc or train_loss", "NAME" },
    { "runs", 'r', 0, G_OPTION_ARG_STRING, &runs, "Draw these runs (ids, comma separated) in one panel", "A,B,…" },
    { "band", 0, 0, G_OPTION_ARG_STRING, &band_s,
      "Seed sweeps: minmax (default), std (mean ± 1 std) or none", "KIND" },
    { NULL }
  };
  graft_cli_parse ("plot", "STUDY",
                   "Draw learning curves. By default the report's Figure 1: frozen runs and the "
                   "baseline on the left, trainable runs and the baseline (smoothed) on the right.",
                   entries, &argc, &argv);
  if (argc != 2 || out == NULL)
    {
      g_printerr ("graft-cli plot: give one study folder and --out FILE\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  double w = 1200, h = 460;
  if (size)
    {
      char *end = NULL;
      w = g_ascii_strtod (size, &end);
      if (end == size || (*end != 'x' && *end != 'X'))
        {
          g_printerr ("graft-cli plot: --size must look like 1200x460\n");
          return 2;
        }
      const char *hs = end + 1;
      h = g_ascii_strtod (hs, &end);
      if (end == hs || *end != '\0')
        {
          g_printerr ("graft-cli plot: --size must look like 1200x460\n");
          return 2;
        }
    }
  GraftMetric metric = GRAFT_METRIC_VAL_ACC;
  if (metric_s && !graft_metric_from_string (metric_s, &metric, &error))
    return graft_cli_fail (error);
  GraftSmoothing sm;
  if (smooth && !graft_smoothing_parse (smooth, &sm, &error))
    return graft_cli_fail (error);
  GraftPlotBand band = GRAFT_PLOT_BAND_MINMAX;
  if (band_s && !graft_plot_band_from_string (band_s, &band, &error))
    return graft_cli_fail (error);
  g_autoptr (GraftStudy) study = graft_study_load (argv[1], &error);
  if (study == NULL)
    return graft_cli_fail (error);
  g_auto (GStrv) ids = runs ? g_strsplit (runs, ",", -1) : NULL;
  for (guint i = 0; ids && ids[i]; i++)
    g_strstrip (ids[i]);
  g_autoptr (GraftPlotFigure) fig = graft_study_figure_flags (
    study, metric, (const char *const *) ids, smooth ? &sm : NULL, band,
    base ? GRAFT_STUDY_FIGURE_BASE_PANEL | GRAFT_STUDY_FIGURE_SHOW_BASE : 0, &error);
  if (fig == NULL || !graft_plot_write (fig, out, w, h, dpi, &error))
    return graft_cli_fail (error);
  printf ("Wrote %s\n", out);
  return 0;
}
