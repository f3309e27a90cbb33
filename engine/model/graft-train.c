/* Training one run: dataset → model → Adam, with metrics, checkpoints and resume. */
#include "graft-train.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "graft-arch.h"
#include "graft-checkpoint.h"
#include "graft-import-torch.h"
#include "graft-model.h"
#include "graft-run.h"

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
  g_clear_pointer (&cfg->architecture, g_free);
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
  c->architecture = g_strdup (cfg->architecture);
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

/* ---- the run ---- */

typedef struct {
  const GraftTrainConfig *cfg;
  GraftTrainProgressFunc  progress;
  gpointer                user_data;
  GraftRun               *run;     /* the run folder, once opened */
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
  if (r->run)
    graft_run_log (r->run, msg);
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

static void
program_progress_cb (const char *program, gboolean cached, guint number, guint total,
                     gpointer user_data)
{
  g_autofree char *stage = g_strdup_printf ("%s kernels (%s.cl)", cached ? "Loading" : "Compiling",
                                            program);
  data_progress_cb (stage, number, total, user_data);
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
                       "the model summary lists every layer)",
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
  GraftModelSpec spec = { cfg->image_size, classes, cfg->width, cfg->dropout, cfg->bn_momentum,
                          cfg->architecture };
  g_autoptr (GraftModel) m = graft_model_new (&spec, error);
  if (m == NULL)
    return NULL;
  graft_model_init_layer (m, -1, cfg->seed);
  g_autoptr (GPtrArray) loaded = g_ptr_array_new ();
  if (cfg->init_checkpoint && *cfg->init_checkpoint)
    {
      say (r, "Loading checkpoint %s", cfg->init_checkpoint);
      g_autoptr (GraftSafetensors) st = graft_safetensors_read (cfg->init_checkpoint, error);
      if (st == NULL)
        return NULL;
      /* A PyTorch state dict (timm, torchvision) goes through the importer. */
      gboolean torch = graft_import_torch_detect (st);
      if (!torch && !graft_checkpoint_check_architecture (m, st, error))
        return NULL;
      g_autoptr (GString) report = g_string_new (NULL);
      if (torch && !graft_import_torch_transfer (m, st, loaded, report, error))
        return NULL;
      if (!torch)
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
  if (!apply_layer_list (m, cfg->reinit_layers, "reinit_layers", error))
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
  const GraftParam *bad = graft_model_find_nonfinite (m, -1);
  if (bad)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: tensor %s holds values that are not finite numbers (the run that wrote "
                   "it diverged): transfer from other weights, or re-initialise layer %s",
                   cfg->init_checkpoint, bad->full_name, graft_model_layer_name (m, bad->layer));
      return NULL;
    }
  gboolean transferred = strv_has (cfg->freeze_layers, "transferred");
  if (!transferred && !apply_layer_list (m, cfg->freeze_layers, "freeze_layers", error))
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

typedef struct {
  GraftModel        *model;
  const char *const *class_names;
  gint64             step;
} EpochFiles;

static gboolean
write_weights_cb (const char *path, gpointer user_data, GError **error)
{
  EpochFiles *f = user_data;
  return graft_checkpoint_save (f->model, path, f->class_names, error);
}

static gboolean
write_optimizer_cb (const char *path, gpointer user_data, GError **error)
{
  EpochFiles *f = user_data;
  return graft_optimizer_save (f->model, path, f->step, error);
}

static gboolean
run_epochs (Run *r, GraftContext *ctx, GraftModel *m, GraftDataset *ds, GraftLoader *train,
            GraftLoader *val, gint64 *step, GCancellable *cancellable, GError **error)
{
  const GraftTrainConfig *cfg = r->cfg;
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (guint i = 0; i < graft_dataset_n_classes (ds); i++)
    g_ptr_array_add (names, (gpointer) graft_dataset_class_name (ds, i));
  g_ptr_array_add (names, NULL);
  g_autoptr (GraftTensor) stats = graft_tensor_new (ctx, 1, 1, 1, 2, error);
  if (stats == NULL)
    return FALSE;

  for (int epoch = graft_run_epochs_done (r->run) + 1;; epoch++)
    {
      const GArray *rows = graft_run_metrics (r->run);
      if (graft_metrics_done (rows, cfg->epochs, cfg->patience))
        {
          if ((int) rows->len < cfg->epochs)
            say (r, "Stopping early: validation accuracy has not improved for %d epochs",
                 graft_metrics_since_best (rows));
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
          graft_run_fault_batch (epoch, b);
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
      GraftEpochMetrics row = { epoch, train_loss, train_acc, vs[0] / MAX (vseen, 1),
                                vs[1] / MAX (vseen, 1), cfg->lr, seconds,
                                seen / MAX (train_seconds, 1e-9) };
      if (!isfinite (row.train_loss) || !isfinite (row.val_loss))
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FAILED,
                       "Training diverged in epoch %d (loss is not a number): try a lower "
                       "learning rate than %g", epoch, cfg->lr);
          return FALSE;
        }

      /* One commit: weights, optimizer state, best weights and the metrics row together. */
      EpochFiles files = { m, (const char *const *) names->pdata, *step };
      gboolean improved = FALSE;
      if (!graft_model_download (m, error) ||
          !graft_run_commit_epoch (r->run, &row, *step, write_weights_cb, write_optimizer_cb,
                                   &files, &improved, error))
        return FALSE;
      say (r, "epoch %d/%d: loss %.4f acc %.4f, val_loss %.4f val_acc %.4f, %.1f s, %.1f images/s%s",
           epoch, cfg->epochs, row.train_loss, row.train_acc, row.val_loss, row.val_acc, seconds,
           row.images_per_second, improved ? " (best)" : "");
      GraftTrainProgress p = { GRAFT_TRAIN_STAGE_EPOCH_END, NULL, epoch, cfg->epochs, nb, nb,
                               row.train_loss, row.train_acc, row.val_loss, row.val_acc,
                               row.images_per_second, 0 };
      emit (r, &p);
    }
  return TRUE;
}

gboolean
graft_train_config_validate (const GraftTrainConfig *cfg, GError **error)
{
  const char *bad = NULL;
  g_autofree char *msg = NULL;
  if (cfg->data_dir == NULL || !*cfg->data_dir)
    bad = "the data folder is not set";
  else if (cfg->out_dir == NULL || !*cfg->out_dir)
    bad = "the run folder is not set";
  else if (cfg->epochs < 1 || cfg->epochs > GRAFT_TRAIN_MAX_EPOCHS)
    bad = msg = g_strdup_printf ("epochs must be between 1 and %d (it is %d)",
                                 GRAFT_TRAIN_MAX_EPOCHS, cfg->epochs);
  else if (cfg->batch < 1 || cfg->batch > GRAFT_TRAIN_MAX_BATCH)
    bad = msg = g_strdup_printf ("batch must be between 1 and %d (it is %d)",
                                 GRAFT_TRAIN_MAX_BATCH, cfg->batch);
  else if (!(cfg->lr > 0 && cfg->lr <= 1))
    bad = msg = g_strdup_printf ("the learning rate (lr) must be above 0 and at most 1 (it is %g)",
                                 cfg->lr);
  else if (!(cfg->val_fraction > 0 && cfg->val_fraction < 1))
    bad = msg = g_strdup_printf ("the validation fraction must be between 0 and 1 (it is %g)",
                                 cfg->val_fraction);
  else if (cfg->image_size < GRAFT_TRAIN_MIN_IMAGE_SIZE || cfg->image_size > GRAFT_TRAIN_MAX_IMAGE_SIZE)
    bad = msg = g_strdup_printf ("image_size must be between %d and %d pixels (it is %d)",
                                 GRAFT_TRAIN_MIN_IMAGE_SIZE, GRAFT_TRAIN_MAX_IMAGE_SIZE,
                                 cfg->image_size);
  else if (!(cfg->width > 0 && cfg->width <= 4))
    bad = msg = g_strdup_printf ("width must be above 0 and at most 4 (it is %g)", cfg->width);
  else if (!(cfg->dropout >= 0 && cfg->dropout < 1))
    bad = msg = g_strdup_printf ("dropout must be at least 0 and below 1 (it is %g)", cfg->dropout);
  else if (!(cfg->bn_momentum >= 0 && cfg->bn_momentum < 1))
    bad = msg = g_strdup_printf ("bn_momentum must be at least 0 and below 1 (it is %g)",
                                 cfg->bn_momentum);
  else if (cfg->patience < 0 || cfg->patience > GRAFT_TRAIN_MAX_EPOCHS)
    bad = msg = g_strdup_printf ("patience must be between 0 and %d (it is %d)",
                                 GRAFT_TRAIN_MAX_EPOCHS, cfg->patience);
  if (bad)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT, "Cannot train: %s", bad);
      return FALSE;
    }
  if (graft_arch_find (cfg->architecture, error) == NULL)
    {
      g_prefix_error (error, "Cannot train: ");
      return FALSE;
    }
  /* A run folder inside the data folder would become a class of its own. */
  g_autofree char *data = g_canonicalize_filename (cfg->data_dir, NULL);
  g_autofree char *out = g_canonicalize_filename (cfg->out_dir, NULL);
  if (g_str_equal (data, out) || (g_str_has_prefix (out, data) && out[strlen (data)] == '/'))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Cannot train: the run folder %s is inside the data folder %s, where it "
                   "would be read as a class; put it elsewhere", cfg->out_dir, cfg->data_dir);
      return FALSE;
    }
  return TRUE;
}

