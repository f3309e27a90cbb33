/* Editing a study's runs in the engine: the empty study, add, duplicate, rename (with id
 * checks and references following, and the run folders moving on save), dependants and
 * removal, and the one copy function. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "graft-error.h"
#include "graft-study.h"
#include "../data/data-test-util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

/* The ids of @s's runs, joined by spaces. */
static char *
ids (const GraftStudy *s)
{
  g_autoptr (GString) out = g_string_new (NULL);
  for (guint i = 0; i < s->runs->len; i++)
    g_string_append_printf (out, "%s%s", i ? " " : "", ((GraftStudyRun *) s->runs->pdata[i])->id);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_empty_study (void)
{
  g_autoptr (GError) error = NULL;
  GraftStudyPreset preset;
  g_assert_true (graft_study_preset_from_string ("empty", &preset, &error));
  g_assert_cmpint (preset, ==, GRAFT_STUDY_PRESET_EMPTY);
  g_autoptr (GraftStudy) s = graft_study_new_preset (preset, "/d/src", "/d/dst", NULL);
  g_assert_cmpuint (s->runs->len, ==, 0);
  g_assert_null (s->base);
  g_assert_null (s->baseline);
  g_assert_cmpstr (s->source, ==, "/d/src");
  g_assert_cmpint (s->hyper.epochs, ==, 25);   /* the paper's */
  /* Valid to save, and what is saved loads back. */
  g_assert_true (graft_study_validate (s, "study.json", &error));
  g_autofree char *tmp = g_dir_make_tmp ("graft-study-edit-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *dir = g_build_filename (tmp, "s", NULL);
  g_assert_true (graft_study_create (s, dir, &error));
  g_assert_no_error (error);
  g_autoptr (GraftStudy) back = graft_study_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->runs->len, ==, 0);
  g_assert_cmpstr (back->name, ==, "untitled");
  g_autofree char *a = graft_study_to_json (s), *b = graft_study_to_json (back);
  g_assert_cmpstr (a, ==, b);
  g_autofree char *json = g_build_filename (dir, "study.json", NULL);
  g_autofree char *runs = g_build_filename (dir, "runs", NULL);
  g_unlink (json);
  g_rmdir (runs);
  g_rmdir (dir);
  g_rmdir (tmp);
}

static void
test_add_experiment (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftStudy) s = graft_study_new_preset (GRAFT_STUDY_PRESET_EMPTY, "a", "b", NULL);
  /* The first experiment brings the base run it starts from. */
  GraftStudyRun *r = graft_study_add_experiment (s);
  g_autofree char *got = ids (s);
  g_assert_cmpstr (got, ==, "source-base experiment-2");
  g_assert_cmpstr (s->base, ==, "source-base");
  GraftStudyRun *base = graft_study_find_run (s, "source-base");
  g_assert_cmpint (base->data, ==, GRAFT_STUDY_DATA_SOURCE);
  g_assert_null (base->from);
  g_assert_cmpint (base->experiment, ==, 1);
  g_assert_cmpstr (r->id, ==, "experiment-2");
  g_assert_cmpstr (r->name, ==, "Experiment 2");
  g_assert_cmpint (r->experiment, ==, 2);
  g_assert_cmpint (r->data, ==, GRAFT_STUDY_DATA_TARGET);
  g_assert_cmpstr (r->from, ==, "source-base");
  g_assert_false (r->freeze);
  g_assert_cmpuint (g_strv_length (r->reinit), ==, 1);
  g_assert_cmpstr (r->reinit[0], ==, "dense");
  g_assert_true (graft_study_validate (s, "study", &error));
  /* The next one has the next number, and keeps the base. */
  r = graft_study_add_experiment (s);
  g_assert_cmpstr (r->id, ==, "experiment-3");
  g_assert_cmpstr (r->from, ==, "source-base");
  g_assert_cmpuint (s->runs->len, ==, 3);

  /* A preset's base is used; an id already taken gets a suffix. */
  g_autoptr (GraftStudy) p = graft_study_new_preset (GRAFT_STUDY_PRESET_PAPER, "a", "b", NULL);
  graft_study_add_run (p, "experiment-5", "x", 0, GRAFT_STUDY_DATA_TARGET, NULL, NULL, FALSE);
  r = graft_study_add_experiment (p);
  g_assert_cmpstr (r->id, ==, "experiment-5-2");
  g_assert_cmpstr (r->from, ==, "dogs120-base");
  g_assert_cmpuint (p->runs->len, ==, 10);
  g_assert_true (graft_study_validate (p, "study", &error));
}

