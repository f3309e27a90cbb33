/* The Slurm module without Slurm: the sbatch script and commands, jobs.json, squeue parsing, task → run. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "graft-error.h"
#include "graft-slurm.h"
#include "graft-study.h"

static GraftStudy *
demo_study (const char *dir, gboolean sweep)
{
  GraftStudy *s = graft_study_new_preset (GRAFT_STUDY_PRESET_DEMO, "/data/src", "/data/dst", NULL);
  s->dir = g_strdup (dir);
  if (sweep)
    for (guint32 seed = 1; seed <= 2; seed++)
      g_array_append_val (s->seeds, seed);
  return s;
}

/* The script's list of run ids. */
static char **
script_runs (const char *script)
{
  const char *p = strstr (script, "\n" GRAFT_SLURM_RUNS_ENV "='");
  g_assert_nonnull (p);
  p += strlen ("\n" GRAFT_SLURM_RUNS_ENV "='");
  g_autofree char *list = g_strndup (p, strcspn (p, "'"));
  return g_strsplit (list, " ", -1);
}

static void
test_script (void)
{
  g_autoptr (GraftStudy) study = demo_study ("/tmp/with space/it's a study", TRUE);
  GraftSlurmOptions opt = { .partition = "gpu", .gres = "gpu:1", .time = "2:00:00",
                            .max_parallel = 3, .cli = "/opt/graft tools/graft-cli" };
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftSlurmPlan) plan = graft_slurm_plan_new (study, &opt, &error);
  g_assert_no_error (error);
  const char *sc = plan->script;
  g_assert_true (g_str_has_prefix (sc, "#!/bin/bash\n"));
  g_assert_nonnull (strstr (sc, "\n#SBATCH --job-name=graft-demo\n"));
  g_assert_nonnull (strstr (sc, "\n#SBATCH --partition=gpu\n"));
  g_assert_nonnull (strstr (sc, "\n#SBATCH --gres=gpu:1\n"));
  g_assert_nonnull (strstr (sc, "\n#SBATCH --time=2:00:00\n"));
  g_assert_nonnull (strstr (sc, "\n#SBATCH --output=slurm/%x-%A_%a.out\n"));
  /* sbatch reads directives only before the first command. */
  g_assert_true (strstr (sc, "#SBATCH --time") < strstr (sc, "\nset -eu\n"));

  /* Every run of the expanded study once, each after the run it transfers from. */
  g_autoptr (GraftStudy) ex = graft_study_expand (study);
  g_auto (GStrv) ids = script_runs (sc);
  g_assert_cmpuint (g_strv_length (ids), ==, ex->runs->len);
  g_assert_cmpuint (plan->runs->len, ==, ex->runs->len);
  for (guint i = 0; ids[i]; i++)
    {
      g_assert_cmpstr (ids[i], ==, plan->runs->pdata[i]);
      GraftStudyRun *r = graft_study_find_run (ex, ids[i]);
      g_assert_nonnull (r);
      if (r->from)
        {
          gboolean before = FALSE;
          for (guint j = 0; j < i; j++)
            before |= g_str_equal (ids[j], r->from);
          g_assert_true (before);
        }
    }
  /* Two levels: the 4 from-scratch runs (2 seeds × base and baseline), then the 12 transfers. */
  g_assert_cmpuint (plan->arrays->len, ==, 2);
  GraftSlurmArray *a0 = &g_array_index (plan->arrays, GraftSlurmArray, 0);
  GraftSlurmArray *a1 = &g_array_index (plan->arrays, GraftSlurmArray, 1);
  g_assert_cmpuint (a0->first, ==, 0);
  g_assert_cmpuint (a0->last, ==, 3);
  g_assert_cmpuint (a1->first, ==, 4);
  g_assert_cmpuint (a1->last, ==, 15);
  for (guint i = a0->first; i <= a0->last; i++)
    g_assert_null (graft_study_find_run (ex, ids[i])->from);
  for (guint i = a1->first; i <= a1->last; i++)
    g_assert_nonnull (graft_study_find_run (ex, ids[i])->from);

  /* The exec line, read back as the shell would, names the folder and program whole. */
  const char *exec = strstr (sc, "\nexec ");
  g_assert_nonnull (exec);
  g_autofree char *line = g_strndup (exec + 1, strcspn (exec + 1, "\n"));
  g_auto (GStrv) argv = NULL;
  g_assert_true (g_shell_parse_argv (line, NULL, &argv, NULL));
  g_assert_cmpuint (g_strv_length (argv), ==, 5);
  g_assert_cmpstr (argv[1], ==, "/opt/graft tools/graft-cli");
  g_assert_cmpstr (argv[2], ==, "study");
  g_assert_cmpstr (argv[3], ==, "run");
  g_assert_cmpstr (argv[4], ==, "/tmp/with space/it's a study");

  /* sbatch arguments: the range with %K, and the dependency on the level before. */
  g_auto (GStrv) s0 = graft_slurm_sbatch_argv (plan, &opt, 0, NULL, "slurm/x.sh");
  g_auto (GStrv) s1 = graft_slurm_sbatch_argv (plan, &opt, 1, "4242", "slurm/x.sh");
  g_autofree char *j0 = g_strjoinv (" ", s0);
  g_autofree char *j1 = g_strjoinv (" ", s1);
  g_assert_cmpstr (j0, ==, "sbatch --parsable --array=0-3%3 slurm/x.sh");
  g_assert_cmpstr (j1, ==, "sbatch --parsable --array=4-15%3 --dependency=afterok:4242 "
                           "--kill-on-invalid-dep=yes slurm/x.sh");
  g_autofree char *cmds = graft_slurm_commands (plan, &opt, "slurm/x.sh");
  g_assert_cmpstr (cmds, ==,
                   "cd '/tmp/with space/it'\\''s a study'\n"
                   "JOB0=$(sbatch --parsable --array=0-3%3 slurm/x.sh)\n"
                   "JOB1=$(sbatch --parsable --array=4-15%3 --dependency=afterok:$JOB0 "
                   "--kill-on-invalid-dep=yes slurm/x.sh)\n");
}

