/* A study as Slurm job arrays: pure functions from a study and options to script text. */
#include "graft-slurm.h"

#include <string.h>

#include "graft-error.h"
#include "graft-json.h"

void
graft_slurm_plan_free (GraftSlurmPlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->study_dir);
  g_ptr_array_unref (plan->runs);
  g_array_unref (plan->arrays);
  g_free (plan->script);
  g_free (plan);
}

static gboolean
check_value (const char *what, const char *v, GError **error)
{
  if (v == NULL)
    return TRUE;
  gboolean ok = *v != '\0';
  for (const char *p = v; *p; p++)
    if (g_ascii_isspace (*p) || g_ascii_iscntrl (*p) || *p == '#')
      ok = FALSE;
  if (!ok)
    g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                 "Slurm setting %s “%s”: Slurm takes a value without spaces, control characters "
                 "or “#”",
                 what, v);
  return ok;
}

/* Level of a run: 0 without "from" or when it transfers from a checkpoint run (which has no
 * task: its weights are a file), else one more than the run it transfers from. validate() has
 * ruled out cycles and dangling links. */
static guint
run_level (const GraftStudy *study, const GraftStudyRun *run)
{
  guint level = 0;
  for (const GraftStudyRun *r = run; r->from; level++)
    {
      r = graft_study_find_run (study, r->from);
      if (r == NULL || graft_study_run_is_checkpoint (r) || level > study->runs->len)
        break;
    }
  return level;
}

/* A job name Slurm shows in squeue: "graft-<slug of the study's name>". */
static char *
job_name (const GraftStudy *study)
{
  g_autofree char *slug = graft_study_slug (study->name ? study->name : "");
  return g_strconcat ("graft", *slug ? "-" : "", slug, NULL);
}

/* Shell-quotes @s when it holds anything but plain path characters. */
static char *
quote (const char *s)
{
  gboolean plain = *s != '\0';
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("_./:=%,+-@", *p))
      plain = FALSE;
  return plain ? g_strdup (s) : g_shell_quote (s);
}

