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
  return g_test_run ();
}
