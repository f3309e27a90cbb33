/* Run folders: a kill or a full disk at every point of an epoch commit, then a rerun, ends
 * bit-identical to an uninterrupted run; damaged files are refused naming file and line;
 * patience counts the same across a resume. */
#include "graft-test.h"
#include "graft-run.h"
#include "graft-tfevents.h"
#include "graft-train.h"
#include "../data/data-test-util.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

static char *tmp;
static char *data_dir;
static const char *cli;

#define EPOCHS 3

static void
config_for (GraftTrainConfig *cfg, const char *run)
{
  graft_train_config_init (cfg);
  cfg->data_dir = g_strdup (data_dir);
  cfg->out_dir = g_build_filename (tmp, run, NULL);
  cfg->epochs = EPOCHS;
  cfg->batch = 4;
  cfg->lr = 1e-3;
  cfg->image_size = 32;
  cfg->width = 0.125;
  cfg->dropout = 0.25;
  cfg->device = g_strdup (g_getenv ("GRAFT_TEST_DEVICE"));
}

static GPtrArray *
train_argv (const char *out)
{
  GPtrArray *a = g_ptr_array_new ();
  const char *v[] = { cli, "train", "--data", data_dir, "--out", out, "--epochs", G_STRINGIFY (EPOCHS),
                      "--batch", "4", "--lr", "1e-3", "--image-size", "32", "--width", "0.125",
                      "--dropout", "0.25" };
  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    g_ptr_array_add (a, (gpointer) v[i]);
  if (g_getenv ("GRAFT_TEST_DEVICE"))
    {
      g_ptr_array_add (a, "--device");
      g_ptr_array_add (a, (gpointer) g_getenv ("GRAFT_TEST_DEVICE"));
    }
  g_ptr_array_add (a, NULL);
  return a;
}

/* Runs graft-cli train with @env_var=@value; returns the wait status; @err gets stderr. */
static int
spawn_train (const char *out, const char *env_var, const char *value, char **err)
{
  g_autoptr (GPtrArray) argv = train_argv (out);
  g_auto (GStrv) env = graft_test_cli_environ ();
  env = g_environ_unsetenv (env, "GRAFT_FAULT_KILL");
  env = g_environ_unsetenv (env, "GRAFT_FAULT_ENOSPC");
  env = g_environ_unsetenv (env, "GRAFT_FAULT_TRACE");
  if (env_var)
    env = g_environ_setenv (env, env_var, value, TRUE);
  int status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                               NULL, NULL, err, &status, &error));
  g_assert_no_error (error);
  return status;
}

static char *
read_file (const char *dir, const char *name)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  char *text = NULL;
  gsize len;
  if (!g_file_get_contents (p, &text, &len, NULL))
    return g_strdup ("(missing)");
  return text;
}

/* metrics.csv less the timing columns. */
static char *
metrics_without_timing (const char *dir)
{
  g_autofree char *text = read_file (dir, GRAFT_RUN_METRICS_FILE);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);
  for (int i = 0; lines[i] && *lines[i]; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 8);
      g_string_append_printf (out, "%s,%s,%s,%s,%s,%s\n", f[0], f[1], f[2], f[3], f[4], f[5]);
    }
  return g_string_free (out, FALSE);
}

static gboolean
same_file (const char *a_dir, const char *b_dir, const char *name)
{
  g_autofree char *a = g_build_filename (a_dir, name, NULL);
  g_autofree char *b = g_build_filename (b_dir, name, NULL);
  g_autofree char *ta = NULL, *tb = NULL;
  gsize la = 0, lb = 0;
  if (!g_file_get_contents (a, &ta, &la, NULL) || !g_file_get_contents (b, &tb, &lb, NULL))
    return FALSE;
  return la == lb && memcmp (ta, tb, la) == 0;
}