GraftSlurmPlan *
graft_slurm_plan_new (const GraftStudy *study, const GraftSlurmOptions *opt, GError **error)
{
  g_return_val_if_fail (study->dir != NULL && opt->cli != NULL, NULL);
  g_autofree char *what = g_build_filename (study->dir, "study.json", NULL);
  if (!graft_study_validate (study, what, error) ||
      !check_value ("partition", opt->partition, error) || !check_value ("gres", opt->gres, error) ||
      !check_value ("time", opt->time, error))
    return NULL;
  if (opt->max_parallel < 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Slurm setting max_parallel %d: give 1 or more (0 = no cap)",
                   opt->max_parallel);
      return NULL;
    }
  g_autoptr (GraftStudy) ex = graft_study_expand (study);
  g_autoptr (GraftSlurmPlan) plan = g_new0 (GraftSlurmPlan, 1);
  /* The tasks run in the study folder, but the script names it whole. */
  plan->study_dir = g_canonicalize_filename (study->dir, NULL);
  plan->runs = g_ptr_array_new_with_free_func (g_free);
  plan->arrays = g_array_new (FALSE, FALSE, sizeof (GraftSlurmArray));
  /* Levels in order, each in study order: a run always comes after the one it transfers
   * from, and its array depends on the level before. */
  guint placed = 0, tasks = 0;
  for (guint i = 0; i < ex->runs->len; i++)
    tasks += !graft_study_run_is_checkpoint (ex->runs->pdata[i]);
  if (tasks == 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s: every run is a checkpoint run (“init”), so there is nothing to train on "
                   "Slurm", what);
      return NULL;
    }
  for (guint level = 0; placed < tasks; level++)
    {
      GraftSlurmArray a = { .first = plan->runs->len };
      for (guint i = 0; i < ex->runs->len; i++)
        {
          GraftStudyRun *r = ex->runs->pdata[i];
          if (!graft_study_run_is_checkpoint (r) && run_level (ex, r) == level)
            g_ptr_array_add (plan->runs, g_strdup (r->id));
        }
      if (plan->runs->len == a.first)
        break;   /* unreachable after validate() */
      a.last = plan->runs->len - 1;
      placed += a.last - a.first + 1;
      g_array_append_val (plan->arrays, a);
    }

  GString *s = g_string_new ("#!/bin/bash\n");
  g_autofree char *name = job_name (study);
  g_string_append_printf (s, "# Graft study “%s”: one Slurm array task per run, written by "
                          "graft-cli study submit.\n", study->name ? study->name : "");
  g_string_append (s, "# Task i trains run i of GRAFT_STUDY_RUNS; each dependency level is one "
                      "array over its\n# range of indices, depending on the level before "
                      "(see slurm/jobs.json):\n");
  for (guint l = 0; l < plan->arrays->len; l++)
    {
      GraftSlurmArray *a = &g_array_index (plan->arrays, GraftSlurmArray, l);
      if (l == 0)
        g_string_append_printf (s, "#   level 0: tasks %u-%u\n", a->first, a->last);
      else
        g_string_append_printf (s, "#   level %u: tasks %u-%u, after level %u succeeded\n", l,
                                a->first, a->last, l - 1);
    }
  /* sbatch's own directives, in its option names; the unset settings are left out. */
  const struct { const char *directive, *value; } directives[] = {
    { "job-name", name }, { "output", "slurm/%x-%A_%a.out" }, { "partition", opt->partition },
    { "gres", opt->gres }, { "time", opt->time },
  };
  for (guint i = 0; i < G_N_ELEMENTS (directives); i++)
    if (directives[i].value)
      g_string_append_printf (s, "#SBATCH --%s=%s\n", directives[i].directive,
                              directives[i].value);
  g_string_append (s, "set -eu\n" GRAFT_SLURM_RUNS_ENV "='");
  for (guint i = 0; i < plan->runs->len; i++)   /* ids are [a-z0-9._-]: nothing to quote */
    g_string_append_printf (s, "%s%s", i ? " " : "", (char *) plan->runs->pdata[i]);
  g_string_append (s, "'\nexport " GRAFT_SLURM_RUNS_ENV "\n");
  g_autofree char *qcli = quote (opt->cli);
  g_autofree char *qdir = quote (plan->study_dir);
  g_string_append_printf (s, "exec %s study run %s\n", qcli, qdir);
  plan->script = g_string_free (s, FALSE);
  return g_steal_pointer (&plan);
}

/* Appends one of sbatch's long options (sbatch(1)), name and optional value: sbatch's command
 * line, never a message to the user. */
static void
sbatch_option (GPtrArray *v, const char *name, const char *value)
{
  g_ptr_array_add (v, value ? g_strdup_printf ("--%s=%s", name, value)
                            : g_strdup_printf ("--%s", name));
}

char **
graft_slurm_sbatch_argv (const GraftSlurmPlan *plan, const GraftSlurmOptions *opt, guint level,
                         const char *prev_job, const char *script_path)
{
  g_return_val_if_fail (level < plan->arrays->len, NULL);
  const GraftSlurmArray *a = &g_array_index (plan->arrays, GraftSlurmArray, level);
  GPtrArray *v = g_ptr_array_new ();
  g_ptr_array_add (v, g_strdup ("sbatch"));
  sbatch_option (v, "parsable", NULL);
  g_autofree char *cap = opt->max_parallel > 0 ? g_strdup_printf ("%%%d", opt->max_parallel)
                                               : g_strdup ("");
  g_autofree char *range = g_strdup_printf ("%u-%u%s", a->first, a->last, cap);
  sbatch_option (v, "array", range);
  if (level > 0)
    {
      g_autofree char *after = g_strdup_printf ("afterok:%s", prev_job);
      sbatch_option (v, "dependency", after);
      sbatch_option (v, "kill-on-invalid-dep", "yes");
    }
  g_ptr_array_add (v, g_strdup (script_path));
  g_ptr_array_add (v, NULL);
  return (char **) g_ptr_array_free (v, FALSE);
}

