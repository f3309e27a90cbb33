/* graft-cli model summary, train, evaluate and predict. */
#include "graft-cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "graft-checkpoint.h"
#include "graft-dataset.h"
#include "graft-model.h"
#include "graft-image.h"
#include "graft-run.h"
#include "graft-train.h"

int
graft_cli_model_summary (int argc, char **argv)
{
  int image_size = 180, classes = 2;
  double width = 1.0, dropout = 0.5;
  char *checkpoint = NULL;
  GOptionEntry entries[] = {
    { "image-size", 's', 0, G_OPTION_ARG_INT, &image_size, "Input side in pixels (default 180)", "N" },
    { "classes", 'c', 0, G_OPTION_ARG_INT, &classes, "Number of classes (default 2: one sigmoid unit)", "N" },
    { "width", 'w', 0, G_OPTION_ARG_DOUBLE, &width, "Channel multiplier (default 1.0)", "W" },
    { "dropout", 0, 0, G_OPTION_ARG_DOUBLE, &dropout, "Dropout rate (default 0.5)", "P" },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, "Describe the model in a checkpoint", "FILE" },
    { NULL }
  };
  graft_cli_parse ("model summary", NULL,
                   "Print the reference network layer by layer, Keras style, with parameter counts.",
                   entries, &argc, &argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftModel) m = NULL;
  if (checkpoint)
    m = graft_checkpoint_load (checkpoint, NULL, &error);
  else
    {
      GraftModelSpec spec = { image_size, classes, width, dropout };
      m = graft_model_new (&spec, &error);
    }
  if (m == NULL)
    return graft_cli_fail (error);
  g_autofree char *s = graft_model_summary (m);
  fputs (s, stdout);
  return 0;
}

/* ---- train ---- */

/* Ctrl-C sets a flag; the progress callback, called a few times a second,
 * turns it into a cancellation so the run stops cleanly after a batch. */
static volatile sig_atomic_t interrupted;
static GCancellable *interrupt_cancellable;

static void
sigint_handler (int sig)
{
  interrupted = 1;
}


typedef struct {
  gboolean tty;
  int      last_epoch;
  double   last_line;
} TrainUi;

static void
bar (char *out, gsize n, double frac)
{
  int width = (int) n - 1, full = (int) (CLAMP (frac, 0, 1) * width);
  for (int i = 0; i < width; i++)
    out[i] = i < full ? '#' : '.';
  out[width] = '\0';
}

