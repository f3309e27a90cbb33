/* Studies end to end with a fake trainer: study.json, runner order/resume/failure, table, smoothing, figures. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "graft-plot.h"
#include "graft-results.h"
#include "graft-run.h"
#include "graft-study.h"

/* ---- the fake trainer ----------------------------------------------------
 * Writes metrics.csv (epoch rows, resuming after the rows already there),
 * run.json and best.safetensors like graft_train_run would, from curves the
 * test keeps so that it can compute the expected table itself. */

typedef struct {
  GPtrArray  *calls;      /* out_dir basenames, in call order */
  GPtrArray  *configs;    /* GraftTrainConfig* copies (owned by the test) */
  GHashTable *fail;       /* run ids whose training fails */
  GHashTable *stop_at;    /* run id → epochs after which the fake "dies" (status running) */
} Fake;

static Fake fake;

static double
fake_val_acc (const char *id, int epoch)
{
  guint h = g_str_hash (id);
  double level = 0.6 + (h % 300) / 1000.0;
  /* A sweep's seeds (ids "…-seedN") differ by a few points, as real seeds do. */
  const char *seed = strstr (id, "-seed");
  if (seed)
    level += 0.02 * (atoi (seed + 5) % 3);
  double jitter = ((h >> (epoch % 16)) % 97) / 97.0 - 0.5;
  return level - 0.3 * exp (-epoch / 2.0) + 0.04 * jitter;
}

static gboolean
fake_write_cb (const char *path, gpointer user_data, GError **error)
{
  return g_file_set_contents (path, user_data, -1, error);
}