/* A checkpoint base ("init") has no task: its weights are a file. The runs transferring from it
 * are the first level, and a study of checkpoint runs only is refused. */
static void
test_checkpoint_base (void)
{
  g_autoptr (GraftStudy) study = demo_study ("/tmp/study", FALSE);
  graft_study_set_base_init (study, "/models/keras-cnn.safetensors");
  GraftSlurmOptions opt = { .cli = "graft-cli" };
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftSlurmPlan) plan = graft_slurm_plan_new (study, &opt, &error);
  g_assert_no_error (error);
  g_autoptr (GraftStudy) ex = graft_study_expand (study);
  guint checkpoints = 0;
  for (guint i = 0; i < ex->runs->len; i++)
    checkpoints += graft_study_run_is_checkpoint (ex->runs->pdata[i]);
  g_assert_cmpuint (checkpoints, ==, 1);
  g_assert_cmpuint (plan->runs->len, ==, ex->runs->len - 1);
  for (guint i = 0; i < plan->runs->len; i++)
    g_assert_false (graft_study_run_is_checkpoint (graft_study_find_run (ex,
                                                                         plan->runs->pdata[i])));
  /* Every run transfers from the checkpoint or trains from scratch: one level, no dependency. */
  g_assert_cmpuint (plan->arrays->len, ==, 1);
  g_assert_null (strstr (plan->script, "after level"));

  g_autoptr (GraftStudy) only = graft_study_new_preset (GRAFT_STUDY_PRESET_EMPTY, "/data/src",
                                                        "/data/dst", NULL);
  only->dir = g_strdup ("/tmp/study");
  graft_study_set_base_init (only, "/models/keras-cnn.safetensors");
  g_autoptr (GraftSlurmPlan) none = graft_slurm_plan_new (only, &opt, &error);
  g_assert_null (none);
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "checkpoint run"));
}

static void
test_options (void)
{
  g_autoptr (GraftStudy) study = demo_study ("/tmp/s", FALSE);
  GraftSlurmOptions opt = { .cli = "graft-cli" };
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftSlurmPlan) plan = graft_slurm_plan_new (study, &opt, &error);
  g_assert_no_error (error);
  /* No options: no directives for them, no %K; 8 runs, 2 from scratch. */
  g_assert_null (strstr (plan->script, "--partition"));
  g_assert_null (strstr (plan->script, "--gres"));
  g_assert_null (strstr (plan->script, "--time"));
  g_auto (GStrv) s1 = graft_slurm_sbatch_argv (plan, &opt, 1, "7", "x.sh");
  g_assert_cmpstr (s1[2], ==, "--array=2-7");
  g_auto (GStrv) ids = script_runs (plan->script);
  g_assert_cmpstr (ids[0], ==, "source-base");
  g_assert_cmpstr (ids[1], ==, "target-base");
  g_assert_cmpuint (g_strv_length (ids), ==, 8);

  const char *bad[][2] = { { "partition", "gpu\n#SBATCH --x" }, { "gres", "gpu 1" }, { "time", "" } };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      GraftSlurmOptions o = { .cli = "graft-cli" };
      if (i == 0) o.partition = bad[i][1];
      if (i == 1) o.gres = bad[i][1];
      if (i == 2) o.time = bad[i][1];
      g_autoptr (GError) e = NULL;
      g_assert_null (graft_slurm_plan_new (study, &o, &e));
      g_assert_nonnull (strstr (e->message, bad[i][0]));
    }
  GraftSlurmOptions neg = { .cli = "graft-cli", .max_parallel = -1 };
  g_autoptr (GError) e = NULL;
  g_assert_null (graft_slurm_plan_new (study, &neg, &e));
  g_assert_nonnull (strstr (e->message, "max_parallel"));

  /* A chain three deep is three levels. */
  GraftStudyRun *r = graft_study_add_run (study, "deeper", "deeper", 4, GRAFT_STUDY_DATA_TARGET,
                                          "only-output-frozen", NULL, FALSE);
  g_assert_nonnull (r);
  g_autoptr (GraftSlurmPlan) p3 = graft_slurm_plan_new (study, &opt, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (p3->arrays->len, ==, 3);
  g_assert_cmpstr (p3->runs->pdata[8], ==, "deeper");
}

