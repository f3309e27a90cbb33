/* Runs /usr/bin/python3 oracles for the data tests; exits 77 (skip) when a module is missing. */
#pragma once

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

/* Exits 77 unless `import @modules` works in /usr/bin/python3. */
static inline void
data_test_require_python (const char *modules)
{
  g_autofree char *code = g_strdup_printf ("import %s", modules);
  char *argv[] = { (char *) "/usr/bin/python3", (char *) "-c", code, NULL };
  int status = -1;
  if (!g_file_test (argv[0], G_FILE_TEST_IS_EXECUTABLE) ||
      !g_spawn_sync (NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    {
      printf ("SKIP: /usr/bin/python3 with %s is not available\n", modules);
      exit (77);
    }
}

/* Runs @code with /usr/bin/python3 and returns its stdout; aborts on failure. */
static inline char *
data_test_python (const char *code)
{
  char *argv[] = { (char *) "/usr/bin/python3", (char *) "-c", (char *) code, NULL };
  char *out = NULL, *err = NULL;
  int status = -1;
  GError *error = NULL;
  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error))
    g_error ("python3: %s", error->message);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("python oracle failed:\n%s", err);
  g_free (err);
  return out;
}
