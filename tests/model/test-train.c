/* The training loop end to end on generated images: learning, determinism, resume after
 * kill -9, transfer with freeze and re-initialisation, and refusals with clear messages. */
#include "graft-test.h"
#include "graft-checkpoint.h"
#include "graft-json.h"
#include "graft-run.h"
#include "graft-train.h"
#include "../data/data-test-util.h"

#include <json-glib/json-glib.h>

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

static char *tmp;
static char *data_dir;

static void
config_for (GraftTrainConfig *cfg, const char *run)
{
  graft_train_config_init (cfg);
  cfg->data_dir = g_strdup (data_dir);
  cfg->out_dir = g_build_filename (tmp, run, NULL);
  cfg->epochs = 8;
  cfg->batch = 4;
  cfg->lr = 1e-3;
  cfg->image_size = 32;
  cfg->width = 0.125;
  cfg->dropout = 0.25;
  cfg->device = g_strdup (g_getenv ("GRAFT_TEST_DEVICE"));
}

/* metrics.csv without the timing columns, which legitimately differ. */
static char *
metrics_without_timing (const char *run_dir)
{
  g_autofree char *path = g_build_filename (run_dir, "metrics.csv", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);
  for (int i = 0; lines[i] && *lines[i]; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 8);
      g_string_append_printf (out, "%s,%s,%s,%s,%s\n", f[0], f[1], f[2], f[3], f[4]);
    }
  return g_string_free (out, FALSE);
}