static void
test_jobs_and_squeue (void)
{
  g_autofree char *dir = g_dir_make_tmp ("graft-slurm-XXXXXX", NULL);
  g_autoptr (GraftStudy) study = demo_study (dir, FALSE);
  GraftSlurmOptions opt = { .cli = "graft-cli" };
  g_autoptr (GraftSlurmPlan) plan = graft_slurm_plan_new (study, &opt, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_null (graft_slurm_jobs_load (dir, &error));   /* no jobs.json: nothing, no error */
  g_assert_no_error (error);

  const char *jobs[] = { "100", "101", NULL };
  g_autofree char *json = graft_slurm_jobs_to_json (plan, "slurm/x.sh", jobs);
  g_autofree char *sdir = g_build_filename (dir, GRAFT_SLURM_DIR, NULL);
  g_autofree char *path = g_build_filename (sdir, GRAFT_SLURM_JOBS_FILE, NULL);
  g_assert_cmpint (g_mkdir (sdir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  g_autoptr (GHashTable) tasks = graft_slurm_jobs_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (tasks), ==, 8);
  g_assert_cmpstr (g_hash_table_lookup (tasks, "source-base"), ==, "100_0");
  g_assert_cmpstr (g_hash_table_lookup (tasks, "target-base"), ==, "100_1");
  g_assert_cmpstr (g_hash_table_lookup (tasks, plan->runs->pdata[7]), ==, "101_7");
  g_autofree char *list = graft_slurm_jobs_list (tasks);
  g_assert_cmpstr (list, ==, "100,101");

  g_assert_true (g_file_set_contents (path, "{\"format\": 1, \"runs\": [\"a\"], \"arrays\": "
                                            "[{\"job\": \"1\", \"first\": 0, \"last\": 3}]}", -1, NULL));
  g_assert_null (graft_slurm_jobs_load (dir, &error));
  g_assert_nonnull (strstr (error->message, "jobs.json"));
  g_clear_error (&error);
  g_remove (path);
  g_rmdir (sdir);
  g_rmdir (dir);

  g_autoptr (GHashTable) st = graft_slurm_parse_squeue ("100_0 RUNNING\n  100_1   PENDING \n\nodd\n");
  g_assert_cmpuint (g_hash_table_size (st), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (st, "100_0"), ==, "RUNNING");
  g_assert_cmpstr (g_hash_table_lookup (st, "100_1"), ==, "PENDING");

  g_autofree char *id1 = graft_slurm_parse_job_id ("4242\n", NULL);
  g_autofree char *id2 = graft_slurm_parse_job_id ("4243;cluster\n", NULL);
  g_assert_cmpstr (id1, ==, "4242");
  g_assert_cmpstr (id2, ==, "4243");
  g_assert_null (graft_slurm_parse_job_id ("sbatch: error: nope", &error));
  g_clear_error (&error);
}

static void
test_task_run (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *r0 = graft_slurm_task_run ("a b  c", "0", &error);
  g_autofree char *r2 = graft_slurm_task_run ("a b  c", "2", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (r0, ==, "a");
  g_assert_cmpstr (r2, ==, "c");
  g_assert_null (graft_slurm_task_run ("a b c", "3", &error));
  g_assert_nonnull (strstr (error->message, "past the 3 runs"));
  g_clear_error (&error);
  g_assert_null (graft_slurm_task_run ("a b c", "x", &error));
  g_clear_error (&error);
  g_assert_null (graft_slurm_task_run (NULL, "1", &error));
  g_assert_nonnull (strstr (error->message, GRAFT_SLURM_RUNS_ENV));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/slurm/script", test_script);
  g_test_add_func ("/slurm/options", test_options);
  g_test_add_func ("/slurm/checkpoint-base", test_checkpoint_base);
  g_test_add_func ("/slurm/jobs-and-squeue", test_jobs_and_squeue);
  g_test_add_func ("/slurm/task-run", test_task_run);
  return g_test_run ();
}
