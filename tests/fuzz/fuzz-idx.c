/* Fuzz target: IDX import (images + labels, plain or gzip) into class folders of JPEGs. */
#include "graft-fuzz.h"
#include "graft-dataset.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir, *images, *labels, *out;

static void remove_tree (const char *path);

static void
remove_dir_at_exit (void)
{
  remove_tree (dir);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  graft_fuzz_init ();
  const char *shm = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir ();
  g_autofree char *tmpl = g_build_filename (shm, "graft-fuzz-idx-XXXXXX", NULL);
  dir = g_mkdtemp (g_steal_pointer (&tmpl));
  g_assert (dir != NULL);
  images = g_build_filename (dir, "images-idx3-ubyte", NULL);
  labels = g_build_filename (dir, "labels-idx1-ubyte", NULL);
  out = g_build_filename (dir, "out", NULL);
  atexit (remove_dir_at_exit);
  return 0;
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* Input: a little-endian 16-bit length n, then n bytes of the images file, the rest is the
 * labels file. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  gsize n = MIN ((gsize) (data[0] | data[1] << 8), size - 2);
  g_assert (g_file_set_contents (images, (const char *) data + 2, (gssize) n, NULL));
  g_assert (g_file_set_contents (labels, (const char *) data + 2 + n, (gssize) (size - 2 - n),
                                 NULL));
  g_autoptr (GError) error = NULL;
  guint written = 0;
  /* At most one JPEG per class, so that one input costs at most ten small files. */
  if (!graft_idx_import (images, labels, out, NULL, NULL, 0, 1, &written, NULL, NULL, NULL,
                         &error))
    g_assert (error != NULL && (strstr (error->message, dir) || strstr (error->message, "Class")));
  remove_tree (out);
  return 0;
}
