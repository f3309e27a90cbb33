/* MobileNetV2 at width 1.0 as torchvision builds it (torchvision.models.mobilenet_v2):
 * features.0 a 3×3 stride-2 convolution to 32 channels with BN and ReLU6; features.1 to 17 the
 * inverted residual blocks of the paper's table (expand 1×1 + BN + ReLU6 unless t = 1, 3×3
 * depthwise with the block's stride + BN + ReLU6, project 1×1 + BN, and the shortcut add when
 * the stride is 1 and the channels match); features.18 a 1×1 convolution to 1280 with BN and
 * ReLU6; global average pooling, dropout (the spec's rate; torchvision's is 0.2) and the
 * classifier. PyTorch's explicit padding, convolutions without bias, BN ε 1e-5 and momentum
 * 0.1 (0.9 here, unless the spec sets one). Layers with weights carry torchvision's module
 * names (features.0.0, features.2.conv.1.0, classifier.1). Any image size from 32. */
#include "graft-arch.h"

typedef struct {
  GraftModelBuilder *b;
  double momentum;
} Net;

static int
conv (Net *n, int x, const char *name, int filters, int k, int stride)
{
  int pad = (k - 1) / 2;
  GraftLayerConfig c = { .filters = filters, .kernel = k, .stride = stride,
                         .padding = GRAFT_PADDING_EXPLICIT, .pad = { pad, pad, pad, pad },
                         .no_bias = TRUE };
  return graft_model_builder_add (n->b, "Conv2D", name, &c, &x, 1);
}

static int
depthwise (Net *n, int x, const char *name, int stride)
{
  GraftLayerConfig c = { .kernel = 3, .stride = stride, .padding = GRAFT_PADDING_EXPLICIT,
                         .pad = { 1, 1, 1, 1 }, .no_bias = TRUE };
  return graft_model_builder_add (n->b, "DepthwiseConv2D", name, &c, &x, 1);
}

static int
bn (Net *n, int x, const char *name)
{
  GraftLayerConfig c = { .epsilon = 1e-5, .momentum = n->momentum };
  return graft_model_builder_add (n->b, "BatchNormalization", name, &c, &x, 1);
}

static int
relu6 (Net *n, int x)
{
  GraftLayerConfig c = { .activation = GRAFT_ACTIVATION_RELU6 };
  return graft_model_builder_add (n->b, "Activation", NULL, &c, &x, 1);
}

/* features.@i: an inverted residual block from @cin to @cout channels, expansion @t. */
static int
inverted_residual (Net *n, int x, int i, int cin, int cout, int t, int stride)
{
  int hidden = cin * t, part = 0, y = x;
  if (t != 1)
    {
      g_autofree char *c = g_strdup_printf ("features.%d.conv.0.0", i);
      g_autofree char *b = g_strdup_printf ("features.%d.conv.0.1", i);
      y = relu6 (n, bn (n, conv (n, y, c, hidden, 1, 1), b));
      part = 1;
    }
  g_autofree char *dc = g_strdup_printf ("features.%d.conv.%d.0", i, part);
  g_autofree char *db = g_strdup_printf ("features.%d.conv.%d.1", i, part);
  y = relu6 (n, bn (n, depthwise (n, y, dc, stride), db));
  g_autofree char *pc = g_strdup_printf ("features.%d.conv.%d", i, part + 1);
  g_autofree char *pb = g_strdup_printf ("features.%d.conv.%d", i, part + 2);
  y = bn (n, conv (n, y, pc, cout, 1, 1), pb);
  if (stride == 1 && cin == cout)
    y = graft_model_builder_add_add (n->b, y, x);
  return y;
}

void
graft_arch_mobilenetv2_build (GraftModelBuilder *b, const GraftModelSpec *spec)
{
  Net n = { b, spec->bn_momentum > 0 ? 0 : 0.9 };
  /* t (expansion), c (channels), n (blocks), s (stride of the first), as torchvision's. */
  static const int settings[][4] = {
    { 1, 16, 1, 1 }, { 6, 24, 2, 2 }, { 6, 32, 3, 2 }, { 6, 64, 4, 2 },
    { 6, 96, 3, 1 }, { 6, 160, 3, 2 }, { 6, 320, 1, 1 },
  };
  int x = graft_model_builder_add_input (b, "input_1");
  x = graft_model_builder_add_rescaling (b, x, 1.0 / 255.0, 0.0);
  x = graft_model_builder_add (b, "Normalization", NULL, NULL, &x, 1);
  x = relu6 (&n, bn (&n, conv (&n, x, "features.0.0", 32, 3, 2), "features.0.1"));
  int cin = 32, i = 1;
  for (guint s = 0; s < G_N_ELEMENTS (settings); s++)
    for (int k = 0; k < settings[s][2]; k++, i++)
      {
        x = inverted_residual (&n, x, i, cin, settings[s][1], settings[s][0],
                               k == 0 ? settings[s][3] : 1);
        cin = settings[s][1];
      }
  x = relu6 (&n, bn (&n, conv (&n, x, "features.18.0", 1280, 1, 1), "features.18.1"));
  x = graft_model_builder_add_gap (b, x);
  x = graft_model_builder_add_dropout (b, x, spec->dropout);
  GraftLayerConfig fc = { .filters = graft_model_builder_units (b) };
  graft_model_builder_add (b, "Dense", "classifier.1", &fc, &x, 1);
}

/* Blocks by torchvision index: expand (when t ≠ 1), depthwise, project, each with its BN. */
#define MB_BLOCK(i)                                                                           \
  "features." #i ".conv.0.0", "features." #i ".conv.0.1", "features." #i ".conv.1.0",         \
  "features." #i ".conv.1.1", "features." #i ".conv.2", "features." #i ".conv.3"
static const char *const head[] = { "classifier.1", NULL };
/* The last stage: the 320-channel block and the 1×1 convolution to 1280 after it. */
static const char *const last_stage[] = { MB_BLOCK (17), "features.18.0", "features.18.1",
                                          "classifier.1", NULL };
/* The last two stages: the 160-channel blocks too. */
static const char *const last2_stages[] = { MB_BLOCK (14), MB_BLOCK (15), MB_BLOCK (16),
                                            MB_BLOCK (17), "features.18.0", "features.18.1",
                                            "classifier.1", NULL };
static const char *const all[] = {
  "features.0.0", "features.0.1", "features.1.conv.0.0", "features.1.conv.0.1",
  "features.1.conv.1", "features.1.conv.2", MB_BLOCK (2), MB_BLOCK (3), MB_BLOCK (4),
  MB_BLOCK (5), MB_BLOCK (6), MB_BLOCK (7), MB_BLOCK (8), MB_BLOCK (9), MB_BLOCK (10),
  MB_BLOCK (11), MB_BLOCK (12), MB_BLOCK (13), MB_BLOCK (14), MB_BLOCK (15), MB_BLOCK (16),
  MB_BLOCK (17), "features.18.0", "features.18.1", "classifier.1", NULL
};

const GraftArchPreset graft_arch_mobilenetv2_presets[] = {
  { "head", "Head only", head },
  { "last-stage-head", "Last stage & head", last_stage },
  { "last2-stages-head", "Last two stages & head", last2_stages },
  { "all", "All layers", all },
  { NULL, NULL, NULL },
};
