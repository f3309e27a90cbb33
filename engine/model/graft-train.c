/* Training one run: dataset → model → Adam, with metrics, checkpoints and resume. */
#include "graft-train.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "graft-checkpoint.h"
#include "graft-model.h"

void
graft_train_config_init (GraftTrainConfig *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->epochs = 25;
  cfg->batch = 64;
  cfg->lr = 1e-4;
  cfg->image_size = 180;
  cfg->seed = 1337;
  cfg->width = 1.0;
  cfg->dropout = 0.5;
  cfg->bn_momentum = 0.99;
  cfg->val_fraction = 0.2;
  cfg->split = GRAFT_SPLIT_SEEDED;
  cfg->filter = GRAFT_FILTER_DECODE;
  cfg->augment = TRUE;
}

void
graft_train_config_clear (GraftTrainConfig *cfg)
{
  g_clear_pointer (&cfg->data_dir, g_free);
  g_clear_pointer (&cfg->out_dir, g_free);
  g_clear_pointer (&cfg->device, g_free);
  g_clear_pointer (&cfg->init_checkpoint, g_free);
  g_clear_pointer (&cfg->reinit_layers, g_strfreev);
  g_clear_pointer (&cfg->freeze_layers, g_strfreev);
}

GraftTrainConfig *
graft_train_config_copy (const GraftTrainConfig *cfg)
{
  GraftTrainConfig *c = g_new (GraftTrainConfig, 1);
  *c = *cfg;
  c->data_dir = g_strdup (cfg->data_dir);
  c->out_dir = g_strdup (cfg->out_dir);
  c->device = g_strdup (cfg->device);
  c->init_checkpoint = g_strdup (cfg->init_checkpoint);
  c->reinit_layers = g_strdupv (cfg->reinit_layers);
  c->freeze_layers = g_strdupv (cfg->freeze_layers);
  return c;
}

void
graft_train_config_free (GraftTrainConfig *cfg)
{
  if (cfg == NULL)
    return;
  graft_train_config_clear (cfg);
  g_free (cfg);
}

/* ---- config.json: what defines the run. The device and the output folder
 * may change between a run and its resumption; nothing else may. ---- */

static void
add_strv (JsonBuilder *b, const char *key, char **v)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (int i = 0; v && v[i]; i++)
    json_builder_add_string_value (b, v[i]);
  json_builder_end_array (b);
}

static JsonNode *
config_to_json (const GraftTrainConfig *c)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
#define S(k, v) json_builder_set_member_name (b, k); json_builder_add_string_value (b, v)
#define I(k, v) json_builder_set_member_name (b, k); json_builder_add_int_value (b, v)
#define D(k, v) json_builder_set_member_name (b, k); json_builder_add_double_value (b, v)
  I ("format", 1);
  S ("data_dir", c->data_dir ? c->data_dir : "");
  I ("epochs", c->epochs);
  I ("batch", c->batch);
  D ("lr", c->lr);
  I ("image_size", c->image_size);
  I ("seed", c->seed);
  D ("width", c->width);
  D ("dropout", c->dropout);
  D ("bn_momentum", c->bn_momentum);
  D ("val_fraction", c->val_fraction);
  S ("split", graft_split_mode_to_string (c->split));
  S ("filter", graft_filter_to_string (c->filter));
  I ("patience", c->patience);
  json_builder_set_member_name (b, "augment");
  json_builder_add_boolean_value (b, c->augment);
  S ("init_checkpoint", c->init_checkpoint ? c->init_checkpoint : "");
  add_strv (b, "reinit_layers", c->reinit_layers);
  add_strv (b, "freeze_layers", c->freeze_layers);
#undef S
#undef I
#undef D
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static gboolean
write_json (const char *path, JsonNode *node, GError **error)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  gsize len;
  g_autofree char *text = json_generator_to_data (gen, &len);
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents_full (path, text, len, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write %s: %s", path, local->message);
      return FALSE;
    }
  return TRUE;
}

