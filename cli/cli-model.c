/* graft-cli model summary, train, evaluate and predict. */
#include "graft-cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "graft-arch.h"
#include "graft-checkpoint.h"
#include "graft-dataset.h"
#include "graft-model.h"
#include "graft-image.h"
#include "graft-infer.h"
#include "graft-onnx.h"
#include "graft-run.h"
#include "graft-train.h"

int
graft_cli_model_summary (int argc, char **argv)
{
  int image_size = 180, classes = 2;
  double width = 1.0, dropout = 0.5;
  g_autofree char *checkpoint = NULL, *arch = NULL;
  g_autofree char *archs = graft_arch_list ();
  g_autofree char *arch_help = g_strdup_printf ("Architecture: %s (default %s)", archs,
                                                GRAFT_ARCH_DEFAULT);
  GOptionEntry entries[] = {
    { "arch", 'a', 0, G_OPTION_ARG_STRING, &arch, arch_help, "NAME" },
    { "image-size", 's', 0, G_OPTION_ARG_INT, &image_size, "Input side in pixels (default 180)", "N" },
    { "classes", 'c', 0, G_OPTION_ARG_INT, &classes, "Number of classes (default 2: one sigmoid unit)", "N" },
    { "width", 'w', 0, G_OPTION_ARG_DOUBLE, &width, "Channel multiplier (default 1.0)", "W" },
    { "dropout", 0, 0, G_OPTION_ARG_DOUBLE, &dropout, "Dropout rate (default 0.5)", "P" },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, "Describe the model in a checkpoint", "FILE" },
    { NULL }
  };
  graft_cli_parse ("model summary", NULL,
                   "Print a network layer by layer, Keras style, with parameter counts.",
                   entries, &argc, &argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftModel) m = NULL;
  if (checkpoint)
    m = graft_checkpoint_load (checkpoint, NULL, &error);
  else
    {
      GraftModelSpec spec = { image_size, classes, width, dropout, 0, arch };
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
  g_autofree char *reinit = NULL, *freeze = NULL, *split = NULL, *filter = NULL;
  int seed = (int) cfg.seed;
  gboolean no_augment = FALSE;
  g_autofree char *archs = graft_arch_list ();
  g_autofree char *arch_help = g_strdup_printf ("Architecture: %s (default %s)", archs,
                                                GRAFT_ARCH_DEFAULT);
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &cfg.data_dir, "Folder with one sub-folder of images per class", "DIR" },
    { "arch", 'a', 0, G_OPTION_ARG_STRING, &cfg.architecture, arch_help, "NAME" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &cfg.out_dir, "Run folder (created; an existing run resumes)", "RUNDIR" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &cfg.epochs, "Epochs (default 25)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &cfg.batch, "Batch size (default 64)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &cfg.lr, "Adam learning rate (default 1e-4)", "LR" },
    { "image-size", 's', 0, G_OPTION_ARG_INT, &cfg.image_size, "Input side in pixels (default 180)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Random seed (default 1337)", "N" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &cfg.device, "OpenCL device: index, id or name part", "ID" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &cfg.init_checkpoint, "Transfer weights from this checkpoint (Graft, or a timm / torchvision state dict as safetensors)", "CKPT" },
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
                   "Train a network (--arch) on a folder of images. Running the same command "
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

/* The same cached evaluation the app's run inspector shows. */
static int
evaluate_run (const char *run, const char *device, int batch, gboolean use_cache)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftRunEvaluation) e = graft_run_evaluate (run, device, batch, use_cache, NULL,
                                                         NULL, NULL, &error);
  if (e == NULL)
    return graft_cli_fail (error);
  guint nc = e->n_classes;
  printf ("%s, best epoch %d, on its validation split of %s (%u images, %u classes%s)\n", run,
          e->best_epoch, e->data_dir, e->n, nc, e->from_cache ? ", cached" : "");
  printf ("loss %.4f  accuracy %.4f\n\nconfusion matrix (rows: true class, columns: predicted)\n",
          e->loss, e->accuracy);
  for (guint r = 0; r < nc; r++)
    {
      printf ("%-20.20s", e->class_names[r]);
      for (guint c = 0; c < nc; c++)
        printf (" %6" G_GUINT64_FORMAT, e->confusion[(gsize) r * nc + c]);
      printf ("\n");
    }
  return 0;
}

