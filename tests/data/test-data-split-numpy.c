/* The Keras split against numpy itself: RandomState(seed).shuffle permutations and image_dataset_from_directory's listing and split. */
#include "graft-test.h"
#include "graft-dataset.h"
#include "graft-image.h"
#include "data-test-util.h"
#include "data-test-python.h"

static const guint sizes[] = { 0, 1, 2, 3, 10, 97, 1000, 4097 };
static const guint32 seeds[] = { 0, 1, 42, 1337, 123456789, 4294967295U };

static void
test_shuffle (void)
{
  /* Keras shuffles a list (Python swap loop) and an ndarray (C loop): both must match. */
  g_autoptr (GString) code = g_string_new ("import numpy as np\n");
  g_string_append (code, "for n in [");
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    g_string_append_printf (code, "%u,", sizes[i]);
  g_string_append (code, "]:\n  for s in [");
  for (guint i = 0; i < G_N_ELEMENTS (seeds); i++)
    g_string_append_printf (code, "%u,", seeds[i]);
  g_string_append (code, "]:\n"
                         "    l = list(range(n)); np.random.RandomState(s).shuffle(l)\n"
                         "    a = np.arange(n); np.random.RandomState(s).shuffle(a)\n"
                         "    assert list(a) == l\n"
                         "    print(' '.join(map(str, l)))\n");
  g_autofree char *out = data_test_python (code->str);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint line = 0;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (guint j = 0; j < G_N_ELEMENTS (seeds); j++, line++)
      {
        guint n = sizes[i];
        g_autofree guint *v = g_new (guint, MAX (n, 1));
        for (guint k = 0; k < n; k++)
          v[k] = k;
        graft_numpy_shuffle (seeds[j], v, n);
        g_auto (GStrv) want = g_strsplit (lines[line], " ", -1);
        g_assert_cmpuint (n == 0 ? 0 : g_strv_length (want), ==, n);
        for (guint k = 0; k < n; k++)
          if (v[k] != (guint) atoi (want[k]))
            g_error ("n=%u seed=%u: position %u is %u, numpy has %s", n, seeds[j], k, v[k], want[k]);
      }
}

static void
test_keras_split (void)
{
  g_autofree char *root = data_test_tmpdir ();
  g_setenv ("GRAFT_IMAGE_CACHE", root, TRUE);
  g_autofree char *dir = g_build_filename (root, "ds", NULL);
  const char *names[] = { "cats/1.jpg", "cats/10.jpg", "cats/2.JPG", "cats/sub/3.jpeg",
                          "dogs/a.jpg", "dogs/b.jpg", "dogs/c.jpg", "dogs/d.jpg", "dogs/e.jpg",
                          "dogs/deep/x.jpg", "dogs/deep/y.jpg", "birds/q.jpg", "birds/r.jpg",
                          "birds/s.jpg", "birds/t.jpg", "birds/u.jpg", "birds/v.jpg" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *p = g_build_filename (dir, names[i], NULL);
      data_test_write_jpeg (p, 6, 5, i);
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftDataset) ds = graft_dataset_scan (dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  guint n = graft_dataset_n_files (ds);
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (names));
  for (guint32 seed = 1336; seed < 1340; seed++)
    {
      /* keras.utils.image_dataset_from_directory's index_directory and split, in plain Python. */
      g_autofree char *esc = g_strescape (dir, NULL);
      g_autofree char *code = g_strdup_printf (
        "import os, numpy as np\n"
        "d = \"%s\"\n"
        "exts = ('.bmp', '.gif', '.jpeg', '.jpg', '.png')\n"
        "classes = sorted(c for c in os.listdir(d) if os.path.isdir(os.path.join(d, c)))\n"
        "paths, labels = [], []\n"
        "for k, c in enumerate(classes):\n"
        "  for root, _, files in sorted(os.walk(os.path.join(d, c)), key=lambda x: x[0]):\n"
        "    for f in sorted(files):\n"
        "      if f.lower().endswith(exts):\n"
        "        paths.append(os.path.join(root, f)); labels.append(k)\n"
        "labels = np.array(labels)\n"
        "np.random.RandomState(%u).shuffle(paths)\n"
        "np.random.RandomState(%u).shuffle(labels)\n"
        "nv = int(0.2 * len(paths))\n"
        "print('\\n'.join('%%s\\t%%d' %% (p, l) for p, l in zip(paths[:-nv], labels[:-nv])))\n"
        "print('--')\n"
        "print('\\n'.join('%%s\\t%%d' %% (p, l) for p, l in zip(paths[-nv:], labels[-nv:])))\n",
        esc, seed, seed);
      g_autofree char *out = data_test_python (code);
      g_auto (GStrv) parts = g_strsplit (out, "--\n", 2);
      g_autoptr (GArray) tr = NULL, va = NULL;
      graft_dataset_split (ds, GRAFT_SPLIT_KERAS, 0.2, seed, &tr, &va);
      GArray *sets[2] = { tr, va };
      for (int s = 0; s < 2; s++)
        {
          g_auto (GStrv) lines = g_strsplit (g_strstrip (parts[s]), "\n", -1);
          g_assert_cmpuint (g_strv_length (lines), ==, sets[s]->len);
          for (guint i = 0; i < sets[s]->len; i++)
            {
              guint f = g_array_index (sets[s], guint, i);
              g_autofree char *got = g_strdup_printf ("%s\t%u", graft_dataset_file_path (ds, f),
                                                      graft_dataset_file_label (ds, f));
              g_assert_cmpstr (got, ==, lines[i]);
            }
        }
    }
  data_test_rm_rf (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  data_test_require_python ("numpy");
  g_test_add_func ("/data/split/numpy-shuffle", test_shuffle);
  g_test_add_func ("/data/split/keras", test_keras_split);
  return g_test_run ();
}
