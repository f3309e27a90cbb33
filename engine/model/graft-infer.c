/* Inference with a checkpoint: evaluation over a dataset and prediction of image files. */
#include "graft-infer.h"

#include <math.h>
#include <string.h>

#include "graft-checkpoint.h"
#include "graft-error.h"
#include "graft-image.h"
#include "graft-run.h"
#include "graft-train.h"

struct _GraftPredictor {
  char         *checkpoint;
  GraftContext *ctx;
  GraftModel   *model;
  GPtrArray    *class_names;   /* exactly n_classes strings */
  int           batch;
};

void
graft_predictor_free (GraftPredictor *p)
{
  if (p == NULL)
    return;
  g_clear_pointer (&p->model, graft_model_free);
  g_clear_pointer (&p->ctx, graft_context_free);
  g_clear_pointer (&p->class_names, g_ptr_array_unref);
  g_free (p->checkpoint);
  g_free (p);
}

GraftPredictor *
graft_predictor_new (const char *checkpoint, const char *device, int batch, GError **error)
{
  if (batch < 1 || batch > GRAFT_TRAIN_MAX_BATCH)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "The batch size must be between 1 and %d (it is %d)", GRAFT_TRAIN_MAX_BATCH,
                   batch);
      return NULL;
    }
  g_autoptr (GraftPredictor) p = g_new0 (GraftPredictor, 1);
  p->checkpoint = g_strdup (checkpoint);
  g_auto (GStrv) names = NULL;
  p->model = graft_checkpoint_load (checkpoint, &names, error);
  if (p->model == NULL)
    return NULL;
  /* Weights that are not numbers give predictions that are not either. */
  const GraftParam *bad = graft_model_find_nonfinite (p->model, -1);
  if (bad)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: tensor %s holds values that are not finite numbers (the run that wrote "
                   "it diverged): these weights cannot predict anything", checkpoint,
                   bad->full_name);
      return NULL;
    }
  int nc = graft_model_spec (p->model)->classes;
  p->class_names = g_ptr_array_new_with_free_func (g_free);
  for (int k = 0; k < nc; k++)
    g_ptr_array_add (p->class_names,
                     names && (int) g_strv_length (names) > k ? g_strdup (names[k])
                                                              : g_strdup_printf ("class %d", k));
  p->ctx = graft_context_new (device, error);
  if (p->ctx == NULL)
    return NULL;
  p->batch = batch;
  if (!graft_model_bind (p->model, p->ctx, batch, error))
    return NULL;
  return g_steal_pointer (&p);
}

GraftModel *graft_predictor_model (GraftPredictor *p) { return p->model; }
int graft_predictor_n_classes (GraftPredictor *p) { return (int) p->class_names->len; }

const char *
graft_predictor_device (GraftPredictor *p)
{
  return graft_context_device (p->ctx)->name;
}

const char *
graft_predictor_class_name (GraftPredictor *p, int k)
{
  g_return_val_if_fail (k >= 0 && (guint) k < p->class_names->len, NULL);
  return p->class_names->pdata[k];
}

/* Class probabilities of the first n rows of the last forward. */
static gboolean
probabilities (GraftPredictor *p, int n, float *out, GError **error)
{
  int units = graft_model_units (p->model);
  if (!graft_tensor_read (p->ctx, graft_model_logits (p->model, n), out, error))
    return FALSE;
  for (int i = 0; i < n; i++)
    {
      float *z = out + (gsize) i * units;
      if (units == 1)
        {
          z[0] = 1.0f / (1.0f + expf (-z[0]));
          continue;
        }
      float mx = z[0], sum = 0;
      for (int k = 1; k < units; k++)
        mx = MAX (mx, z[k]);
      for (int k = 0; k < units; k++)
        sum += (z[k] = expf (z[k] - mx));
      for (int k = 0; k < units; k++)
        z[k] /= sum;
    }
  return TRUE;
}