static void
train_progress_cb (const GraftTrainProgress *p, gpointer user_data)
{
  TrainUi *ui = user_data;
  if (interrupted && interrupt_cancellable)
    g_cancellable_cancel (interrupt_cancellable);
  double now = g_get_monotonic_time () / 1e6;
  switch (p->stage)
    {
    case GRAFT_TRAIN_STAGE_PREPARE:
      if (p->total > 0)
        {
          if (ui->tty)
            {
              printf ("\r%s: %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "\033[K", p->message,
                      p->done, p->total);
              if (p->done >= p->total)
                printf ("\n");
              fflush (stdout);
            }
          else if (p->done >= p->total || now - ui->last_line > 5)
            {
              printf ("%s: %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "\n", p->message, p->done,
                      p->total);
              ui->last_line = now;
            }
        }
      else if (p->message)
        printf ("%s\n", p->message);
      break;
    case GRAFT_TRAIN_STAGE_TRAIN:
      if (ui->tty)
        {
          char b[31];
          bar (b, sizeof b, p->total ? (double) p->done / p->total : 0);
          printf ("\rEpoch %d/%d [%s] %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
                  " loss %.4f acc %.4f %.1f img/s ETA %.0f s\033[K",
                  p->epoch, p->epochs, b, p->done, p->total, p->loss, p->acc,
                  p->images_per_second, p->eta_seconds);
          fflush (stdout);
        }
      else if (now - ui->last_line > 10 || p->done == p->total)
        {
          printf ("epoch %d/%d batch %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
                  " loss %.4f acc %.4f %.1f images/s ETA %.0f s\n",
                  p->epoch, p->epochs, p->done, p->total, p->loss, p->acc, p->images_per_second,
                  p->eta_seconds);
          ui->last_line = now;
        }
      break;
    case GRAFT_TRAIN_STAGE_VALIDATE:
      if (ui->tty)
        {
          printf ("\rEpoch %d/%d validating %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "\033[K",
                  p->epoch, p->epochs, p->done, p->total);
          fflush (stdout);
        }
      break;
    case GRAFT_TRAIN_STAGE_EPOCH_END:
      if (ui->tty)
        printf ("\r\033[K");
      fflush (stdout);
      break;
    }
}

static char **
split_list (const char *s)
{
  if (s == NULL || *s == '\0')
    return NULL;
  g_auto (GStrv) parts = g_strsplit (s, ",", -1);
  GPtrArray *v = g_ptr_array_new ();
  for (int i = 0; parts[i]; i++)
    {
      g_strstrip (parts[i]);
      if (*parts[i])
        g_ptr_array_add (v, g_strdup (parts[i]));
    }
  g_ptr_array_add (v, NULL);
  return (char **) g_ptr_array_free (v, FALSE);
}

int
graft_cli_train (int argc, char **argv)
{
  g_auto (GraftTrainConfig) cfg;
  graft_train_config_init (&cfg);
  char *reinit = NULL, *freeze = NULL, *split = NULL, *filter = NULL;
  int seed = (int) cfg.seed;
  gboolean no_augment = FALSE;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &cfg.data_dir, "Folder with one sub-folder of images per class", "DIR" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &cfg.out_dir, "Run folder (created; an existing run resumes)", "RUNDIR" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &cfg.epochs, "Epochs (default 25)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &cfg.batch, "Batch size (default 64)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.lr, "Adam learning rate (default 1e-4)", "LR" },
    { "image-size", 's', 0, G_OPTION_ARG_INT, &cfg.image_size, "Input side in pixels (default 180)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Random seed (default 1337)", "N" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &cfg.device, "OpenCL device: index, id or name part", "ID" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &cfg.init_checkpoint, "Transfer weights from this checkpoint", "CKPT" },
    { "reinit", 0, 0, G_OPTION_ARG_STRING, &reinit, "Re-initialise these layers (comma-separated)", "LAYERS" },
    { "freeze", 0, 0, G_OPTION_ARG_STRING, &freeze, "Freeze these layers, or “transferred”", "LAYERS" },
    { "width", 'w', 0, G_OPTION_ARG_DOUBLE, &cfg.width, "Channel multiplier (default 1.0)", "W" },
    { "dropout", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.dropout, "Dropout rate before the dense layer (default 0.5)", "P" },
    { "bn-momentum", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.bn_momentum, "Momentum of the BN moving statistics (default 0.99, as Keras)", "M" },
    { "patience", 0, 0, G_OPTION_ARG_INT, &cfg.patience, "Stop after N epochs without a better validation accuracy", "N" },
    { "val-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.val_fraction, "Share of images for validation (default 0.2)", "F" },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split, "Split mode: seeded (default) or keras", "MODE" },
    { "filter", 0, 0, G_OPTION_ARG_STRING, &filter, "File filter: decode (default) or keras-jfif", "NAME" },
    { "no-augment", 0, 0, G_OPTION_ARG_NONE, &no_augment, "Train without random flips and rotations", NULL },
    { NULL }
  };
  graft_cli_parse ("train", NULL,
                   "Train the reference network on a folder of images. Running the same command "
                   "again resumes an interrupted run.", entries, &argc, &argv);
  g_autoptr (GError) error = NULL;
  cfg.seed = (guint32) seed;
  cfg.augment = !no_augment;
  cfg.reinit_layers = split_list (reinit);
  cfg.freeze_layers = split_list (freeze);
  if ((split && !graft_split_mode_from_string (split, &cfg.split, &error)) ||
      (filter && !graft_filter_from_string (filter, &cfg.filter, &error)))
    return graft_cli_fail (error);
  if (cfg.data_dir == NULL || cfg.out_dir == NULL)
    {
      g_printerr ("graft-cli train: --data and --out are required\n");
      return 2;
    }
  interrupt_cancellable = g_cancellable_new ();
  signal (SIGINT, sigint_handler);
  TrainUi ui = { isatty (STDOUT_FILENO), 0, 0 };
  gboolean ok = graft_train_run (&cfg, train_progress_cb, &ui, interrupt_cancellable, &error);
  g_clear_object (&interrupt_cancellable);
  if (!ok)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          printf ("\nStopped. Run the same command again to resume from the last finished epoch.\n");
          return 130;
        }
      return graft_cli_fail (error);
    }
  g_autofree char *metrics = g_build_filename (cfg.out_dir, GRAFT_RUN_METRICS_FILE, NULL);
  printf ("Run finished: %s (metrics in %s)\n", cfg.out_dir, metrics);
  return 0;
}

