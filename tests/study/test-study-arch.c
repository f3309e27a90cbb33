/* Studies on the registry's architectures: the "architecture" setting, checkpoint base runs
 * ("init"), the per-architecture experiment grid and their part in the run identity. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "graft-arch.h"
#include "graft-run.h"
#include "graft-study.h"

static GPtrArray *calls;    /* GraftTrainConfig* the fake trainer got */

static gboolean
write_cb (const char *path, gpointer user_data, GError **error)
{
  return g_file_set_contents (path, user_data, -1, error);
}

/* Commits every epoch through the run module, as graft_train_run does. */
static gboolean
fake_train (const GraftTrainConfig *cfg, GraftTrainProgressFunc progress, gpointer user_data,
            GCancellable *cancellable, GError **error)
{
  g_ptr_array_add (calls, graft_train_config_copy (cfg));
  g_autoptr (JsonNode) identity = graft_run_identity_new (cfg);
  g_autoptr (GraftRun) run = graft_run_begin (cfg->out_dir, identity, error);
  if (run == NULL)
    return FALSE;
  for (int e = graft_run_epochs_done (run) + 1; e <= cfg->epochs; e++)
    {
      GraftEpochMetrics row = { e, 0.5, 0.7, 0.6, 0.65, 1e-4, 1.0, 10.0 };
      if (!graft_run_commit_epoch (run, &row, e, write_cb, write_cb, (gpointer) "weights", NULL,
                                   error))
        return FALSE;
    }
  return graft_run_set_status (run, GRAFT_RUN_STATE_FINISHED, "fake", NULL, error);
}

static GraftRunState
state_of (const GraftStudy *s, const char *id, char **outdated)
{
  GraftRunStatus st = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_study_run_status (s, graft_study_find_run (s, id), &st, &error));
  g_assert_no_error (error);
  GraftRunState state = st.state;
  if (outdated)
    *outdated = g_strdup (st.outdated);
  graft_run_status_clear (&st);
  return state;
}

static void
test_roundtrip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftStudy) s = graft_study_new_arch (GRAFT_STUDY_PRESET_DEMO, "mobilenetv2",
                                                   "weights/mnv2.safetensors", "", "target",
                                                   NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s->architecture, ==, "mobilenetv2");
  g_autofree char *text = graft_study_to_json (s);
  g_assert_nonnull (strstr (text, "\"architecture\" : \"mobilenetv2\""));
  g_assert_nonnull (strstr (text, "\"init\" : \"weights/mnv2.safetensors\""));
  g_autoptr (GraftStudy) r = graft_study_from_json (text, -1, "study.json", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (r->architecture, ==, "mobilenetv2");
  GraftStudyRun *base = graft_study_find_run (r, "pretrained");
  g_assert_nonnull (base);
  g_assert_true (graft_study_run_is_checkpoint (base));
  g_assert_cmpstr (base->init, ==, "weights/mnv2.safetensors");
  g_assert_cmpstr (r->base, ==, "pretrained");
  g_autofree char *again = graft_study_to_json (r);
  g_assert_cmpstr (text, ==, again);

  /* Derived configs: the architecture everywhere; transfers start from the file, resolved
   * against the study folder like the data folders. */
  r->dir = g_strdup ("/studies/s");
  GraftStudyRun *t = graft_study_find_run (r, "head-frozen");
  g_assert_nonnull (t);
  g_autoptr (GraftTrainConfig) c = graft_study_run_config (r, t, NULL);
  g_assert_cmpstr (c->architecture, ==, "mobilenetv2");
  g_assert_cmpstr (c->init_checkpoint, ==, "/studies/s/weights/mnv2.safetensors");
  g_assert_cmpstr (c->freeze_layers[0], ==, "transferred");
  g_autoptr (GraftTrainConfig) bc = graft_study_run_config (r, graft_study_find_run (r, "target-base"), NULL);
  g_assert_cmpstr (bc->architecture, ==, "mobilenetv2");
  g_assert_null (bc->init_checkpoint);

  /* No "architecture": the default one; a checkpoint run needs no "data". */
  const char *old = "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"runs\":["
                    "{\"id\":\"p\",\"init\":\"w.safetensors\"},"
                    "{\"id\":\"x\",\"data\":\"target\",\"from\":\"p\",\"reinit\":[\"dense\"]}]}";
  g_autoptr (GraftStudy) o = graft_study_from_json (old, -1, "old.json", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (o->architecture, ==, GRAFT_ARCH_DEFAULT);
  g_assert_cmpstr (graft_study_find_run (o, "p")->init, ==, "w.safetensors");
}

static void
expect_error (const char *json, const char *const *parts)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftStudy) s = graft_study_from_json (json, -1, "bad.json", &error);
  g_assert_null (s);
  g_assert_nonnull (error);
  for (guint i = 0; parts[i]; i++)
    if (strstr (error->message, parts[i]) == NULL)
      g_error ("“%s” lacks “%s”", error->message, parts[i]);
}

