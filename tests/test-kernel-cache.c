/* Damaged kernel-cache files (truncated, flipped, empty, foreign) are rebuilt from source and rewritten, never handed to the driver. */
#include "graft-test.h"
#include "graft-ops.h"

#include <glib/gstdio.h>
#include <string.h>

static char *cache_dir;

/* The layout DESIGN.md documents: magic, version, header size, payload size, SHA-256. */
#define HEADER 56

static GPtrArray *
cache_files (void)
{
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = g_dir_open (cache_dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".bin"))
      g_ptr_array_add (files, g_build_filename (cache_dir, name, NULL));
  g_ptr_array_sort (files, (GCompareFunc) g_strcmp0);
  return files;
}

/* The file's own header describes its payload: length and SHA-256, checked
 * here with GChecksum rather than with the engine's reader. */
static gboolean
intact (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &data, &len, NULL) || len <= HEADER)
    return FALSE;
  guint32 version, header_size;
  guint64 payload;
  memcpy (&version, data + 8, 4);
  memcpy (&header_size, data + 12, 4);
  memcpy (&payload, data + 16, 8);
  if (memcmp (data, "GRAFTKBN", 8) != 0 || version != 1 || header_size != HEADER ||
      payload != len - HEADER)
    return FALSE;
  guint8 digest[32];
  gsize n = 32;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, (const guchar *) data + HEADER, len - HEADER);
  g_checksum_get_digest (sum, digest, &n);
  return memcmp (digest, data + 24, 32) == 0;
}

/* A context runs ReLU and matches the reference. */
static void
run_relu (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftContext) ctx = graft_test_context ();
  const int n = 1000;
  float x[1000], y[1000], want[1000];
  for (int i = 0; i < n; i++)
    x[i] = (float) (i % 7) - 3.0f;
  graft_relu_forward_ref (n, x, want);
  g_autoptr (GraftTensor) tx = graft_tensor_new (ctx, 1, 1, 1, n, &error);
  g_assert_no_error (error);
  g_autoptr (GraftTensor) ty = graft_tensor_new (ctx, 1, 1, 1, n, &error);
  g_assert_no_error (error);
  g_assert_true (graft_tensor_write (ctx, tx, x, &error));
  g_assert_true (graft_relu_forward (ctx, tx, ty, &error));
  g_assert_no_error (error);
  g_assert_true (graft_tensor_read (ctx, ty, y, &error));
  g_assert_cmpmem (y, sizeof y, want, sizeof want);
}

typedef enum { TRUNCATE_HALF, TRUNCATE_HEADER, FLIP_PAYLOAD, FLIP_HASH, ZERO, WRONG_MAGIC,
               LONG_CLAIM, RAW_BINARY } Damage;
static const char *const damage_names[] = { "truncate-half", "truncate-header", "flip-payload",
                                            "flip-hash", "zero-length", "wrong-magic",
                                            "long-claim", "raw-binary" };

static void
damage (const char *path, Damage d)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpuint (len, >, HEADER + 16);
  switch (d)
    {
    case TRUNCATE_HALF: len = HEADER + (len - HEADER) / 2; break;
    case TRUNCATE_HEADER: len = HEADER; break;
    case FLIP_PAYLOAD: data[HEADER + (len - HEADER) / 3] ^= 0x5a; break;
    case FLIP_HASH: data[24] ^= 0x01; break;
    case ZERO: len = 0; break;
    case WRONG_MAGIC: data[0] = 'X'; break;
    case LONG_CLAIM:
      {
        guint64 huge = G_GUINT64_CONSTANT (1) << 40;
        memcpy (data + 16, &huge, 8);
      }
      break;
    case RAW_BINARY:   /* a cache file written before the header existed */
      memmove (data, data + HEADER, len - HEADER);
      len -= HEADER;
      break;
    }
  g_assert_true (g_file_set_contents (path, data, (gssize) len, NULL));
}

static void
test_damaged (gconstpointer p)
{
  Damage d = GPOINTER_TO_INT (p);
  if (g_test_subprocess ())
    {
      run_relu ();
      return;
    }
  /* A clean build fills the cache. */
  g_autoptr (GPtrArray) before = cache_files ();
  if (before->len == 0)
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      g_ptr_array_unref (before);
      before = cache_files ();
    }
  g_assert_cmpuint (before->len, >, 0);
  for (guint i = 0; i < before->len; i++)
    {
      g_assert_true (intact (before->pdata[i]));
      damage (before->pdata[i], d);
    }
  /* The driver never sees the damaged bytes: the kernels build and run, in a
   * child so that a crash inside the driver is a failure of this case only. */
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_autoptr (GPtrArray) after = cache_files ();
  g_assert_cmpuint (after->len, ==, before->len);
  for (guint i = 0; i < after->len; i++)
    {
      g_test_message ("%s: %s rewritten", damage_names[d], (char *) after->pdata[i]);
      g_assert_cmpstr (after->pdata[i], ==, before->pdata[i]);
      g_assert_true (intact (after->pdata[i]));
    }
  /* No temporary files are left next to them. */
  g_autoptr (GDir) dir = g_dir_open (cache_dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_true (g_str_has_suffix (name, ".bin"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The child of g_test_trap_subprocess inherits the variable. */
  const char *inherited = g_getenv ("GRAFT_TEST_KERNEL_CACHE_DIR");
  if (inherited)
    cache_dir = g_strdup (inherited);
  else
    {
      g_autoptr (GError) error = NULL;
      cache_dir = g_dir_make_tmp ("graft-kernel-cache-XXXXXX", &error);
      g_assert_no_error (error);
      g_setenv ("GRAFT_TEST_KERNEL_CACHE_DIR", cache_dir, TRUE);
    }
  g_setenv ("GRAFT_KERNEL_CACHE", cache_dir, TRUE);
  /* Opening the device first turns "no OpenCL device" into a skip. */
  if (!inherited)
    graft_context_free (graft_test_context ());
  for (guint d = 0; d < G_N_ELEMENTS (damage_names); d++)
    {
      g_autofree char *path = g_strdup_printf ("/kernel-cache/%s", damage_names[d]);
      g_test_add_data_func (path, GINT_TO_POINTER (d), test_damaged);
    }
  int rc = g_test_run ();
  if (!inherited)
    {
      g_autoptr (GPtrArray) files = cache_files ();
      for (guint i = 0; i < files->len; i++)
        g_unlink (files->pdata[i]);
      g_rmdir (cache_dir);
    }
  g_free (cache_dir);
  return rc;
}