/* The run in @dir ended exactly where the uninterrupted @ref did. */
static void
assert_same_run (const char *ref, const char *dir, const char *what)
{
  g_autofree char *mr = metrics_without_timing (ref);
  g_autofree char *md = metrics_without_timing (dir);
  if (!g_str_equal (mr, md))
    g_error ("%s: metrics differ:\n%s\nvs the uninterrupted run:\n%s", what, md, mr);
  const char *files[] = { GRAFT_RUN_LAST_FILE, GRAFT_RUN_BEST_FILE, GRAFT_RUN_LAST_OPT_FILE };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    if (!same_file (ref, dir, files[i]))
      g_error ("%s: %s differs from the uninterrupted run's", what, files[i]);
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftRun) run = graft_run_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (graft_run_get_state (run), ==, GRAFT_RUN_STATE_FINISHED);
  g_assert_cmpint (graft_run_epochs_done (run), ==, EPOCHS);
  g_assert_true (graft_run_verify_files (run, &error));
  /* Nothing of an uncommitted epoch is left behind. */
  g_autofree char *cdir = g_build_filename (dir, GRAFT_RUN_CHECKPOINT_DIR, NULL);
  g_autoptr (GDir) d = g_dir_open (cdir, 0, NULL);
  const char *name;
  guint n = 0;
  while ((name = g_dir_read_name (d)) != NULL)
    n++;
  g_assert_cmpuint (n, <=, 3);
}

/* The fault points of each epoch's commit, from a traced run. */
static guint points[EPOCHS + 1];

/* The epochs whose commits are broken into: all of them, or under sanitizers (several times
 * slower) a middle one, which passes through every code path of a commit. */
static int
first_epoch (void)
{
  return g_getenv ("GRAFT_TEST_SANITIZED") ? 2 : 1;
}

static int
last_epoch (void)
{
  return g_getenv ("GRAFT_TEST_SANITIZED") ? 2 : EPOCHS;
}

