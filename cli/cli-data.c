/* graft-cli dataset scan, import-idx and bench data: the dataset pipeline from the command line. */
#include "graft-cli.h"
#include "graft-json.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "graft-dataset.h"

static void
progress_cb (const char *stage, guint64 done, guint64 total, gpointer user_data)
{
  static char *last_stage;
  if (g_strcmp0 (last_stage, stage) != 0)
    {
      g_free (last_stage);
      last_stage = g_strdup (stage);
      g_printerr ("%s\n", stage);
    }
  g_printerr ("\r  %" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT "%s", done, total,
              done >= total ? "\n" : "");
}

/* File names are bytes and JSON strings are Unicode: @member gets the
 * display name (invalid UTF-8 replaced by U+FFFD) and @member_bytes the raw
 * name in base64, so that scripts can find the very file. */
static void
add_name_member (JsonBuilder *b, const char *member, const char *raw)
{
  g_autofree char *display = g_filename_display_name (raw);
  g_autofree char *bytes_member = g_strdup_printf ("%s_bytes", member);
  g_autofree char *b64 = g_base64_encode ((const guchar *) raw, strlen (raw));
  json_builder_set_member_name (b, member);
  json_builder_add_string_value (b, display);
  json_builder_set_member_name (b, bytes_member);
  json_builder_add_string_value (b, b64);
}