/* The probability of every class (two for a single sigmoid unit) and the predicted one. */
static int
class_probs (GraftPredictor *p, const float *raw, float *probs)
{
  int nc = graft_predictor_n_classes (p);
  if (graft_model_units (p->model) == 1)
    {
      probs[0] = 1 - raw[0];
      probs[1] = raw[0];
      return raw[0] > 0.5f;
    }
  int best = 0;
  for (int k = 0; k < nc; k++)
    {
      probs[k] = raw[k];
      if (raw[k] > raw[best])
        best = k;
    }
  return best;
}

void
graft_evaluation_clear (GraftEvaluation *e)
{
  g_clear_pointer (&e->confusion, g_free);
  g_clear_pointer (&e->files, g_free);
  g_clear_pointer (&e->predicted, g_free);
  g_clear_pointer (&e->confidence, g_free);
}

gboolean
graft_evaluate (GraftPredictor *p, GraftDataset *ds, const guint *indices, guint n,
                GraftDataProgressFunc progress, gpointer user_data, GCancellable *cancellable,
                GraftEvaluation *out, GError **error)
{
  *out = (GraftEvaluation) { 0 };
  guint nc = graft_dataset_n_classes (ds);
  if ((int) nc != graft_predictor_n_classes (p))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s has %u classes but %s was trained on %d", graft_dataset_dir (ds), nc,
                   p->checkpoint, graft_predictor_n_classes (p));
      return FALSE;
    }
  for (guint c = 0; c < nc; c++)
    if (!g_str_equal (graft_predictor_class_name (p, (int) c), graft_dataset_class_name (ds, c)))
      {
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                     "Class %u is “%s” in %s but “%s” in %s", c, graft_dataset_class_name (ds, c),
                     graft_dataset_dir (ds), graft_predictor_class_name (p, (int) c),
                     p->checkpoint);
        return FALSE;
      }
  g_autofree guint *all = NULL;
  if (indices == NULL)
    {
      n = graft_dataset_n_files (ds);
      all = g_new (guint, MAX (n, 1));
      for (guint i = 0; i < n; i++)
        all[i] = i;
      indices = all;
    }
  int S = graft_model_spec (p->model)->image_size;
  g_autoptr (GraftImageCache) cache = graft_image_cache_open (ds, S, progress, user_data,
                                                              cancellable, error);
  if (cache == NULL)
    return FALSE;
  g_autoptr (GraftLoader) loader = graft_loader_new (p->ctx, cache, ds, indices, n, p->batch,
                                                     FALSE, 0, error);
  if (loader == NULL)
    return FALSE;
  g_autoptr (GraftTensor) stats = graft_tensor_new (p->ctx, 1, 1, 1, 2, error);
  if (stats == NULL || !graft_tensor_fill (p->ctx, stats, 0, error) ||
      !graft_loader_start_epoch (loader, 1, error))
    return FALSE;
  int units = graft_model_units (p->model);
  g_autofree float *raw = g_new (float, (gsize) p->batch * units);
  g_autofree float *labels = g_new (float, p->batch);
  g_autofree float *probs = g_new (float, MAX (nc, 2));
  out->n_classes = nc;
  out->confusion = g_new0 (guint64, (gsize) nc * nc);
  out->files = g_new (guint, MAX (n, 1));
  out->predicted = g_new (guint, MAX (n, 1));
  out->confidence = g_new (float, MAX (n, 1));
  guint done = 0;
  int got;
  while ((got = graft_loader_next (loader, graft_model_input (p->model),
                                   graft_model_labels (p->model), error)) > 0)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto fail;
      GraftTensor lab = *graft_model_labels (p->model);
      lab.ne[0] = got;
      if (!graft_model_forward (p->model, got, FALSE, 0, 0, error) ||
          !graft_model_eval_loss (p->model, got, stats, error) ||
          !probabilities (p, got, raw, error) || !graft_tensor_read (p->ctx, &lab, labels, error))
        goto fail;
      for (int i = 0; i < got; i++, done++)
        {
          int k = class_probs (p, raw + (gsize) i * units, probs);
          out->confusion[(gsize) labels[i] * nc + (guint) k]++;
          out->files[done] = indices[done];
          out->predicted[done] = (guint) k;
          out->confidence[done] = probs[k];
        }
      if (progress)
        progress ("Evaluating", done, n, user_data);
    }
  if (got < 0)
    goto fail;
  float s[2];
  if (!graft_tensor_read (p->ctx, stats, s, error))
    goto fail;
  out->n = done;
  out->loss = s[0] / MAX (done, 1);
  out->accuracy = s[1] / MAX (done, 1);
  if (!isfinite (out->loss))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FAILED,
                   "The loss of %s on %s is not a finite number", p->checkpoint,
                   graft_dataset_dir (ds));
      goto fail;
    }
  return TRUE;