char *
graft_slurm_commands (const GraftSlurmPlan *plan, const GraftSlurmOptions *opt,
                      const char *script_path)
{
  GString *s = g_string_new (NULL);
  g_autofree char *qdir = quote (plan->study_dir);
  g_string_append_printf (s, "cd %s\n", qdir);
  for (guint l = 0; l < plan->arrays->len; l++)
    {
      g_autofree char *prev = g_strdup_printf ("$JOB%u", l ? l - 1 : 0);
      g_auto (GStrv) argv = graft_slurm_sbatch_argv (plan, opt, l, prev, script_path);
      g_string_append_printf (s, "JOB%u=$(", l);
      for (guint i = 0; argv[i]; i++)
        {
          /* $JOBn must expand: the dependency argument is the only one with a '$'. */
          g_autofree char *q = strchr (argv[i], '$') ? g_strdup (argv[i]) : quote (argv[i]);
          g_string_append_printf (s, "%s%s", i ? " " : "", q);
        }
      g_string_append (s, ")\n");
    }
  return g_string_free (s, FALSE);
}

char *
graft_slurm_parse_job_id (const char *output, GError **error)
{
  g_autofree char *t = g_strstrip (g_strdup (output ? output : ""));
  char *semi = strchr (t, ';');
  if (semi)
    *semi = '\0';
  guint64 v;
  if (!g_ascii_string_to_unsigned (t, 10, 1, G_MAXUINT64, &v, NULL))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FAILED,
                   "sbatch printed “%s” where its job id belongs", output ? output : "");
      return NULL;
    }
  return g_steal_pointer (&t);
}

char *
graft_slurm_jobs_to_json (const GraftSlurmPlan *plan, const char *script_rel,
                          const char *const *jobs)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, GRAFT_SLURM_JOBS_FORMAT);
  json_builder_set_member_name (b, "script");
  json_builder_add_string_value (b, script_rel);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *iso = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  json_builder_set_member_name (b, "submitted");
  json_builder_add_string_value (b, iso);
  json_builder_set_member_name (b, "runs");
  json_builder_begin_array (b);
  for (guint i = 0; i < plan->runs->len; i++)
    json_builder_add_string_value (b, plan->runs->pdata[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "arrays");
  json_builder_begin_array (b);
  for (guint l = 0; l < plan->arrays->len; l++)
    {
      const GraftSlurmArray *a = &g_array_index (plan->arrays, GraftSlurmArray, l);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "job");
      json_builder_add_string_value (b, jobs[l]);
      json_builder_set_member_name (b, "first");
      json_builder_add_int_value (b, a->first);
      json_builder_set_member_name (b, "last");
      json_builder_add_int_value (b, a->last);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return graft_json_builder_to_text (b, TRUE, NULL);
}

GHashTable *
graft_slurm_jobs_load (const char *study_dir, GError **error)
{
  g_autofree char *path = g_build_filename (study_dir, GRAFT_SLURM_DIR, GRAFT_SLURM_JOBS_FILE, NULL);
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) rerr = NULL;
  if (!g_file_get_contents (path, &text, &len, &rerr))
    {
      if (!g_error_matches (rerr, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_propagate_error (error, g_steal_pointer (&rerr));
      return NULL;
    }
  g_autoptr (JsonParser) p = json_parser_new ();
  if (!json_parser_load_from_data (p, text, (gssize) len, &rerr))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FAILED, "%s: %s", path, rerr->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (p);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonArray *runs = o && json_object_has_member (o, "runs") ? json_object_get_array_member (o, "runs") : NULL;
  JsonArray *arrays = o && json_object_has_member (o, "arrays") ? json_object_get_array_member (o, "arrays") : NULL;
  if (o == NULL || json_object_get_int_member_with_default (o, "format", 0) != GRAFT_SLURM_JOBS_FORMAT ||
      runs == NULL || arrays == NULL)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FAILED,
                   "%s: not a format %d jobs file (runs, arrays)", path, GRAFT_SLURM_JOBS_FORMAT);
      return NULL;
    }
  g_autoptr (GHashTable) tasks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint nruns = json_array_get_length (runs);
  for (guint l = 0; l < json_array_get_length (arrays); l++)
    {
      JsonNode *n = json_array_get_element (arrays, l);
      JsonObject *a = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      const char *job = a ? json_object_get_string_member_with_default (a, "job", NULL) : NULL;
      gint64 first = a ? json_object_get_int_member_with_default (a, "first", -1) : -1;
      gint64 last = a ? json_object_get_int_member_with_default (a, "last", -1) : -1;
      if (job == NULL || first < 0 || last < first || last >= nruns)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FAILED,
                       "%s: arrays[%u] needs a job and first ≤ last < %u", path, l, nruns);
          return NULL;
        }
      for (gint64 i = first; i <= last; i++)
        {
          const char *id = json_array_get_string_element (runs, (guint) i);
          if (id)
            g_hash_table_insert (tasks, g_strdup (id),
                                 g_strdup_printf ("%s_%" G_GINT64_FORMAT, job, i));
        }
    }
  return g_steal_pointer (&tasks);
}

