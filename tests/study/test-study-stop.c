/* Stop while a run prepares: during the image cache build and between kernel programs the
 * runner's cancel is honoured at once (asserted by counts, never by time), the run is left
 * "stopped", and a rerun ends bit-identical to a run never stopped. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "graft-study.h"
#include "../graft-test.h"
#include "../data/data-test-util.h"

#define PER_CLASS 60
#define THREADS   2

typedef struct {
  GCancellable *cancellable;
  const char   *cancel_at;     /* cancel at the first PREPARE event whose message starts so */
  int           cancel_epoch;  /* or at the first batch of this epoch (0: never) */
  guint         cache_events, cache_last_done, cache_total;
  guint         compile_events, kernel_events, train_events;
  gboolean      cancelled_in_cache;
} Watch;

static gint hook_calls;
static gint hook_after_cancel;   /* images finished once the stop was already asked for */
static gint hook_cancel_at;
static GCancellable *hook_cancellable;

/* Worker threads: one call per image written. */
static void
build_hook (guint done, gpointer user_data)
{
  g_atomic_int_inc (&hook_calls);
  if (hook_cancellable && g_cancellable_is_cancelled (hook_cancellable))
    g_atomic_int_inc (&hook_after_cancel);
  if (hook_cancel_at > 0 && (gint) done == hook_cancel_at)
    g_cancellable_cancel (hook_cancellable);
}

static void
progress_cb (const GraftStudyProgress *p, gpointer user_data)
{
  Watch *w = user_data;
  if (p->event != GRAFT_STUDY_EVENT_RUN_TRAIN)
    return;
  const GraftTrainProgress *t = p->train;
  if (t->stage == GRAFT_TRAIN_STAGE_PREPARE && t->message)
    {
      if (g_str_has_prefix (t->message, "Building image cache"))
        {
          w->cache_events++;
          w->cache_last_done = (guint) t->done;
          w->cache_total = (guint) t->total;
        }
      if (g_str_has_prefix (t->message, "Compiling kernels"))
        w->compile_events++;
      if (strstr (t->message, " kernels ("))
        w->kernel_events++;
      if (w->cancel_at && g_str_has_prefix (t->message, w->cancel_at))
        g_cancellable_cancel (w->cancellable);
    }
  else if (t->stage == GRAFT_TRAIN_STAGE_TRAIN)
    {
      w->train_events++;
      if (w->cancel_epoch && t->epoch == w->cancel_epoch)
        g_cancellable_cancel (w->cancellable);
    }
}

static GraftStudy *
make_study (const char *dir, const char *data)
{
  GraftStudyHyper h;
  graft_study_hyper_init_demo (&h);
  h.epochs = 2;
  h.batch = 16;
  GraftStudy *s = graft_study_new ();
  s->hyper = h;
  g_free (s->name);
  g_free (s->source);
  g_free (s->target);
  s->name = g_strdup ("stop");
  s->source = g_strdup (data);
  s->target = g_strdup (data);
  graft_study_add_run (s, "base", "base", 1, GRAFT_STUDY_DATA_SOURCE, NULL, NULL, FALSE);
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_study_create (s, dir, &error));
  g_assert_no_error (error);
  return s;
}

static GraftRunStatus
status_of (GraftStudy *s)
{
  GraftRunStatus st = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_study_run_status (s, graft_study_find_run (s, "base"), &st, &error));
  g_assert_no_error (error);
  return st;
}

static gboolean
run_study (GraftStudy *s, Watch *w, GError **error)
{
  return graft_study_run_all (s, graft_train_run, g_getenv ("GRAFT_TEST_DEVICE"), NULL, 0,
                              progress_cb, w, w->cancellable, NULL, error);
}

static guint
count_files (const char *dir, const char *suffix)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    n += g_str_has_suffix (name, suffix);
  return n;
}

static char *
read_file (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  return text;
}