/* ---- evaluate and predict ---- */

typedef struct {
  GraftContext    *ctx;
  GraftModel      *model;
  char           **class_names;
  int              batch;
} Loaded;

static void
loaded_clear (Loaded *l)
{
  g_clear_pointer (&l->model, graft_model_free);
  g_clear_pointer (&l->ctx, graft_context_free);
  g_clear_pointer (&l->class_names, g_strfreev);
}

static gboolean
load_for_inference (Loaded *l, const char *checkpoint, const char *device, int batch,
                    GError **error)
{
  l->model = graft_checkpoint_load (checkpoint, &l->class_names, error);
  if (l->model == NULL)
    return FALSE;
  l->ctx = graft_context_new (device, error);
  if (l->ctx == NULL)
    return FALSE;
  l->batch = batch;
  return graft_model_bind (l->model, l->ctx, batch, error);
}

/* Class probabilities of the first n rows of the last forward. */
static gboolean
probabilities (Loaded *l, int n, float *out, GError **error)
{
  int units = graft_model_units (l->model);
  if (!graft_tensor_read (l->ctx, graft_model_logits (l->model, n), out, error))
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

static int
predicted_class (const float *p, int units)
{
  if (units == 1)
    return p[0] > 0.5f;
  int best = 0;
  for (int k = 1; k < units; k++)
    if (p[k] > p[best])
      best = k;
  return best;
}

int
graft_cli_evaluate (int argc, char **argv)
{
  char *checkpoint = NULL, *data = NULL, *device = NULL, *filter = NULL;
  int batch = 64;
  GOptionEntry entries[] = {
    { "checkpoint", 'c', 0, G_OPTION_ARG_FILENAME, &checkpoint, "Weights to evaluate (.safetensors)", "FILE" },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data, "Folder with one sub-folder per class", "DIR" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "OpenCL device: index, id or name part", "ID" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Batch size (default 64)", "N" },
    { "filter", 0, 0, G_OPTION_ARG_STRING, &filter, "File filter: decode (default) or keras-jfif", "NAME" },
    { NULL }
  };
  graft_cli_parse ("evaluate", NULL,
                   "Loss, accuracy and confusion matrix of a checkpoint on every image of a folder.",
                   entries, &argc, &argv);
  if (checkpoint == NULL || data == NULL)
    {
      g_printerr ("graft-cli evaluate: --checkpoint and --data are required\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  GraftFilter f = GRAFT_FILTER_DECODE;
  if (filter && !graft_filter_from_string (filter, &f, &error))
    return graft_cli_fail (error);
  Loaded l = { 0 };
  gboolean ok = FALSE;
  g_autoptr (GraftDataset) ds = NULL;
  g_autoptr (GraftImageCache) cache = NULL;
  g_autoptr (GraftLoader) loader = NULL;
  g_autoptr (GraftTensor) stats = NULL;
  g_autofree guint *idx = NULL;
  g_autofree float *probs = NULL;
  g_autofree float *labels = NULL;
  g_autofree guint64 *confusion = NULL;
  if (!load_for_inference (&l, checkpoint, device, batch, &error))
    goto out;
  ds = graft_dataset_scan (data, f, NULL, NULL, NULL, &error);
  if (ds == NULL)
    goto out;
  const GraftModelSpec *spec = graft_model_spec (l.model);
  guint nc = graft_dataset_n_classes (ds);
  if ((int) nc != spec->classes)
    {
      g_set_error (&error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s has %u classes but %s was trained on %d", data, nc, checkpoint,
                   spec->classes);
      goto out;
    }
  for (guint c = 0; l.class_names && c < nc && l.class_names[c]; c++)
    if (!g_str_equal (l.class_names[c], graft_dataset_class_name (ds, c)))
      g_printerr ("Warning: class %u is “%s” in %s but “%s” in the checkpoint\n", c,
                  graft_dataset_class_name (ds, c), data, l.class_names[c]);
  cache = graft_image_cache_open (ds, spec->image_size, NULL, NULL, NULL, &error);
  if (cache == NULL)
    goto out;
  guint n = graft_dataset_n_files (ds);
  idx = g_new (guint, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    idx[i] = i;
  loader = graft_loader_new (l.ctx, cache, ds, idx, n, batch, FALSE, 0, &error);
  stats = loader ? graft_tensor_new (l.ctx, 1, 1, 1, 2, &error) : NULL;
  if (stats == NULL || !graft_tensor_fill (l.ctx, stats, 0, &error) ||
      !graft_loader_start_epoch (loader, 1, &error))
    goto out;
  int units = graft_model_units (l.model);
  probs = g_new (float, (gsize) batch * units);
  labels = g_new (float, batch);
  confusion = g_new0 (guint64, (gsize) nc * nc);
  int got;
  while ((got = graft_loader_next (loader, graft_model_input (l.model),
                                   graft_model_labels (l.model), &error)) > 0)
    {
      GraftTensor lab = *graft_model_labels (l.model);
      lab.ne[0] = got;
      if (!graft_model_forward (l.model, got, FALSE, 0, 0, &error) ||
          !graft_model_eval_loss (l.model, got, stats, &error) ||
          !probabilities (&l, got, probs, &error) || !graft_tensor_read (l.ctx, &lab, labels, &error))
        goto out;
      for (int i = 0; i < got; i++)
        confusion[(gsize) labels[i] * nc + predicted_class (probs + (gsize) i * units, units)]++;
    }
  if (got < 0)
    goto out;
  float s[2];
  if (!graft_tensor_read (l.ctx, stats, s, &error))
    goto out;
  printf ("%s on %s (%u images, %u classes)\n", checkpoint, data, n, nc);
  printf ("loss %.4f  accuracy %.4f\n\nconfusion matrix (rows: true class, columns: predicted)\n",
          s[0] / MAX (n, 1), s[1] / MAX (n, 1));
  for (guint r = 0; r < nc; r++)
    {
      printf ("%-20.20s", graft_dataset_class_name (ds, r));
      for (guint c = 0; c < nc; c++)
        printf (" %6" G_GUINT64_FORMAT, confusion[(gsize) r * nc + c]);
      printf ("\n");
    }
  ok = TRUE;
out:
  loaded_clear (&l);
  return ok ? 0 : graft_cli_fail (error);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static void
collect_images (const char *path, GPtrArray *out)
{
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (out, g_strdup (path));
      return;
    }
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  if (d == NULL)
    return;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *full = g_build_filename (path, names->pdata[i], NULL);
      g_autofree char *lower = g_ascii_strdown (names->pdata[i], -1);
      if (g_file_test (full, G_FILE_TEST_IS_DIR))
        collect_images (full, out);
      else if (g_str_has_suffix (lower, ".jpg") || g_str_has_suffix (lower, ".jpeg"))
        g_ptr_array_add (out, g_steal_pointer (&full));
    }
}

int
graft_cli_predict (int argc, char **argv)
{
  char *checkpoint = NULL, *csv = NULL, *device = NULL;
  int batch = 32;
  GOptionEntry entries[] = {
    { "checkpoint", 'c', 0, G_OPTION_ARG_FILENAME, &checkpoint, "Weights to use (.safetensors)", "FILE" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "Also write the predictions as CSV", "OUT" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "OpenCL device: index, id or name part", "ID" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Batch size (default 32)", "N" },
    { NULL }
  };
  graft_cli_parse ("predict", "IMAGE|DIR…",
                   "Class probabilities and predicted class of each JPEG (folders are walked).",
                   entries, &argc, &argv);
  if (checkpoint == NULL || argc < 2)
    {
      g_printerr ("graft-cli predict: give --checkpoint and at least one image or folder\n");
      return 2;
    }
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i < argc; i++)
    collect_images (argv[i], files);
  g_autoptr (GError) error = NULL;
  Loaded l = { 0 };
  if (!load_for_inference (&l, checkpoint, device, MAX (batch, 1), &error))
    {
      loaded_clear (&l);
      return graft_cli_fail (error);
    }
  const GraftModelSpec *spec = graft_model_spec (l.model);
  int S = spec->image_size, units = graft_model_units (l.model);
  gsize per = (gsize) S * S * 3;
  g_autofree guint8 *px = g_malloc (per);
  g_autofree float *x = g_new (float, per * l.batch);
  g_autofree float *probs = g_new (float, (gsize) l.batch * units);
  g_autoptr (GPtrArray) pending = g_ptr_array_new ();
  GString *out = g_string_new ("file,predicted");
  for (int c = 0; c < spec->classes; c++)
    {
      g_string_append (out, ",p_");
      g_string_append (out, l.class_names && l.class_names[c] ? l.class_names[c] : "?");
    }
  g_string_append_c (out, '\n');
  tjhandle tj = tjInitDecompress ();
  int failed = 0;
  for (guint i = 0; i <= files->len; i++)
    {
      if (i < files->len)
        {
          g_autofree char *reason = NULL;
          const char *f = files->pdata[i];
          if (!graft_image_load_resized (tj, f, S, FALSE, px, &reason))
            {
              g_printerr ("%s: skipped (%s)\n", f, reason ? reason : "unreadable");
              failed++;
              continue;
            }
          float *dst = x + per * pending->len;
          for (gsize p = 0; p < per; p++)
            dst[p] = px[p] / 255.0f;
          g_ptr_array_add (pending, (gpointer) f);
          if ((int) pending->len < l.batch)
            continue;
        }
      if (pending->len == 0)
        continue;
      int n = pending->len;
      GraftTensor in = *graft_model_input (l.model);
      in.ne[0] = n;
      if (!graft_tensor_write (l.ctx, &in, x, &error) ||
          !graft_model_forward (l.model, n, FALSE, 0, 0, &error) ||
          !probabilities (&l, n, probs, &error))
        break;
      for (int r = 0; r < n; r++)
        {
          const float *p = probs + (gsize) r * units;
          int k = predicted_class (p, units);
          const char *name = l.class_names && l.class_names[k] ? l.class_names[k] : "?";
          float pk = units == 1 ? (k ? p[0] : 1 - p[0]) : p[k];
          printf ("%s\t%s\t%.4f\n", (char *) pending->pdata[r], name, pk);
          graft_csv_append_field (out, pending->pdata[r]);
          g_string_append_c (out, ',');
          graft_csv_append_field (out, name);
          for (int c = 0; c < spec->classes; c++)
            g_string_append_printf (out, ",%.6f",
                                    units == 1 ? (c ? p[0] : 1 - p[0]) : p[c]);
          g_string_append_c (out, '\n');
        }
      g_ptr_array_set_size (pending, 0);
    }
  tjDestroy (tj);
  if (error == NULL && csv &&
      !g_file_set_contents_full (csv, out->str, out->len, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                 &error))
    g_prefix_error (&error, "Cannot write %s: ", csv);
  g_string_free (out, TRUE);
  loaded_clear (&l);
  if (error)
    return graft_cli_fail (error);
  if (files->len == 0)
    {
      g_printerr ("graft-cli predict: no JPEG files found\n");
      return 1;
    }
  return failed ? 1 : 0;
}