/* Commits epochs through the run module, as graft_train_run does, up to @rows. */
static void
fake_commit (const GraftTrainConfig *cfg, const char *id, int rows, GraftRunState end)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) identity = graft_run_identity_new (cfg);
  g_autoptr (GraftRun) run = graft_run_begin (cfg->out_dir, identity, &error);
  g_assert_no_error (error);
  for (int e = graft_run_epochs_done (run) + 1; e <= rows; e++)
    {
      double va = fake_val_acc (id, e);
      GraftEpochMetrics row = { e, 1.0 / e, va + 0.02, 1.1 - va, va, 1e-4, 2.0, 100.0 };
      /* Weights that change with what a real run's weights would change with. */
      JsonObject *o = json_node_get_object (identity);
      g_autofree char *reinit = cfg->reinit_layers ? g_strjoinv (",", cfg->reinit_layers) : NULL;
      g_autofree char *weights = g_strdup_printf (
        "weights of %s after epoch %d, lr %g, data %s, init %s, reinit %s", id, e, cfg->lr,
        json_object_get_string_member (o, "data_signature"),
        json_object_get_string_member (o, "init_sha256"), reinit ? reinit : "");
      g_assert_true (graft_run_commit_epoch (run, &row, e * 10, fake_write_cb, fake_write_cb,
                                             weights, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_true (graft_run_set_status (run, end, "Fake CPU, \"quoted\"", NULL, &error));
}

static gboolean
fake_train (const GraftTrainConfig *cfg, GraftTrainProgressFunc progress, gpointer user_data,
            GCancellable *cancellable, GError **error)
{
  g_autofree char *id = g_path_get_basename (cfg->out_dir);
  g_ptr_array_add (fake.calls, g_strdup (id));
  g_ptr_array_add (fake.configs, graft_train_config_copy (cfg));
  if (g_hash_table_contains (fake.fail, id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no class folders", cfg->data_dir);
      return FALSE;
    }
  int stop = GPOINTER_TO_INT (g_hash_table_lookup (fake.stop_at, id));
  int rows = stop > 0 ? stop : cfg->epochs;
  fake_commit (cfg, id, rows, stop > 0 ? GRAFT_RUN_STATE_RUNNING : GRAFT_RUN_STATE_FINISHED);
  GraftTrainProgress p = { .stage = GRAFT_TRAIN_STAGE_EPOCH_END, .epoch = rows,
                           .epochs = cfg->epochs };
  if (progress)
    progress (&p, user_data);
  if (stop > 0)
    {
      g_hash_table_remove (fake.stop_at, id);   /* the next call finishes */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "interrupted");
      g_cancellable_cancel (cancellable);
      return FALSE;
    }
  return TRUE;
}

static void
fake_reset (void)
{
  g_clear_pointer (&fake.calls, g_ptr_array_unref);
  g_clear_pointer (&fake.configs, g_ptr_array_unref);
  g_clear_pointer (&fake.fail, g_hash_table_unref);
  g_clear_pointer (&fake.stop_at, g_hash_table_unref);
  fake.calls = g_ptr_array_new_with_free_func (g_free);
  fake.configs = g_ptr_array_new_with_free_func ((GDestroyNotify) graft_train_config_free);
  fake.fail = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  fake.stop_at = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static guint
calls_of (const char *id)
{
  guint n = 0;
  for (guint i = 0; i < fake.calls->len; i++)
    n += g_str_equal (fake.calls->pdata[i], id);
  return n;
}

static int
call_index (const char *id)
{
  for (guint i = 0; i < fake.calls->len; i++)
    if (g_str_equal (fake.calls->pdata[i], id))
      return (int) i;
  return -1;
}

/* A tiny study: base on the source, baseline and three transfer runs. */
static GraftStudy *
tiny_study (const char *dir)
{
  GraftStudy *s = graft_study_new ();
  g_free (s->source);
  s->source = g_strdup ("src");
  g_free (s->target);
  s->target = g_strdup ("/data/target");
  s->hyper.epochs = 7;
  s->base = g_strdup ("base");
  s->baseline = g_strdup ("scratch");
  static const char *const head[] = { "dense", NULL };
  static const char *const last2[] = { "conv2d_3", "separable_conv2d_6", "dense", NULL };
  /* The transfer runs come first in the file: the runner must still train base first. */
  graft_study_add_run (s, "head-frozen", "only output", 2, GRAFT_STUDY_DATA_TARGET, "base", head, TRUE);
  graft_study_add_run (s, "head-trainable", "only output", 2, GRAFT_STUDY_DATA_TARGET, "base", head, FALSE);
  graft_study_add_run (s, "last2-frozen", "2-last-conv2d & output", 4, GRAFT_STUDY_DATA_TARGET, "base", last2, TRUE);
  graft_study_add_run (s, "base", "source \"base\"", 1, GRAFT_STUDY_DATA_SOURCE, NULL, NULL, FALSE);
  graft_study_add_run (s, "scratch", "scratch, target", 1, GRAFT_STUDY_DATA_TARGET, NULL, NULL, FALSE);
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_study_create (s, dir, &error));
  g_assert_no_error (error);
  return s;
}

static char *
make_tmpdir (void)
{
  g_autoptr (GError) error = NULL;
  char *d = g_dir_make_tmp ("graft-study-XXXXXX", &error);
  g_assert_no_error (error);
  return d;
}

static void
rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      const char *n;
      while (d && (n = g_dir_read_name (d)))
        {
          g_autofree char *c = g_build_filename (path, n, NULL);
          rm_rf (c);
        }
      if (d)
        g_dir_close (d);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

/* ---- a small RFC 4180 reader, independent of the writer ----------------- */

static GPtrArray *
csv_parse (const char *t)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GPtrArray *row = g_ptr_array_new_with_free_func (g_free);
  GString *f = g_string_new (NULL);
  const char *p = t;
  while (*p)
    {
      if (*p == '"')
        {
          for (p++; *p; p++)
            {
              if (*p == '"' && p[1] == '"')
                g_string_append_c (f, '"'), p++;
              else if (*p == '"')
                {
                  p++;
                  break;
                }
              else
                g_string_append_c (f, *p);
            }
        }
      else if (*p == ',')
        {
          g_ptr_array_add (row, g_strdup (f->str));
          g_string_truncate (f, 0);
          p++;
        }
      else if (*p == '\r' && p[1] == '\n')
        {
          g_ptr_array_add (row, g_strdup (f->str));
          g_string_truncate (f, 0);
          g_ptr_array_add (rows, row);
          row = g_ptr_array_new_with_free_func (g_free);
          p += 2;
        }
      else
        {
          g_assert_cmpint (*p, !=, '\n');   /* bare LF: not RFC 4180 */
          g_string_append_c (f, *p++);
        }
    }
  g_assert_cmpuint (row->len, ==, 0);   /* the last record ends with CRLF */
  g_ptr_array_unref (row);
  g_string_free (f, TRUE);
  return rows;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_paper_preset (void)
{
  g_autoptr (GraftStudy) s = graft_study_new_preset (GRAFT_STUDY_PRESET_PAPER, "/d/dogs", "/d/cats", NULL);
  /* KERAS-MODEL.md, "The study's experiments", and the report's Table 2 rows. */
  static const struct {
    const char *id, *name, *from, *reinit;
    gboolean freeze;
    int exp;
    GraftStudyData data;
  } want[] = {
    { "dogs120-base", "dogs120-base", NULL, NULL, FALSE, 1, GRAFT_STUDY_DATA_SOURCE },
    { "dogs-cats-base", "dogs-cats-base", NULL, NULL, FALSE, 1, GRAFT_STUDY_DATA_TARGET },
    { "only-output-frozen", "only output", "dogs120-base", "dense", TRUE, 2, GRAFT_STUDY_DATA_TARGET },
    { "only-output-trainable", "only output", "dogs120-base", "dense", FALSE, 2, GRAFT_STUDY_DATA_TARGET },
    { "3-first-conv2d-output-frozen", "3-first-conv2d & output", "dogs120-base",
      "conv2d separable_conv2d separable_conv2d_1 dense", TRUE, 3, GRAFT_STUDY_DATA_TARGET },
    { "3-first-conv2d-output-trainable", "3-first-conv2d & output", "dogs120-base",
      "conv2d separable_conv2d separable_conv2d_1 dense", FALSE, 3, GRAFT_STUDY_DATA_TARGET },
    { "2-last-conv2d-output-frozen", "2-last-conv2d & output", "dogs120-base",
      "conv2d_3 separable_conv2d_6 dense", TRUE, 4, GRAFT_STUDY_DATA_TARGET },
    { "2-last-conv2d-output-trainable", "2-last-conv2d & output", "dogs120-base",
      "conv2d_3 separable_conv2d_6 dense", FALSE, 4, GRAFT_STUDY_DATA_TARGET },
  };
  g_assert_cmpuint (s->runs->len, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      GraftStudyRun *r = s->runs->pdata[i];
      g_assert_cmpstr (r->id, ==, want[i].id);
      g_assert_cmpstr (r->name, ==, want[i].name);
      g_assert_cmpstr (r->from, ==, want[i].from);
      g_autofree char *re = r->reinit ? g_strjoinv (" ", r->reinit) : NULL;
      g_assert_cmpstr (re, ==, want[i].reinit);
      g_assert_cmpint (r->freeze, ==, want[i].freeze);
      g_assert_cmpint (r->experiment, ==, want[i].exp);
      g_assert_cmpint (r->data, ==, want[i].data);
    }
  g_assert_cmpint (s->hyper.epochs, ==, 25);
  g_assert_cmpint (s->hyper.batch, ==, 64);
  g_assert_cmpfloat (s->hyper.lr, ==, 1e-4);
  g_assert_cmpint (s->hyper.image_size, ==, 180);
  g_assert_cmpstr (s->base, ==, "dogs120-base");
  g_assert_cmpstr (s->baseline, ==, "dogs-cats-base");

  g_autofree char *slug = graft_study_slug ("  3-First--conv2d & Output! ");
  g_assert_cmpstr (slug, ==, "3-first-conv2d-output");

  g_autoptr (GraftStudy) demo = graft_study_new_preset (GRAFT_STUDY_PRESET_DEMO, "a", "b", NULL);
  g_assert_cmpuint (demo->runs->len, ==, 8);
  g_assert_cmpint (demo->hyper.image_size, ==, 32);
  g_assert_cmpfloat (demo->hyper.width, ==, 0.25);
}

static void
test_json_roundtrip (void)
{
  GraftStudyHyper h;
  graft_study_hyper_init_demo (&h);
  h.epochs = 3;
  h.lr = 0.00125;
  h.seed = 4000000000u;
  h.patience = 2;
  h.augment = FALSE;
  h.split = GRAFT_SPLIT_KERAS;
  h.filter = GRAFT_FILTER_KERAS_JFIF;
  g_autoptr (GraftStudy) a = graft_study_new_preset (GRAFT_STUDY_PRESET_DEMO, "fm/src", "fm/dst", &h);
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *sdir = g_build_filename (dir, "s", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_study_create (a, sdir, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (sdir, G_FILE_TEST_IS_DIR));
  g_assert_false (graft_study_create (a, sdir, &error));   /* never overwrite a study */
  g_assert_nonnull (strstr (error->message, "study.json"));
  g_clear_error (&error);

  g_autoptr (GraftStudy) b = graft_study_load (sdir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (b->hyper.epochs, ==, 3);
  g_assert_cmpfloat (b->hyper.lr, ==, 0.00125);
  g_assert_cmpuint (b->hyper.seed, ==, 4000000000u);
  g_assert_cmpint (b->hyper.patience, ==, 2);
  g_assert_false (b->hyper.augment);
  g_assert_cmpint (b->hyper.split, ==, GRAFT_SPLIT_KERAS);
  g_assert_cmpint (b->hyper.filter, ==, GRAFT_FILTER_KERAS_JFIF);
  g_assert_cmpfloat (b->hyper.width, ==, 0.25);
  g_assert_cmpstr (b->source, ==, "fm/src");
  g_autofree char *ja = graft_study_to_json (a);
  g_autofree char *jb = graft_study_to_json (b);
  g_assert_cmpstr (ja, ==, jb);

  /* Derived configs: relative data folders resolve against the study folder. */
  GraftTrainConfig *c = graft_study_run_config (b, graft_study_find_run (b, "only-output-frozen"), "1");
  g_autofree char *want_data = g_build_filename (sdir, "fm/dst", NULL);
  g_autofree char *want_init = g_build_filename (sdir, "runs", "source-base", "best.safetensors", NULL);
  g_assert_cmpstr (c->data_dir, ==, want_data);
  g_assert_cmpstr (c->init_checkpoint, ==, want_init);
  g_assert_cmpstr (c->device, ==, "1");
  g_assert_cmpstr (c->freeze_layers[0], ==, "transferred");
  g_assert_null (c->freeze_layers[1]);
  g_assert_cmpstr (c->reinit_layers[0], ==, "dense");
  g_assert_cmpint (c->epochs, ==, 3);
  g_assert_cmpint (c->image_size, ==, 32);
  graft_train_config_free (c);
  c = graft_study_run_config (b, graft_study_find_run (b, "source-base"), NULL);
  g_autofree char *want_src = g_build_filename (sdir, "fm/src", NULL);
  g_assert_cmpstr (c->data_dir, ==, want_src);
  g_assert_null (c->init_checkpoint);
  g_assert_null (c->freeze_layers);
  g_assert_null (c->reinit_layers);
  graft_train_config_free (c);
  rm_rf (dir);
}

static void
test_json_reject (void)
{
  static const struct {
    const char *text, *key;
  } bad[] = {
    { "{\"source\":\"a\",\"target\":\"b\",\"runs\":[{\"id\":\"x\",\"data\":\"source\"}]}", "format" },
    { "{\"format\":2,\"source\":\"a\",\"target\":\"b\",\"runs\":[]}", "format" },
    { "{\"format\":1,\"target\":\"b\",\"runs\":[{\"id\":\"x\",\"data\":\"source\"}]}", "source" },
    { "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"train\":{\"epochs\":\"ten\"},"
      "\"runs\":[{\"id\":\"x\",\"data\":\"source\"}]}", "train.epochs" },
    { "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"train\":{\"lr\":-1},"
      "\"runs\":[{\"id\":\"x\",\"data\":\"source\"}]}", "train.lr" },
    { "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"train\":{\"split\":\"random\"},"
      "\"runs\":[{\"id\":\"x\",\"data\":\"source\"}]}", "train.split" },
    { "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"runs\":{}}", "runs" },
    { "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"runs\":[{\"id\":\"Only Output\",\"data\":\"target\"}]}",
      "runs[0].id" },
    { "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"runs\":[{\"id\":\"x\",\"data\":\"target\"},"
      "{\"id\":\"x\",\"data\":\"target\"}]}", "runs[1].id" },
    { "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"runs\":[{\"id\":\"x\",\"data\":\"other\"}]}",
      "runs[0].data" },
    { "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"runs\":[{\"id\":\"x\",\"data\":\"target\","
      "\"from\":\"nope\"}]}", "runs[0].from" },
    { "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"runs\":[{\"id\":\"x\",\"data\":\"target\","
      "\"from\":\"y\"},{\"id\":\"y\",\"data\":\"target\",\"from\":\"x\"}]}", "from" },
    { "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"runs\":[{\"id\":\"x\",\"data\":\"target\","
      "\"freeze\":\"maybe\"}]}", "runs[0].freeze" },
    { "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"runs\":[{\"id\":\"x\",\"data\":\"target\","
      "\"reinit\":[\"dense\",3]}]}", "runs[0].reinit" },
    { "{\"format\":1,\"source\":\"a\",\"target\":\"b\",\"baseline\":\"z\","
      "\"runs\":[{\"id\":\"x\",\"data\":\"target\"}]}", "baseline" },
    { "{\"format\":1,", "JSON" },
    { "[1,2]", "object" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GraftStudy) s = graft_study_from_json (bad[i].text, -1, "/x/study.json", &error);
      g_assert_null (s);
      g_assert_nonnull (error);
      g_test_message ("case %u: %s", i, error->message);
      g_assert_true (g_str_has_prefix (error->message, "/x/study.json: "));
      if (strstr (error->message, bad[i].key) == NULL)
        g_error ("case %u: “%s” does not name “%s”", i, error->message, bad[i].key);
    }
  /* A missing file names the file. */
  g_autoptr (GError) error = NULL;
  g_assert_null (graft_study_load ("/nonexistent/graft/study.json", &error));
  g_assert_nonnull (strstr (error->message, "/nonexistent/graft/study.json"));
}

typedef struct {
  guint start, train, finished, skipped, failed, blocked, outdated;
} Events;

static void
progress_cb (const GraftStudyProgress *p, gpointer user_data)
{
  Events *e = user_data;
  g_assert_cmpuint (p->index, <, p->count);
  switch (p->event)
    {
    case GRAFT_STUDY_EVENT_RUN_START: e->start++; break;
    case GRAFT_STUDY_EVENT_RUN_TRAIN: e->train++; g_assert_nonnull (p->train); break;
    case GRAFT_STUDY_EVENT_RUN_FINISHED: e->finished++; break;
    case GRAFT_STUDY_EVENT_RUN_SKIPPED: e->skipped++; break;
    case GRAFT_STUDY_EVENT_RUN_FAILED: e->failed++; g_assert_nonnull (p->error); break;
    case GRAFT_STUDY_EVENT_RUN_BLOCKED: e->blocked++; g_assert_nonnull (p->error); break;
    case GRAFT_STUDY_EVENT_RUN_OUTDATED: e->outdated++; g_assert_nonnull (p->message); break;
    }
}

static guint32
png_pixel (cairo_surface_t *s, int x, int y)
{
  const guint8 *d = cairo_image_surface_get_data (s);
  return *(const guint32 *) (d + y * cairo_image_surface_get_stride (s) + x * 4);
}

/* Counts pixels in columns [x0, x1) that are not white, and those with a
 * clear hue (the curves; grid, frame and text are grey). */
static void
count_pixels (cairo_surface_t *s, int x0, int x1, guint *ink, guint *colour)
{
  *ink = *colour = 0;
  for (int y = 0; y < cairo_image_surface_get_height (s); y++)
    for (int x = x0; x < x1; x++)
      {
        guint32 p = png_pixel (s, x, y);
        int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
        if (r < 245 || g < 245 || b < 245)
          (*ink)++;
        if (MAX (MAX (abs (r - g), abs (g - b)), abs (r - b)) > 60)
          (*colour)++;
      }
}

static void
test_run_table_figure (void)
{
  fake_reset ();
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (GraftStudy) s = tiny_study (dir);
  Events ev = { 0 };
  GraftStudySummary sum;
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_study_run_all (s, fake_train, "0", NULL, 0, progress_cb, &ev, NULL, &sum, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fake.calls->len, ==, 5);
  g_assert_cmpuint (sum.trained, ==, 5);
  g_assert_cmpuint (ev.start, ==, 5);
  g_assert_cmpuint (ev.finished, ==, 5);
  g_assert_cmpuint (ev.train, ==, 5);
  /* The base before everything that transfers from it. */
  g_assert_cmpint (call_index ("base"), <, call_index ("head-frozen"));
  g_assert_cmpint (call_index ("base"), <, call_index ("head-trainable"));
  g_assert_cmpint (call_index ("base"), <, call_index ("last2-frozen"));
  for (guint i = 0; i < fake.configs->len; i++)
    {
      GraftTrainConfig *c = fake.configs->pdata[i];
      g_autofree char *id = g_path_get_basename (c->out_dir);
      g_assert_cmpstr (c->device, ==, "0");
      g_assert_cmpint (c->epochs, ==, 7);
      if (g_str_equal (id, "base"))
        {
          g_autofree char *src = g_build_filename (dir, "src", NULL);
          g_assert_cmpstr (c->data_dir, ==, src);
          g_assert_null (c->init_checkpoint);
        }
      else
        g_assert_cmpstr (c->data_dir, ==, "/data/target");
      if (g_str_equal (id, "last2-frozen"))
        {
          g_autofree char *want = g_build_filename (dir, "runs", "base", "best.safetensors", NULL);
          g_assert_cmpstr (c->init_checkpoint, ==, want);
          g_assert_cmpstr (c->reinit_layers[1], ==, "separable_conv2d_6");
          g_assert_cmpstr (c->freeze_layers[0], ==, "transferred");
        }
      if (g_str_equal (id, "head-trainable"))
        g_assert_null (c->freeze_layers);
    }

  /* A second run trains nothing. */
  g_assert_true (graft_study_run_all (s, fake_train, NULL, NULL, 0, NULL, NULL, NULL, &sum, &error));
  g_assert_cmpuint (fake.calls->len, ==, 5);
  g_assert_cmpuint (sum.skipped, ==, 5);

  /* The table, read back with an independent CSV reader. */
  g_autofree char *csv = g_build_filename (dir, "results.csv", NULL);
  g_assert_true (graft_study_write_table (s, csv, GRAFT_TABLE_CSV, &error));
  g_assert_no_error (error);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_autoptr (GPtrArray) rows = csv_parse (text);
  g_assert_cmpuint (rows->len, ==, 1 + s->runs->len);
  GPtrArray *hdr = rows->pdata[0];
  g_assert_cmpstr (hdr->pdata[0], ==, "Exp.");
  g_assert_cmpstr (hdr->pdata[2], ==, "Model");
  g_assert_cmpstr (hdr->pdata[3], ==, "Best val. acc.");
  for (guint i = 0; i < s->runs->len; i++)
    {
      GraftStudyRun *r = s->runs->pdata[i];
      GPtrArray *row = rows->pdata[i + 1];
      g_assert_cmpuint (row->len, ==, hdr->len);
      double best = -1;
      int best_e = 0;
      for (int e = 1; e <= 7; e++)
        if (fake_val_acc (r->id, e) > best + 5e-7)   /* file keeps 6 decimals */
          best = fake_val_acc (r->id, e), best_e = e;
      g_assert_cmpstr (row->pdata[2], ==, r->name);   /* quotes, commas survive */
      g_assert_cmpstr (row->pdata[1], ==, r->freeze ? "True" : "False");
      g_assert_cmpfloat_with_epsilon (g_ascii_strtod (row->pdata[3], NULL), best, 6e-5);
      g_assert_cmpint (atoi (row->pdata[4]), ==, best_e);
      g_assert_cmpfloat_with_epsilon (g_ascii_strtod (row->pdata[5], NULL), fake_val_acc (r->id, 7), 6e-5);
      g_assert_cmpint (atoi (row->pdata[6]), ==, 7);
      g_assert_cmpfloat_with_epsilon (g_ascii_strtod (row->pdata[7], NULL), 14.0, 1e-9);
      g_assert_cmpstr (row->pdata[8], ==, "Fake CPU, \"quoted\"");
      g_assert_cmpstr (row->pdata[9], ==, "finished");
    }
  g_autofree char *md = g_build_filename (dir, "results.md", NULL);
  g_assert_true (graft_study_write_table (s, md, GRAFT_TABLE_MARKDOWN, &error));
  g_autofree char *mdt = NULL;
  g_assert_true (g_file_get_contents (md, &mdt, NULL, NULL));
  g_assert_nonnull (strstr (mdt, "| 4 | True | 2-last-conv2d & output |"));

  /* Figures: Figure-1 layout in each format, then one panel of chosen runs. */
  g_autoptr (GraftPlotFigure) fig = graft_study_figure (s, GRAFT_METRIC_VAL_ACC, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fig->panels->len, ==, 2);
  GraftPlotPanel *left = fig->panels->pdata[0], *right = fig->panels->pdata[1];
  g_assert_cmpuint (left->series->len, ==, 3);    /* baseline + 2 frozen */
  g_assert_cmpuint (right->series->len, ==, 2);   /* baseline + 1 trainable */
  g_assert_cmpint (right->smoothing.kind, ==, GRAFT_SMOOTH_WINDOW);
  g_assert_cmpint (right->smoothing.window, ==, 5);
  /* One colour per experiment in both panels. */
  GraftPlotSeries *lo = left->series->pdata[1], *ro = right->series->pdata[1];
  g_assert_cmpstr (lo->label, ==, "only output");
  g_assert_cmpstr (ro->label, ==, "only output");
  g_assert_cmpmem (lo->rgb, sizeof lo->rgb, ro->rgb, sizeof ro->rgb);
  for (int k = 0; k < 3; k++)
    {
      static const char *const ext[] = { "png", "svg", "pdf" };
      static const char *const magic[] = { "\x89PNG", "<?xml", "%PDF" };
      g_autofree char *name = g_strdup_printf ("fig.%s", ext[k]);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_true (graft_plot_write (fig, path, 1100, 420, 96, &error));
      g_assert_no_error (error);
      g_autofree char *head = NULL;
      gsize len = 0;
      g_assert_true (g_file_get_contents (path, &head, &len, NULL));
      g_assert_cmpuint (len, >, 1000);
      g_assert_true (g_str_has_prefix (head, magic[k]));
    }
  g_autofree char *png = g_build_filename (dir, "fig.png", NULL);
  cairo_surface_t *img = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (img), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (img), ==, 1100);
  g_assert_cmpint (cairo_image_surface_get_height (img), ==, 420);
  guint ink, colour;
  count_pixels (img, 0, 550, &ink, &colour);
  g_test_message ("left panel: %u ink, %u coloured pixels", ink, colour);
  g_assert_cmpuint (ink, >, 5000);
  g_assert_cmpuint (colour, >, 800);
  count_pixels (img, 550, 1100, &ink, &colour);
  g_test_message ("right panel: %u ink, %u coloured pixels", ink, colour);
  g_assert_cmpuint (ink, >, 5000);
  g_assert_cmpuint (colour, >, 400);
  cairo_surface_destroy (img);

  g_autofree char *png2 = g_build_filename (dir, "fig2x.png", NULL);
  g_assert_true (graft_plot_write (fig, png2, 600, 300, 192, &error));
  img = cairo_image_surface_create_from_png (png2);
  g_assert_cmpint (cairo_image_surface_get_width (img), ==, 1200);
  g_assert_cmpint (cairo_image_surface_get_height (img), ==, 600);
  cairo_surface_destroy (img);

  const char *sel[] = { "head-frozen", "head-trainable", "scratch", NULL };
  GraftSmoothing ema = { .kind = GRAFT_SMOOTH_EMA, .weight = 0.6 };
  g_autoptr (GraftPlotFigure) one = graft_study_figure (s, GRAFT_METRIC_VAL_LOSS, sel, &ema, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (one->panels->len, ==, 1);
  GraftPlotPanel *p = one->panels->pdata[0];
  g_assert_cmpuint (p->series->len, ==, 3);
  g_assert_cmpstr (((GraftPlotSeries *) p->series->pdata[0])->label, ==, "only output (frozen)");
  g_assert_true (((GraftPlotSeries *) p->series->pdata[2])->neutral);
  g_autofree char *png3 = g_build_filename (dir, "one.png", NULL);
  g_assert_true (graft_plot_write (one, png3, 700, 450, 96, &error));
  g_assert_no_error (error);
  const char *badsel[] = { "nope", NULL };
  g_assert_null (graft_study_figure (s, GRAFT_METRIC_VAL_ACC, badsel, NULL, &error));
  g_assert_nonnull (strstr (error->message, "nope"));
  g_clear_error (&error);
  g_assert_false (graft_plot_write (fig, "/tmp/x.gif", 500, 400, 96, &error));
  g_clear_error (&error);

  if (g_getenv ("GRAFT_TEST_KEEP"))
    g_print ("kept %s\n", dir);
  else
    rm_rf (dir);
}

static void
test_resume (void)
{
  fake_reset ();
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (GraftStudy) s = tiny_study (dir);
  g_autoptr (GError) error = NULL;
  GraftStudySummary sum;
  /* head-trainable dies after 3 epochs: the runner stops (cancelled). */
  g_hash_table_insert (fake.stop_at, g_strdup ("head-trainable"), GINT_TO_POINTER (3));
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  g_assert_false (graft_study_run_all (s, fake_train, NULL, NULL, 0, NULL, NULL, cancel, &sum, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  guint before = fake.calls->len;
  g_assert_cmpuint (calls_of ("head-trainable"), ==, 1);

  GraftRunStatus st;
  g_assert_true (graft_study_run_status (s, graft_study_find_run (s, "head-trainable"), &st, &error));
  g_assert_cmpint (st.state, ==, GRAFT_RUN_STATE_RUNNING);
  g_assert_cmpint (st.epochs_done, ==, 3);
  g_assert_cmpint (st.epochs, ==, 7);
  graft_run_status_clear (&st);

  g_assert_true (graft_study_run_all (s, fake_train, NULL, NULL, 0, NULL, NULL, NULL, &sum, &error));
  g_assert_no_error (error);
  /* Every run finished exactly once; the interrupted one trained twice. */
  g_assert_cmpuint (calls_of ("head-trainable"), ==, 2);
  g_assert_cmpuint (calls_of ("base"), ==, 1);
  g_assert_cmpuint (sum.skipped, ==, before - 1);
  g_assert_cmpuint (sum.trained, ==, 5 - (before - 1));
  g_assert_cmpuint (fake.calls->len, ==, 6);
  for (guint i = 0; i < s->runs->len; i++)
    {
      g_assert_true (graft_study_run_status (s, s->runs->pdata[i], &st, &error));
      g_assert_cmpint (st.state, ==, GRAFT_RUN_STATE_FINISHED);
      g_assert_cmpint (st.epochs_done, ==, 7);
      graft_run_status_clear (&st);
    }
  /* --only on a finished run trains nothing. */
  g_assert_true (graft_study_run_all (s, fake_train, NULL, "last2-frozen", 0, NULL, NULL, NULL, &sum, &error));
  g_assert_cmpuint (fake.calls->len, ==, 6);
  g_assert_cmpuint (sum.skipped, ==, 1);
  rm_rf (dir);
}

static guint
count_retired (const char *dir, const char *id)
{
  g_autofree char *runs = g_build_filename (dir, "runs", NULL);
  g_autofree char *prefix = g_strdup_printf ("%s.outdated-", id);
  g_autoptr (GDir) d = g_dir_open (runs, 0, NULL);
  guint n = 0;
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, prefix))
      {
        /* What was trained is kept whole. */
        g_autofree char *commit = g_build_filename (runs, name, "commit.json", NULL);
        g_assert_true (g_file_test (commit, G_FILE_TEST_EXISTS));
        n++;
      }
  return n;
}

static GraftRunState
state_of (GraftStudy *s, const char *id, char **outdated)
{
  GraftRunStatus st;
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_study_run_status (s, graft_study_find_run (s, id), &st, &error));
  GraftRunState state = st.state;
  if (outdated)
    *outdated = g_steal_pointer (&st.outdated);
  graft_run_status_clear (&st);
  return state;
}

static void
test_outdated (void)
{
  fake_reset ();
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (GraftStudy) s = tiny_study (dir);
  g_autofree char *img = g_build_filename (dir, "src", "a", "1.jpg", NULL);
  g_autofree char *img_dir = g_path_get_dirname (img);
  g_assert_cmpint (g_mkdir_with_parents (img_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (img, "x", 1, NULL));
  g_autoptr (GError) error = NULL;
  GraftStudySummary sum;
  g_assert_true (graft_study_run_all (s, fake_train, NULL, NULL, 0, NULL, NULL, NULL, &sum, &error));
  g_assert_cmpuint (sum.trained, ==, 5);

  /* 1. One experiment's re-initialised layers change: that run alone is outdated. */
  GraftStudyRun *hf = graft_study_find_run (s, "head-frozen");
  g_strfreev (hf->reinit);
  const char *const two[] = { "conv2d_3", "dense", NULL };
  hf->reinit = g_strdupv ((char **) two);
  g_assert_true (graft_study_save (s, &error));
  g_autofree char *why = NULL;
  g_assert_cmpint (state_of (s, "head-frozen", &why), ==, GRAFT_RUN_STATE_OUTDATED);
  g_test_message ("head-frozen: %s", why);
  g_assert_nonnull (strstr (why, "reinit_layers"));
  g_assert_nonnull (strstr (why, "conv2d_3"));
  for (guint i = 0; i < s->runs->len; i++)
    if (s->runs->pdata[i] != hf)
      g_assert_cmpint (state_of (s, ((GraftStudyRun *) s->runs->pdata[i])->id, NULL), ==,
                       GRAFT_RUN_STATE_FINISHED);
  /* The table says so. */
  g_autoptr (GPtrArray) rows = graft_study_results (s, &error);
  GraftResultRow *row = rows->pdata[0];
  g_assert_cmpstr (row->id, ==, "head-frozen");
  g_assert_cmpint (row->state, ==, GRAFT_RUN_STATE_OUTDATED);
  g_autofree char *md = graft_results_format (rows, GRAFT_TABLE_MARKDOWN);
  g_assert_nonnull (strstr (md, "outdated: reinit_layers"));
  Events ev = { 0 };
  g_assert_true (graft_study_run_all (s, fake_train, NULL, NULL, 0, progress_cb, &ev, NULL, &sum,
                                      &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sum.outdated, ==, 1);
  g_assert_cmpuint (sum.trained, ==, 1);
  g_assert_cmpuint (sum.skipped, ==, 4);
  g_assert_cmpuint (ev.outdated, ==, 1);
  g_assert_cmpuint (calls_of ("head-frozen"), ==, 2);
  g_assert_cmpuint (count_retired (dir, "head-frozen"), ==, 1);
  g_assert_cmpint (state_of (s, "head-frozen", NULL), ==, GRAFT_RUN_STATE_FINISHED);

  /* 2. The base's data changes: the base and every run that transfers from it are outdated,
   * the baseline is not. */
  g_autofree char *img2 = g_build_filename (img_dir, "2.jpg", NULL);
  g_assert_true (g_file_set_contents (img2, "y", 1, NULL));
  g_clear_pointer (&why, g_free);
  g_assert_cmpint (state_of (s, "base", &why), ==, GRAFT_RUN_STATE_OUTDATED);
  g_test_message ("base: %s", why);
  g_assert_nonnull (strstr (why, "the files in"));
  g_clear_pointer (&why, g_free);
  g_assert_cmpint (state_of (s, "head-trainable", &why), ==, GRAFT_RUN_STATE_OUTDATED);
  g_assert_nonnull (strstr (why, "“base”"));
  g_assert_cmpint (state_of (s, "scratch", NULL), ==, GRAFT_RUN_STATE_FINISHED);
  g_assert_true (graft_study_run_all (s, fake_train, NULL, NULL, 0, NULL, NULL, NULL, &sum, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sum.outdated, ==, 4);
  g_assert_cmpuint (sum.trained, ==, 4);
  g_assert_cmpuint (sum.skipped, ==, 1);
  g_assert_cmpuint (calls_of ("scratch"), ==, 1);
  g_assert_cmpuint (count_retired (dir, "head-frozen"), ==, 2);
  g_assert_cmpuint (count_retired (dir, "base"), ==, 1);

  /* 3. A shared setting changes and the old folders are discarded when asked. */
  s->hyper.lr = 5e-4;
  g_assert_true (graft_study_save (s, &error));
  g_assert_true (graft_study_run_all (s, fake_train, NULL, NULL, GRAFT_STUDY_DISCARD_OUTDATED,
                                      NULL, NULL, NULL, &sum, &error));
  g_assert_cmpuint (sum.outdated, ==, 5);
  g_assert_cmpuint (count_retired (dir, "base"), ==, 1);
  g_assert_cmpuint (count_retired (dir, "scratch"), ==, 0);
  for (guint i = 0; i < s->runs->len; i++)
    g_assert_cmpint (state_of (s, ((GraftStudyRun *) s->runs->pdata[i])->id, NULL), ==,
                     GRAFT_RUN_STATE_FINISHED);
  rm_rf (dir);
}

static void
test_failure_blocks (void)
{
  fake_reset ();
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (GraftStudy) s = tiny_study (dir);
  g_hash_table_add (fake.fail, g_strdup ("base"));
  Events ev = { 0 };
  GraftStudySummary sum;
  g_autoptr (GError) error = NULL;
  g_assert_false (graft_study_run_all (s, fake_train, NULL, NULL, 0, progress_cb, &ev, NULL, &sum, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_cmpuint (sum.failed, ==, 1);
  g_assert_cmpuint (sum.blocked, ==, 3);
  g_assert_cmpuint (sum.trained, ==, 1);   /* the baseline does not depend on base */
  g_assert_cmpuint (ev.blocked, ==, 3);
  g_assert_cmpuint (ev.failed, ==, 1);
  g_assert_cmpuint (calls_of ("scratch"), ==, 1);
  g_assert_cmpuint (calls_of ("head-frozen"), ==, 0);

  GraftRunStatus st;
  g_assert_true (graft_study_run_status (s, graft_study_find_run (s, "base"), &st, &error));
  g_assert_cmpint (st.state, ==, GRAFT_RUN_STATE_FAILED);
  g_assert_nonnull (strstr (st.error, "no class folders"));
  graft_run_status_clear (&st);
  g_assert_true (graft_study_run_status (s, graft_study_find_run (s, "last2-frozen"), &st, &error));
  g_assert_cmpint (st.state, ==, GRAFT_RUN_STATE_BLOCKED);
  g_assert_nonnull (strstr (st.error, "base"));
  graft_run_status_clear (&st);

  /* --only on a blocked run refuses to start it. */
  g_assert_false (graft_study_run_all (s, fake_train, NULL, "head-frozen", 0, NULL, NULL, NULL, &sum, &error));
  g_assert_cmpuint (sum.blocked, ==, 1);
  g_assert_cmpuint (calls_of ("head-frozen"), ==, 0);
  g_clear_error (&error);

  /* Once the data is fixed, the failed base is retried and the rest follow. */
  g_hash_table_remove_all (fake.fail);
  g_assert_true (graft_study_run_all (s, fake_train, NULL, NULL, 0, NULL, NULL, NULL, &sum, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (calls_of ("base"), ==, 2);
  g_assert_cmpuint (calls_of ("scratch"), ==, 1);
  g_assert_cmpuint (sum.trained, ==, 4);
  rm_rf (dir);
}

static void
test_smoothing (void)
{
  const double x[] = { 1, 2, 3, 4, 5, 6, 7, 10 };
  double y[8];
  GraftSmoothing s;
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_smoothing_parse ("window:5", &s, &error));
  graft_smooth (&s, x, y, 8);
  /* Trailing means by hand: (1), (1+2)/2, …, (3+4+5+6+7)/5, (4+5+6+7+10)/5. */
  const double wantw[] = { 1, 1.5, 2, 2.5, 3, 4, 5, 6.4 };
  for (int i = 0; i < 8; i++)
    g_assert_cmpfloat_with_epsilon (y[i], wantw[i], 1e-12);

  g_assert_true (graft_smoothing_parse ("ema:0.5", &s, &error));
  graft_smooth (&s, x, y, 3);
  /* last: 0.5, 1.25, 2.125; debiased by 1−0.5^k: 1, 5/3, 17/7. */
  g_assert_cmpfloat_with_epsilon (y[0], 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (y[1], 5.0 / 3.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (y[2], 17.0 / 7.0, 1e-12);

  /* A constant curve stays constant under the debiased EMA. */
  const double c[] = { 0.8, 0.8, 0.8, 0.8 };
  g_assert_true (graft_smoothing_parse ("ema:0.9", &s, &error));
  graft_smooth (&s, c, y, 4);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (y[i], 0.8, 1e-12);

  /* In place, and NaN skipped. */
  double z[] = { 2, NAN, 4 };
  g_assert_true (graft_smoothing_parse ("window:2", &s, &error));
  graft_smooth (&s, z, z, 3);
  g_assert_cmpfloat (z[0], ==, 2);
  g_assert_cmpfloat (z[1], ==, 2);
  g_assert_cmpfloat (z[2], ==, 4);

  g_assert_true (graft_smoothing_parse ("none", &s, &error));
  g_assert_cmpint (s.kind, ==, GRAFT_SMOOTH_NONE);
  static const char *const bad[] = { "window:0", "window:x", "ema:1", "ema:-0.1", "gauss:3", "" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (graft_smoothing_parse (bad[i], &s, &error));
      g_clear_error (&error);
    }
  s = (GraftSmoothing) { .kind = GRAFT_SMOOTH_EMA, .weight = 0.6 };
  g_autofree char *str = graft_smoothing_to_string (&s);
  g_assert_cmpstr (str, ==, "ema:0.6");
}

/* A seed sweep: every run once per seed, the same seed's base; the table's means are the
 * per-seed rows' means; the figure draws each experiment's mean with a band. */
static void
test_seed_sweep (void)
{
  fake_reset ();
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (GraftStudy) s = tiny_study (dir);
  guint32 seeds[] = { 11, 12 };
  g_array_append_vals (s->seeds, seeds, 2);
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_study_save (s, &error));
  g_autoptr (GraftStudy) back = graft_study_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->seeds->len, ==, 2);
  g_assert_cmpuint (back->runs->len, ==, 5);
  GraftStudySummary sum;
  g_assert_true (graft_study_run_all (back, fake_train, NULL, NULL, 0, NULL, NULL, NULL, &sum,
                                      &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sum.trained, ==, 10);
  for (guint i = 0; i < fake.configs->len; i++)
    {
      GraftTrainConfig *c = fake.configs->pdata[i];
      g_autofree char *id = g_path_get_basename (c->out_dir);
      guint32 want = g_str_has_suffix (id, "-seed11") ? 11 : 12;
      g_assert_true (g_str_has_suffix (id, "-seed11") || g_str_has_suffix (id, "-seed12"));
      g_assert_cmpuint (c->seed, ==, want);
      if (g_str_has_prefix (id, "head-frozen"))
        {
          g_autofree char *base = g_strdup_printf ("base-seed%u", want);
          g_assert_nonnull (strstr (c->init_checkpoint, base));
        }
    }
  g_assert_cmpint (call_index ("base-seed12"), <, call_index ("head-frozen-seed12"));

  g_autoptr (GPtrArray) rows = graft_study_results (back, &error);
  g_assert_cmpuint (rows->len, ==, 10);
  g_autoptr (GPtrArray) groups = graft_results_groups (rows);
  g_assert_cmpuint (groups->len, ==, 5);
  for (guint i = 0; i < groups->len; i++)
    {
      GraftResultGroup *g = groups->pdata[i];
      double sum_best = 0, vals[2];
      guint n = 0;
      for (guint k = 0; k < rows->len; k++)
        {
          GraftResultRow *r = rows->pdata[k];
          if (g_str_equal (r->group, g->id))
            sum_best += (vals[n++] = r->best_val_acc);
        }
      g_assert_cmpuint (n, ==, 2);
      g_assert_cmpfloat_with_epsilon (g->mean, sum_best / 2, 1e-12);
      g_assert_cmpfloat_with_epsilon (g->std, fabs (vals[0] - vals[1]) / sqrt (2), 1e-12);
    }
  g_autofree char *md = graft_results_format (rows, GRAFT_TABLE_MARKDOWN);
  g_test_message ("%s", md);
  g_assert_nonnull (strstr (md, " ± "));
  g_assert_nonnull (strstr (md, "11: 0."));
  g_autofree char *csv = graft_results_format (rows, GRAFT_TABLE_CSV);
  g_assert_nonnull (strstr (csv, ",Seed\r\n"));

  g_autoptr (GraftPlotFigure) fig = graft_study_figure (back, GRAFT_METRIC_VAL_ACC, NULL, NULL,
                                                        &error);
  g_assert_no_error (error);
  GraftPlotPanel *left = fig->panels->pdata[0];
  g_assert_cmpuint (left->series->len, ==, 3);   /* baseline + 2 frozen experiments */
  for (guint i = 0; i < left->series->len; i++)
    {
      GraftPlotSeries *ser = left->series->pdata[i];
      g_assert_nonnull (ser->lo);
      g_assert_nonnull (strstr (ser->label, "2 seeds"));
      for (guint k = 0; k < ser->x->len; k++)
        {
          double lo = g_array_index (ser->lo, double, k), hi = g_array_index (ser->hi, double, k);
          double y = g_array_index (ser->y, double, k);
          g_assert_cmpfloat (lo, <=, y);
          g_assert_cmpfloat (y, <=, hi);
        }
    }
  g_autofree char *png = g_build_filename (dir, "bands.png", NULL);
  g_assert_true (graft_plot_write (fig, png, 1100, 420, 96, &error));
  g_assert_no_error (error);
  /* The bands are what differs from the same figure drawn without them. */
  g_autoptr (GraftPlotFigure) plain = graft_study_figure_full (back, GRAFT_METRIC_VAL_ACC, NULL,
                                                               NULL, GRAFT_PLOT_BAND_NONE, &error);
  g_assert_null (((GraftPlotSeries *) ((GraftPlotPanel *) plain->panels->pdata[0])->series->pdata[0])->lo);
  g_autofree char *png0 = g_build_filename (dir, "nobands.png", NULL);
  g_assert_true (graft_plot_write (plain, png0, 1100, 420, 96, &error));
  cairo_surface_t *img = cairo_image_surface_create_from_png (png);
  cairo_surface_t *img0 = cairo_image_surface_create_from_png (png0);
  guint faint = 0;
  for (int y = 0; y < 420; y++)
    for (int x = 0; x < 1100; x++)
      faint += png_pixel (img, x, y) != png_pixel (img0, x, y);
  cairo_surface_destroy (img);
  cairo_surface_destroy (img0);
  g_test_message ("pixels the bands change: %u", faint);
  g_assert_cmpuint (faint, >, 200);
  if (g_getenv ("GRAFT_TEST_KEEP"))
    g_print ("kept %s\n", dir);
  else
    rm_rf (dir);
}

/* A study is held to the trainer's limits: none of its runs could start otherwise. */
static void
test_trainer_limits (void)
{
  g_autoptr (GraftStudy) s = graft_study_new_preset (GRAFT_STUDY_PRESET_DEMO, "/a", "/b", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_study_validate (s, "study.json", &error));
  s->hyper.batch = GRAFT_TRAIN_MAX_BATCH + 1;
  g_assert_false (graft_study_validate (s, "study.json", &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "train.batch"));
  g_assert_nonnull (strstr (error->message, "4096"));
  g_clear_error (&error);
  s->hyper.batch = 64;
  s->hyper.image_size = GRAFT_TRAIN_MIN_IMAGE_SIZE - 1;
  g_assert_false (graft_study_validate (s, "study.json", &error));
  g_assert_nonnull (strstr (error->message, "train.image_size"));
  g_clear_error (&error);
  s->hyper.image_size = 32;
  s->hyper.lr = 1000;
  g_assert_false (graft_study_validate (s, "study.json", &error));
  g_assert_nonnull (strstr (error->message, "train.lr"));
  g_assert_nonnull (strstr (error->message, "at most 1"));
  g_clear_error (&error);
  /* Every run of a valid study passes the trainer's own check. */
  s->hyper.lr = 1e-3;
  for (guint i = 0; i < s->runs->len; i++)
    {
      g_autoptr (GraftTrainConfig) c = graft_study_run_config (s, s->runs->pdata[i], NULL);
      g_assert_true (graft_train_config_validate (c, &error));
      g_assert_no_error (error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/study/paper-preset", test_paper_preset);
  g_test_add_func ("/study/json-roundtrip", test_json_roundtrip);
  g_test_add_func ("/study/json-reject", test_json_reject);
  g_test_add_func ("/study/smoothing", test_smoothing);
  g_test_add_func ("/study/run-table-figure", test_run_table_figure);
  g_test_add_func ("/study/resume", test_resume);
  g_test_add_func ("/study/failure-blocks", test_failure_blocks);
  g_test_add_func ("/study/outdated", test_outdated);
  g_test_add_func ("/study/trainer-limits", test_trainer_limits);
  g_test_add_func ("/study/seed-sweep", test_seed_sweep);
  return g_test_run ();
}
