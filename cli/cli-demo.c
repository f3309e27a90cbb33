/* graft-cli demo: the built-in transfer-learning study on Fashion-MNIST (Debian's dataset-fashion-mnist). */
#include "graft-cli.h"

#include <glib/gstdio.h>
#include <stdio.h>

#include "graft-dataset.h"
#include "graft-error.h"
#include "graft-study.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* Source task: the eight classes that are not the target's. Target: T-shirt/top (0) vs
 * Shirt (6), the pair Fashion-MNIST classifiers confuse most. */
static const guint source_classes[] = { 1, 2, 3, 4, 5, 7, 8, 9 };
static const guint target_classes[] = { 0, 6 };

static gboolean
import_into (const char *dir, const guint *classes, guint n, guint per_class, GError **error)
{
  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    return TRUE;
  /* Import next to the final folder, then rename: an interrupted import leaves nothing half-done. */
  g_autofree char *tmp = g_strdup_printf ("%s.partial", dir);
  g_autofree char *images = g_build_filename (FASHION_DIR, "train-images-idx3-ubyte.gz", NULL);
  g_autofree char *labels = g_build_filename (FASHION_DIR, "train-labels-idx1-ubyte.gz", NULL);
  guint written = 0;
  if (!graft_idx_import (images, labels, tmp, graft_fashion_mnist_class_names (), classes, n,
                         per_class, &written, NULL, NULL, NULL, error))
    return FALSE;
  if (g_rename (tmp, dir) != 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot rename %s to %s: %s", tmp, dir,
                   g_strerror (errno));
      return FALSE;
    }
  printf ("Imported %u Fashion-MNIST images into %s\n", written, dir);
  return TRUE;
}

int
graft_cli_demo (int argc, char **argv)
{
  g_autofree char *out = NULL, *device = NULL;
  int per_class = 300, target_per_class = 600, n_seeds = 0;
  GraftStudyHyper hyper;
  graft_study_hyper_init_demo (&hyper);
  hyper.epochs = 8;
  hyper.batch = 32;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Study folder (default ./graft-demo; an existing one resumes)", "DIR" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "OpenCL device: index, id or name part", "ID" },
    { "per-class", 0, 0, G_OPTION_ARG_INT, &per_class, "Source images per class (default 300)", "N" },
    { "target-per-class", 0, 0, G_OPTION_ARG_INT, &target_per_class, "Target images per class (default 600)", "N" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &hyper.epochs, "Epochs of every run (default 8)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &hyper.batch, "Batch size (default 32)", "N" },
    { "image-size", 's', 0, G_OPTION_ARG_INT, &hyper.image_size, "Input side in pixels (default 32)", "N" },
    { "width", 'w', 0, G_OPTION_ARG_DOUBLE, &hyper.width, "Channel multiplier (default 0.25)", "W" },
    { "seeds", 0, 0, G_OPTION_ARG_INT, &n_seeds, "Repeat every run with N seeds (1337, 1338, …): the table gives mean ± std, the figure bands", "N" },
    { NULL }
  };
  graft_cli_parse ("demo", NULL,
                   "Run the built-in transfer-learning study on Fashion-MNIST: a base model on "
                   "eight classes, then T-shirt/top vs Shirt from scratch and with transferred "
                   "weights (only output, 3-first-conv2d & output, 2-last-conv2d & output; frozen "
                   "and trainable). Prints the results table and the figure's path.",
                   entries, &argc, &argv);
  g_autoptr (GError) error = NULL;
  if (!g_file_test (FASHION_DIR, G_FILE_TEST_IS_DIR))
    {
      g_printerr ("graft-cli demo: %s is missing: install Debian's dataset-fashion-mnist package "
                  "(sudo apt-get install dataset-fashion-mnist)\n", FASHION_DIR);
      return 1;
    }
  if (per_class < 10 || target_per_class < 10)
    {
      g_printerr ("graft-cli demo: use at least 10 images per class\n");
      return 2;
    }
  if (n_seeds < 0 || n_seeds > GRAFT_STUDY_MAX_SEEDS)
    {
      g_printerr ("graft-cli demo: --seeds must be between 1 and %d\n", GRAFT_STUDY_MAX_SEEDS);
      return 2;
    }
  gint64 t0 = g_get_monotonic_time ();
  /* Absolute, because study.json resolves relative dataset paths from the study folder. */
  g_autofree char *dir = g_canonicalize_filename (out ? out : "graft-demo", NULL);
  g_autofree char *study_file = g_build_filename (dir, "study.json", NULL);
  if (g_file_test (study_file, G_FILE_TEST_EXISTS))
    {
      printf ("Resuming the demo study in %s (finished runs are kept)\n", dir);
      if (n_seeds > 0)
        {
          g_autoptr (GraftStudy) study = graft_study_load (dir, &error);
          if (study == NULL)
            return graft_cli_fail (error);
          g_array_set_size (study->seeds, 0);
          for (int k = 0; k < n_seeds; k++)
            {
              guint32 v = study->hyper.seed + (guint32) k;
              g_array_append_val (study->seeds, v);
            }
          if (!graft_study_save (study, &error))
            return graft_cli_fail (error);
        }
    }
  else
    {
      g_autofree char *source = g_build_filename (dir, "data", "source", NULL);
      g_autofree char *target = g_build_filename (dir, "data", "target", NULL);
      if (g_mkdir_with_parents (dir, 0755) != 0)
        {
          g_printerr ("graft-cli demo: cannot create %s: %s\n", dir, g_strerror (errno));
          return 1;
        }
      if (!import_into (source, source_classes, G_N_ELEMENTS (source_classes), per_class, &error) ||
          !import_into (target, target_classes, G_N_ELEMENTS (target_classes), target_per_class,
                        &error))
        return graft_cli_fail (error);
      g_autoptr (GraftStudy) study = graft_study_new_preset (GRAFT_STUDY_PRESET_DEMO, source, target,
                                                            &hyper);
      g_free (study->name);
      study->name = g_strdup ("Fashion-MNIST demo: 8 classes → T-shirt/top vs Shirt");
      for (int k = 0; k < n_seeds; k++)
        {
          guint32 v = hyper.seed + (guint32) k;
          g_array_append_val (study->seeds, v);
        }
      if (!graft_study_create (study, dir, &error))
        return graft_cli_fail (error);
      printf ("Created the demo study in %s: %d epochs per run, %d×%d images, width %g, batch %d\n",
              dir, hyper.epochs, hyper.image_size, hyper.image_size, hyper.width, hyper.batch);
    }

  GPtrArray *run_argv = g_ptr_array_new ();
  g_ptr_array_add (run_argv, "graft-cli study run");
  g_ptr_array_add (run_argv, dir);
  if (device)
    {
      g_ptr_array_add (run_argv, "--device");
      g_ptr_array_add (run_argv, device);
    }
  g_ptr_array_add (run_argv, NULL);
  int rc = graft_cli_study_run (run_argv->len - 1, (char **) run_argv->pdata);
  g_ptr_array_free (run_argv, TRUE);
  if (rc != 0)
    return rc;

  printf ("\nBest validation accuracy per run:\n\n");
  char *table_argv[] = { "graft-cli table", dir, "--format", "md", NULL };
  rc = graft_cli_table (4, table_argv);
  g_autofree char *figure = g_build_filename (dir, "figure.png", NULL);
  printf ("\nFigure: %s\nThe whole study took %.1f minutes.\n", figure,
          (g_get_monotonic_time () - t0) / 60e6);
  return rc;
}