static void
test_duplicate (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftStudy) s = graft_study_new_preset (GRAFT_STUDY_PRESET_DEMO, "a", "b", NULL);
  GraftStudyRun *c = graft_study_duplicate_run (s, "only-output-frozen", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->id, ==, "only-output-frozen-copy");
  g_assert_cmpstr (c->name, ==, "only output (copy)");
  g_assert_cmpstr (c->from, ==, "source-base");
  g_assert_true (c->freeze);
  g_assert_cmpstr (c->reinit[0], ==, "dense");
  g_assert_null (c->reinit[1]);
  /* Right after the original. */
  g_assert_true (s->runs->pdata[3] == c);
  GraftStudyRun *orig = graft_study_find_run (s, "only-output-frozen");
  g_assert_true (c->reinit != orig->reinit);
  GraftStudyRun *c2 = graft_study_duplicate_run (s, "only-output-frozen", &error);
  g_assert_cmpstr (c2->id, ==, "only-output-frozen-copy-2");
  g_assert_true (graft_study_validate (s, "study", &error));
  g_assert_null (graft_study_duplicate_run (s, "nothing", &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "“nothing”"));
}

static void
test_rename (void)
{
  g_autoptr (GraftStudy) s = graft_study_new_preset (GRAFT_STUDY_PRESET_DEMO, "a", "b", NULL);
  g_autofree char *before = graft_study_to_json (s);
  static const struct { const char *id, *message; } bad[] = {
    { "", "The id is empty" },
    { "Only Output", "may hold only a–z, 0–9" },
    { "a/b", "may hold only a–z, 0–9" },
    { ".hidden", "starts with “.”" },
    { "target-base", "Another run already has the id “target-base”" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (graft_study_rename_run (s, "source-base", bad[i].id, NULL, &error));
      g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, bad[i].message));
      g_assert_nonnull (strstr (error->message, "id"));
    }
  g_autofree char *long_id = g_strnfill (101, 'a');
  g_autoptr (GError) error = NULL;
  g_assert_false (graft_study_rename_run (s, "source-base", long_id, NULL, &error));
  g_assert_nonnull (strstr (error->message, "100 characters"));
  g_clear_error (&error);
  g_assert_false (graft_study_rename_run (s, "source-base", "ok", "  ", &error));
  g_assert_nonnull (strstr (error->message, "name is empty"));
  g_clear_error (&error);
  /* Refused edits change nothing. */
  g_autofree char *after_bad = graft_study_to_json (s);
  g_assert_cmpstr (before, ==, after_bad);

  /* The check alone: a run keeps its own id. */
  GraftStudyRun *base = graft_study_find_run (s, "source-base");
  g_assert_true (graft_study_check_run_id (s, base, "source-base", &error));
  g_assert_false (graft_study_check_run_id (s, NULL, "source-base", &error));
  g_clear_error (&error);

  /* Renaming the base: the transfer runs and "base" follow. */
  g_assert_true (graft_study_rename_run (s, "source-base", "fm8-base", "FM-8 base", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (base->id, ==, "fm8-base");
  g_assert_cmpstr (base->name, ==, "FM-8 base");
  g_assert_cmpstr (s->base, ==, "fm8-base");
  guint following = 0;
  for (guint i = 0; i < s->runs->len; i++)
    {
      GraftStudyRun *r = s->runs->pdata[i];
      g_assert_cmpstr (r->from, !=, "source-base");
      following += g_strcmp0 (r->from, "fm8-base") == 0;
    }
  g_assert_cmpuint (following, ==, 6);
  g_assert_true (graft_study_validate (s, "study", &error));
  /* The baseline too; a run whose name is kept (NULL). */
  g_assert_true (graft_study_rename_run (s, "target-base", "scratch", NULL, &error));
  g_assert_cmpstr (s->baseline, ==, "scratch");
  g_assert_cmpstr (graft_study_find_run (s, "scratch")->name, ==, "target-base");
  /* The derived config of a transfer run starts from the renamed run's folder. */
  g_autoptr (GraftTrainConfig) cfg =
    graft_study_run_config (s, graft_study_find_run (s, "only-output-frozen"), NULL);
  g_assert_true (g_str_has_suffix (cfg->init_checkpoint, "runs/fm8-base/best.safetensors"));
}

/* A file in run folder @id of study folder @dir, or NULL to say where it is. */
static char *
run_file (const char *dir, const char *id)
{
  return g_build_filename (dir, "runs", id, "metrics.csv", NULL);
}

static void
make_run (const char *dir, const char *id, const char *text)
{
  g_autofree char *f = run_file (dir, id);
  g_autofree char *d = g_path_get_dirname (f);
  g_assert_cmpint (g_mkdir_with_parents (d, 0755), ==, 0);
  g_assert_true (g_file_set_contents (f, text, -1, NULL));
}

static void
assert_run (const char *dir, const char *id, const char *text)
{
  g_autofree char *f = run_file (dir, id);
  g_autofree char *got = NULL;
  g_assert_true (g_file_get_contents (f, &got, NULL, NULL));
  g_assert_cmpstr (got, ==, text);
}

static gboolean
run_exists (const char *dir, const char *id)
{
  g_autofree char *d = g_build_filename (dir, "runs", id, NULL);
  return g_file_test (d, G_FILE_TEST_EXISTS);
}

/* A renamed run keeps its results: its folder (and a sweep's per-seed folders) moves on the
 * next save, not while a process trains it, and a save that fails moves nothing. */
static void
test_rename_folders (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("graft-study-edit-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *dir = g_build_filename (tmp, "s", NULL);
  g_autoptr (GraftStudy) s = graft_study_new_preset (GRAFT_STUDY_PRESET_DEMO, "a", "b", NULL);
  g_assert_true (graft_study_create (s, dir, &error));
  g_assert_no_error (error);
  make_run (dir, "source-base", "epochs of the base\n");

  /* Renamed in memory: nothing moves until the save. */
  g_assert_true (graft_study_rename_run (s, "source-base", "dogs-base", NULL, &error));
  g_assert_true (run_exists (dir, "source-base"));
  g_assert_true (graft_study_save (s, &error));
  g_assert_no_error (error);
  g_assert_false (run_exists (dir, "source-base"));
  assert_run (dir, "dogs-base", "epochs of the base\n");
  g_autoptr (GraftStudy) back = graft_study_load (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (graft_study_find_run (back, "dogs-base"));
  g_assert_cmpstr (graft_study_find_run (back, "dogs-base")->saved_id, ==, "dogs-base");

  /* Being trained (its lock held): the save is refused, naming the folder, and changes
   * nothing; once the lock is gone the same save moves it. */
  g_autofree char *lock = g_build_filename (dir, "runs", "dogs-base", "lock", NULL);
  int fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (flock (fd, LOCK_EX | LOCK_NB), ==, 0);
  g_autoptr (GraftStudy) busy = graft_study_load (dir, &error);
  g_assert_true (graft_study_rename_run (busy, "dogs-base", "cats-base", NULL, &error));
  g_assert_false (graft_study_save (busy, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "dogs-base"));
  g_assert_nonnull (strstr (error->message, "being trained"));
  g_clear_error (&error);
  assert_run (dir, "dogs-base", "epochs of the base\n");
  g_autoptr (GraftStudy) still = graft_study_load (dir, &error);
  g_assert_nonnull (graft_study_find_run (still, "dogs-base"));
  close (fd);
  g_assert_true (graft_study_save (busy, &error));
  g_assert_no_error (error);
  assert_run (dir, "cats-base", "epochs of the base\n");

  /* A seed sweep: each seed's folder moves; a folder already at the new id is left alone. */
  guint32 seeds[] = { 1, 2 };
  g_array_append_vals (busy->seeds, seeds, 2);
  g_assert_true (graft_study_save (busy, &error));
  make_run (dir, "target-base-seed1", "seed 1\n");
  make_run (dir, "target-base-seed2", "seed 2\n");
  make_run (dir, "scratch-seed2", "already here\n");
  g_assert_true (graft_study_rename_run (busy, "target-base", "scratch", NULL, &error));
  g_assert_true (graft_study_save (busy, &error));
  g_assert_no_error (error);
  assert_run (dir, "scratch-seed1", "seed 1\n");
  assert_run (dir, "scratch-seed2", "already here\n");
  assert_run (dir, "target-base-seed2", "seed 2\n");
  data_test_rm_rf (tmp);
}

static void
test_remove (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftStudy) s = graft_study_new_preset (GRAFT_STUDY_PRESET_PAPER, "a", "b", NULL);
  /* A chain: a run that starts from a transfer run depends on the base too. */
  graft_study_add_run (s, "second-hop", NULL, 5, GRAFT_STUDY_DATA_TARGET, "only-output-trainable",
                       NULL, FALSE);
  g_auto (GStrv) deps = graft_study_run_dependants (s, "dogs120-base");
  g_autofree char *joined = g_strjoinv (" ", deps);
  g_assert_cmpstr (joined, ==,
                   "only-output-frozen only-output-trainable 3-first-conv2d-output-frozen "
                   "3-first-conv2d-output-trainable 2-last-conv2d-output-frozen "
                   "2-last-conv2d-output-trainable second-hop");
  g_auto (GStrv) none = graft_study_run_dependants (s, "dogs-cats-base");
  g_assert_null (none[0]);

  /* The base alone is refused, naming the runs that start from it. */
  g_autofree char *before = graft_study_to_json (s);
  g_assert_false (graft_study_remove_run (s, "dogs120-base", GRAFT_STUDY_REMOVE_DEFAULT, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "“dogs120-base”"));
  g_assert_nonnull (strstr (error->message, "“only-output-frozen”"));
  g_assert_nonnull (strstr (error->message, "and “second-hop” start from its weights"));
  g_clear_error (&error);
  g_autofree char *after = graft_study_to_json (s);
  g_assert_cmpstr (before, ==, after);

  /* A leaf goes alone; the chain's middle only with its dependant. */
  g_assert_true (graft_study_remove_run (s, "2-last-conv2d-output-frozen", 0, &error));
  g_assert_false (graft_study_remove_run (s, "only-output-trainable", 0, &error));
  g_assert_nonnull (strstr (error->message, "“second-hop” starts from its weights"));
  g_clear_error (&error);
  g_assert_cmpuint (s->runs->len, ==, 8);

  /* With its dependants: only the baseline is left, and "base" is cleared. */
  g_assert_true (graft_study_remove_run (s, "dogs120-base", GRAFT_STUDY_REMOVE_DEPENDANTS,
                                         &error));
  g_assert_no_error (error);
  g_autofree char *left = ids (s);
  g_assert_cmpstr (left, ==, "dogs-cats-base");
  g_assert_null (s->base);
  g_assert_cmpstr (s->baseline, ==, "dogs-cats-base");
  g_assert_true (graft_study_validate (s, "study", &error));
  g_assert_true (graft_study_remove_run (s, "dogs-cats-base", 0, &error));
  g_assert_null (s->baseline);
  g_assert_cmpuint (s->runs->len, ==, 0);
  g_assert_true (graft_study_validate (s, "study", &error));
  g_assert_false (graft_study_remove_run (s, "dogs-cats-base", 0, &error));
  g_assert_nonnull (strstr (error->message, "no run “dogs-cats-base”"));
}

static void
test_copy (void)
{
  g_autoptr (GraftStudy) s = graft_study_new_preset (GRAFT_STUDY_PRESET_DEMO, "a", "b", NULL);
  s->dir = g_strdup ("/somewhere/study");
  guint32 seed = 7;
  g_array_append_val (s->seeds, seed);
  ((GraftStudyRun *) s->runs->pdata[2])->group = g_strdup ("g");
  ((GraftStudyRun *) s->runs->pdata[2])->seed = 9;
  g_autoptr (GraftStudy) c = graft_study_copy (s);
  g_autofree char *a = graft_study_to_json (s), *b = graft_study_to_json (c);
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpstr (c->dir, ==, "/somewhere/study");
  g_assert_cmpstr (((GraftStudyRun *) c->runs->pdata[2])->group, ==, "g");
  g_assert_cmpuint (((GraftStudyRun *) c->runs->pdata[2])->seed, ==, 9);
  /* Deep: editing the copy leaves the original. */
  GraftStudyRun *cr = c->runs->pdata[2];
  g_free (cr->reinit[0]);
  cr->reinit[0] = g_strdup ("conv2d");
  g_assert_true (graft_study_rename_run (c, "source-base", "other", NULL, NULL));
  g_assert_cmpstr (((GraftStudyRun *) s->runs->pdata[2])->reinit[0], ==, "dense");
  g_assert_cmpstr (s->base, ==, "source-base");
  /* Without a sweep the expansion is the copy, each run with the one seed listed. */
  g_autoptr (GraftStudy) e = graft_study_expand (s);
  g_autofree char *ej = graft_study_to_json (e);
  g_assert_cmpstr (ej, ==, a);
  g_assert_cmpuint (((GraftStudyRun *) e->runs->pdata[0])->seed, ==, 7);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/study-edit/empty", test_empty_study);
  g_test_add_func ("/study-edit/add", test_add_experiment);
  g_test_add_func ("/study-edit/duplicate", test_duplicate);
  g_test_add_func ("/study-edit/rename", test_rename);
  g_test_add_func ("/study-edit/rename-folders", test_rename_folders);
  g_test_add_func ("/study-edit/remove", test_remove);
  g_test_add_func ("/study-edit/copy", test_copy);
  return g_test_run ();
}
