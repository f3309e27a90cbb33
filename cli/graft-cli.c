/* graft-cli: the headless front end over the engine; dispatches subcommands. */
#include "graft-config.h"
#include "graft-cli.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static const GraftCliCommand commands[] = {
  { "devices", graft_cli_devices, "List OpenCL devices" },
  { "cache", graft_cli_cache, "Show or clear cached kernel binaries" },
  { "smoke", graft_cli_smoke, "Run one SGEMM on a device and check it against the CPU" },
  { "demo", graft_cli_demo, "Run the built-in demo study on Fashion-MNIST" },
  { "study new", graft_cli_study_new, "Create a study folder from a preset (paper or demo)" },
  { "study run", graft_cli_study_run, "Train a study's runs in order, resuming where it stopped" },
  { "study status", graft_cli_study_status, "Show the state of every run of a study" },
  { "study submit", graft_cli_study_submit, "Submit a study's runs to Slurm as job arrays" },
  { "table", graft_cli_table, "Write a study's results table (CSV or Markdown)" },
  { "plot", graft_cli_plot, "Draw a study's learning curves to PNG, SVG or PDF" },
  { "dataset scan", graft_cli_dataset_scan, "List classes, usable images and skipped files of a dataset folder" },
  { "import-idx", graft_cli_import_idx, "Convert IDX files (MNIST, Fashion-MNIST) into class folders of JPEGs" },
  { "bench", graft_cli_bench, "Measure training and inference speed, per-op profile and memory of the reference network" },
  { "tune", graft_cli_tune, "Tune CLBlast GEMM parameters for this network on a device" },
  { "bench data", graft_cli_bench_data, "Measure scan, decode and cached read speed of a dataset" },
  { "model summary", graft_cli_model_summary, "Print the reference network with parameter counts" },
  { "train", graft_cli_train, "Train (or resume) one run on a folder of images" },
  { "evaluate", graft_cli_evaluate, "Loss, accuracy and confusion matrix of a checkpoint on a folder" },
  { "predict", graft_cli_predict, "Class probabilities of images with a checkpoint" },
  { "export", graft_cli_export, "Write a checkpoint as an ONNX model" },
};

void
graft_cli_parse (const char *name, const char *params, const char *summary,
                 GOptionEntry *entries, int *argc, char ***argv)
{
  g_autofree char *title = g_strdup_printf ("%s%s%s", name, params ? " " : "", params ? params : "");
  g_autoptr (GOptionContext) oc = g_option_context_new (title);
  g_autoptr (GError) error = NULL;
  g_option_context_set_summary (oc, summary);
  if (entries)
    g_option_context_add_main_entries (oc, entries, NULL);
  if (!g_option_context_parse (oc, argc, argv, &error))
    {
      g_printerr ("graft-cli %s: %s\nTry “graft-cli %s --help”.\n", name, error->message, name);
      exit (2);
    }
}

int
graft_cli_fail (GError *error)
{
  g_printerr ("graft-cli: %s\n", error ? error->message : "failed");
  return 1;
}

static void
usage (FILE *f)
{
  fprintf (f, "Usage: graft-cli [--version] COMMAND [OPTIONS…]\n\n"
              "Train convolutional networks and run transfer-learning studies on any OpenCL device.\n\n"
              "Commands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (f, "  %-18s %s\n", commands[i].name, commands[i].summary);
  fprintf (f, "\nRun “graft-cli COMMAND --help” for a command's options.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  if (g_str_equal (argv[1], "--version") || g_str_equal (argv[1], "-V"))
    {
      printf ("graft-cli %s\n", GRAFT_VERSION);
      return 0;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || g_str_equal (argv[1], "help"))
    {
      usage (stdout);
      return 0;
    }
  /* Longest match first so "dataset scan" wins over a "dataset" command. */
  const GraftCliCommand *best = NULL;
  int best_words = 0;
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_auto (GStrv) words = g_strsplit (commands[i].name, " ", -1);
      int nw = g_strv_length (words);
      if (nw > argc - 1 || nw <= best_words)
        continue;
      gboolean ok = TRUE;
      for (int w = 0; w < nw && ok; w++)
        ok = g_str_equal (words[w], argv[1 + w]);
      if (ok)
        {
          best = &commands[i];
          best_words = nw;
        }
    }
  if (best == NULL)
    {
      fprintf (stderr, "graft-cli: unknown command “%s”\n\n", argv[1]);
      usage (stderr);
      return 2;
    }
  /* The subcommand sees argv[0] = its full name. */
  int sub_argc = argc - best_words;
  char **sub_argv = g_new0 (char *, sub_argc + 1);
  sub_argv[0] = g_strdup_printf ("graft-cli %s", best->name);
  for (int i = 1; i < sub_argc; i++)
    sub_argv[i] = argv[best_words + i];
  int rc = best->func (sub_argc, sub_argv);
  g_free (sub_argv[0]);
  g_free (sub_argv);
  return rc;
}
