/* graft-cli model summary, train, evaluate and predict. */
#include "graft-cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "graft-checkpoint.h"
#include "graft-dataset.h"
#include "graft-model.h"
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
  g_autofree char *metrics = g_build_filename (cfg.out_dir, "metrics.csv", NULL);
  printf ("Run finished: %s (metrics in %s)\n", cfg.out_dir, metrics);
  return 0;
}