int
graft_cli_dataset_scan (int argc, char **argv)
{
  g_autofree char *filter_s = NULL;
  gboolean json = FALSE, quiet = FALSE;
  GOptionEntry entries[] = {
    { "filter", 'f', 0, G_OPTION_ARG_STRING, &filter_s,
      "Validity filter: decode (default; the file must decode as JPEG) or keras-jfif", "FILTER" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON for scripts", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress on stderr", NULL },
    { NULL }
  };
  graft_cli_parse ("dataset scan", "DIR",
                   "List the classes and usable images of a folder with one sub-folder per class, "
                   "and every skipped file with its reason.",
                   entries, &argc, &argv);
  if (argc != 2)
    {
      g_printerr ("graft-cli dataset scan: expected one folder, got %d arguments\n", argc - 1);
      return 2;
    }
  g_autoptr (GError) error = NULL;
  GraftFilter filter = GRAFT_FILTER_DECODE;
  if (filter_s && !graft_filter_from_string (filter_s, &filter, &error))
    return graft_cli_fail (error);
  /* Empty classes are kept to be reported with the rest, then make the exit status 1. */
  g_autoptr (GraftDataset) ds = graft_dataset_scan_full (argv[1], filter,
                                                         GRAFT_SCAN_ALLOW_EMPTY_CLASSES,
                                                         quiet || json ? NULL : progress_cb,
                                                         NULL, NULL, &error);
  if (ds == NULL)
    return graft_cli_fail (error);
  g_autoptr (GError) problem = NULL;
  graft_dataset_check_classes (ds, &problem);
  guint nc = graft_dataset_n_classes (ds);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      add_name_member (b, "dir", graft_dataset_dir (ds));
      json_builder_set_member_name (b, "filter");
      json_builder_add_string_value (b, graft_filter_to_string (filter));
      json_builder_set_member_name (b, "candidates");
      json_builder_add_int_value (b, graft_dataset_n_candidates (ds));
      json_builder_set_member_name (b, "usable");
      json_builder_add_int_value (b, graft_dataset_n_files (ds));
      json_builder_set_member_name (b, "classes");
      json_builder_begin_array (b);
      for (guint k = 0; k < nc; k++)
        {
          json_builder_begin_object (b);
          add_name_member (b, "name", graft_dataset_class_name (ds, k));
          json_builder_set_member_name (b, "count");
          json_builder_add_int_value (b, graft_dataset_class_count (ds, k));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "skipped");
      json_builder_begin_array (b);
      for (guint i = 0; i < graft_dataset_n_skipped (ds); i++)
        {
          json_builder_begin_object (b);
          add_name_member (b, "path", graft_dataset_skipped_path (ds, i));
          g_autofree char *reason = g_utf8_make_valid (graft_dataset_skipped_reason (ds, i), -1);
          json_builder_set_member_name (b, "reason");
          json_builder_add_string_value (b, reason);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      /* What keeps the dataset from training (empty classes); the exit status is 1 then. */
      json_builder_set_member_name (b, "problems");
      json_builder_begin_array (b);
      if (problem)
        {
          g_autofree char *msg = g_utf8_make_valid (problem->message, -1);
          json_builder_add_string_value (b, msg);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      g_autofree char *s = graft_json_builder_to_text (b, TRUE, NULL);
      printf ("%s\n", s);
      return problem ? graft_cli_fail (problem) : 0;
    }
  printf ("%s: %u classes, %u usable of %u candidate files (filter %s), %u skipped\n",
          graft_dataset_dir (ds), nc, graft_dataset_n_files (ds), graft_dataset_n_candidates (ds),
          graft_filter_to_string (filter), graft_dataset_n_skipped (ds));
  for (guint k = 0; k < nc; k++)
    printf ("  %6u  %s\n", graft_dataset_class_count (ds, k), graft_dataset_class_name (ds, k));
  if (graft_dataset_n_skipped (ds) > 0)
    printf ("Skipped:\n");
  for (guint i = 0; i < graft_dataset_n_skipped (ds); i++)
    printf ("  %s: %s\n", graft_dataset_skipped_path (ds, i), graft_dataset_skipped_reason (ds, i));
  return problem ? graft_cli_fail (problem) : 0;
}

int
graft_cli_import_idx (int argc, char **argv)
{
  g_autofree char *images = NULL, *labels = NULL, *out = NULL, *names_s = NULL, *classes_s = NULL;
  int limit = 0;
  GOptionEntry entries[] = {
    { "images", 0, 0, G_OPTION_ARG_FILENAME, &images, "IDX image file (…-images-idx3-ubyte[.gz])", "FILE" },
    { "labels", 0, 0, G_OPTION_ARG_FILENAME, &labels, "IDX label file (…-labels-idx1-ubyte[.gz])", "FILE" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Folder to write class folders into", "DIR" },
    { "class-names", 0, 0, G_OPTION_ARG_STRING, &names_s,
      "Comma-separated name of each label (default: Fashion-MNIST's)", "A,B,…" },
    { "classes", 0, 0, G_OPTION_ARG_STRING, &classes_s, "Only these labels", "0,1,…" },
    { "limit-per-class", 0, 0, G_OPTION_ARG_INT, &limit, "At most N images per class", "N" },
    { NULL }
  };
  graft_cli_parse ("import-idx", NULL,
                   "Convert MNIST-style IDX files (gzip or not) into class folders of JPEGs.",
                   entries, &argc, &argv);
  if (!images || !labels || !out)
    {
      g_printerr ("graft-cli import-idx: --images, --labels and --out are required\n");
      return 2;
    }
  if (limit < 0)
    {
      g_printerr ("graft-cli import-idx: --limit-per-class must not be negative\n");
      return 2;
    }
  g_auto (GStrv) names = names_s ? g_strsplit (names_s, ",", -1) : NULL;
  g_autoptr (GArray) classes = g_array_new (FALSE, FALSE, sizeof (guint));
  if (classes_s)
    {
      g_auto (GStrv) parts = g_strsplit (classes_s, ",", -1);
      for (guint i = 0; parts[i]; i++)
        {
          guint64 v;
          if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 0, 255, &v, NULL))
            {
              g_printerr ("graft-cli import-idx: “%s” in --classes is not a label number\n", parts[i]);
              return 2;
            }
          guint u = (guint) v;
          g_array_append_val (classes, u);
        }
    }
  g_autoptr (GError) error = NULL;
  guint written = 0;
  if (!graft_idx_import (images, labels, out, (const char *const *) names,
                         (const guint *) classes->data, classes->len, (guint) limit, &written,
                         NULL, NULL, NULL, &error))
    return graft_cli_fail (error);
  printf ("Wrote %u JPEGs into %s\n", written, out);
  return 0;
}