fail:
  graft_evaluation_clear (out);
  return FALSE;
}

gboolean
graft_predict_paths (GraftPredictor *p, const char *const *paths, GraftPredictFunc func,
                     gpointer user_data, guint *n_files, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; paths[i]; i++)
    graft_images_collect (paths[i], files);
  if (n_files)
    *n_files = files->len;
  int S = graft_model_spec (p->model)->image_size, units = graft_model_units (p->model);
  gsize per = (gsize) S * S * 3;
  g_autofree guint8 *px = g_malloc (per);
  g_autofree float *x = g_new (float, per * p->batch);
  g_autofree float *raw = g_new (float, (gsize) p->batch * units);
  g_autofree float *probs = g_new (float, MAX (graft_predictor_n_classes (p), 2));
  g_autoptr (GPtrArray) pending = g_ptr_array_new ();
  /* One decoder for every file: it replaces its handle after any failed file. */
  g_autoptr (GraftJpegDecoder) dec = graft_jpeg_decoder_new ();
  gboolean ok = TRUE;
  for (guint i = 0; i <= files->len && ok; i++)
    {
      if (i < files->len)
        {
          const char *f = files->pdata[i];
          g_autofree char *reason = NULL;
          if (!graft_jpeg_decoder_load_resized (dec, f, S, FALSE, px, &reason))
            {
              func (f, NULL, -1, reason ? reason : "cannot be read", user_data);
              continue;
            }
          float *dst = x + per * pending->len;
          for (gsize k = 0; k < per; k++)
            dst[k] = px[k] / 255.0f;   /* the model's rescaling layer, as the loader does */
          g_ptr_array_add (pending, (gpointer) f);
          if ((int) pending->len < p->batch)
            continue;
        }
      if (pending->len == 0)
        continue;
      int n = (int) pending->len;
      GraftTensor in = *graft_model_input (p->model);
      in.ne[0] = n;
      ok = graft_tensor_write (p->ctx, &in, x, error) &&
           graft_model_forward (p->model, n, FALSE, 0, 0, error) &&
           probabilities (p, n, raw, error);
      for (int r = 0; ok && r < n; r++)
        {
          int k = class_probs (p, raw + (gsize) r * units, probs);
          func (pending->pdata[r], probs, k, NULL, user_data);
        }
      g_ptr_array_set_size (pending, 0);
    }
  return ok;
}

void
graft_predict_csv_header (GraftPredictor *p, GString *out)
{
  g_string_append (out, "file,predicted");
  for (int c = 0; c < graft_predictor_n_classes (p); c++)
    {
      g_autofree char *col = g_strdup_printf ("p_%s", graft_predictor_class_name (p, c));
      g_string_append_c (out, ',');
      graft_csv_append_field (out, col);
    }
  g_string_append (out, "\r\n");
}

void
graft_predict_csv_row (GraftPredictor *p, GString *out, const char *path, const float *probs,
                       int predicted)
{
  graft_csv_append_field (out, path);
  g_string_append_c (out, ',');
  graft_csv_append_field (out, graft_predictor_class_name (p, predicted));
  for (int c = 0; c < graft_predictor_n_classes (p); c++)
    {
      char b[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (out, ",%s", g_ascii_formatd (b, sizeof b, "%.6f", probs[c]));
    }
  g_string_append (out, "\r\n");
}

/* ---- A run's evaluation, cached in its folder ---- */

#define EVALUATION_FORMAT 1

void
graft_run_evaluation_free (GraftRunEvaluation *e)
{
  if (e == NULL)
    return;
  g_free (e->run_dir);
  g_free (e->checkpoint_sha256);
  g_free (e->data_signature);
  g_free (e->data_dir);
  g_strfreev (e->class_names);
  g_free (e->confusion);
  g_strfreev (e->paths);
  g_free (e->truth);
  g_free (e->predicted);
  g_free (e->confidence);
  g_free (e);
}

GArray *
graft_run_evaluation_cell_files (const GraftRunEvaluation *e, guint truth, guint predicted)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < e->n; i++)
    if (e->truth[i] == truth && e->predicted[i] == predicted)
      g_array_append_val (out, i);
  return out;
}