static int
metrics_rows (const char *run_dir)
{
  g_autofree char *path = g_build_filename (run_dir, "metrics.csv", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  int n = 0;
  for (char *p = text; *p; p++)
    n += *p == '\n';
  return MAX (n - 1, 0);
}

static void
test_learns_and_is_deterministic (void)
{
  g_auto (GraftTrainConfig) a;
  g_auto (GraftTrainConfig) b;
  config_for (&a, "learn-a");
  config_for (&b, "learn-b");
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_train_run (&a, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (graft_train_run (&b, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *ma = metrics_without_timing (a.out_dir);
  g_autofree char *mb = metrics_without_timing (b.out_dir);
  g_test_message ("metrics:\n%s", ma);
  g_assert_cmpstr (ma, ==, mb);
  /* The last epoch separates the colours on held-out images. */
  g_auto (GStrv) lines = g_strsplit (ma, "\n", -1);
  g_auto (GStrv) last = g_strsplit (lines[8], ",", -1);
  g_assert_cmpfloat (g_ascii_strtod (last[4], NULL), >=, 0.9);
  const char *files[] = { "best.safetensors", "last.safetensors", "last.optimizer.safetensors",
                          "config.json", "run.json", "log.txt" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *p = g_build_filename (a.out_dir, files[i], NULL);
      g_assert_true (g_file_test (p, G_FILE_TEST_EXISTS));
    }
  /* A finished run is not trained again. */
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (graft_train_run (&a, NULL, NULL, NULL, &error));
  g_assert_cmpint (g_get_monotonic_time () - t0, <, G_USEC_PER_SEC);
  /* The same folder with another setting is refused, naming the setting. */
  a.lr = 5e-4;
  g_assert_false (graft_train_run (&a, NULL, NULL, NULL, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "lr"));
}

/* The architecture is part of the run's identity; folders from before it was recorded hold the
 * default one; an unknown one is refused, naming the setting. */
static void
test_architecture_identity (void)
{
  g_auto (GraftTrainConfig) cfg;
  config_for (&cfg, "learn-a");   /* trained by the test above */
  g_autofree char *path = g_build_filename (cfg.out_dir, "config.json", NULL);
  g_autofree char *text = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &text, &len, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = graft_json_parse (text, len, path, &error);
  g_assert_no_error (error);
  JsonObject *o = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (o, "architecture"), ==, "keras-cnn");
  json_object_remove_member (o, "architecture");
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  g_assert_true (json_generator_to_file (gen, path, NULL));
  g_autoptr (GraftRun) run = graft_run_load (cfg.out_dir, &error);
  g_assert_no_error (error);
  g_autoptr (JsonNode) now = graft_run_identity_new (&cfg);
  g_autofree char *same = graft_run_outdated_reason (run, now);
  g_assert_null (same);
  cfg.architecture = g_strdup ("toy");
  g_autoptr (JsonNode) other = graft_run_identity_new (&cfg);
  g_autofree char *diff = graft_run_outdated_reason (run, other);
  g_assert_nonnull (diff);
  g_assert_nonnull (strstr (diff, "architecture"));
  g_assert_false (graft_train_run (&cfg, NULL, NULL, NULL, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "architecture"));
  g_assert_nonnull (strstr (error->message, "toy"));
}

static void
test_resume_after_kill (void)
{
  g_auto (GraftTrainConfig) ref;
  config_for (&ref, "learn-a");   /* the uninterrupted run of the test above */
  g_autofree char *run = g_build_filename (tmp, "killed", NULL);
  const char *cli = g_getenv ("GRAFT_CLI");
  g_assert_nonnull (cli);
  char *argv[] = { (char *) cli, "train", "--data", data_dir, "--out", run, "--epochs", "8",
                   "--batch", "4", "--lr", "1e-3", "--image-size", "32", "--width", "0.125",
                   "--dropout", "0.25", NULL };
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = graft_test_cli_environ ();
  /* Killed in the middle of the second epoch, after its fifth batch: the same place on a fast
   * machine and a slow one. */
  g_auto (GStrv) kill_env = g_environ_setenv (g_strdupv (env), "GRAFT_FAULT_KILL_BATCH", "2:5",
                                              TRUE);
  int status;
  g_assert_true (g_spawn_sync (NULL, argv, kill_env, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, NULL, &status, &error));
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
  g_assert_cmpint (metrics_rows (run), ==, 1);
  /* Rerunning the same command resumes and ends where an uninterrupted run ends. */
  g_autofree char *out = NULL;
  int wait_status;
  g_assert_true (g_spawn_sync (NULL, argv, env, 0, NULL, NULL, &out, NULL, &wait_status, &error));
  g_assert_true (g_spawn_check_wait_status (wait_status, NULL));
  g_assert_nonnull (strstr (out, "Resuming"));
  g_autofree char *got = metrics_without_timing (run);
  g_autofree char *want = metrics_without_timing (ref.out_dir);
  g_assert_cmpstr (got, ==, want);
}

static void
assert_layers (const char *ckpt_a, const char *ckpt_b, const char *const *changed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftSafetensors) a = graft_safetensors_read (ckpt_a, &error);
  g_autoptr (GraftSafetensors) b = graft_safetensors_read (ckpt_b, &error);
  g_assert_no_error (error);
  guint n_same = 0, n_changed = 0;
  for (guint i = 0; i < graft_safetensors_n_tensors (a); i++)
    {
      const char *name = graft_safetensors_name (a, i);
      g_autofree char *layer = g_strndup (name, strchr (name, '/') - name);
      int shape[8];
      int nd = graft_safetensors_shape (a, name, shape);
      gsize count = 1;
      for (int d = 0; d < nd; d++)
        count *= shape[d];
      int ndb = graft_safetensors_shape (b, name, shape);
      gboolean expect_change = g_strv_contains (changed, layer);
      if (ndb < 0)
        {
          g_assert_true (expect_change);
          continue;
        }
      g_autofree float *va = g_new (float, count);
      g_autofree float *vb = g_new (float, count);
      if (!graft_safetensors_copy (b, name, vb, count, NULL))
        {
          g_assert_true (expect_change);   /* the replaced head has another shape */
          continue;
        }
      graft_safetensors_copy (a, name, va, count, &error);
      g_assert_no_error (error);
      gboolean same = memcmp (va, vb, count * sizeof (float)) == 0;
      if (expect_change && same && !g_str_has_suffix (name, "bias"))
        g_error ("%s should have changed", name);
      if (!expect_change && !same)
        g_error ("%s changed but its layer is frozen", name);
      same ? n_same++ : n_changed++;
    }
  g_test_message ("%u tensors bit-identical, %u changed", n_same, n_changed);
  g_assert_cmpuint (n_same, >, 0);
}

static void
test_transfer_freeze_reinit (void)
{
  g_auto (GraftTrainConfig) base;
  config_for (&base, "learn-a");
  g_autofree char *src = g_build_filename (base.out_dir, "best.safetensors", NULL);
  g_auto (GraftTrainConfig) cfg;
  config_for (&cfg, "transfer");
  cfg.epochs = 1;
  cfg.init_checkpoint = g_strdup (src);
  const char *reinit[] = { "conv2d_3", "dense", NULL };
  const char *freeze[] = { "transferred", NULL };
  cfg.reinit_layers = g_strdupv ((char **) reinit);
  cfg.freeze_layers = g_strdupv ((char **) freeze);
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_train_run (&cfg, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *after = g_build_filename (cfg.out_dir, "last.safetensors", NULL);
  /* Frozen tensors (BN moving statistics included) stay bit-identical; the
   * re-initialised layers are new and trained. */
  assert_layers (src, after, reinit);

  /* Unknown layer names are refused with the name and the valid ones. */
  g_auto (GraftTrainConfig) bad;
  config_for (&bad, "bad-reinit");
  bad.init_checkpoint = g_strdup (src);
  const char *nope[] = { "conv9", NULL };
  bad.reinit_layers = g_strdupv ((char **) nope);
  g_assert_false (graft_train_run (&bad, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "conv9"));
  g_assert_nonnull (strstr (error->message, "separable_conv2d_6"));
}

static void
test_bad_inputs (void)
{
  g_auto (GraftTrainConfig) cfg;
  config_for (&cfg, "missing");
  g_free (cfg.data_dir);
  cfg.data_dir = g_build_filename (tmp, "no-such-folder", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_false (graft_train_run (&cfg, NULL, NULL, NULL, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "no-such-folder"));
  /* The failure is recorded for the study runner. */
  g_autofree char *run_json = g_build_filename (cfg.out_dir, "run.json", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (run_json, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "failed"));
  g_clear_error (&error);
  g_auto (GraftTrainConfig) bad;
  config_for (&bad, "bad-ckpt");
  g_autofree char *junk = g_build_filename (tmp, "junk.safetensors", NULL);
  g_file_set_contents (junk, "garbage", -1, NULL);
  bad.init_checkpoint = g_strdup (junk);
  g_assert_false (graft_train_run (&bad, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "junk.safetensors"));
}

/* A model far larger than any device (terabytes) is refused before any step, naming the sizes. */
static void
test_too_big_for_device (void)
{
  g_autoptr (GraftContext) ctx = graft_test_context ();
  GraftModelSpec spec = { 512, 2, 1.0, 0.5 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftModel) m = graft_model_new (&spec, &error);
  g_assert_no_error (error);
  g_assert_false (graft_model_bind (m, ctx, 4096, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_OUT_OF_MEMORY);
  g_test_message ("%s", error->message);
  /* Either the largest single buffer or the total is over the device's limit. */
  g_assert_nonnull (strstr (error->message, "try a"));
  g_assert_nonnull (strstr (error->message, graft_context_device (ctx)->name));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GraftContext) ctx = graft_test_context ();   /* skips without a device */
  tmp = data_test_tmpdir ();
  g_setenv ("GRAFT_IMAGE_CACHE", tmp, TRUE);
  data_dir = g_build_filename (tmp, "colours", NULL);
  data_test_colour_dataset (data_dir, 150, 3);
  g_test_add_func ("/train/learns-and-is-deterministic", test_learns_and_is_deterministic);
  g_test_add_func ("/train/architecture-identity", test_architecture_identity);
  g_test_add_func ("/train/resume-after-kill", test_resume_after_kill);
  g_test_add_func ("/train/transfer-freeze-reinit", test_transfer_freeze_reinit);
  g_test_add_func ("/train/bad-inputs", test_bad_inputs);
  g_test_add_func ("/train/too-big-for-device", test_too_big_for_device);
  int rc = g_test_run ();
  data_test_rm_rf (tmp);
  g_free (tmp);
  g_free (data_dir);
  return rc;
}