static double
seconds_since (gint64 t0)
{
  return (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
}

int
graft_cli_bench_data (int argc, char **argv)
{
  int size = 180;
  g_autofree char *filter_s = NULL;
  GOptionEntry entries[] = {
    { "image-size", 's', 0, G_OPTION_ARG_INT, &size, "Image side in pixels (default 180)", "N" },
    { "filter", 'f', 0, G_OPTION_ARG_STRING, &filter_s, "decode (default) or keras-jfif", "FILTER" },
    { NULL }
  };
  graft_cli_parse ("bench data", "DIR",
                   "Measure images/s for scanning, cold decode+resize (1 core and all cores, full "
                   "and DCT-scaled decode) and cached epoch reads. Uses a temporary cache folder.",
                   entries, &argc, &argv);
  if (argc != 2)
    {
      g_printerr ("graft-cli bench data: expected one folder\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  GraftFilter filter = GRAFT_FILTER_DECODE;
  if (filter_s && !graft_filter_from_string (filter_s, &filter, &error))
    return graft_cli_fail (error);
  /* A private cache folder so every build below is cold and the user's cache stays as it was. */
  g_autofree char *tmp = g_dir_make_tmp ("graft-bench-XXXXXX", &error);
  if (tmp == NULL)
    return graft_cli_fail (error);
  g_setenv ("GRAFT_IMAGE_CACHE", tmp, TRUE);
  int cores = graft_data_get_threads ();
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (GraftDataset) ds = graft_dataset_scan (argv[1], filter, NULL, NULL, NULL, &error);
  if (ds == NULL)
    return graft_cli_fail (error);
  double t_scan = seconds_since (t0);
  guint n = graft_dataset_n_files (ds);
  printf ("%s: %u usable images of %u, %d×%d, %d cores\n", graft_dataset_dir (ds), n,
          graft_dataset_n_candidates (ds), size, size, cores);
  printf ("  scan (%s filter, all cores)      %9.1f images/s  (%.2f s)\n",
          graft_filter_to_string (filter), graft_dataset_n_candidates (ds) / t_scan, t_scan);
  struct { const char *what; int threads; GraftCacheFlags flags; } runs[] = {
    { "decode+resize, 1 core            ", 1, GRAFT_CACHE_FLAGS_NONE },
    { "decode+resize, all cores         ", 0, GRAFT_CACHE_FLAGS_NONE },
    { "fast decode+resize, all cores    ", 0, GRAFT_CACHE_FAST_DECODE },
  };
  GraftImageCache *full = NULL, *fast = NULL;
  for (guint r = 0; r < G_N_ELEMENTS (runs); r++)
    {
      graft_data_set_threads (runs[r].threads);
      g_autofree char *sub = g_strdup_printf ("%s/%u", tmp, r);
      g_setenv ("GRAFT_IMAGE_CACHE", sub, TRUE);
      t0 = g_get_monotonic_time ();
      GraftImageCache *c = graft_image_cache_open_full (ds, size, runs[r].flags, NULL, NULL, NULL,
                                                        &error);
      if (c == NULL)
        return graft_cli_fail (error);
      double t = seconds_since (t0);
      printf ("  %s %9.1f images/s  (%.2f s)\n", runs[r].what, n / t, t);
      if (r == 1)
        full = c;
      else if (r == 2)
        fast = c;
      else
        graft_image_cache_free (c);
    }
  graft_data_set_threads (0);
  /* An epoch read: touch every byte of every image in a shuffled order, as the loader does. */
  gsize img = (gsize) size * size * 3;
  guint64 sum = 0;
  g_autoptr (GRand) rand = g_rand_new_with_seed (1);
  g_autofree guint *order = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    order[i] = i;
  for (guint i = n; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i), t = order[i - 1];
      order[i - 1] = order[j];
      order[j] = t;
    }
  g_autofree guint8 *batch = g_malloc (img);
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      memcpy (batch, graft_image_cache_pixels (full, order[i]), img);
      sum += batch[img / 2];
    }
  double t_epoch = seconds_since (t0);
  printf ("  cached epoch read (shuffled)      %9.1f images/s  (%.3f s, checksum %" G_GUINT64_FORMAT ")\n",
          n / t_epoch, t_epoch, sum);
  /* How far DCT-scaled decoding moves pixels. */
  double diff = 0;
  int maxd = 0;
  for (guint i = 0; i < n; i++)
    {
      const guint8 *a = graft_image_cache_pixels (full, i), *b = graft_image_cache_pixels (fast, i);
      for (gsize k = 0; k < img; k++)
        {
          int d = ABS ((int) a[k] - (int) b[k]);
          diff += d;
          maxd = MAX (maxd, d);
        }
    }
  printf ("  fast vs full decode: mean |diff| %.3f levels, max %d levels\n",
          diff / ((double) n * img), maxd);
  graft_image_cache_free (full);
  graft_image_cache_free (fast);
  /* Remove the private cache folders. */
  for (guint r = 0; r < G_N_ELEMENTS (runs); r++)
    {
      g_autofree char *sub = g_strdup_printf ("%s/%u", tmp, r);
      g_autoptr (GDir) d = g_dir_open (sub, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *p = g_build_filename (sub, name, NULL);
          g_remove (p);
        }
      g_rmdir (sub);
    }
  g_autoptr (GDir) d = g_dir_open (tmp, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (tmp, name, NULL);
      g_remove (p);
    }
  g_rmdir (tmp);
  return 0;
}