static void
test_uninterrupted_and_points (void)
{
  g_autofree char *ref = g_build_filename (tmp, "ref", NULL);
  g_autofree char *err = NULL;
  int status = spawn_train (ref, "GRAFT_FAULT_TRACE", "1", &err);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("the traced run failed (wait status %d); its messages:\n%s", status, err);
  g_auto (GStrv) lines = g_strsplit (err, "\n", -1);
  for (int i = 0; lines[i]; i++)
    {
      int e, k;
      if (sscanf (lines[i], "graft-fault: epoch %d point %d:", &e, &k) == 2 && e >= 1 &&
          e <= EPOCHS)
        points[e] = MAX (points[e], (guint) k);
    }
  for (int e = 1; e <= EPOCHS; e++)
    {
      g_test_message ("epoch %d commit: %u fault points", e, points[e]);
      g_assert_cmpuint (points[e], >=, 15);
    }
  g_test_message ("points of epoch 2:\n%s", err);
  /* The same command again finds the run finished and changes nothing. */
  g_autofree char *before = read_file (ref, GRAFT_RUN_COMMIT_FILE);
  status = spawn_train (ref, NULL, NULL, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autofree char *after = read_file (ref, GRAFT_RUN_COMMIT_FILE);
  g_assert_cmpstr (before, ==, after);
}

static void
test_kill_at_every_point (void)
{
  g_autofree char *ref = g_build_filename (tmp, "ref", NULL);
  guint tried = 0;
  for (int e = first_epoch (); e <= last_epoch (); e++)
    for (guint k = 1; k <= points[e]; k++)
      {
        g_autofree char *name = g_strdup_printf ("kill-%d-%u", e, k);
        g_autofree char *dir = g_build_filename (tmp, name, NULL);
        g_autofree char *spec = g_strdup_printf ("%d:%u", e, k);
        int status = spawn_train (dir, "GRAFT_FAULT_KILL", spec, NULL);
        if (!WIFSIGNALED (status) || WTERMSIG (status) != SIGKILL)
          g_error ("%s: the run was not killed at that point (status %d)", name, status);
        /* Readers see a consistent folder at that instant. */
        g_autoptr (GError) error = NULL;
        g_autoptr (GraftRun) seen = graft_run_load (dir, &error);
        if (seen == NULL)
          g_error ("%s: the folder left by the kill does not load: %s", name, error->message);
        g_assert_cmpint (graft_run_epochs_done (seen), >=, e - 1);
        g_assert_cmpint (graft_run_epochs_done (seen), <=, e);
        status = spawn_train (dir, NULL, NULL, NULL);
        g_assert_true (g_spawn_check_wait_status (status, NULL));
        assert_same_run (ref, dir, name);
        data_test_rm_rf (dir);
        tried++;
      }
  g_test_message ("%u kill points, every rerun bit-identical", tried);
}

static void
test_enospc_at_every_write (void)
{
  g_autofree char *ref = g_build_filename (tmp, "ref", NULL);
  guint tried = 0, failed = 0;
  for (int e = first_epoch (); e <= last_epoch (); e++)
    for (guint k = 1; k <= points[e]; k++)
      {
        g_auto (GraftTrainConfig) cfg;
        g_autofree char *name = g_strdup_printf ("enospc-%d-%u", e, k);
        config_for (&cfg, name);
        g_autofree char *spec = g_strdup_printf ("%d:%u", e, k);
        graft_run_set_fault_enospc (spec);
        g_autoptr (GError) error = NULL;
        gboolean ok = graft_train_run (&cfg, NULL, NULL, NULL, &error);
        graft_run_set_fault_enospc (NULL);
        if (!ok)
          {
            /* The full disk is reported, naming the file. */
            g_assert_nonnull (strstr (error->message, "No space left on device"));
            g_assert_nonnull (strstr (error->message, cfg.out_dir));
            failed++;
            g_clear_error (&error);
            /* Space freed: the same run again. */
            g_assert_true (graft_train_run (&cfg, NULL, NULL, NULL, &error));
            g_assert_no_error (error);
          }
        assert_same_run (ref, cfg.out_dir, name);
        data_test_rm_rf (cfg.out_dir);
        tried++;
      }
  g_test_message ("%u points, %u of them writes that failed with ENOSPC; every rerun "
                  "bit-identical", tried, failed);
  g_assert_cmpuint (failed, >=, 8 * (guint) (last_epoch () - first_epoch () + 1));
}

/* Rewrites @name in a copy of the reference run and expects graft_run_load to refuse it with a
 * message holding @expect. */
static void
refuse (const char *label, const char *name, const char *content, gssize len, const char *expect)
{
  g_autofree char *ref = g_build_filename (tmp, "ref", NULL);
  g_autofree char *dir = g_build_filename (tmp, "damaged", NULL);
  data_test_rm_rf (dir);
  g_autofree char *cmd = g_strdup_printf ("cp -a '%s' '%s'", ref, dir);
  g_assert_cmpint (system (cmd), ==, 0);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  if (content == NULL)
    g_assert_cmpint (g_unlink (path), ==, 0);
  else
    g_assert_true (g_file_set_contents (path, content, len, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftRun) run = graft_run_load (dir, &error);
  if (run != NULL)
    g_error ("%s: accepted", label);
  g_test_message ("%s: %s", label, error->message);
  if (strstr (error->message, expect) == NULL)
    g_error ("%s: “%s” does not say “%s”", label, error->message, expect);
  /* Resuming refuses it too, and changes nothing. */
  g_auto (GraftTrainConfig) cfg;
  config_for (&cfg, "damaged");
  g_clear_error (&error);
  g_assert_false (graft_train_run (&cfg, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, expect));
  if (content)
    {
      g_autofree char *now = NULL;
      gsize nl = 0;
      g_assert_true (g_file_get_contents (path, &now, &nl, NULL));
      g_assert_cmpmem (now, nl, content, len < 0 ? strlen (content) : (gsize) len);
    }
  data_test_rm_rf (dir);
}

static void
test_damaged_files_refused (void)
{
  g_autofree char *ref = g_build_filename (tmp, "ref", NULL);
  g_autofree char *good = read_file (ref, GRAFT_RUN_METRICS_FILE);
  g_auto (GStrv) l = g_strsplit (good, "\n", -1);   /* header, 3 rows, "" */
  g_assert_cmpuint (g_strv_length (l), ==, EPOCHS + 2);
  g_autofree char *m = g_build_filename (ref, GRAFT_RUN_METRICS_FILE, NULL);
  g_autofree char *mpath = g_strdup_printf ("%s/damaged/%s", tmp, GRAFT_RUN_METRICS_FILE);

  /* A deleted row: epochs 1, 3. */
  g_autofree char *deleted = g_strdup_printf ("%s\n%s\n%s\n", l[0], l[1], l[3]);
  refuse ("deleted row", GRAFT_RUN_METRICS_FILE, deleted, -1, "metrics.csv:3: epoch 3 where epoch 2");
  /* Rows swapped. */
  g_autofree char *swapped = g_strdup_printf ("%s\n%s\n%s\n%s\n", l[0], l[2], l[1], l[3]);
  refuse ("reordered", GRAFT_RUN_METRICS_FILE, swapped, -1, "metrics.csv:2: epoch 2 where epoch 1");
  /* Truncated in the middle of the last row. */
  refuse ("truncated", GRAFT_RUN_METRICS_FILE, good, strlen (good) - 9, "metrics.csv:4:");
  /* Empty. */
  refuse ("empty", GRAFT_RUN_METRICS_FILE, "", 0, "metrics.csv:1: the file is empty");
  /* A garbage row. */
  g_autofree char *garbage = g_strdup_printf ("%s\n%s\nhello,world\n%s\n", l[0], l[1], l[3]);
  refuse ("garbage row", GRAFT_RUN_METRICS_FILE, garbage, -1, "metrics.csv:3:");
  /* A row more than was committed. */
  g_autofree char *longer = g_strdup_printf ("%s4%s\n", good, strchr (l[3], ','));
  refuse ("over-long", GRAFT_RUN_METRICS_FILE, longer, -1, "metrics.csv:5: epoch 4 was never committed");
  /* A value edited. */
  g_autofree char *edited = g_strdup (good);
  char *p = strstr (edited + strlen (l[0]) + strlen (l[1]) + 2, ",0.");
  g_assert_nonnull (p);
  p[3] = p[3] == '9' ? '1' : '9';
  refuse ("edited value", GRAFT_RUN_METRICS_FILE, edited, -1, "metrics.csv:3: differs");
  /* Another header. */
  g_autofree char *hdr = g_strdup_printf ("epoch,loss\n%s", good + strlen (l[0]) + 1);
  refuse ("header", GRAFT_RUN_METRICS_FILE, hdr, -1, "metrics.csv:1: the header");
  /* NUL bytes. */
  refuse ("nul", GRAFT_RUN_METRICS_FILE, "epoch\0\0\0", 8, "NUL");

  /* The manifest. */
  refuse ("manifest missing", GRAFT_RUN_COMMIT_FILE, NULL, 0, "commit.json is missing");
  refuse ("manifest damaged", GRAFT_RUN_COMMIT_FILE, "{\"format\": 2, \"epo", -1,
          "commit.json: not valid JSON");
  refuse ("manifest not an object", GRAFT_RUN_COMMIT_FILE, "[1, 2]", -1,
          "commit.json: the top level must be an object");
  refuse ("manifest empty", GRAFT_RUN_COMMIT_FILE, "", 0, "commit.json: the file is empty");
  GString *deep = g_string_new (NULL);
  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  refuse ("manifest nested", GRAFT_RUN_COMMIT_FILE, deep->str, deep->len, "nested deeper than");
  g_string_free (deep, TRUE);
  g_autofree char *commit = read_file (ref, GRAFT_RUN_COMMIT_FILE);
  g_autoptr (GString) bad_epoch = g_string_new (commit);
  g_string_replace (bad_epoch, "\"epoch\" : 3", "\"epoch\" : \"3\"", 1);
  refuse ("manifest epoch as text", GRAFT_RUN_COMMIT_FILE, bad_epoch->str, -1, "“epoch” must be");
  g_autoptr (GString) escape = g_string_new (commit);
  g_assert_cmpuint (g_string_replace (escape, "checkpoints/epoch-0003.safetensors",
                                      "../../etc/passwd", 0), >, 0);
  refuse ("manifest names a file elsewhere", GRAFT_RUN_COMMIT_FILE, escape->str, -1,
          "a file under checkpoints/");
  /* The checkpoint it names, changed. */
  refuse ("checkpoint damaged", GRAFT_RUN_CHECKPOINT_DIR "/epoch-0003.optimizer.safetensors",
          "junk", -1, "does not match what was committed");
  /* run.json and config.json. */
  refuse ("status damaged", GRAFT_RUN_STATUS_FILE, "{\"status\": 5}", -1, "“status” must be a string");
  refuse ("config damaged", GRAFT_RUN_CONFIG_FILE, "{{", -1, "config.json: not valid JSON");
  refuse ("config missing", GRAFT_RUN_CONFIG_FILE, NULL, 0, "config.json is missing");
  (void) m;
  (void) mpath;
}

/* A cancel at the end of epoch @stop, then a resume. */
typedef struct {
  GCancellable *cancel;
  int           stop;
} Stopper;

static void
stop_cb (const GraftTrainProgress *p, gpointer user_data)
{
  Stopper *s = user_data;
  if (p->stage == GRAFT_TRAIN_STAGE_EPOCH_END && p->epoch == s->stop)
    g_cancellable_cancel (s->cancel);
}

static void
test_patience_across_resume (void)
{
  /* A learning rate so low the accuracy plateaus: patience 1 stops early. */
  g_auto (GraftTrainConfig) a;
  config_for (&a, "patience-a");
  a.epochs = 8;
  a.patience = 1;
  a.lr = 1e-7;
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_train_run (&a, NULL, NULL, NULL, &error));
  g_autoptr (GraftRun) ra = graft_run_load (a.out_dir, &error);
  int n = graft_run_epochs_done (ra);
  g_test_message ("uninterrupted: %d epochs, best %d", n, graft_run_best_epoch (ra));
  g_assert_cmpint (n, <, 8);
  g_assert_cmpint (n - graft_run_best_epoch (ra), ==, 1);
  for (int stop = 1; stop < n; stop++)
    {
      g_auto (GraftTrainConfig) b;
      g_autofree char *name = g_strdup_printf ("patience-b%d", stop);
      config_for (&b, name);
      b.epochs = 8;
      b.patience = 1;
      b.lr = 1e-7;
      Stopper s = { g_cancellable_new (), stop };
      g_assert_false (graft_train_run (&b, stop_cb, &s, s.cancel, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&error);
      g_object_unref (s.cancel);
      g_assert_true (graft_train_run (&b, NULL, NULL, NULL, &error));
      g_autoptr (GraftRun) rb = graft_run_load (b.out_dir, &error);
      g_assert_cmpint (graft_run_epochs_done (rb), ==, n);
      g_autofree char *ma = metrics_without_timing (a.out_dir);
      g_autofree char *mb = metrics_without_timing (b.out_dir);
      g_assert_cmpstr (ma, ==, mb);
    }
  /* More patience extends the finished run rather than retraining it. */
  a.patience = 3;
  g_assert_true (graft_train_run (&a, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (GraftRun) more = graft_run_load (a.out_dir, &error);
  g_assert_cmpint (graft_run_epochs_done (more), >, n);
  /* Fewer epochs than it has is another setting: refused, naming it. */
  a.epochs = 1;
  g_assert_false (graft_train_run (&a, NULL, NULL, NULL, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "epochs"));
}

static void
test_split_recorded (void)
{
  g_autofree char *ref = g_build_filename (tmp, "ref", NULL);
  g_autofree char *text = read_file (ref, GRAFT_RUN_SPLIT_FILE);
  g_auto (GStrv) lines = g_strsplit (text, "\r\n", -1);
  g_assert_cmpstr (lines[0], ==, "path,class,subset");
  guint n_train = 0, n_val = 0;
  for (int i = 1; lines[i] && *lines[i]; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 3);
      g_assert_true (g_str_has_prefix (f[0], f[1]));   /* "red/img000.jpg", class "red" */
      g_autofree char *full = g_build_filename (data_dir, f[0], NULL);
      g_assert_true (g_file_test (full, G_FILE_TEST_IS_REGULAR));
      if (g_str_equal (f[2], "train"))
        n_train++;
      else
        {
          g_assert_cmpstr (f[2], ==, "validation");
          n_val++;
        }
    }
  g_assert_cmpuint (n_train + n_val, ==, 2 * 12);
  g_assert_cmpuint (n_val, ==, 4);   /* int(0.2 · 12) per class */
}

/* CRC-32C against the published check value and RFC 3720's test vectors. */
static void
test_crc32c (void)
{
  g_assert_cmphex (graft_crc32c ((const guint8 *) "123456789", 9), ==, 0xE3069283U);
  guint8 zeros[32] = { 0 }, ones[32], inc[32];
  memset (ones, 0xff, sizeof ones);
  for (int i = 0; i < 32; i++)
    inc[i] = (guint8) i;
  g_assert_cmphex (graft_crc32c (zeros, 32), ==, 0x8A9136AAU);
  g_assert_cmphex (graft_crc32c (ones, 32), ==, 0x62A8AB43U);
  g_assert_cmphex (graft_crc32c (inc, 32), ==, 0x46DD794EU);
}

/* A checkpoint changed in place (same size) is caught before a resume uses it. */
static void
test_corrupt_checkpoint (void)
{
  g_autofree char *ref = g_build_filename (tmp, "ref", NULL);
  g_autofree char *dir = g_build_filename (tmp, "corrupt", NULL);
  g_autofree char *cmd = g_strdup_printf ("cp -a '%s' '%s'", ref, dir);
  g_assert_cmpint (system (cmd), ==, 0);
  g_autofree char *opt = g_build_filename (dir, GRAFT_RUN_CHECKPOINT_DIR,
                                           "epoch-0003.optimizer.safetensors", NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (opt, &data, &len, NULL));
  data[len - 1] ^= 0x40;
  g_assert_true (g_file_set_contents (opt, data, len, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftRun) run = graft_run_load (dir, &error);
  g_assert_no_error (error);
  g_assert_false (graft_run_verify_files (run, &error));
  g_assert_nonnull (strstr (error->message, "epoch-0003.optimizer.safetensors"));
  g_clear_error (&error);
  /* Extending the run would resume from it: refused. */
  g_auto (GraftTrainConfig) cfg;
  config_for (&cfg, "corrupt");
  cfg.epochs = EPOCHS + 1;
  g_assert_false (graft_train_run (&cfg, NULL, NULL, NULL, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "does not match what was committed"));
  data_test_rm_rf (dir);
}

/* A folder of an older Graft (config.json format 1, no manifest): not trusted, not resumed. */
static void
test_legacy_folder (void)
{
  g_autofree char *dir = g_build_filename (tmp, "legacy", NULL);
  g_autofree char *cfgp = g_build_filename (dir, GRAFT_RUN_CONFIG_FILE, NULL);
  g_autofree char *mp = g_build_filename (dir, GRAFT_RUN_METRICS_FILE, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (cfgp, "{\"format\": 1, \"epochs\": 3}", -1, NULL));
  g_assert_true (g_file_set_contents (mp, "epoch,val_acc\n1,0.5\n", -1, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftRun) run = graft_run_load (dir, &error);
  g_assert_no_error (error);
  g_assert_true (graft_run_is_legacy (run));
  g_assert_cmpint (graft_run_epochs_done (run), ==, 0);
  g_auto (GraftTrainConfig) cfg;
  config_for (&cfg, "legacy");
  g_autoptr (JsonNode) id = graft_run_identity_new (&cfg);
  g_autofree char *why = graft_run_outdated_reason (run, id);
  g_assert_nonnull (strstr (why, "older Graft"));
  g_assert_false (graft_train_run (&cfg, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "older Graft"));
  /* Nothing was changed. */
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (mp, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "epoch,val_acc\n1,0.5\n");
}

/* One writer per run folder; the second is told and changes nothing. */
static void
test_one_writer (void)
{
  g_auto (GraftTrainConfig) cfg;
  config_for (&cfg, "locked");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) id = graft_run_identity_new (&cfg);
  g_autoptr (GraftRun) first = graft_run_begin (cfg.out_dir, id, &error);
  g_assert_no_error (error);
  g_autoptr (GraftRun) second = graft_run_begin (cfg.out_dir, id, &error);
  g_assert_null (second);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_false (graft_train_run (&cfg, NULL, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, cfg.out_dir));
  g_clear_error (&error);
  g_autoptr (GraftRun) seen = graft_run_load (cfg.out_dir, &error);
  g_assert_cmpint (graft_run_get_state (seen), ==, GRAFT_RUN_STATE_RUNNING);
  g_clear_pointer (&first, graft_run_free);
  g_assert_true (graft_train_run (&cfg, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli = g_getenv ("GRAFT_CLI");
  g_assert_nonnull (cli);
  tmp = data_test_tmpdir ();
  g_setenv ("GRAFT_IMAGE_CACHE", tmp, TRUE);   /* before any thread exists */
  g_autoptr (GraftContext) ctx = graft_test_context ();   /* skips without a device */
  data_dir = g_build_filename (tmp, "colours", NULL);
  data_test_colour_dataset (data_dir, 12, 5);
  g_test_add_func ("/run/uninterrupted", test_uninterrupted_and_points);
  g_test_add_func ("/run/split", test_split_recorded);
  g_test_add_func ("/run/damaged-files", test_damaged_files_refused);
  g_test_add_func ("/run/kill-at-every-point", test_kill_at_every_point);
  g_test_add_func ("/run/enospc-at-every-write", test_enospc_at_every_write);
  g_test_add_func ("/run/patience-across-resume", test_patience_across_resume);
  g_test_add_func ("/run/one-writer", test_one_writer);
  g_test_add_func ("/run/corrupt-checkpoint", test_corrupt_checkpoint);
  g_test_add_func ("/run/legacy-folder", test_legacy_folder);
  g_test_add_func ("/run/crc32c", test_crc32c);
  int rc = g_test_run ();
  data_test_rm_rf (tmp);
  g_free (tmp);
  g_free (data_dir);
  return rc;
}