/* metrics.csv without its timing columns (seconds, images_per_second). */
static char *
metrics_less_timing (const char *run_dir)
{
  g_autofree char *text = read_file (run_dir, "metrics.csv");
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GString) out = g_string_new (NULL);
  for (guint i = 0; lines[i]; i++)
    {
      g_auto (GStrv) cols = g_strsplit (lines[i], ",", -1);
      if (g_strv_length (cols) >= 6)
        g_string_append_printf (out, "%s,%s,%s,%s,%s,%s\n", cols[0], cols[1], cols[2], cols[3],
                                cols[4], cols[5]);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_stop_while_preparing (void)
{
  g_autofree char *tmp = data_test_tmpdir ();
  g_autofree char *data = g_build_filename (tmp, "data", NULL);
  g_autofree char *images = g_build_filename (tmp, "image-cache", NULL);
  g_autofree char *kernels = g_build_filename (tmp, "kernel-cache", NULL);
  g_autofree char *sdir = g_build_filename (tmp, "stopped", NULL);
  g_autofree char *rdir = g_build_filename (tmp, "reference", NULL);
  data_test_colour_dataset (data, PER_CLASS, 11);
  g_setenv ("GRAFT_IMAGE_CACHE", images, TRUE);
  g_autofree char *warm_kernels = g_strdup (g_getenv ("GRAFT_KERNEL_CACHE"));
  graft_data_set_threads (THREADS);
  g_autoptr (GraftStudy) s = make_study (sdir, data);
  g_autoptr (GError) error = NULL;

  /* 1. Stop in the image cache build, after its 5th image. */
  g_autoptr (GCancellable) c1 = g_cancellable_new ();
  Watch w1 = { .cancellable = c1 };
  hook_cancellable = c1;
  hook_cancel_at = 5;
  graft_image_cache_set_build_hook (build_hook, NULL);
  g_assert_false (run_study (s, &w1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  graft_image_cache_set_build_hook (NULL, NULL);
  /* Each worker finishes the image it holds, and takes no other: once the stop is asked for,
   * at most one image per other worker is still written. (How many images the others finish
   * between the 5th image's count and the hook that stops is up to the scheduler.) */
  g_test_message ("images written: %d, %d of them after the stop", hook_calls,
                  hook_after_cancel);
  g_assert_cmpint (hook_calls, >=, 5);
  g_assert_cmpint (hook_calls, <, 2 * PER_CLASS);
  g_assert_cmpint (hook_after_cancel, <=, THREADS - 1);
  g_assert_cmpuint (w1.cache_events, >, 0);
  g_assert_cmpuint (w1.cache_total, ==, 2 * PER_CLASS);
  g_assert_cmpuint (w1.cache_last_done, <, w1.cache_total);
  g_assert_cmpuint (w1.kernel_events, ==, 0);   /* nothing after the cache was started */
  g_assert_cmpuint (w1.train_events, ==, 0);
  g_assert_cmpuint (count_files (images, ".cache"), ==, 0);   /* never finished, never in place */
  GraftRunStatus st = status_of (s);
  g_assert_cmpint (st.state, ==, GRAFT_RUN_STATE_STOPPED);
  g_assert_cmpint (st.epochs_done, ==, 0);
  graft_run_status_clear (&st);

  /* 2. Stop between kernel programs: with an empty kernel cache exactly one is compiled. */
  g_setenv ("GRAFT_KERNEL_CACHE", kernels, TRUE);
  g_autoptr (GCancellable) c2 = g_cancellable_new ();
  Watch w2 = { .cancellable = c2, .cancel_at = "Compiling kernels" };
  g_assert_false (run_study (s, &w2, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (w2.cache_last_done, ==, w2.cache_total);   /* this time the cache was built */
  g_assert_cmpuint (count_files (images, ".cache"), ==, 1);
  g_assert_cmpuint (w2.compile_events, ==, 1);
  g_assert_cmpuint (count_files (kernels, ".bin"), ==, 1);
  g_assert_cmpuint (w2.train_events, ==, 0);
  st = status_of (s);
  g_assert_cmpint (st.state, ==, GRAFT_RUN_STATE_STOPPED);
  graft_run_status_clear (&st);
  if (warm_kernels)
    g_setenv ("GRAFT_KERNEL_CACHE", warm_kernels, TRUE);
  else
    g_unsetenv ("GRAFT_KERNEL_CACHE");

  /* 3. Stop in the first batch of epoch 2: epoch 1 stays committed. */
  g_autoptr (GCancellable) c3 = g_cancellable_new ();
  Watch w3 = { .cancellable = c3, .cancel_epoch = 2 };
  g_assert_false (run_study (s, &w3, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  st = status_of (s);
  g_assert_cmpint (st.state, ==, GRAFT_RUN_STATE_STOPPED);
  g_assert_cmpint (st.epochs_done, ==, 1);
  graft_run_status_clear (&st);

  /* 4. The rerun finishes, as a run never stopped does. */
  Watch w4 = { 0 };
  g_assert_true (run_study (s, &w4, &error));
  g_assert_no_error (error);
  st = status_of (s);
  g_assert_cmpint (st.state, ==, GRAFT_RUN_STATE_FINISHED);
  g_assert_cmpint (st.epochs_done, ==, 2);
  graft_run_status_clear (&st);

  g_autoptr (GraftStudy) r = make_study (rdir, data);
  Watch w5 = { 0 };
  g_assert_true (run_study (r, &w5, &error));
  g_assert_no_error (error);
  g_autofree char *srun = g_build_filename (sdir, "runs", "base", NULL);
  g_autofree char *rrun = g_build_filename (rdir, "runs", "base", NULL);
  g_autofree char *sm = metrics_less_timing (srun), *rm = metrics_less_timing (rrun);
  g_assert_cmpstr (sm, ==, rm);
  gsize sl = 0, rl = 0;
  g_autofree char *sb = NULL, *rb = NULL;
  g_autofree char *sp = g_build_filename (srun, "best.safetensors", NULL);
  g_autofree char *rp = g_build_filename (rrun, "best.safetensors", NULL);
  g_assert_true (g_file_get_contents (sp, &sb, &sl, NULL));
  g_assert_true (g_file_get_contents (rp, &rb, &rl, NULL));
  g_assert_cmpmem (sb, sl, rb, rl);

  graft_data_set_threads (0);
  data_test_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GraftContext) ctx = graft_test_context ();   /* skips without a device */
  g_test_add_func ("/study-stop/while-preparing", test_stop_while_preparing);
  return g_test_run ();
}
