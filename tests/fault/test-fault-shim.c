/* The ENOSPC shim itself: every way the engine writes a file fails on a matching path and works on others. */
#include "fault-test-util.h"
#include "../data/data-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <sys/wait.h>
#include <unistd.h>

static char *self;
static char *root;

static const char *const ways[] = { "g_file_set_contents", "stdio", "fdopen", "gio", "pwrite",
                                    "write" };

/* Child: write 64 KiB to @path one way; exit 0 when it worked, 3 with ENOSPC, 4 otherwise. */
static int
child (const char *way, const char *path)
{
  static char buf[65536];
  memset (buf, 'x', sizeof buf);
  errno = 0;
  gboolean ok = FALSE;
  int e = 0;
  if (g_str_equal (way, "g_file_set_contents"))
    {
      g_autoptr (GError) error = NULL;
      ok = g_file_set_contents (path, buf, sizeof buf, &error);
      e = ok ? 0 : (error->code == G_FILE_ERROR_NOSPC ? ENOSPC : EIO);
    }
  else if (g_str_equal (way, "stdio") || g_str_equal (way, "fdopen"))
    {
      FILE *f = g_str_equal (way, "stdio") ? fopen (path, "wb")
                                           : fdopen (open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644), "wb");
      size_t n = f ? fwrite (buf, 1, sizeof buf, f) : 0;
      int flushed = f ? fflush (f) : -1;
      e = errno;
      int closed = f ? fclose (f) : -1;
      ok = n == sizeof buf && flushed == 0 && closed == 0;
    }
  else if (g_str_equal (way, "gio"))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GFile) file = g_file_new_for_path (path);
      ok = g_file_replace_contents (file, buf, sizeof buf, NULL, FALSE, G_FILE_CREATE_NONE, NULL,
                                    NULL, &error);
      e = ok ? 0 : (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ? ENOSPC : EIO);
    }
  else
    {
      /* As careful code does: go on after a short write until an error. */
      int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      gsize off = 0;
      while (off < sizeof buf)
        {
          ssize_t n = g_str_equal (way, "pwrite") ? pwrite (fd, buf + off, sizeof buf - off, (off_t) off)
                                                  : write (fd, buf + off, sizeof buf - off);
          if (n <= 0)
            break;
          off += (gsize) n;
        }
      e = errno;
      ok = off == sizeof buf;
      close (fd);
    }
  return ok ? 0 : e == ENOSPC ? 3 : 4;
}

static void
test_ways (void)
{
  for (guint w = 0; w < G_N_ELEMENTS (ways); w++)
    {
      g_autofree char *full = g_build_filename (root, "full-disk.dat", NULL);
      g_autofree char *fine = g_build_filename (root, "roomy.dat", NULL);
      char *argv_full[] = { self, (char *) "--child", (char *) ways[w], full, NULL };
      char *argv_fine[] = { self, (char *) "--child", (char *) ways[w], fine, NULL };
      g_autofree char *err1 = NULL, *err2 = NULL;
      int s1 = fault_test_spawn (argv_full, "full-disk", NULL, &err1);
      int s2 = fault_test_spawn (argv_fine, "full-disk", NULL, &err2);
      g_test_message ("%s: matching path status %d, other path status %d", ways[w], s1, s2);
      if (!fault_test_exited (s1, 3))
        g_error ("%s on a matching path: status %d, expected ENOSPC\n%s", ways[w], s1, err1);
      if (!fault_test_exited (s2, 0))
        g_error ("%s on another path: status %d, expected success\n%s", ways[w], s2, err2);
      g_assert_nonnull (strstr (err1, "full-disk.dat"));
      g_remove (full);
      g_remove (fine);
    }
}

/* GRAFT_FAULT_ENOSPC_AFTER lets that many bytes reach the file first. */
static void
test_after (void)
{
  g_autofree char *full = g_build_filename (root, "full-after.dat", NULL);
  char *argv[] = { self, (char *) "--child", (char *) "write", full, NULL };
  g_autofree char *err = NULL;
  int s = fault_test_spawn (argv, "full-after", "1000", &err);
  g_assert_true (fault_test_exited (s, 3));
  GStatBuf st;
  g_assert_cmpint (g_stat (full, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 1000);
}

int
main (int argc, char **argv)
{
  if (argc == 4 && g_str_equal (argv[1], "--child"))
    return child (argv[2], argv[3]);
  g_test_init (&argc, &argv, NULL);
  fault_test_shim ();
  self = g_canonicalize_filename (argv[0], NULL);
  root = data_test_tmpdir ();
  g_test_add_func ("/fault/shim/ways", test_ways);
  g_test_add_func ("/fault/shim/after", test_after);
  int rc = g_test_run ();
  data_test_rm_rf (root);
  g_free (root);
  g_free (self);
  return rc;
}