static gboolean
resume (Run *r, GraftModel *m, gint64 *step, GError **error)
{
  GraftRun *run = r->run;
  if (graft_run_epochs_done (run) == 0)
    return TRUE;
  say (r, "Loading checkpoint %s", graft_run_last_weights (run));
  g_autoptr (GraftSafetensors) st = graft_safetensors_read (graft_run_last_weights (run), error);
  if (st == NULL || !graft_checkpoint_load_strict (m, st, error) || !graft_model_upload (m, error) ||
      !graft_optimizer_load (m, graft_run_last_optimizer (run), step, error))
    return FALSE;
  if (*step != graft_run_step (run))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s holds step %" G_GINT64_FORMAT " but the commit records %" G_GINT64_FORMAT,
                   graft_run_last_optimizer (run), *step, graft_run_step (run));
      return FALSE;
    }
  say (r, "Resuming %s after epoch %d of %d", r->cfg->out_dir, graft_run_epochs_done (run),
       r->cfg->epochs);
  return TRUE;
}

gboolean
graft_train_run (const GraftTrainConfig *cfg, GraftTrainProgressFunc progress, gpointer user_data,
                 GCancellable *cancellable, GError **error)
{
  if (!graft_train_config_validate (cfg, error))
    return FALSE;
  /* A finished run that matches is not opened for writing at all. */
  g_autoptr (JsonNode) identity = graft_run_identity_new (cfg);
  {
    g_autoptr (GError) lerr = NULL;
    g_autoptr (GraftRun) done = graft_run_load (cfg->out_dir, &lerr);
    if (done && graft_run_get_state (done) == GRAFT_RUN_STATE_FINISHED &&
        graft_metrics_done (graft_run_metrics (done), cfg->epochs, cfg->patience))
      {
        g_autofree char *diff = graft_run_outdated_reason (done, identity);
        if (diff == NULL)
          return TRUE;
      }
  }
  Run r = { cfg, progress, user_data, NULL };
  g_autoptr (GError) local = NULL;
  g_autoptr (GraftRun) run = graft_run_begin (cfg->out_dir, identity, &local);
  if (run == NULL)
    {
      /* Nothing of the folder is touched; a failure to start is still recorded for studies. */
      if (g_error_matches (local, GRAFT_ERROR, GRAFT_ERROR_IO))
        graft_run_record_failure (cfg->out_dir, local->message);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  r.run = run;
  g_autoptr (GraftContext) ctx = NULL;
  g_autoptr (GraftDataset) ds = NULL;
  g_autoptr (GraftImageCache) cache = NULL;
  g_autoptr (GraftModel) m = NULL;
  g_autoptr (GraftLoader) train = NULL, val = NULL;
  g_autoptr (GArray) tr_idx = NULL, va_idx = NULL;
  gint64 step = 0;
  gboolean ok = FALSE;
  const char *device = NULL;

  ctx = graft_context_new (cfg->device, &local);
  if (ctx == NULL)
    goto out;
  device = graft_context_device (ctx)->name;
  say (&r, "Device: %s (%s)", graft_context_device (ctx)->name, graft_context_device (ctx)->type);
  say (&r, "Scanning dataset %s", cfg->data_dir);
  ds = graft_dataset_scan (cfg->data_dir, cfg->filter, data_progress_cb, &r, cancellable, &local);
  if (ds == NULL)
    goto out;
  for (guint c = 0; c < graft_dataset_n_classes (ds); c++)
    if (!g_utf8_validate (graft_dataset_class_name (ds, c), -1, NULL))
      {
        /* Checkpoints keep class names as JSON text, which must be UTF-8. */
        g_autofree char *shown = g_filename_display_name (graft_dataset_class_name (ds, c));
        g_set_error (&local, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                     "The class folder “%s” in %s has a name that is not valid UTF-8: rename "
                     "it, class names are stored in the checkpoints as text", shown,
                     cfg->data_dir);
        goto out;
      }
  if (graft_dataset_n_skipped (ds) > 0)
    say (&r, "Skipped %u unusable files in %s (`dataset scan` lists them with the reasons)",
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
  if (!graft_run_write_split (run, ds, tr_idx, va_idx, &local))
    goto out;
  /* The model first: a checkpoint that does not fit is reported before the cache is built. */
  m = prepare_model (&r, graft_dataset_n_classes (ds), &local);
  if (m == NULL)
    goto out;
  cache = graft_image_cache_open (ds, cfg->image_size, data_progress_cb, &r, cancellable, &local);
  if (cache == NULL)
    goto out;
  /* Every kernel program now, one at a time, rather than all inside the first batch. */
  if (!graft_model_bind (m, ctx, cfg->batch, &local) ||
      !graft_context_build_programs (ctx, NULL, program_progress_cb, &r, cancellable, &local))
    goto out;
  graft_context_set_cancellable (ctx, cancellable);   /* first launches may compile: see there */
  if (!resume (&r, m, &step, &local) ||
      !graft_run_set_status (run, GRAFT_RUN_STATE_RUNNING, device, NULL, &local))
    goto out;

  train = graft_loader_new (ctx, cache, ds, (const guint *) tr_idx->data, tr_idx->len, cfg->batch,
                            TRUE, cfg->seed, &local);
  val = train ? graft_loader_new (ctx, cache, ds, (const guint *) va_idx->data, va_idx->len,
                                  cfg->batch, FALSE, cfg->seed, &local)
              : NULL;
  if (val == NULL)
    goto out;
  graft_loader_set_augment (train, cfg->augment);
  ok = run_epochs (&r, ctx, m, ds, train, val, &step, cancellable, &local);
out:
  {
    GraftRunState st = ok ? GRAFT_RUN_STATE_FINISHED
                       : g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                         ? GRAFT_RUN_STATE_STOPPED
                         : GRAFT_RUN_STATE_FAILED;
    const char *msg = st == GRAFT_RUN_STATE_FAILED ? (local ? local->message : "unknown error")
                                                   : NULL;
    g_autoptr (GError) serr = NULL;
    if (!graft_run_set_status (run, st, device, msg, &serr) && ok)
      {
        ok = FALSE;
        local = g_steal_pointer (&serr);
      }
    if (!ok)
      {
        /* The caller reports the error itself; the log keeps it next to the run. */
        r.progress = NULL;
        say (&r, "%s: %s", graft_run_state_to_string (st), local ? local->message : "");
      }
    else
      say (&r, "Finished: best validation accuracy %.4f at epoch %d",
           graft_run_best_val_acc (run), graft_run_best_epoch (run));
  }
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&local));
  return ok;
}
