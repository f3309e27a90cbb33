/* Dataset scan, validity filters, seeded split, image cache invalidation and IDX import on generated files. */
#include "graft-test.h"
#include "graft-dataset.h"
#include "graft-image.h"
#include "data-test-util.h"

#include <cairo.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

static char *root;   /* temp folder for everything, also the image cache */

static char *
sub (const char *a, const char *b)
{
  return g_build_filename (root, a, b, NULL);
}

static void
test_ordering (void)
{
  g_autofree char *dir = sub ("order", NULL);
  /* Classes created out of order; files in nested folders and mixed-case extensions. */
  const char *classes[] = { "zebra", "b c", "apple", "b", "Apple" };
  const char *files[] = { "b.jpg", "a.JPG", "c.jpeg", "sub/z.jpg", "sub/a.jpg", "sub b/m.jpg",
                          "sub/deep/q.jpg" };
  guint32 seed = 1;
  for (guint k = 0; k < G_N_ELEMENTS (classes); k++)
    {
      for (guint f = 0; f < G_N_ELEMENTS (files); f++)
        {
          g_autofree char *p = g_build_filename (dir, classes[k], files[f], NULL);
          data_test_write_jpeg (p, 8, 6, seed++);
        }
      g_autofree char *txt = g_build_filename (dir, classes[k], "notes.txt", NULL);
      data_test_write (txt, "not an image", 12);
      g_autofree char *noext = g_build_filename (dir, classes[k], "jpg", NULL);
      data_test_write (noext, "x", 1);
    }
  /* A stray file at the top is not a class. */
  g_autofree char *stray = g_build_filename (dir, "README.jpg", NULL);
  data_test_write_jpeg (stray, 4, 4, 99);

  g_autoptr (GError) error = NULL;
  g_autoptr (GraftDataset) ds = graft_dataset_scan (dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  /* Python's sorted() order of the folder names. */
  const char *want_classes[] = { "Apple", "apple", "b", "b c", "zebra" };
  /* os.walk roots sorted as strings (' ' < '/'), then names sorted in each root. */
  const char *want_files[] = { "a.JPG", "b.jpg", "c.jpeg", "sub/a.jpg", "sub/z.jpg",
                               "sub b/m.jpg", "sub/deep/q.jpg" };
  g_assert_cmpuint (graft_dataset_n_classes (ds), ==, 5);
  g_assert_cmpuint (graft_dataset_n_files (ds), ==, 5 * 7);
  g_assert_cmpuint (graft_dataset_n_skipped (ds), ==, 0);
  for (guint k = 0; k < 5; k++)
    {
      g_assert_cmpstr (graft_dataset_class_name (ds, k), ==, want_classes[k]);
      g_assert_cmpuint (graft_dataset_class_count (ds, k), ==, 7);
      for (guint f = 0; f < 7; f++)
        {
          guint i = k * 7 + f;
          g_autofree char *want = g_build_filename (graft_dataset_dir (ds), want_classes[k],
                                                    want_files[f], NULL);
          g_assert_cmpstr (graft_dataset_file_path (ds, i), ==, want);
          g_assert_cmpuint (graft_dataset_file_label (ds, i), ==, k);
        }
    }
}

static void
test_not_a_dataset (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *missing = sub ("no-such-folder", NULL);
  g_assert_null (graft_dataset_scan (missing, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  g_autofree char *one = sub ("one-class", "only");
  g_mkdir_with_parents (one, 0755);
  g_autofree char *one_dir = sub ("one-class", NULL);
  g_assert_null (graft_dataset_scan (one_dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "at least 2 classes"));
}

static void
write_png (const char *path)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 5, 3);
  g_assert_cmpint (cairo_surface_write_to_png (s, path), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (s);
}

/* A class folder without a usable image is refused, naming the folder and
 * why its files were skipped; the report-only scan keeps it with count 0. */
static void
test_empty_class (void)
{
  g_autofree char *dir = sub ("empty-class", NULL);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *p = g_strdup_printf ("%s/dogs/%u.jpg", dir, i);
      data_test_write_jpeg (p, 9, 7, 40 + i);
    }
  g_autofree char *bad1 = g_build_filename (dir, "cats", "broken.jpg", NULL);
  data_test_write (bad1, "not a jpeg", 10);
  g_autofree char *bad2 = g_build_filename (dir, "cats", "empty.jpg", NULL);
  data_test_write (bad2, "", 0);
  g_autofree char *nothing = g_build_filename (dir, "emus", NULL);
  g_mkdir_with_parents (nothing, 0755);
  g_autoptr (GError) error = NULL;
  g_assert_null (graft_dataset_scan (dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_autofree char *cats = g_build_filename (dir, "cats", NULL);
  g_assert_nonnull (strstr (error->message, cats));
  g_assert_nonnull (strstr (error->message, "no usable image"));
  g_assert_nonnull (strstr (error->message, "2 files skipped"));
  g_assert_nonnull (strstr (error->message, "broken.jpg"));
  g_assert_nonnull (strstr (error->message, "emus"));
  g_clear_error (&error);
  g_autoptr (GraftDataset) ds = graft_dataset_scan_full (dir, GRAFT_FILTER_DECODE,
                                                         GRAFT_SCAN_ALLOW_EMPTY_CLASSES, NULL,
                                                         NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (graft_dataset_n_classes (ds), ==, 3);
  g_assert_cmpuint (graft_dataset_class_count (ds, 0), ==, 0);
  g_assert_cmpuint (graft_dataset_class_count (ds, 1), ==, 3);
  g_assert_cmpuint (graft_dataset_class_count (ds, 2), ==, 0);
  g_assert_false (graft_dataset_check_classes (ds, &error));
  g_assert_nonnull (strstr (error->message, cats));
}

/* A run folder written inside the dataset (--out inside --data) is not a class. */
static void
test_run_folder_in_data (void)
{
  g_autofree char *dir = sub ("run-inside", NULL);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *a = g_strdup_printf ("%s/a/%u.jpg", dir, i);
      g_autofree char *b = g_strdup_printf ("%s/b/%u.jpg", dir, i);
      data_test_write_jpeg (a, 9, 7, 50 + i);
      data_test_write_jpeg (b, 9, 7, 60 + i);
    }
  /* Nested one level below a class-like folder, with an image-like file in it. */
  g_autofree char *run = g_build_filename (dir, "runs", "r1", NULL);
  g_autofree char *cfg = g_build_filename (run, "config.json", NULL);
  data_test_write (cfg, "{}", 2);
  g_autofree char *fig = g_build_filename (run, "curve.png", NULL);
  write_png (fig);
  g_autoptr (GError) error = NULL;
  g_assert_null (graft_dataset_scan_full (dir, GRAFT_FILTER_DECODE, GRAFT_SCAN_ALLOW_EMPTY_CLASSES,
                                          NULL, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, run));
  g_assert_nonnull (strstr (error->message, "run folder"));
}

/* A class that is a link to the dataset folder itself is refused, not walked. */
static void
test_class_links_back (void)
{
  g_autofree char *dir = sub ("link-back", NULL);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *a = g_strdup_printf ("%s/a/%u.jpg", dir, i);
      g_autofree char *b = g_strdup_printf ("%s/b/%u.jpg", dir, i);
      data_test_write_jpeg (a, 9, 7, 70 + i);
      data_test_write_jpeg (b, 9, 7, 80 + i);
    }
  g_autofree char *self_link = g_build_filename (dir, "self", NULL);
  g_assert_cmpint (symlink (".", self_link), ==, 0);
  /* A link loop inside a class is not followed: the class keeps its 2 images. */
  g_autofree char *inner = g_build_filename (dir, "a", "loop", NULL);
  g_assert_cmpint (symlink ("..", inner), ==, 0);
  g_autoptr (GError) error = NULL;
  g_assert_null (graft_dataset_scan (dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, self_link));
  g_clear_error (&error);
  g_unlink (self_link);
  g_autoptr (GraftDataset) ds = graft_dataset_scan (dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (graft_dataset_n_files (ds), ==, 4);
}

/* A named pipe or a link to /dev/zero named .jpg is skipped at once (reading
 * it would wait for a writer, or never end), with either filter and in the
 * cache build's reader. */
static void
test_not_regular (void)
{
  g_autofree char *dir = sub ("not-regular", NULL);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *a = g_strdup_printf ("%s/a/%u.jpg", dir, i);
      g_autofree char *b = g_strdup_printf ("%s/b/%u.jpg", dir, i);
      data_test_write_jpeg (a, 9, 7, 90 + i);
      data_test_write_jpeg (b, 9, 7, 95 + i);
    }
  g_autofree char *fifo = g_build_filename (dir, "a", "pipe.jpg", NULL);
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  g_autofree char *zero = g_build_filename (dir, "b", "zero.jpg", NULL);
  g_assert_cmpint (symlink ("/dev/zero", zero), ==, 0);
  GraftFilter filters[] = { GRAFT_FILTER_DECODE, GRAFT_FILTER_KERAS_JFIF };
  for (guint f = 0; f < G_N_ELEMENTS (filters); f++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GraftDataset) ds = graft_dataset_scan (dir, filters[f], NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (graft_dataset_n_files (ds), ==, 4);
      g_assert_cmpuint (graft_dataset_n_skipped (ds), ==, 2);
      for (guint i = 0; i < 2; i++)
        {
          g_test_message ("%s: %s", graft_dataset_skipped_path (ds, i), graft_dataset_skipped_reason (ds, i));
          g_assert_nonnull (strstr (graft_dataset_skipped_reason (ds, i), "not a regular file"));
        }
    }
  guint8 px[8 * 8 * 3];
  char *reason = NULL;
  g_assert_false (graft_image_load_resized (NULL, fifo, 8, FALSE, px, &reason));
  g_assert_nonnull (strstr (reason, "named pipe"));
  g_clear_pointer (&reason, g_free);
  g_assert_false (graft_image_load_resized (NULL, zero, 8, FALSE, px, &reason));
  g_assert_nonnull (strstr (reason, "device"));
  g_free (reason);
}

typedef struct {
  const char *name;
  gboolean    decode_ok;     /* kept by the decode filter */
  gboolean    jfif;          /* kept by keras-jfif (has "JFIF" in its first 4096 bytes) */
  const char *reason_part;   /* expected in the decode filter's reason */
} BadFile;

static const BadFile bad_files[] = {
  { "good.jpg", TRUE, TRUE, NULL },
  { "gray.jpg", TRUE, TRUE, NULL },
  { "progressive.jpg", TRUE, TRUE, NULL },
  { "cmyk.jpg", TRUE, FALSE, NULL },
  { "one-pixel.jpg", TRUE, TRUE, NULL },
  { "zero.jpg", FALSE, FALSE, "empty" },
  { "trunc-2.jpg", FALSE, FALSE, "JPEG" },
  { "trunc-half.jpg", FALSE, TRUE, "truncated" },
  { "trunc-end.jpg", FALSE, TRUE, "truncated" },
  { "png.jpg", FALSE, FALSE, "PNG data named .jpg" },
  { "real.png", FALSE, FALSE, "PNG image" },
  { "text.jpg", FALSE, FALSE, "no JPEG start marker" },
  { "bomb.jpg", FALSE, TRUE, "too large" },
  { "corrupt.jpg", FALSE, FALSE, "corrupt JPEG" },
};

static char *
make_bad_folder (void)
{
  char *dir = sub ("bad", NULL);
  g_autofree char *a = g_build_filename (dir, "a", NULL);
  g_autofree char *b = g_build_filename (dir, "b", NULL);
  g_mkdir_with_parents (a, 0755);
  g_autofree char *bgood = g_build_filename (b, "fine.jpg", NULL);
  data_test_write_jpeg (bgood, 20, 10, 5);
#define P(name) g_autofree char *p_##name = g_build_filename (a, #name ".jpg", NULL)
  unsigned long len;
  g_autofree guint8 *rgb = data_test_pattern (64, 48, 3, 7);
  unsigned char *good = data_test_jpeg (rgb, 64, 48, TJPF_RGB, TJSAMP_420, 0, &len);
  g_autofree char *pg = g_build_filename (a, "good.jpg", NULL);
  data_test_write (pg, good, len);
  g_autofree char *t2 = g_build_filename (a, "trunc-2.jpg", NULL);
  data_test_write (t2, good, 2);
  g_autofree char *th = g_build_filename (a, "trunc-half.jpg", NULL);
  data_test_write (th, good, len / 2);
  g_autofree char *te = g_build_filename (a, "trunc-end.jpg", NULL);
  data_test_write (te, good, len - 2);
  /* A header that claims 60000×60000: patch the SOF dimensions of a small JPEG. */
  g_autofree guint8 *bomb = g_memdup2 (good, len);
  gboolean patched = FALSE;
  for (unsigned long i = 2; i + 9 < len && !patched; i++)
    if (bomb[i] == 0xFF && (bomb[i + 1] == 0xC0 || bomb[i + 1] == 0xC2))
      {
        bomb[i + 5] = 0xEA, bomb[i + 6] = 0x60, bomb[i + 7] = 0xEA, bomb[i + 8] = 0x60;
        patched = TRUE;
      }
  g_assert_true (patched);
  g_autofree char *pb = g_build_filename (a, "bomb.jpg", NULL);
  data_test_write (pb, bomb, len);
  tjFree (good);

  g_autofree guint8 *gray = data_test_pattern (33, 17, 1, 8);
  unsigned char *j = data_test_jpeg (gray, 33, 17, TJPF_GRAY, TJSAMP_GRAY, 0, &len);
  g_autofree char *pgr = g_build_filename (a, "gray.jpg", NULL);
  data_test_write (pgr, j, len);
  tjFree (j);
  j = data_test_jpeg (rgb, 64, 48, TJPF_RGB, TJSAMP_444, TJFLAG_PROGRESSIVE, &len);
  g_autofree char *ppr = g_build_filename (a, "progressive.jpg", NULL);
  data_test_write (ppr, j, len);
  tjFree (j);
  g_autofree guint8 *cmyk = data_test_pattern (16, 16, 4, 9);
  j = data_test_jpeg (cmyk, 16, 16, TJPF_CMYK, TJSAMP_444, 0, &len);
  g_autofree char *pcm = g_build_filename (a, "cmyk.jpg", NULL);
  data_test_write (pcm, j, len);
  tjFree (j);
  j = data_test_jpeg (rgb, 1, 1, TJPF_RGB, TJSAMP_444, 0, &len);
  g_autofree char *p1 = g_build_filename (a, "one-pixel.jpg", NULL);
  data_test_write (p1, j, len);
  tjFree (j);

  g_autofree char *pz = g_build_filename (a, "zero.jpg", NULL);
  data_test_write (pz, "", 0);
  g_autofree char *ppng = g_build_filename (a, "png.jpg", NULL);
  write_png (ppng);
  g_autofree char *preal = g_build_filename (a, "real.png", NULL);
  write_png (preal);
  g_autofree char *ptext = g_build_filename (a, "text.jpg", NULL);
  data_test_write (ptext, "hello, this is text\n", 20);
  guint8 junk[300] = { 0xFF, 0xD8 };
  GRand *r = g_rand_new_with_seed (3);
  for (guint i = 2; i < sizeof junk; i++)
    junk[i] = (guint8) g_rand_int_range (r, 0, 0xFF);   /* no 0xFF: never a valid marker */
  g_rand_free (r);
  g_autofree char *pc = g_build_filename (a, "corrupt.jpg", NULL);
  data_test_write (pc, junk, sizeof junk);
#undef P
  return dir;
}

static const BadFile *
find_bad (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  for (guint i = 0; i < G_N_ELEMENTS (bad_files); i++)
    if (g_str_equal (base, bad_files[i].name))
      return &bad_files[i];
  return NULL;
}

static void
test_bad_files (void)
{
  g_autofree char *dir = make_bad_folder ();
  for (int pass = 0; pass < 2; pass++)   /* the second pass reads the scan-result cache */
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GraftDataset) ds = graft_dataset_scan (dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (graft_dataset_n_candidates (ds), ==, G_N_ELEMENTS (bad_files) + 1);
      guint want_ok = 1;
      for (guint i = 0; i < G_N_ELEMENTS (bad_files); i++)
        want_ok += bad_files[i].decode_ok;
      g_assert_cmpuint (graft_dataset_n_files (ds), ==, want_ok);
      for (guint i = 0; i < graft_dataset_n_files (ds); i++)
        {
          const BadFile *b = find_bad (graft_dataset_file_path (ds, i));
          g_assert_true (b == NULL || b->decode_ok);
        }
      for (guint i = 0; i < graft_dataset_n_skipped (ds); i++)
        {
          const BadFile *b = find_bad (graft_dataset_skipped_path (ds, i));
          const char *reason = graft_dataset_skipped_reason (ds, i);
          g_test_message ("%s: %s", b->name, reason);
          g_assert_nonnull (b);
          g_assert_false (b->decode_ok);
          if (strstr (reason, b->reason_part) == NULL)
            g_error ("reason for %s is “%s”, expected it to mention “%s”", b->name, reason,
                     b->reason_part);
        }
    }

  /* keras-jfif keeps exactly the files with JFIF; those that then fail to
   * decode are reported by the cache build and left as zero pixels. */
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftDataset) ds = graft_dataset_scan (dir, GRAFT_FILTER_KERAS_JFIF, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  guint want = 1, want_fail = 0;
  for (guint i = 0; i < G_N_ELEMENTS (bad_files); i++)
    {
      want += bad_files[i].jfif;
      want_fail += bad_files[i].jfif && !bad_files[i].decode_ok;
    }
  g_assert_cmpuint (graft_dataset_n_files (ds), ==, want);
  for (guint i = 0; i < graft_dataset_n_files (ds); i++)
    {
      const BadFile *b = find_bad (graft_dataset_file_path (ds, i));
      g_assert_true (b == NULL || b->jfif);
    }
  g_autoptr (GraftImageCache) cache = graft_image_cache_open (ds, 12, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (graft_image_cache_n_failed (cache), ==, want_fail);
  for (guint f = 0; f < graft_image_cache_n_failed (cache); f++)
    {
      guint i = graft_image_cache_failed_index (cache, f);
      const BadFile *b = find_bad (graft_dataset_file_path (ds, i));
      g_test_message ("cache: %s: %s", b->name, graft_image_cache_failed_reason (cache, f));
      g_assert_false (b->decode_ok);
      const guint8 *px = graft_image_cache_pixels (cache, i);
      for (int k = 0; k < 12 * 12 * 3; k++)
        g_assert_cmpuint (px[k], ==, 0);
    }
}

/* CMYK, grayscale and 1×1 decode to what their sources hold (JPEG error aside). */
static void
test_decode_colour (void)
{
  tjhandle tj = tjInitDecompress ();
  unsigned long len;
  char *reason = NULL;
  int w, h;
  g_autofree guint8 *cmyk = data_test_pattern (16, 16, 4, 9);
  unsigned char *j = data_test_jpeg (cmyk, 16, 16, TJPF_CMYK, TJSAMP_444, 0, &len);
  g_autofree guint8 *rgb = graft_jpeg_decode_rgb (tj, j, len, 0, &w, &h, &reason);
  tjFree (j);
  g_assert_null (reason);
  g_assert_cmpint (w, ==, 16);
  double err = 0;
  for (int i = 0; i < 256; i++)
    for (int c = 0; c < 3; c++)
      err += fabs (rgb[3 * i + c] - cmyk[4 * i + c] * cmyk[4 * i + 3] / 255.0);
  g_test_message ("cmyk mean |diff| %.2f", err / 768);
  g_assert_cmpfloat (err / 768, <, 6.0);

  g_autofree guint8 *gray = data_test_pattern (9, 7, 1, 8);
  j = data_test_jpeg (gray, 9, 7, TJPF_GRAY, TJSAMP_GRAY, 0, &len);
  g_autofree guint8 *g3 = graft_jpeg_decode_rgb (tj, j, len, 0, &w, &h, &reason);
  tjFree (j);
  g_assert_null (reason);
  for (int i = 0; i < 63; i++)
    {
      g_assert_cmpuint (g3[3 * i], ==, g3[3 * i + 1]);
      g_assert_cmpuint (g3[3 * i], ==, g3[3 * i + 2]);
      g_assert_cmpint (ABS ((int) g3[3 * i] - gray[i]), <=, 12);
    }
  tjDestroy (tj);
}

static void
test_seeded_split (void)
{
  g_autofree char *dir = sub ("order", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftDataset) ds = graft_dataset_scan (dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  guint n = graft_dataset_n_files (ds);
  for (guint32 seed = 0; seed < 4; seed++)
    {
      g_autoptr (GArray) tr = NULL, va = NULL, tr2 = NULL, va2 = NULL;
      graft_dataset_split (ds, GRAFT_SPLIT_SEEDED, 0.2, seed, &tr, &va);
      graft_dataset_split (ds, GRAFT_SPLIT_SEEDED, 0.2, seed, &tr2, &va2);
      g_assert_cmpuint (va->len, ==, (guint) (0.2 * n));
      g_assert_cmpuint (tr->len + va->len, ==, n);
      g_assert_cmpmem (va->data, va->len * 4, va2->data, va2->len * 4);
      g_autofree guint *seen = g_new0 (guint, n);
      g_autofree guint *per_class = g_new0 (guint, 5);
      for (guint i = 0; i < tr->len; i++)
        seen[g_array_index (tr, guint, i)]++;
      for (guint i = 0; i < va->len; i++)
        {
          guint f = g_array_index (va, guint, i);
          seen[f]++;
          per_class[graft_dataset_file_label (ds, f)]++;
        }
      for (guint i = 0; i < n; i++)
        g_assert_cmpuint (seen[i], ==, 1);
      /* Stratified: 7 files per class at 20 % → 1 or 2 of each class. */
      for (guint k = 0; k < 5; k++)
        g_assert_true (per_class[k] >= 1 && per_class[k] <= 2);
    }
}

static void
set_mtime (const char *path, time_t t)
{
  struct utimbuf u = { t, t };
  g_assert_cmpint (utime (path, &u), ==, 0);
}

static void
test_cache_invalidation (void)
{
  g_autofree char *dir = sub ("cache-ds", NULL);
  const char *names[] = { "x/1.jpg", "x/2.jpg", "y/1.jpg", "y/2.jpg" };
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *p = g_build_filename (dir, names[i], NULL);
      data_test_write_jpeg (p, 30 + 3 * i, 20 + i, 100 + i);
      set_mtime (p, 1000000000);
    }
  tjhandle tj = tjInitDecompress ();
  guint8 want[10 * 10 * 3];
  char *reason = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftDataset) ds = graft_dataset_scan (dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  guint64 expect_bytes = graft_image_cache_bytes_for (ds, 10);
  g_autoptr (GraftImageCache) c1 = graft_image_cache_open (ds, 10, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (graft_image_cache_was_built (c1));
  GStatBuf st;
  g_assert_cmpint (g_stat (graft_image_cache_path (c1), &st), ==, 0);
  g_assert_cmpuint ((guint64) st.st_size, ==, expect_bytes);
  for (guint i = 0; i < 4; i++)
    {
      g_assert_true (graft_image_load_resized (tj, graft_dataset_file_path (ds, i), 10, FALSE, want, &reason));
      g_assert_cmpmem (graft_image_cache_pixels (c1, i), sizeof want, want, sizeof want);
    }
  /* Unchanged files: the cache is reused, not rebuilt. */
  g_autoptr (GraftImageCache) c2 = graft_image_cache_open (ds, 10, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (graft_image_cache_was_built (c2));
  g_assert_cmpmem (graft_image_cache_pixels (c2, 3), sizeof want, graft_image_cache_pixels (c1, 3), sizeof want);
  g_clear_pointer (&c2, graft_image_cache_free);

  /* Replace y/1.jpg with another picture and a new mtime: rescan and rebuild. */
  g_autofree char *p = g_build_filename (dir, "y/1.jpg", NULL);
  data_test_write_jpeg (p, 41, 17, 777);
  set_mtime (p, 1100000000);
  g_autoptr (GraftDataset) ds2 = graft_dataset_scan (dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GraftImageCache) c3 = graft_image_cache_open (ds2, 10, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (graft_image_cache_was_built (c3));
  g_assert_true (graft_image_load_resized (tj, p, 10, FALSE, want, &reason));
  g_assert_cmpmem (graft_image_cache_pixels (c3, 2), sizeof want, want, sizeof want);

  /* Break x/2.jpg with the same size but a new mtime: the scan must notice. */
  g_autofree char *q = g_build_filename (dir, "x/2.jpg", NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (q, &data, &len, NULL));
  memset (data + 2, 'x', len - 2);
  data_test_write (q, data, len);
  set_mtime (q, 1200000000);
  g_autoptr (GraftDataset) ds3 = graft_dataset_scan (dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (graft_dataset_n_files (ds3), ==, 3);
  g_assert_cmpuint (graft_dataset_n_skipped (ds3), ==, 1);
  g_autoptr (GraftImageCache) c4 = graft_image_cache_open (ds3, 10, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (graft_image_cache_was_built (c4));
  tjDestroy (tj);
}

static void
test_cancel (void)
{
  g_autofree char *dir = sub ("cache-ds", NULL);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftDataset) ds = graft_dataset_scan (dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_cancellable_cancel (cancel);
  /* A size not built before, so the cache build starts and stops at once. */
  g_autoptr (GraftImageCache) c = graft_image_cache_open (ds, 7, NULL, NULL, cancel, &error);
  g_assert_null (c);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* No temporary file is left behind. */
  g_autoptr (GDir) d = g_dir_open (root, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    g_assert_null (strstr (name, "7px"));
}

/* ---- IDX import ---- */

static GBytes *
idx_bytes (guint ndim, const guint32 *dims, const guint8 *data, gsize n)
{
  GByteArray *b = g_byte_array_new ();
  guint8 hdr[4] = { 0, 0, 0x08, (guint8) ndim };
  g_byte_array_append (b, hdr, 4);
  for (guint i = 0; i < ndim; i++)
    {
      guint8 be[4] = { dims[i] >> 24, dims[i] >> 16, dims[i] >> 8, dims[i] };
      g_byte_array_append (b, be, 4);
    }
  g_byte_array_append (b, data, (guint) n);
  return g_byte_array_free_to_bytes (b);
}

static GBytes *
gzip_bytes (GBytes *in)
{
  g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr (GOutputStream) mem = g_memory_output_stream_new_resizable ();
  g_autoptr (GOutputStream) out = g_converter_output_stream_new (mem, G_CONVERTER (z));
  gsize len;
  const void *d = g_bytes_get_data (in, &len);
  g_assert_true (g_output_stream_write_all (out, d, len, NULL, NULL, NULL));
  g_assert_true (g_output_stream_close (out, NULL, NULL));
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
}

static void
test_idx_import (void)
{
  const guint32 n = 9, H = 6, W = 5;
  guint8 labels[9] = { 2, 0, 1, 2, 2, 0, 1, 2, 0 };
  g_autofree guint8 *pix = g_malloc (n * H * W);
  for (guint i = 0; i < n * H * W; i++)
    pix[i] = (guint8) ((i * 37) % 200 + 20);
  guint32 idims[3] = { n, H, W }, ldims[1] = { n };
  g_autoptr (GBytes) ib = idx_bytes (3, idims, pix, n * H * W);
  g_autoptr (GBytes) lb = idx_bytes (1, ldims, labels, n);
  g_autoptr (GBytes) ibz = gzip_bytes (ib);
  g_autofree char *ipath = sub ("idx", "images-idx3-ubyte.gz");
  g_autofree char *lpath = sub ("idx", "labels-idx1-ubyte");
  data_test_write (ipath, g_bytes_get_data (ibz, NULL), g_bytes_get_size (ibz));
  data_test_write (lpath, g_bytes_get_data (lb, NULL), g_bytes_get_size (lb));
  g_autofree char *out = sub ("idx-out", NULL);
  const char *names[] = { "x", "y", "z", NULL };
  guint classes[] = { 0, 2 };
  guint written = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_idx_import (ipath, lpath, out, names, classes, 2, 3, &written, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (written, ==, 6);
  g_autoptr (GraftDataset) ds = graft_dataset_scan (out, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (graft_dataset_n_classes (ds), ==, 2);
  g_assert_cmpstr (graft_dataset_class_name (ds, 0), ==, "x");
  g_assert_cmpstr (graft_dataset_class_name (ds, 1), ==, "z");
  /* x: images 1, 5, 8; z: the first three with label 2: 0, 3, 4. */
  guint want_img[6] = { 1, 5, 8, 0, 3, 4 };
  tjhandle tj = tjInitDecompress ();
  for (guint i = 0; i < 6; i++)
    {
      g_autofree char *data = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (graft_dataset_file_path (ds, i), &data, &len, NULL));
      char *reason = NULL;
      int w, h;
      g_autofree guint8 *rgb = graft_jpeg_decode_rgb (tj, (guint8 *) data, len, 0, &w, &h, &reason);
      g_assert_null (reason);
      g_assert_cmpint (w, ==, (int) W);
      g_assert_cmpint (h, ==, (int) H);
      double err = 0;
      for (guint k = 0; k < H * W; k++)
        err += fabs ((double) rgb[3 * k] - pix[want_img[i] * H * W + k]);
      g_assert_cmpfloat (err / (H * W), <, 8.0);
    }
  tjDestroy (tj);

  /* Malformed: truncated image data, wrong dimension count, count mismatch. */
  g_autofree char *bad = sub ("idx", "bad-idx3-ubyte");
  data_test_write (bad, g_bytes_get_data (ib, NULL), g_bytes_get_size (ib) - 7);
  g_assert_false (graft_idx_import (bad, lpath, out, names, NULL, 0, 0, NULL, NULL, NULL, NULL, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, bad));
  g_assert_nonnull (strstr (error->message, "truncated"));
  g_clear_error (&error);
  g_assert_false (graft_idx_import (lpath, lpath, out, names, NULL, 0, 0, NULL, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "dimensions"));
  g_clear_error (&error);
  data_test_write (bad, "\x1f\x8b garbage", 10);
  g_assert_false (graft_idx_import (bad, lpath, out, names, NULL, 0, 0, NULL, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "gzip"));
  g_clear_error (&error);
}

static void
test_fashion_mnist (void)
{
  const char *img = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  const char *lab = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  if (!g_file_test (img, G_FILE_TEST_EXISTS) || !g_file_test (lab, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)");
      return;
    }
  g_autofree char *out = sub ("fashion", NULL);
  g_autoptr (GError) error = NULL;
  guint written = 0;
  g_assert_true (graft_idx_import (img, lab, out, NULL, NULL, 0, 3, &written, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (written, ==, 30);
  g_autoptr (GraftDataset) ds = graft_dataset_scan (out, GRAFT_FILTER_KERAS_JFIF, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (graft_dataset_n_classes (ds), ==, 10);
  g_assert_cmpuint (graft_dataset_n_files (ds), ==, 30);
  g_assert_cmpstr (graft_dataset_class_name (ds, 0), ==, "Ankle_boot");
  g_assert_cmpstr (graft_dataset_class_name (ds, 9), ==, "Trouser");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  root = data_test_tmpdir ();
  g_setenv ("GRAFT_IMAGE_CACHE", root, TRUE);
  g_test_add_func ("/data/scan/ordering", test_ordering);
  g_test_add_func ("/data/scan/not-a-dataset", test_not_a_dataset);
  g_test_add_func ("/data/scan/bad-files", test_bad_files);
  g_test_add_func ("/data/scan/empty-class", test_empty_class);
  g_test_add_func ("/data/scan/run-folder-in-data", test_run_folder_in_data);
  g_test_add_func ("/data/scan/class-links-back", test_class_links_back);
  g_test_add_func ("/data/scan/not-regular", test_not_regular);
  g_test_add_func ("/data/decode/colour", test_decode_colour);
  g_test_add_func ("/data/split/seeded", test_seeded_split);
  g_test_add_func ("/data/cache/invalidation", test_cache_invalidation);
  g_test_add_func ("/data/cache/cancel", test_cancel);
  g_test_add_func ("/data/idx/import", test_idx_import);
  g_test_add_func ("/data/idx/fashion-mnist", test_fashion_mnist);
  int rc = g_test_run ();
  data_test_rm_rf (root);
  g_free (root);
  return rc;
}