/* Compares the stored config with this one; names the first key that differs. */
static gboolean
check_same_config (const char *path, JsonNode *now, GError **error)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_file (p, path, &local) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s is damaged (%s): move the run folder away to start again", path,
                   local ? local->message : "not a JSON object");
      return FALSE;
    }
  JsonObject *old = json_node_get_object (json_parser_get_root (p));
  JsonObject *cur = json_node_get_object (now);
  g_autoptr (GList) keys = json_object_get_members (cur);
  for (GList *k = keys; k; k = k->next)
    {
      JsonNode *a = json_object_get_member (cur, k->data);
      JsonNode *b = json_object_get_member (old, k->data);
      if (b == NULL || !json_node_equal (a, b))
        {
          g_autoptr (JsonGenerator) g = json_generator_new ();
          json_generator_set_root (g, a);
          g_autofree char *as = json_generator_to_data (g, NULL);
          g_autofree char *bs = NULL;
          if (b)
            {
              json_generator_set_root (g, b);
              bs = json_generator_to_data (g, NULL);
            }
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                       "The run in %s was started with %s = %s, not %s: use another output "
                       "folder for a different setting", path, (char *) k->data,
                       bs ? bs : "(unset)", as);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- metrics.csv and run.json ---- */

typedef struct {
  int    epoch;
  double train_loss, train_acc, val_loss, val_acc, lr, seconds, ips;
} EpochRow;

static const char *metrics_header =
  "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds,images_per_second\n";

static GArray *
read_metrics (const char *path)
{
  GArray *rows = g_array_new (FALSE, TRUE, sizeof (EpochRow));
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return rows;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (int i = 1; lines[i]; i++)
    {
      EpochRow r;
      g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
      if (g_strv_length (f) < 8)
        continue;
      r.epoch = atoi (f[0]);
      r.train_loss = g_ascii_strtod (f[1], NULL);
      r.train_acc = g_ascii_strtod (f[2], NULL);
      r.val_loss = g_ascii_strtod (f[3], NULL);
      r.val_acc = g_ascii_strtod (f[4], NULL);
      r.lr = g_ascii_strtod (f[5], NULL);
      r.seconds = g_ascii_strtod (f[6], NULL);
      r.ips = g_ascii_strtod (f[7], NULL);
      g_array_append_val (rows, r);
    }
  return rows;
}

static gboolean
write_metrics (const char *path, GArray *rows, GError **error)
{
  GString *s = g_string_new (metrics_header);
  for (guint i = 0; i < rows->len; i++)
    {
      EpochRow *r = &g_array_index (rows, EpochRow, i);
      char b[8][G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (s, "%d,%s,%s,%s,%s,%s,%s,%s\n", r->epoch,
                              g_ascii_formatd (b[0], sizeof b[0], "%.6f", r->train_loss),
                              g_ascii_formatd (b[1], sizeof b[1], "%.6f", r->train_acc),
                              g_ascii_formatd (b[2], sizeof b[2], "%.6f", r->val_loss),
                              g_ascii_formatd (b[3], sizeof b[3], "%.6f", r->val_acc),
                              g_ascii_formatd (b[4], sizeof b[4], "%g", r->lr),
                              g_ascii_formatd (b[5], sizeof b[5], "%.3f", r->seconds),
                              g_ascii_formatd (b[6], sizeof b[6], "%.1f", r->ips));
    }
  g_autoptr (GError) local = NULL;
  gboolean ok = g_file_set_contents_full (path, s->str, s->len, G_FILE_SET_CONTENTS_CONSISTENT,
                                          0644, &local);
  g_string_free (s, TRUE);
  if (!ok)
    g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write %s: %s", path, local->message);
  return ok;
}

typedef struct {
  const char *status;
  int         epochs_done, epochs, best_epoch;
  double      best_val_acc, train_seconds;
  const char *device, *error;
} RunState;

static gboolean
write_run_json (const char *dir, const RunState *s, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, s->status);
  json_builder_set_member_name (b, "epochs_done");
  json_builder_add_int_value (b, s->epochs_done);
  json_builder_set_member_name (b, "epochs");
  json_builder_add_int_value (b, s->epochs);
  json_builder_set_member_name (b, "best_val_acc");
  json_builder_add_double_value (b, s->best_val_acc);
  json_builder_set_member_name (b, "best_epoch");
  json_builder_add_int_value (b, s->best_epoch);
  json_builder_set_member_name (b, "device");
  json_builder_add_string_value (b, s->device ? s->device : "");
  json_builder_set_member_name (b, "train_seconds");
  json_builder_add_double_value (b, s->train_seconds);
  json_builder_set_member_name (b, "error");
  json_builder_add_string_value (b, s->error ? s->error : "");
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *path = g_build_filename (dir, "run.json", NULL);
  return write_json (path, root, error);
}

static char *
read_run_status (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "run.json", NULL);
  g_autoptr (JsonParser) p = json_parser_new ();
  if (!json_parser_load_from_file (p, path, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
    return NULL;
  return g_strdup (json_object_get_string_member_with_default (
    json_node_get_object (json_parser_get_root (p)), "status", ""));
}

/* ---- the run ---- */

typedef struct {
  const GraftTrainConfig *cfg;
  GraftTrainProgressFunc  progress;
  gpointer                user_data;
  FILE                   *log;
} Run;

static void
say (Run *r, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
say (Run *r, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (r->log)
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_local ();
      g_autofree char *ts = g_date_time_format (now, "%F %T");
      fprintf (r->log, "%s %s\n", ts, msg);
      fflush (r->log);
    }
  if (r->progress)
    {
      GraftTrainProgress p = { .stage = GRAFT_TRAIN_STAGE_PREPARE, .message = msg };
      r->progress (&p, r->user_data);
    }
}

static void
data_progress_cb (const char *stage, guint64 done, guint64 total, gpointer user_data)
{
  Run *r = user_data;
  if (r->progress)
    {
      GraftTrainProgress p = { .stage = GRAFT_TRAIN_STAGE_PREPARE, .message = stage,
                               .done = done, .total = total };
      r->progress (&p, r->user_data);
    }
}

static gboolean
apply_layer_list (GraftModel *m, char **names, const char *what, GError **error)
{
  for (int i = 0; names && names[i]; i++)
    {
      int l = graft_model_layer_find (m, names[i]);
      if (l < 0 || !graft_model_layer_has_params (m, l))
        {
          g_autoptr (GPtrArray) k = graft_model_kernel_layers (m);
          g_ptr_array_add (k, NULL);
          g_autofree char *list = g_strjoinv (", ", (char **) k->pdata);
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                       "%s: the model has no layer with weights named “%s” (layers with kernels: %s; "
                       "see `graft-cli model summary` for all)",
                       what, names[i], list);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
strv_has (char **v, const char *s)
{
  return v && g_strv_contains ((const char *const *) v, s);
}

static gsize
trainable_count (GraftModel *m)
{
  gsize t = 0;
  for (guint i = 0; i < graft_model_n_params (m); i++)
    {
      const GraftParam *p = graft_model_param (m, i);
      if (p->trainable && !graft_model_get_frozen (m, p->layer))
        t += p->count;
    }
  return t;
}

/* Builds the model the config describes: initial values, transferred
 * weights, re-initialised layers, frozen layers. */
static GraftModel *
prepare_model (Run *r, int classes, GError **error)
{
  const GraftTrainConfig *cfg = r->cfg;
  GraftModelSpec spec = { cfg->image_size, classes, cfg->width, cfg->dropout, cfg->bn_momentum };
  g_autoptr (GraftModel) m = graft_model_new (&spec, error);
  if (m == NULL)
    return NULL;
  graft_model_init_layer (m, -1, cfg->seed);
  g_autoptr (GPtrArray) loaded = g_ptr_array_new ();
  if (cfg->init_checkpoint && *cfg->init_checkpoint)
    {
      g_autoptr (GraftSafetensors) st = graft_safetensors_read (cfg->init_checkpoint, error);
      if (st == NULL)
        return NULL;
      g_autoptr (GString) report = g_string_new (NULL);
      graft_checkpoint_transfer (m, st, loaded, report);
      if (loaded->len == 0)
        {
          const char *w = graft_safetensors_metadata (st, "width");
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                       "%s has no tensor that fits this model (width %g; the checkpoint's width "
                       "is %s): nothing to transfer", cfg->init_checkpoint, cfg->width,
                       w ? w : "unknown");
          return NULL;
        }
      say (r, "Transferred %u layers from %s", loaded->len, cfg->init_checkpoint);
      if (report->len)
        {
          g_strchomp (report->str);
          g_auto (GStrv) lines = g_strsplit (report->str, "\n", -1);
          for (int i = 0; lines[i]; i++)
            say (r, "  %s", lines[i]);
        }
    }
  if (!apply_layer_list (m, cfg->reinit_layers, "--reinit", error))
    return NULL;
  for (int i = 0; cfg->reinit_layers && cfg->reinit_layers[i]; i++)
    {
      /* A seed distinct from the initial one, so a re-initialised layer does
       * not get back the very values it started from in the base run. */
      graft_model_init_layer (m, graft_model_layer_find (m, cfg->reinit_layers[i]),
                              cfg->seed ^ 0x5eed5eedU);
    }
  if (cfg->reinit_layers && cfg->reinit_layers[0])
    {
      g_autofree char *list = g_strjoinv (", ", cfg->reinit_layers);
      say (r, "Re-initialised (Glorot uniform): %s", list);
    }
  gboolean transferred = strv_has (cfg->freeze_layers, "transferred");
  if (!transferred && !apply_layer_list (m, cfg->freeze_layers, "--freeze", error))
    return NULL;
  guint n_frozen = 0;
  for (guint l = 0; l < graft_model_n_layers (m); l++)
    {
      const char *name = graft_model_layer_name (m, l);
      gboolean frozen = transferred
                          ? (g_ptr_array_find_with_equal_func (loaded, name, g_str_equal, NULL) &&
                             !strv_has (cfg->reinit_layers, name))
                          : strv_has (cfg->freeze_layers, name);
      if (frozen && graft_model_layer_has_params (m, l))
        {
          graft_model_set_frozen (m, l, TRUE);
          n_frozen++;
        }
    }
  if (n_frozen)
    say (r, "Frozen: %u layers (%zu trainable parameters left)", n_frozen, trainable_count (m));
  return g_steal_pointer (&m);
}

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

static void
emit (Run *r, GraftTrainProgress *p)
{
  if (r->progress)
    r->progress (p, r->user_data);
}

static gboolean
read_stats (GraftContext *ctx, GraftTensor *stats, double out[2], GError **error)
{
  float s[2];
  if (!graft_tensor_read (ctx, stats, s, error))
    return FALSE;
  out[0] = s[0];
  out[1] = s[1];
  return TRUE;
}

static gboolean
run_epochs (Run *r, GraftContext *ctx, GraftModel *m, GraftDataset *ds, GraftLoader *train,
            GraftLoader *val, guint n_train, guint n_val, GArray *rows, gint64 *step,
            RunState *state, GCancellable *cancellable, GError **error)
{
  const GraftTrainConfig *cfg = r->cfg;
  g_autofree char *last = g_build_filename (cfg->out_dir, "last.safetensors", NULL);
  g_autofree char *last_opt = g_build_filename (cfg->out_dir, "last.optimizer.safetensors", NULL);
  g_autofree char *best = g_build_filename (cfg->out_dir, "best.safetensors", NULL);
  g_autofree char *metrics = g_build_filename (cfg->out_dir, "metrics.csv", NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (guint i = 0; i < graft_dataset_n_classes (ds); i++)
    g_ptr_array_add (names, (gpointer) graft_dataset_class_name (ds, i));
  g_ptr_array_add (names, NULL);
  g_autoptr (GraftTensor) stats = graft_tensor_new (ctx, 1, 1, 1, 2, error);
  if (stats == NULL)
    return FALSE;
  int since_best = 0;
  for (guint i = 0; i < rows->len; i++)
    since_best = g_array_index (rows, EpochRow, i).val_acc >= state->best_val_acc ? 0 : since_best + 1;

  for (int epoch = rows->len + 1; epoch <= cfg->epochs; epoch++)
    {
      if (cfg->patience > 0 && since_best >= cfg->patience)
        {
          say (r, "Stopping early: validation accuracy has not improved for %d epochs", since_best);
          break;
        }
      double t0 = now_s ();
      if (!graft_tensor_fill (ctx, stats, 0, error) ||
          !graft_loader_start_epoch (train, epoch, error))
        return FALSE;
      guint nb = graft_loader_n_batches (train), b = 0;
      guint64 seen = 0;
      double last_report = 0, sums[2] = { 0, 0 };
      for (;;)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return FALSE;
          int n = graft_loader_next (train, graft_model_input (m), graft_model_labels (m), error);
          if (n < 0)
            return FALSE;
          if (n == 0)
            break;
          (*step)++;
          GraftAdamParams adam = { cfg->lr, 0.9f, 0.999f, 1e-7f, *step };
          if (!graft_model_train_step (m, n, &adam, cfg->seed, (guint32) *step, stats, error))
            return FALSE;
          b++;
          seen += n;
          double t = now_s ();
          if (t - last_report > 0.5 || b == nb)
            {
              /* Reading the sums waits for the device: only a few times a second. */
              if (!read_stats (ctx, stats, sums, error))
                return FALSE;
              last_report = t;
              double el = t - t0;
              GraftTrainProgress p = { GRAFT_TRAIN_STAGE_TRAIN, NULL, epoch, cfg->epochs, b, nb,
                                       sums[0] / seen, sums[1] / seen, 0, 0, seen / MAX (el, 1e-9),
                                       el / b * (nb - b) };
              emit (r, &p);
            }
        }
      if (!read_stats (ctx, stats, sums, error))
        return FALSE;
      double train_seconds = now_s () - t0;
      double train_loss = sums[0] / MAX (seen, 1), train_acc = sums[1] / MAX (seen, 1);

      /* Validation: BN on moving statistics, no dropout, no augmentation. */
      if (!graft_tensor_fill (ctx, stats, 0, error) ||
          !graft_loader_start_epoch (val, epoch, error))
        return FALSE;
      guint64 vseen = 0;
      guint vb = 0, vnb = graft_loader_n_batches (val);
      for (;;)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return FALSE;
          int n = graft_loader_next (val, graft_model_input (m), graft_model_labels (m), error);
          if (n < 0)
            return FALSE;
          if (n == 0)
            break;
          if (!graft_model_forward (m, n, FALSE, 0, 0, error) ||
              !graft_model_eval_loss (m, n, stats, error))
            return FALSE;
          vseen += n;
          vb++;
          GraftTrainProgress p = { GRAFT_TRAIN_STAGE_VALIDATE, NULL, epoch, cfg->epochs, vb, vnb,
                                   train_loss, train_acc };
          emit (r, &p);
        }
      double vs[2];
      if (!read_stats (ctx, stats, vs, error))
        return FALSE;
      double seconds = now_s () - t0;
      EpochRow row = { epoch, train_loss, train_acc, vs[0] / MAX (vseen, 1), vs[1] / MAX (vseen, 1),
                       cfg->lr, seconds, seen / MAX (train_seconds, 1e-9) };
      if (!isfinite (row.train_loss) || !isfinite (row.val_loss))
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FAILED,
                       "Training diverged in epoch %d (loss is not a number): try a lower "
                       "learning rate than %g", epoch, cfg->lr);
          return FALSE;
        }

      /* Checkpoints before metrics, so a row in metrics.csv always has its weights. */
      if (!graft_model_download (m, error) ||
          !graft_checkpoint_save (m, last, (const char *const *) names->pdata, error) ||
          !graft_optimizer_save (m, last_opt, *step, error))
        return FALSE;
      gboolean improved = rows->len == 0 || row.val_acc > state->best_val_acc;
      if (improved)
        {
          if (!graft_checkpoint_save (m, best, (const char *const *) names->pdata, error))
            return FALSE;
          state->best_val_acc = row.val_acc;
          state->best_epoch = epoch;
          since_best = 0;
        }
      else
        since_best++;
      g_array_append_val (rows, row);
      if (!write_metrics (metrics, rows, error))
        return FALSE;
      state->epochs_done = epoch;
      state->train_seconds += seconds;
      if (!write_run_json (cfg->out_dir, state, error))
        return FALSE;
      say (r, "epoch %d/%d: loss %.4f acc %.4f, val_loss %.4f val_acc %.4f, %.1f s, %.1f images/s%s",
           epoch, cfg->epochs, row.train_loss, row.train_acc, row.val_loss, row.val_acc, seconds,
           row.ips, improved ? " (best)" : "");
      GraftTrainProgress p = { GRAFT_TRAIN_STAGE_EPOCH_END, NULL, epoch, cfg->epochs, nb, nb,
                               row.train_loss, row.train_acc, row.val_loss, row.val_acc, row.ips, 0 };
      emit (r, &p);
    }
  (void) n_train;
  (void) n_val;
  return TRUE;
}