static int
compare_str_ptr (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

char *
graft_slurm_jobs_list (GHashTable *tasks)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) jobs = g_ptr_array_new ();
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, tasks);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      char *job = g_strndup (v, strcspn (v, "_"));
      if (g_hash_table_contains (seen, job))
        g_free (job);
      else
        {
          g_hash_table_add (seen, job);
          g_ptr_array_add (jobs, job);
        }
    }
  g_ptr_array_sort (jobs, compare_str_ptr);
  g_ptr_array_add (jobs, NULL);
  return g_strjoinv (",", (char **) jobs->pdata);
}

GHashTable *
graft_slurm_parse_squeue (const char *text)
{
  GHashTable *states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) lines = g_strsplit (text ? text : "", "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      g_auto (GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
      guint n = 0;
      const char *w[2] = { NULL, NULL };
      for (guint k = 0; f[k] && n < 2; k++)
        if (*f[k])
          w[n++] = f[k];
      if (n == 2)
        g_hash_table_insert (states, g_strdup (w[0]), g_strdup (w[1]));
    }
  return states;
}

char *
graft_slurm_task_run (const char *runs, const char *task_id, GError **error)
{
  guint64 idx;
  if (task_id == NULL || !g_ascii_string_to_unsigned (task_id, 10, 0, G_MAXUINT, &idx, NULL))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "SLURM_ARRAY_TASK_ID “%s” is not a task index", task_id ? task_id : "");
      return NULL;
    }
  if (runs == NULL)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "SLURM_ARRAY_TASK_ID is set but " GRAFT_SLURM_RUNS_ENV " is not: run a task "
                   "through the Slurm script written for the study, or name the one run to "
                   "train");
      return NULL;
    }
  g_auto (GStrv) ids = g_strsplit_set (runs, " \t\n", -1);
  guint n = 0;
  for (guint i = 0; ids[i]; i++)
    if (*ids[i])
      {
        if (n == idx)
          return g_strdup (ids[i]);
        n++;
      }
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
               "SLURM_ARRAY_TASK_ID %s is past the %u runs of " GRAFT_SLURM_RUNS_ENV, task_id, n);
  return NULL;
}

/* Run id → Slurm state of its array task, for the jobs of STUDY/slurm/jobs.json that squeue
 * still lists; NULL without jobs.json or squeue. Finished jobs leave squeue: the run folder's
 * own state is then the whole story. */
GHashTable *
graft_slurm_queue_states (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) tasks = graft_slurm_jobs_load (dir, &error);
  if (tasks == NULL)
    {
      if (error)
        g_warning ("%s", error->message);
      return NULL;
    }
  g_autofree char *squeue = g_find_program_in_path ("squeue");
  if (squeue == NULL || g_hash_table_size (tasks) == 0)
    return NULL;
  g_autofree char *jobs = graft_slurm_jobs_list (tasks);
  const char *argv[] = { squeue, "-h", "-r", "-j", jobs, "-o", "%i %T", NULL };
  g_autofree char *out = NULL;
  int wait_status = 0;
  /* An unknown (long finished) job id makes squeue fail: then nothing is queued. */
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                     NULL, &wait_status, NULL))
    return NULL;
  g_autoptr (GHashTable) queued = graft_slurm_parse_squeue (out);
  g_autoptr (GHashTable) states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, tasks);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const char *state = g_hash_table_lookup (queued, v);
      if (state)
        g_hash_table_insert (states, g_strdup (k), g_strdup (state));
    }
  return g_hash_table_size (states) ? g_steal_pointer (&states) : NULL;
}