static void
test_validation (void)
{
  expect_error ("{\"format\":1,\"architecture\":\"resnet99\",\"source\":\"a\",\"target\":\"b\","
                "\"runs\":[]}",
                (const char *[]) { "bad.json", "“architecture”", "resnet99", "keras-cnn",
                                   "resnet18", "mobilenetv2", NULL });
  expect_error ("{\"format\":1,\"architecture\":7,\"source\":\"a\",\"target\":\"b\",\"runs\":[]}",
                (const char *[]) { "“architecture”", "a string", NULL });
  expect_error ("{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"runs\":["
                "{\"id\":\"q\",\"data\":\"source\"},"
                "{\"id\":\"p\",\"init\":\"w.safetensors\",\"from\":\"q\"}]}",
                (const char *[]) { "“runs[1].init”", "“from”", NULL });
  expect_error ("{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"runs\":["
                "{\"id\":\"p\",\"init\":\"\"}]}",
                (const char *[]) { "“runs[0].init”", "empty", NULL });

  g_autoptr (GError) error = NULL;
  g_assert_null (graft_study_new_arch (GRAFT_STUDY_PRESET_DEMO, "vgg", NULL, "a", "b", NULL,
                                       &error));
  g_assert_nonnull (strstr (error->message, "architecture"));
  g_assert_nonnull (strstr (error->message, "resnet18"));
  g_clear_error (&error);
  g_autoptr (GraftStudy) s = graft_study_new ();
  g_assert_false (graft_study_set_architecture (s, "vgg", &error));
  g_assert_nonnull (strstr (error->message, "architecture"));
  g_assert_cmpstr (s->architecture, ==, GRAFT_ARCH_DEFAULT);
  g_clear_error (&error);
  g_assert_true (graft_study_set_architecture (s, "keras-image-classification-from-scratch",
                                               &error));
  g_assert_cmpstr (s->architecture, ==, "keras-cnn");
}

/* The grid: per registry preset a frozen and a trainable run (only trainable for "all"),
 * re-initialising exactly the preset's layers, on every architecture. */
static void
test_presets_per_arch (void)
{
  for (guint a = 0; a < graft_arch_n (); a++)
    {
      const GraftArch *arch = graft_arch_nth (a);
      g_autoptr (GError) error = NULL;
      g_autoptr (GraftStudy) s = graft_study_new_arch (GRAFT_STUDY_PRESET_PAPER, arch->name,
                                                       "w.safetensors", "", "t", NULL, &error);
      g_assert_no_error (error);
      g_assert_true (graft_study_validate (s, "s", &error));
      guint expected = 2;
      for (const GraftArchPreset *p = arch->presets; p->id; p++)
        {
          gboolean all = g_str_equal (p->id, "all");
          expected += all ? 1 : 2;
          for (int frozen = 0; frozen <= 1; frozen++)
            {
              g_autofree char *id = g_strdup_printf ("%s-%s", p->id,
                                                     frozen ? "frozen" : "trainable");
              GraftStudyRun *r = graft_study_find_run (s, id);
              if (all && frozen)
                {
                  g_assert_null (r);
                  continue;
                }
              g_assert_nonnull (r);
              g_assert_cmpstr (r->from, ==, "pretrained");
              g_assert_cmpint (r->freeze, ==, frozen);
              g_assert_cmpstr (r->name, ==, p->label);
              g_assert_true (g_strv_equal ((const char *const *) r->reinit, p->layers));
            }
        }
      g_assert_cmpuint (s->runs->len, ==, expected);
      g_assert_null (graft_study_find_run (s, "target-base")->from);
      if (!g_str_equal (arch->name, GRAFT_ARCH_DEFAULT))
        g_assert_cmpfloat (s->hyper.bn_momentum, ==, 0.9);
    }
  /* An experiment added to a ResNet-18 study re-initialises its head, "fc". */
  {
    g_autoptr (GraftStudy) r = graft_study_new_arch (GRAFT_STUDY_PRESET_DEMO, "resnet18",
                                                     "w.safetensors", "", "t", NULL, NULL);
    GraftStudyRun *x = graft_study_add_experiment (r);
    g_assert_cmpstr (x->from, ==, "pretrained");
    g_assert_cmpuint (g_strv_length (x->reinit), ==, 1);
    g_assert_cmpstr (x->reinit[0], ==, "fc");
  }
  /* Without a checkpoint the base trains on the source folder. */
  g_autoptr (GraftStudy) s = graft_study_new_arch (GRAFT_STUDY_PRESET_DEMO, "resnet18", NULL,
                                                   "src", "t", NULL, NULL);
  GraftStudyRun *b = graft_study_find_run (s, s->base);
  g_assert_cmpstr (b->id, ==, "source-base");
  g_assert_null (b->init);
  g_assert_cmpint (b->data, ==, GRAFT_STUDY_DATA_SOURCE);
}