static gboolean
validate_config (const GraftTrainConfig *cfg, GError **error)
{
  const char *bad = NULL;
  if (cfg->data_dir == NULL || !*cfg->data_dir)
    bad = "the data folder (--data) is not set";
  else if (cfg->out_dir == NULL || !*cfg->out_dir)
    bad = "the run folder (--out) is not set";
  else if (cfg->epochs < 1 || cfg->epochs > 100000)
    bad = "epochs must be at least 1";
  else if (cfg->batch < 1 || cfg->batch > 4096)
    bad = "batch must be between 1 and 4096";
  else if (!(cfg->lr > 0 && cfg->lr < 10))
    bad = "the learning rate must be positive";
  else if (!(cfg->val_fraction > 0 && cfg->val_fraction < 1))
    bad = "the validation fraction must be between 0 and 1";
  if (bad)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT, "Cannot train: %s", bad);
      return FALSE;
    }
  return TRUE;
}

gboolean
graft_train_run (const GraftTrainConfig *cfg, GraftTrainProgressFunc progress, gpointer user_data,
                 GCancellable *cancellable, GError **error)
{
  if (!validate_config (cfg, error))
    return FALSE;
  if (g_mkdir_with_parents (cfg->out_dir, 0755) != 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot create the run folder %s: %s",
                   cfg->out_dir, g_strerror (errno));
      return FALSE;
    }
  g_autofree char *config_path = g_build_filename (cfg->out_dir, "config.json", NULL);
  g_autoptr (JsonNode) config = config_to_json (cfg);
  gboolean existing = g_file_test (config_path, G_FILE_TEST_EXISTS);
  if (existing && !check_same_config (config_path, config, error))
    return FALSE;
  g_autofree char *status = read_run_status (cfg->out_dir);
  if (status && g_str_equal (status, "finished"))
    return TRUE;
  if (!existing && !write_json (config_path, config, error))
    return FALSE;

  g_autofree char *log_path = g_build_filename (cfg->out_dir, "log.txt", NULL);
  Run r = { cfg, progress, user_data, fopen (log_path, "a") };
  RunState state = { "running", 0, cfg->epochs, 0, 0, 0, NULL, NULL };
  g_autoptr (GError) local = NULL;
  g_autoptr (GraftContext) ctx = NULL;
  g_autoptr (GraftDataset) ds = NULL;
  g_autoptr (GraftImageCache) cache = NULL;
  g_autoptr (GraftModel) m = NULL;
  g_autoptr (GraftLoader) train = NULL, val = NULL;
  g_autoptr (GArray) tr_idx = NULL, va_idx = NULL;
  g_autoptr (GArray) rows = NULL;
  gint64 step = 0;
  gboolean ok = FALSE;
  g_autofree char *metrics_path = g_build_filename (cfg->out_dir, "metrics.csv", NULL);
  g_autofree char *last = g_build_filename (cfg->out_dir, "last.safetensors", NULL);
  g_autofree char *last_opt = g_build_filename (cfg->out_dir, "last.optimizer.safetensors", NULL);

  ctx = graft_context_new (cfg->device, &local);
  if (ctx == NULL)
    goto out;
  state.device = graft_context_device (ctx)->name;
  say (&r, "Device: %s (%s)", graft_context_device (ctx)->name, graft_context_device (ctx)->type);
  ds = graft_dataset_scan (cfg->data_dir, cfg->filter, data_progress_cb, &r, cancellable, &local);
  if (ds == NULL)
    goto out;
  if (graft_dataset_n_skipped (ds) > 0)
    say (&r, "Skipped %u unusable files in %s (see `graft-cli dataset scan`)",
         graft_dataset_n_skipped (ds), cfg->data_dir);
  graft_dataset_split (ds, cfg->split, cfg->val_fraction, cfg->seed, &tr_idx, &va_idx);
  if (tr_idx->len == 0 || va_idx->len == 0)
    {
      g_set_error (&local, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s has %u usable images: too few to split into training and validation",
                   cfg->data_dir, graft_dataset_n_files (ds));
      goto out;
    }
  say (&r, "Data: %u classes, %u training and %u validation images from %s",
       graft_dataset_n_classes (ds), tr_idx->len, va_idx->len, cfg->data_dir);
  /* The model first: a checkpoint that does not fit is reported before the cache is built. */
  m = prepare_model (&r, graft_dataset_n_classes (ds), &local);
  if (m == NULL)
    goto out;
  cache = graft_image_cache_open (ds, cfg->image_size, data_progress_cb, &r, cancellable, &local);
  if (cache == NULL)
    goto out;
  if (!graft_model_bind (m, ctx, cfg->batch, &local))
    goto out;

  /* Resume from the last finished epoch, if any. */
  rows = read_metrics (metrics_path);
  if (rows->len > 0)
    {
      g_autoptr (GraftSafetensors) st = graft_safetensors_read (last, &local);
      if (st == NULL || !graft_checkpoint_load_strict (m, st, &local) ||
          !graft_model_upload (m, &local) || !graft_optimizer_load (m, last_opt, &step, &local))
        goto out;
      for (guint i = 0; i < rows->len; i++)
        {
          EpochRow *row = &g_array_index (rows, EpochRow, i);
          if (i == 0 || row->val_acc > state.best_val_acc)
            {
              state.best_val_acc = row->val_acc;
              state.best_epoch = row->epoch;
            }
          state.train_seconds += row->seconds;
        }
      state.epochs_done = rows->len;
      say (&r, "Resuming %s after epoch %u of %d", cfg->out_dir, rows->len, cfg->epochs);
    }
  write_run_json (cfg->out_dir, &state, NULL);

  train = graft_loader_new (ctx, cache, ds, (const guint *) tr_idx->data, tr_idx->len, cfg->batch,
                            TRUE, cfg->seed, &local);
  val = train ? graft_loader_new (ctx, cache, ds, (const guint *) va_idx->data, va_idx->len,
                                  cfg->batch, FALSE, cfg->seed, &local)
              : NULL;
  if (val == NULL)
    goto out;
  graft_loader_set_augment (train, cfg->augment);
  ok = run_epochs (&r, ctx, m, ds, train, val, tr_idx->len, va_idx->len, rows, &step, &state,
                   cancellable, &local);
out:
  if (ok)
    state.status = "finished";
  else if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    state.status = "stopped";
  else
    {
      state.status = "failed";
      state.error = local ? local->message : "unknown error";
    }
  write_run_json (cfg->out_dir, &state, NULL);
  if (!ok)
    {
      /* The caller reports the error itself; the log keeps it next to the run. */
      r.progress = NULL;
      say (&r, "%s: %s", state.status, local ? local->message : "");
    }
  else
    say (&r, "Finished: best validation accuracy %.4f at epoch %d", state.best_val_acc,
         state.best_epoch);
  if (r.log)
    fclose (r.log);
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&local));
  return ok;
}