int
graft_cli_evaluate (int argc, char **argv)
{
  g_autofree char *checkpoint = NULL, *data = NULL, *device = NULL, *filter = NULL, *run = NULL;
  gboolean no_cache = FALSE;
  int batch = 64;
  GOptionEntry entries[] = {
    { "run", 0, 0, G_OPTION_ARG_FILENAME, &run, "A run folder: its best checkpoint on its validation split (cached in the folder, as the app shows it)", "DIR" },
    { "no-cache", 0, 0, G_OPTION_ARG_NONE, &no_cache, "With --run: evaluate again even when the folder's evaluation is current", NULL },
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
  if (run)
    return evaluate_run (run, device, batch, !no_cache);
  if (checkpoint == NULL || data == NULL)
    {
      g_printerr ("graft-cli evaluate: --run, or --checkpoint and --data, are required\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  GraftFilter f = GRAFT_FILTER_DECODE;
  if (filter && !graft_filter_from_string (filter, &f, &error))
    return graft_cli_fail (error);
  g_autoptr (GraftPredictor) p = graft_predictor_new (checkpoint, device, batch, &error);
  if (p == NULL)
    return graft_cli_fail (error);
  g_autoptr (GraftDataset) ds = graft_dataset_scan (data, f, NULL, NULL, NULL, &error);
  if (ds == NULL)
    return graft_cli_fail (error);
  GraftEvaluation ev;
  if (!graft_evaluate (p, ds, NULL, 0, NULL, NULL, NULL, &ev, &error))
    return graft_cli_fail (error);
  guint nc = ev.n_classes;
  printf ("%s on %s (%u images, %u classes)\n", checkpoint, data, ev.n, nc);
  printf ("loss %.4f  accuracy %.4f\n\nconfusion matrix (rows: true class, columns: predicted)\n",
          ev.loss, ev.accuracy);
  for (guint r = 0; r < nc; r++)
    {
      printf ("%-20.20s", graft_dataset_class_name (ds, r));
      for (guint c = 0; c < nc; c++)
        printf (" %6" G_GUINT64_FORMAT, ev.confusion[(gsize) r * nc + c]);
      printf ("\n");
    }
  graft_evaluation_clear (&ev);
  return 0;
}

typedef struct {
  GraftPredictor *p;
  GString        *csv;
  int             failed;
} PredictOut;

static void
predict_cb (const char *path, const float *probs, int predicted, const char *reason,
            gpointer user_data)
{
  PredictOut *o = user_data;
  g_autofree char *shown = g_filename_display_name (path);
  if (probs == NULL)
    {
      g_printerr ("%s: skipped (%s)\n", shown, reason);
      o->failed++;
      return;
    }
  printf ("%s\t%s\t%.4f\n", shown, graft_predictor_class_name (o->p, predicted), probs[predicted]);
  graft_predict_csv_row (o->p, o->csv, path, probs, predicted);
}

int
graft_cli_predict (int argc, char **argv)
{
  g_autofree char *checkpoint = NULL, *csv = NULL, *device = NULL;
  int batch = 32;
  GOptionEntry entries[] = {
    { "checkpoint", 'c', 0, G_OPTION_ARG_FILENAME, &checkpoint, "Weights to use (.safetensors)", "FILE" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "Also write the predictions as CSV", "OUT" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "OpenCL device: index, id or name part", "ID" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Batch size (default 32)", "N" },
    { NULL }
  };
  graft_cli_parse ("predict", "IMAGE|DIR…",
                   "Class probabilities and predicted class of each image (folders are walked "
                   "as the dataset scan walks them).", entries, &argc, &argv);
  if (checkpoint == NULL || argc < 2)
    {
      g_printerr ("graft-cli predict: give --checkpoint and at least one image or folder\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftPredictor) p = graft_predictor_new (checkpoint, device, batch, &error);
  if (p == NULL)
    return graft_cli_fail (error);
  g_autoptr (GString) out = g_string_new (NULL);
  graft_predict_csv_header (p, out);
  PredictOut o = { p, out, 0 };
  guint n_files = 0;
  if (!graft_predict_paths (p, (const char *const *) argv + 1, predict_cb, &o, &n_files, &error))
    return graft_cli_fail (error);
  if (csv && !g_file_set_contents_full (csv, out->str, out->len, G_FILE_SET_CONTENTS_CONSISTENT,
                                        0644, &error))
    {
      g_prefix_error (&error, "Cannot write %s: ", csv);
      return graft_cli_fail (error);
    }
  if (n_files == 0)
    {
      g_printerr ("graft-cli predict: no image files found\n");
      return 1;
    }
  return o.failed ? 1 : 0;
}

int
graft_cli_export (int argc, char **argv)
{
  g_autofree char *onnx = NULL;
  GOptionEntry entries[] = {
    { "onnx", 0, 0, G_OPTION_ARG_FILENAME, &onnx, "Write an ONNX model (opset 13) here", "FILE" },
    { NULL }
  };
  graft_cli_parse ("export", "CHECKPOINT",
                   "Write a checkpoint's inference network as an ONNX model: input \"image\" "
                   "NHWC RGB pixels in [0, 255] at the model's image size, outputs \"logits\" "
                   "and \"probabilities\", class names in the metadata.", entries, &argc, &argv);
  if (onnx == NULL || argc != 2)
    {
      g_printerr ("graft-cli export: give --onnx FILE and one checkpoint\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = NULL;
  g_autoptr (GraftModel) m = graft_checkpoint_load (argv[1], &names, &error);
  if (m == NULL)
    return graft_cli_fail (error);
  const GraftParam *bad = graft_model_find_nonfinite (m, -1);
  if (bad)
    {
      g_printerr ("graft-cli: %s: tensor %s holds values that are not finite numbers\n", argv[1],
                  bad->full_name);
      return 1;
    }
  if (!graft_onnx_export (m, (const char *const *) names, onnx, &error))
    return graft_cli_fail (error);
  printf ("Wrote %s\n", onnx);
  return 0;
}
