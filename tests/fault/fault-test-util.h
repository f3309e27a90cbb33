/* Runs a test's own executable again under the ENOSPC shim (tests/fault/graft-fault-shim.c). */
#pragma once

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

/* Exits 77 unless the shim that meson built is there. */
static inline const char *
fault_test_shim (void)
{
  const char *shim = g_getenv ("GRAFT_FAULT_SHIM");
  if (shim == NULL || !g_file_test (shim, G_FILE_TEST_EXISTS))
    {
      printf ("SKIP: GRAFT_FAULT_SHIM does not name the fault-injection shim\n");
      exit (77);
    }
  return shim;
}

/* Runs @argv (argv[0] an absolute path) with the shim preloaded and
 * GRAFT_FAULT_ENOSPC=@pattern (NULL: the shim is loaded but injects nothing),
 * GRAFT_FAULT_ENOSPC_AFTER=@after. Returns the wait status; *@err gets stderr. */
static inline int
fault_test_spawn (char **argv, const char *pattern, const char *after, char **err)
{
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_setenv (env, "LD_PRELOAD", fault_test_shim (), TRUE);
  /* An ASan build wants its runtime first; the shim only wraps libc calls. */
  env = g_environ_setenv (env, "ASAN_OPTIONS", "verify_asan_link_order=0", FALSE);
  env = g_environ_unsetenv (env, "GRAFT_FAULT_ENOSPC");
  env = g_environ_unsetenv (env, "GRAFT_FAULT_ENOSPC_AFTER");
  if (pattern)
    env = g_environ_setenv (env, "GRAFT_FAULT_ENOSPC", pattern, TRUE);
  if (after)
    env = g_environ_setenv (env, "GRAFT_FAULT_ENOSPC_AFTER", after, TRUE);
  env = g_environ_setenv (env, "GRAFT_FAULT_LOG", "1", TRUE);
  int status = -1;
  g_autoptr (GError) error = NULL;
  if (!g_spawn_sync (NULL, argv, env, G_SPAWN_DEFAULT, NULL, NULL, NULL, err, &status, &error))
    g_error ("cannot run %s: %s", argv[0], error->message);
  return status;
}

/* TRUE when @status is a normal exit with @code (not a signal). */
static inline gboolean
fault_test_exited (int status, int code)
{
  return WIFEXITED (status) && WEXITSTATUS (status) == code;
}