static JsonNode *
evaluation_to_json (const GraftRunEvaluation *e)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, EVALUATION_FORMAT);
  json_builder_set_member_name (b, "checkpoint_sha256");
  json_builder_add_string_value (b, e->checkpoint_sha256);
  json_builder_set_member_name (b, "data_signature");
  json_builder_add_string_value (b, e->data_signature);
  json_builder_set_member_name (b, "best_epoch");
  json_builder_add_int_value (b, e->best_epoch);
  json_builder_set_member_name (b, "loss");
  json_builder_add_double_value (b, e->loss);
  json_builder_set_member_name (b, "accuracy");
  json_builder_add_double_value (b, e->accuracy);
  json_builder_set_member_name (b, "classes");
  json_builder_begin_array (b);
  for (guint c = 0; c < e->n_classes; c++)
    json_builder_add_string_value (b, e->class_names[c]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "confusion");
  json_builder_begin_array (b);
  for (guint r = 0; r < e->n_classes; r++)
    {
      json_builder_begin_array (b);
      for (guint c = 0; c < e->n_classes; c++)
        json_builder_add_int_value (b, (gint64) e->confusion[(gsize) r * e->n_classes + c]);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
  /* One row per file: [path, true class, predicted class, confidence]. */
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (guint i = 0; i < e->n; i++)
    {
      json_builder_begin_array (b);
      json_builder_add_string_value (b, e->paths[i]);
      json_builder_add_int_value (b, e->truth[i]);
      json_builder_add_int_value (b, e->predicted[i]);
      json_builder_add_double_value (b, e->confidence[i]);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static gboolean
json_uint (JsonNode *n, guint64 max, guint64 *out)
{
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64 ||
      json_node_get_int (n) < 0 || (guint64) json_node_get_int (n) > max)
    return FALSE;
  *out = (guint64) json_node_get_int (n);
  return TRUE;
}

static const char *
json_str (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static double
json_num (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
      (json_node_get_value_type (n) != G_TYPE_DOUBLE &&
       json_node_get_value_type (n) != G_TYPE_INT64))
    return NAN;
  return json_node_get_double (n);
}

/* The cached evaluation when it is of these weights and this data; NULL (with *@why) when
 * it is absent, of other weights or data, or damaged. */
static GraftRunEvaluation *
evaluation_from_json (JsonObject *o, const char *sha, const char *signature, char **why)
{
  g_autoptr (GraftRunEvaluation) e = g_new0 (GraftRunEvaluation, 1);
  JsonNode *fmt = json_object_get_member (o, "format");
  guint64 v = 0;
  if (!json_uint (fmt, G_MAXINT, &v) || v != EVALUATION_FORMAT)
    {
      *why = g_strdup ("another format");
      return NULL;
    }
  if (g_strcmp0 (json_str (o, "checkpoint_sha256"), sha) != 0)
    {
      *why = g_strdup ("the best checkpoint changed");
      return NULL;
    }
  if (g_strcmp0 (json_str (o, "data_signature"), signature) != 0)
    {
      *why = g_strdup ("the data folder changed");
      return NULL;
    }
  *why = g_strdup ("damaged");
  e->checkpoint_sha256 = g_strdup (sha);
  e->data_signature = g_strdup (signature);
  guint64 be = 0;
  if (!json_uint (json_object_get_member (o, "best_epoch"), GRAFT_TRAIN_MAX_EPOCHS, &be))
    return NULL;
  e->best_epoch = (int) be;
  e->loss = json_num (o, "loss");
  e->accuracy = json_num (o, "accuracy");
  if (!isfinite (e->loss) || !(e->accuracy >= 0 && e->accuracy <= 1))
    return NULL;
  JsonNode *cn = json_object_get_member (o, "classes");
  JsonNode *mn = json_object_get_member (o, "confusion");
  JsonNode *fn = json_object_get_member (o, "files");
  if (cn == NULL || !JSON_NODE_HOLDS_ARRAY (cn) || mn == NULL || !JSON_NODE_HOLDS_ARRAY (mn) ||
      fn == NULL || !JSON_NODE_HOLDS_ARRAY (fn))
    return NULL;
  JsonArray *ca = json_node_get_array (cn), *ma = json_node_get_array (mn),
            *fa = json_node_get_array (fn);
  guint nc = json_array_get_length (ca);
  if (nc < 2 || nc > 100000 || json_array_get_length (ma) != nc)
    return NULL;
  e->n_classes = nc;
  e->class_names = g_new0 (char *, nc + 1);
  for (guint c = 0; c < nc; c++)
    {
      JsonNode *s = json_array_get_element (ca, c);
      if (!JSON_NODE_HOLDS_VALUE (s) || json_node_get_value_type (s) != G_TYPE_STRING)
        return NULL;
      e->class_names[c] = g_strdup (json_node_get_string (s));
    }
  e->confusion = g_new0 (guint64, (gsize) nc * nc);
  guint64 total = 0;
  for (guint r = 0; r < nc; r++)
    {
      JsonNode *row = json_array_get_element (ma, r);
      if (!JSON_NODE_HOLDS_ARRAY (row) || json_array_get_length (json_node_get_array (row)) != nc)
        return NULL;
      for (guint c = 0; c < nc; c++)
        {
          guint64 x;
          if (!json_uint (json_array_get_element (json_node_get_array (row), c), G_MAXUINT32, &x))
            return NULL;
          e->confusion[(gsize) r * nc + c] = x;
          total += x;
        }
    }
  guint n = json_array_get_length (fa);
  if (total != n)
    return NULL;
  e->n = n;
  e->paths = g_new0 (char *, n + 1);
  e->truth = g_new (guint, MAX (n, 1));
  e->predicted = g_new (guint, MAX (n, 1));
  e->confidence = g_new (float, MAX (n, 1));
  g_autofree guint64 *count = g_new0 (guint64, (gsize) nc * nc);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *rn = json_array_get_element (fa, i);
      if (!JSON_NODE_HOLDS_ARRAY (rn) || json_array_get_length (json_node_get_array (rn)) != 4)
        return NULL;
      JsonArray *row = json_node_get_array (rn);
      JsonNode *p = json_array_get_element (row, 0);
      guint64 t, k;
      if (!JSON_NODE_HOLDS_VALUE (p) || json_node_get_value_type (p) != G_TYPE_STRING ||
          !json_uint (json_array_get_element (row, 1), nc - 1, &t) ||
          !json_uint (json_array_get_element (row, 2), nc - 1, &k))
        return NULL;
      JsonNode *cf = json_array_get_element (row, 3);
      if (!JSON_NODE_HOLDS_VALUE (cf) ||
          (json_node_get_value_type (cf) != G_TYPE_DOUBLE &&
           json_node_get_value_type (cf) != G_TYPE_INT64))
        return NULL;
      e->paths[i] = g_strdup (json_node_get_string (p));
      e->truth[i] = (guint) t;
      e->predicted[i] = (guint) k;
      e->confidence[i] = (float) json_node_get_double (cf);
      count[t * nc + k]++;
    }
  /* The rows must add up to the matrix, cell by cell. */
  if (memcmp (count, e->confusion, sizeof (guint64) * nc * nc) != 0)
    return NULL;
  g_clear_pointer (why, g_free);
  e->from_cache = TRUE;
  return g_steal_pointer (&e);
}

