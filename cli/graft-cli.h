/* Shared pieces of graft-cli's subcommands. */
#pragma once

#include <glib.h>

typedef int (*GraftCliFunc) (int argc, char **argv);

typedef struct {
  const char  *name;      /* "devices", "dataset scan", ... (space separated words) */
  GraftCliFunc func;
  const char  *summary;
} GraftCliCommand;

/* Parses @entries for subcommand @name, printing errors and exiting with 2 on
 * bad usage. argv[0] is the subcommand name. */
void graft_cli_parse (const char *name, const char *params, const char *summary,
                      GOptionEntry *entries, int *argc, char ***argv);

/* Prints "graft-cli: message" to stderr and returns 1. */
int  graft_cli_fail  (GError *error);

int graft_cli_devices (int argc, char **argv);
int graft_cli_cache   (int argc, char **argv);
int graft_cli_smoke   (int argc, char **argv);
int graft_cli_demo    (int argc, char **argv);
int graft_cli_study_new    (int argc, char **argv);
int graft_cli_study_run    (int argc, char **argv);
int graft_cli_study_status (int argc, char **argv);
int graft_cli_study_submit (int argc, char **argv);
int graft_cli_table        (int argc, char **argv);
int graft_cli_plot         (int argc, char **argv);
int graft_cli_dataset_scan (int argc, char **argv);
int graft_cli_import_idx   (int argc, char **argv);
int graft_cli_bench_data   (int argc, char **argv);
int graft_cli_bench        (int argc, char **argv);
int graft_cli_tune         (int argc, char **argv);
int graft_cli_model_summary (int argc, char **argv);
int graft_cli_train   (int argc, char **argv);
int graft_cli_evaluate (int argc, char **argv);
int graft_cli_predict (int argc, char **argv);
int graft_cli_export (int argc, char **argv);