static void
test_identity_outdated (void)
{
  g_autofree char *dir = g_dir_make_tmp ("graft-study-arch-XXXXXX", NULL);
  g_autofree char *ckpt = g_build_filename (dir, "w.safetensors", NULL);
  g_autofree char *tdir = g_build_filename (dir, "target", "a", NULL);
  g_assert_cmpint (g_mkdir_with_parents (tdir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (ckpt, "first checkpoint", -1, NULL));
  GraftStudyHyper h;
  graft_study_hyper_init_demo (&h);
  h.epochs = 1;
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftStudy) s = graft_study_new_arch (GRAFT_STUDY_PRESET_DEMO, "resnet18",
                                                   "w.safetensors", "", "target", &h, &error);
  g_assert_no_error (error);
  g_autofree char *sdir = g_strdup (dir);
  g_assert_true (graft_study_create (s, sdir, &error));
  g_assert_no_error (error);

  calls = g_ptr_array_new_with_free_func ((GDestroyNotify) graft_train_config_free);
  GraftStudySummary sum;
  g_assert_true (graft_study_run_all (s, fake_train, NULL, NULL, GRAFT_STUDY_RUN_DEFAULT, NULL,
                                      NULL, NULL, &sum, &error));
  g_assert_no_error (error);
  /* The checkpoint run trains nothing; every other run is trained once. */
  g_assert_cmpuint (calls->len, ==, s->runs->len - 1);
  g_assert_cmpuint (sum.skipped, ==, 1);
  for (guint i = 0; i < calls->len; i++)
    {
      GraftTrainConfig *c = calls->pdata[i];
      g_autofree char *id = g_path_get_basename (c->out_dir);
      g_assert_cmpstr (id, !=, "pretrained");
      g_assert_cmpstr (c->architecture, ==, "resnet18");
      if (!g_str_equal (id, "target-base"))
        g_assert_cmpstr (c->init_checkpoint, ==, ckpt);
    }
  g_assert_cmpint (state_of (s, "pretrained", NULL), ==, GRAFT_RUN_STATE_FINISHED);
  g_assert_cmpint (state_of (s, "head-frozen", NULL), ==, GRAFT_RUN_STATE_FINISHED);

  /* Another architecture: every trained run is outdated, naming it. */
  g_assert_true (graft_study_set_architecture (s, "mobilenetv2", &error));
  g_autofree char *why = NULL;
  g_assert_cmpint (state_of (s, "head-frozen", &why), ==, GRAFT_RUN_STATE_OUTDATED);
  g_assert_nonnull (strstr (why, "architecture"));
  g_assert_cmpint (state_of (s, "target-base", NULL), ==, GRAFT_RUN_STATE_OUTDATED);
  g_assert_true (graft_study_set_architecture (s, "resnet18", &error));
  g_assert_cmpint (state_of (s, "head-frozen", NULL), ==, GRAFT_RUN_STATE_FINISHED);

  /* Other weights in the checkpoint file: the transfers are outdated, the baseline not. */
  g_assert_true (g_file_set_contents (ckpt, "the second, longer checkpoint", -1, NULL));
  g_clear_pointer (&why, g_free);
  g_assert_cmpint (state_of (s, "head-frozen", &why), ==, GRAFT_RUN_STATE_OUTDATED);
  g_assert_nonnull (strstr (why, "w.safetensors"));
  g_assert_cmpint (state_of (s, "target-base", NULL), ==, GRAFT_RUN_STATE_FINISHED);

  /* No checkpoint file: the checkpoint run fails, its transfers are blocked. */
  g_assert_cmpint (g_unlink (ckpt), ==, 0);
  g_ptr_array_set_size (calls, 0);
  g_assert_false (graft_study_run_all (s, fake_train, NULL, NULL, GRAFT_STUDY_DISCARD_OUTDATED,
                                       NULL, NULL, NULL, &sum, &error));
  g_assert_nonnull (error);
  g_assert_cmpuint (sum.failed, ==, 1);
  g_assert_cmpuint (sum.blocked, ==, s->runs->len - 2);
  g_assert_cmpuint (calls->len, ==, 0);
  g_clear_error (&error);
  g_assert_cmpint (state_of (s, "pretrained", NULL), ==, GRAFT_RUN_STATE_FAILED);
  g_clear_pointer (&calls, g_ptr_array_unref);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/study-arch/roundtrip", test_roundtrip);
  g_test_add_func ("/study-arch/validation", test_validation);
  g_test_add_func ("/study-arch/presets-per-arch", test_presets_per_arch);
  g_test_add_func ("/study-arch/identity-outdated", test_identity_outdated);
  return g_test_run ();
}
