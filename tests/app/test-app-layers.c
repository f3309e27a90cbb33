/* The editor's re-initialisation presets, picked from the model's layer list, against the
 * layer lists of the study's presets (KERAS-MODEL.md, "The study's experiments"). */
#include "graft-test.h"

#include "../../app/graft-layer-presets.h"

static const struct {
  const char       *name;   /* run display name in the preset */
  GraftLayerPreset  preset;
} cases[] = {
  { "only output", GRAFT_LAYER_PRESET_ONLY_OUTPUT },
  { "3-first-conv2d & output", GRAFT_LAYER_PRESET_FIRST3_OUTPUT },
  { "2-last-conv2d & output", GRAFT_LAYER_PRESET_LAST2_OUTPUT },
};

static void
check_hyper (const GraftStudyHyper *hyper, GraftStudyPreset which)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) layers = graft_study_kernel_layers (hyper, &error);
  g_assert_no_error (error);
  /* Keras order: the stem conv2d first, the output dense last. */
  g_assert_cmpstr (layers[0], ==, "conv2d");
  g_assert_cmpstr (layers[g_strv_length (layers) - 1], ==, "dense");

  g_autoptr (GraftStudy) study = graft_study_new_preset (which, "/s", "/t", hyper);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_auto (GStrv) picked = graft_layer_preset_pick ((const char *const *) layers,
                                                       cases[c].preset);
      guint matched = 0;
      for (guint i = 0; i < study->runs->len; i++)
        {
          const GraftStudyRun *run = study->runs->pdata[i];
          if (!g_str_equal (run->name, cases[c].name))
            continue;
          g_assert_nonnull (run->reinit);
          g_assert_true (g_strv_equal ((const char *const *) run->reinit,
                                       (const char *const *) picked));
          matched++;
        }
      g_assert_cmpuint (matched, ==, 2);   /* frozen and trainable */
    }
  g_auto (GStrv) none = graft_layer_preset_pick ((const char *const *) layers,
                                                 GRAFT_LAYER_PRESET_NONE);
  g_assert_cmpuint (g_strv_length (none), ==, 0);
}

static void
test_presets (void)
{
  GraftStudyHyper h;
  graft_study_hyper_init_paper (&h);
  check_hyper (&h, GRAFT_STUDY_PRESET_PAPER);
  graft_study_hyper_init_demo (&h);   /* 32×32, width 0.25: same names */
  check_hyper (&h, GRAFT_STUDY_PRESET_DEMO);
}

/* The presets' labels are the names the reference study gives its experiments, each preset's
 * layers match back to it, and any other choice is Custom. */
static void
test_labels_and_match (void)
{
  GraftStudyHyper h;
  graft_study_hyper_init_paper (&h);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) layers = graft_study_kernel_layers (&h, &error);
  g_assert_no_error (error);
  g_autoptr (GraftStudy) study = graft_study_new_preset (GRAFT_STUDY_PRESET_PAPER, "/s", "/t", &h);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (guint i = 0; i < study->runs->len; i++)
    {
      const GraftStudyRun *run = study->runs->pdata[i];
      if (run->from == NULL)
        continue;
      if (!g_ptr_array_find_with_equal_func (names, run->name, g_str_equal, NULL))
        g_ptr_array_add (names, run->name);
      /* The layers the study gives the run are recognised as its experiment's preset. */
      GraftLayerPreset p = graft_layer_preset_match ((const char *const *) layers,
                                                     (const char *const *) run->reinit);
      g_assert_cmpstr (graft_layer_preset_label (p), ==, run->name);
    }
  g_assert_cmpuint (names->len, ==, GRAFT_LAYER_N_PRESETS - 1);
  for (guint i = 0; i < names->len; i++)
    g_assert_cmpstr (graft_layer_preset_label (GRAFT_LAYER_PRESET_ONLY_OUTPUT + i), ==,
                     names->pdata[i]);
  g_assert_cmpstr (graft_layer_preset_label (GRAFT_LAYER_PRESET_NONE), ==, "None");
  g_assert_cmpstr (graft_layer_preset_label (GRAFT_LAYER_PRESET_CUSTOM), ==, "Custom");

  /* Order does not matter; a layer more or less is Custom; nothing is None. */
  const char *const shuffled[] = { "dense", "conv2d_3", "separable_conv2d_6", NULL };
  g_assert_cmpint (graft_layer_preset_match ((const char *const *) layers, shuffled), ==,
                   GRAFT_LAYER_PRESET_LAST2_OUTPUT);
  const char *const custom[] = { "conv2d", "dense", NULL };
  g_assert_cmpint (graft_layer_preset_match ((const char *const *) layers, custom), ==,
                   GRAFT_LAYER_PRESET_CUSTOM);
  const char *const empty[] = { NULL };
  g_assert_cmpint (graft_layer_preset_match ((const char *const *) layers, empty), ==,
                   GRAFT_LAYER_PRESET_NONE);
  g_assert_cmpint (graft_layer_preset_match ((const char *const *) layers, NULL), ==,
                   GRAFT_LAYER_PRESET_NONE);
}

/* The checklist's rows: the kernel layers in network order with Keras' kinds, per-image output
 * shapes and parameter counts (the reference network's published numbers at 180×180). */
static void
test_layer_infos (void)
{
  GraftStudyHyper h;
  graft_study_hyper_init_paper (&h);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) infos = graft_study_layer_infos (&h, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (infos->len, ==, 12);
  const GraftLayerInfo *first = infos->pdata[0], *last = infos->pdata[infos->len - 1];
  g_assert_cmpstr (first->name, ==, "conv2d");
  g_assert_cmpstr (first->kind, ==, "Conv2D");
  g_assert_cmpint (first->h, ==, 90);
  g_assert_cmpint (first->c, ==, 128);
  g_assert_cmpuint (first->params, ==, 3 * 3 * 3 * 128 + 128);
  g_assert_cmpstr (last->name, ==, "dense");
  g_assert_cmpstr (last->kind, ==, "Dense");
  g_assert_cmpuint (last->params, ==, 1024 + 1);
  const GraftLayerInfo *sep = infos->pdata[1];
  g_assert_cmpstr (sep->name, ==, "separable_conv2d");
  g_assert_cmpuint (sep->params, ==, 3 * 3 * 128 + 128 * 256 + 256);
  g_auto (GStrv) names = graft_study_kernel_layers (&h, &error);
  for (guint i = 0; i < infos->len; i++)
    g_assert_cmpstr (((GraftLayerInfo *) infos->pdata[i])->name, ==, names[i]);
}

static void
test_short_lists (void)
{
  /* A list with only the output layer: every preset keeps just it. */
  const char *const one[] = { "dense", NULL };
  for (int p = GRAFT_LAYER_PRESET_ONLY_OUTPUT; p < GRAFT_LAYER_N_PRESETS; p++)
    {
      g_auto (GStrv) picked = graft_layer_preset_pick (one, (GraftLayerPreset) p);
      g_assert_cmpuint (g_strv_length (picked), ==, 1);
      g_assert_cmpstr (picked[0], ==, "dense");
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/layer-presets", test_presets);
  g_test_add_func ("/app/layer-presets-short", test_short_lists);
  g_test_add_func ("/app/layer-presets-labels", test_labels_and_match);
  g_test_add_func ("/app/layer-infos", test_layer_infos);
  return g_test_run ();
}