GraftRunEvaluation *
graft_run_evaluate (const char *run_dir, const char *device, int batch, gboolean use_cache,
                    GraftDataProgressFunc progress, gpointer user_data,
                    GCancellable *cancellable, GError **error)
{
  g_autoptr (GraftRun) run = graft_run_load (run_dir, error);
  if (run == NULL)
    return NULL;
  const char *best = graft_run_best_weights (run), *sha = graft_run_best_sha256 (run);
  if (best == NULL || sha == NULL || graft_run_best_epoch (run) < 1)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s has no trained epoch yet: there is no best checkpoint to evaluate",
                   run_dir);
      return NULL;
    }
  g_autofree char *data_dir = NULL;
  GraftFilter filter;
  GraftSplitMode split;
  double val_fraction;
  guint32 seed;
  if (!graft_run_data_settings (run, &data_dir, &filter, &split, &val_fraction, &seed, error))
    return NULL;
  g_autofree char *signature = graft_dataset_signature (data_dir, NULL);
  if (signature == NULL)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO,
                   "Cannot read %s, the data folder the run %s was trained on", data_dir,
                   run_dir);
      return NULL;
    }
  if (use_cache)
    {
      g_autoptr (GError) cerr = NULL;
      g_autoptr (JsonObject) cached = graft_run_read_evaluation (run, &cerr);
      if (cached)
        {
          g_autofree char *why = NULL;
          GraftRunEvaluation *e = evaluation_from_json (cached, sha, signature, &why);
          if (e)
            {
              e->run_dir = g_strdup (run_dir);
              e->data_dir = g_steal_pointer (&data_dir);
              return e;
            }
        }
      /* A damaged cache is computed again and replaced. */
    }
  g_autoptr (GraftPredictor) p = graft_predictor_new (best, device, batch, error);
  if (p == NULL)
    return NULL;
  g_autoptr (GraftDataset) ds = graft_dataset_scan (data_dir, filter, progress, user_data,
                                                    cancellable, error);
  if (ds == NULL)
    return NULL;
  g_autoptr (GArray) tr = NULL, va = NULL;
  graft_dataset_split (ds, split, val_fraction, seed, &tr, &va);
  GraftEvaluation ev;
  if (!graft_evaluate (p, ds, (const guint *) va->data, va->len, progress, user_data,
                       cancellable, &ev, error))
    return NULL;
  g_autoptr (GraftRunEvaluation) e = g_new0 (GraftRunEvaluation, 1);
  e->run_dir = g_strdup (run_dir);
  e->checkpoint_sha256 = g_strdup (sha);
  e->data_signature = g_steal_pointer (&signature);
  e->best_epoch = graft_run_best_epoch (run);
  e->n = ev.n;
  e->n_classes = ev.n_classes;
  e->loss = ev.loss;
  e->accuracy = ev.accuracy;
  e->class_names = g_new0 (char *, ev.n_classes + 1);
  for (guint c = 0; c < ev.n_classes; c++)
    e->class_names[c] = g_strdup (graft_dataset_class_name (ds, c));
  e->confusion = g_steal_pointer (&ev.confusion);
  e->paths = g_new0 (char *, ev.n + 1);
  e->truth = g_new (guint, MAX (ev.n, 1));
  e->predicted = g_steal_pointer (&ev.predicted);
  e->confidence = g_steal_pointer (&ev.confidence);
  const char *root = graft_dataset_dir (ds);
  gsize rl = strlen (root);
  for (guint i = 0; i < ev.n; i++)
    {
      const char *path = graft_dataset_file_path (ds, ev.files[i]);
      if (g_str_has_prefix (path, root) && path[rl] == '/')
        path += rl + 1;
      e->paths[i] = g_strdup (path);
      e->truth[i] = graft_dataset_file_label (ds, ev.files[i]);
    }
  graft_evaluation_clear (&ev);
  e->data_dir = g_steal_pointer (&data_dir);
  /* A folder that cannot be written to (another user's study) still gets its evaluation;
   * it is computed again next time. */
  g_autoptr (JsonNode) node = evaluation_to_json (e);
  graft_run_write_evaluation (run, node, NULL);
  return g_steal_pointer (&e);
}
