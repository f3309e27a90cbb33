/* Damaged JPEGs must not change the verdict on the files decoded after them (scan, cache build, old scan caches). */
#include "graft-test.h"
#include "graft-dataset.h"
#include "graft-image.h"
#include "data-test-util.h"

static char *root;

/* A JPEG whose first DHT segment claims 255 codes of every length. */
static guint8 *
bad_dht (const guint8 *jpeg, gsize len)
{
  guint8 *b = g_memdup2 (jpeg, len);
  for (gsize i = 2; i + 21 < len; i++)
    if (b[i] == 0xFF && b[i + 1] == 0xC4)
      {
        memset (b + i + 5, 0xFF, 16);
        return b;
      }
  g_error ("no DHT segment in the generated JPEG");
}

typedef struct {
  char   *dir;
  guint   n_good;
  guint   n_bad;
  GPtrArray *good;    /* char*: relative paths of the valid files */
} Folder;

static void
folder_free (Folder *f)
{
  g_free (f->dir);
  g_ptr_array_unref (f->good);
  g_free (f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Folder, folder_free)

/* Two classes of @n_good valid JPEGs each, plus in each class damaged files
 * named with @bad_prefix ("0-" sorts them in front, "z-" behind): 400-byte
 * truncations of a valid file and files with a corrupt DHT segment. */
static Folder *
make_folder (const char *name, const char *bad_prefix, guint n_good, guint n_bad)
{
  Folder *f = g_new0 (Folder, 1);
  f->dir = g_build_filename (root, name, NULL);
  f->good = g_ptr_array_new_with_free_func (g_free);
  const char *classes[] = { "cats", "dogs" };
  guint32 seed = 1;
  for (guint k = 0; k < 2; k++)
    {
      for (guint i = 0; i < n_good; i++)
        {
          g_autofree guint8 *px = data_test_pattern (64 + 3 * i, 48 + i, 3, seed++);
          unsigned long len;
          unsigned char *j = data_test_jpeg (px, 64 + 3 * i, 48 + i, TJPF_RGB, TJSAMP_420, 0, &len);
          g_assert_cmpuint (len, >, 400);
          g_autofree char *rel = g_strdup_printf ("%s/m-good-%02u.jpg", classes[k], i);
          g_autofree char *p = g_build_filename (f->dir, rel, NULL);
          data_test_write (p, j, len);
          g_ptr_array_add (f->good, g_steal_pointer (&rel));
          f->n_good++;
          if (i < n_bad)
            {
              g_autofree char *t = g_strdup_printf ("%s/%s/%strunc-%02u.jpg", f->dir, classes[k],
                                                    bad_prefix, i);
              data_test_write (t, j, 400);
              g_autofree guint8 *d = bad_dht (j, len);
              g_autofree char *h = g_strdup_printf ("%s/%s/%sdht-%02u.jpg", f->dir, classes[k],
                                                    bad_prefix, i);
              data_test_write (h, d, len);
              f->n_bad += 2;
            }
          tjFree (j);
        }
    }
  return f;
}

static gboolean
is_good (const Folder *f, GraftDataset *ds, const char *path)
{
  for (guint i = 0; i < f->good->len; i++)
    {
      g_autofree char *want = g_build_filename (graft_dataset_dir (ds), f->good->pdata[i], NULL);
      if (g_str_equal (want, path))
        return TRUE;
    }
  return FALSE;
}

/* Every valid file usable, every damaged one skipped, with the number of
 * worker threads and the position of the damaged files varied; each scan
 * starts with an empty scan cache so that it really decodes. */
static void
test_scan_no_poison (void)
{
  const char *prefixes[] = { "0-", "z-" };
  for (guint o = 0; o < G_N_ELEMENTS (prefixes); o++)
    for (int threads = 1; threads <= 2; threads++)
      {
        g_autofree char *name = g_strdup_printf ("scan-%u-%d", o, threads);
        g_autoptr (Folder) f = make_folder (name, prefixes[o], 6, 4);
        g_autofree char *cache = g_build_filename (root, "cache", name, NULL);
        g_setenv ("GRAFT_IMAGE_CACHE", cache, TRUE);
        graft_data_set_threads (threads);
        g_autoptr (GError) error = NULL;
        g_autoptr (GraftDataset) ds = graft_dataset_scan (f->dir, GRAFT_FILTER_DECODE, NULL, NULL,
                                                          NULL, &error);
        g_assert_no_error (error);
        g_test_message ("bad files %s, %d thread(s): %u usable, %u skipped", prefixes[o], threads,
                        graft_dataset_n_files (ds), graft_dataset_n_skipped (ds));
        for (guint i = 0; i < graft_dataset_n_skipped (ds); i++)
          if (is_good (f, ds, graft_dataset_skipped_path (ds, i)))
            g_error ("valid file %s was skipped: %s", graft_dataset_skipped_path (ds, i),
                     graft_dataset_skipped_reason (ds, i));
        g_assert_cmpuint (graft_dataset_n_files (ds), ==, f->n_good);
        g_assert_cmpuint (graft_dataset_n_skipped (ds), ==, f->n_bad);
        for (guint i = 0; i < graft_dataset_n_files (ds); i++)
          g_assert_true (is_good (f, ds, graft_dataset_file_path (ds, i)));
      }
  graft_data_set_threads (0);
}

/* keras-jfif lets the damaged files through, so the cache build decodes
 * them between valid ones: only they may fail, and each valid file's pixels
 * equal a decode with a handle used for that file alone. */
static void
test_cache_no_poison (void)
{
  for (int threads = 1; threads <= 2; threads++)
    {
      g_autofree char *name = g_strdup_printf ("cache-%d", threads);
      g_autoptr (Folder) f = make_folder (name, "0-", 5, 5);
      g_autofree char *cache = g_build_filename (root, "cache", name, NULL);
      g_setenv ("GRAFT_IMAGE_CACHE", cache, TRUE);
      graft_data_set_threads (threads);
      g_autoptr (GError) error = NULL;
      g_autoptr (GraftDataset) ds = graft_dataset_scan (f->dir, GRAFT_FILTER_KERAS_JFIF, NULL, NULL,
                                                        NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (graft_dataset_n_files (ds), ==, f->n_good + f->n_bad);
      const int S = 16;
      g_autoptr (GraftImageCache) c = graft_image_cache_open (ds, S, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (graft_image_cache_n_failed (c), ==, f->n_bad);
      for (guint k = 0; k < graft_image_cache_n_failed (c); k++)
        g_assert_false (is_good (f, ds, graft_dataset_file_path (ds, graft_image_cache_failed_index (c, k))));
      guint8 want[16 * 16 * 3];
      for (guint i = 0; i < graft_dataset_n_files (ds); i++)
        {
          const char *p = graft_dataset_file_path (ds, i);
          if (!is_good (f, ds, p))
            continue;
          g_autofree char *data = NULL;
          gsize len;
          g_assert_true (g_file_get_contents (p, &data, &len, NULL));
          tjhandle tj = tjInitDecompress ();
          char *reason = NULL;
          int w, h;
          g_autofree guint8 *rgb = graft_jpeg_decode_rgb (tj, (guint8 *) data, len, 0, &w, &h, &reason);
          tjDestroy (tj);
          g_assert_null (reason);
          graft_resize_bilinear_rgb8 (rgb, w, h, want, S, S);
          g_assert_cmpmem (graft_image_cache_pixels (c, i), sizeof want, want, sizeof want);
        }
    }
  graft_data_set_threads (0);
}

/* One decoder through bad, good, bad, good: the good ones decode and the
 * handle was replaced after each failure. */
static void
test_decoder_reset (void)
{
  g_autofree guint8 *px = data_test_pattern (40, 30, 3, 5);
  unsigned long len;
  unsigned char *j = data_test_jpeg (px, 40, 30, TJPF_RGB, TJSAMP_444, 0, &len);
  g_autofree guint8 *dht = bad_dht (j, len);
  g_autoptr (GraftJpegDecoder) dec = graft_jpeg_decoder_new ();
  for (int round = 0; round < 3; round++)
    {
      char *reason = NULL;
      int w, h;
      guint8 *out = graft_jpeg_decoder_decode_rgb (dec, dht, len, 0, &w, &h, &reason);
      g_assert_null (out);
      g_assert_nonnull (reason);
      g_test_message ("bad DHT: %s", reason);
      g_clear_pointer (&reason, g_free);
      out = graft_jpeg_decoder_decode_rgb (dec, j, 400, 0, &w, &h, &reason);
      g_assert_null (out);
      g_clear_pointer (&reason, g_free);
      out = graft_jpeg_decoder_decode_rgb (dec, j, len, 0, &w, &h, &reason);
      g_assert_null (reason);
      g_assert_nonnull (out);
      g_assert_cmpint (w, ==, 40);
      g_assert_cmpint (h, ==, 30);
      g_free (out);
    }
  g_assert_cmpuint (graft_jpeg_decoder_n_resets (dec), ==, 6);
  tjFree (j);
}

/* A scan cache written before verdicts could be trusted (no format line)
 * is ignored: a valid file it calls damaged is decoded again. */
static void
test_old_scan_cache (void)
{
  g_autoptr (Folder) f = make_folder ("old-cache", "0-", 2, 0);
  g_autofree char *cache = g_build_filename (root, "cache", "old", NULL);
  g_setenv ("GRAFT_IMAGE_CACHE", cache, TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftDataset) ds = graft_dataset_scan (f->dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (graft_dataset_n_files (ds), ==, 4);
  /* Rewrite every cache file the scan wrote in the old layout, with a
   * poisoned verdict for every file. */
  g_autoptr (GDir) d = g_dir_open (cache, 0, &error);
  g_assert_no_error (error);
  const char *name;
  guint rewritten = 0;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (!g_str_has_suffix (name, ".scan"))
        continue;
      g_autofree char *p = g_build_filename (cache, name, NULL);
      g_autoptr (GString) s = g_string_new (NULL);
      for (guint i = 0; i < graft_dataset_n_files (ds); i++)
        {
          const char *rel = graft_dataset_file_path (ds, i) + strlen (graft_dataset_dir (ds)) + 1;
          g_string_append_printf (s, "%" G_GUINT64_FORMAT "\t%" G_GINT64_FORMAT "\t%s\t%s\n",
                                  graft_dataset_file_size (ds, i), graft_dataset_file_mtime (ds, i),
                                  "corrupt JPEG header (Bogus Huffman table definition)", rel);
        }
      data_test_write (p, s->str, s->len);
      rewritten++;
    }
  g_assert_cmpuint (rewritten, ==, 1);
  g_autoptr (GraftDataset) again = graft_dataset_scan (f->dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (graft_dataset_n_files (again), ==, 4);
  g_assert_cmpuint (graft_dataset_n_skipped (again), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  root = data_test_tmpdir ();
  g_test_add_func ("/data/decoder/reset", test_decoder_reset);
  g_test_add_func ("/data/decoder/scan-no-poison", test_scan_no_poison);
  g_test_add_func ("/data/decoder/cache-no-poison", test_cache_no_poison);
  g_test_add_func ("/data/decoder/old-scan-cache", test_old_scan_cache);
  int rc = g_test_run ();
  data_test_rm_rf (root);
  g_free (root);
  return rc;
}
