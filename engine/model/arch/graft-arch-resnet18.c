/* ResNet-18 as torchvision builds it (torchvision.models.resnet18): a 7×7 stride-2 stem, a 3×3
 * stride-2 max-pool, four stages of two basic blocks (64, 128, 256, 512 channels; the first
 * block of stages 2 to 4 strides by 2 and projects its shortcut with a 1×1 convolution and BN),
 * global average pooling and a dense head. PyTorch's explicit padding, convolutions without
 * bias, BN ε 1e-5 and momentum 0.1 (0.9 here, unless the spec sets one). Layers with weights
 * carry torchvision's module names (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc), so
 * that graft-import-torch maps a state dict one to one. The input is the ImageNet-normalised
 * image. Any image size from 32. */
#include "graft-arch.h"

typedef struct {
  GraftModelBuilder *b;
  double momentum;
} Net;

static int
conv (Net *n, int x, const char *name, int filters, int k, int stride, int pad)
{
  GraftLayerConfig c = { .filters = filters, .kernel = k, .stride = stride,
                         .padding = GRAFT_PADDING_EXPLICIT, .pad = { pad, pad, pad, pad },
                         .no_bias = TRUE };
  return graft_model_builder_add (n->b, "Conv2D", name, &c, &x, 1);
}

static int
bn (Net *n, int x, const char *name)
{
  GraftLayerConfig c = { .epsilon = 1e-5, .momentum = n->momentum };
  return graft_model_builder_add (n->b, "BatchNormalization", name, &c, &x, 1);
}

static int
block (Net *n, int x, const char *prefix, int filters, int stride, gboolean project)
{
  g_autofree char *c1 = g_strdup_printf ("%s.conv1", prefix);
  g_autofree char *b1 = g_strdup_printf ("%s.bn1", prefix);
  g_autofree char *c2 = g_strdup_printf ("%s.conv2", prefix);
  g_autofree char *b2 = g_strdup_printf ("%s.bn2", prefix);
  int y = conv (n, x, c1, filters, 3, stride, 1);
  y = bn (n, y, b1);
  y = graft_model_builder_add_relu (n->b, y);
  y = conv (n, y, c2, filters, 3, 1, 1);
  y = bn (n, y, b2);
  int shortcut = x;
  if (project)
    {
      g_autofree char *d0 = g_strdup_printf ("%s.downsample.0", prefix);
      g_autofree char *d1 = g_strdup_printf ("%s.downsample.1", prefix);
      shortcut = bn (n, conv (n, x, d0, filters, 1, stride, 0), d1);
    }
  y = graft_model_builder_add_add (n->b, y, shortcut);
  return graft_model_builder_add_relu (n->b, y);
}

void
graft_arch_resnet18_build (GraftModelBuilder *b, const GraftModelSpec *spec)
{
  /* PyTorch's momentum 0.1 is 0.9 in the Keras form Graft uses; a spec's own wins. */
  Net n = { b, spec->bn_momentum > 0 ? 0 : 0.9 };
  int x = graft_model_builder_add_input (b, "input_1");
  x = graft_model_builder_add_rescaling (b, x, 1.0 / 255.0, 0.0);
  x = graft_model_builder_add (b, "Normalization", NULL, NULL, &x, 1);
  x = bn (&n, conv (&n, x, "conv1", 64, 7, 2, 3), "bn1");
  x = graft_model_builder_add_relu (b, x);
  GraftLayerConfig pool = { .kernel = 3, .stride = 2, .padding = GRAFT_PADDING_EXPLICIT,
                            .pad = { 1, 1, 1, 1 } };
  x = graft_model_builder_add (b, "MaxPooling2D", NULL, &pool, &x, 1);
  const int widths[] = { 64, 128, 256, 512 };
  for (int s = 0; s < 4; s++)
    for (int i = 0; i < 2; i++)
      {
        g_autofree char *prefix = g_strdup_printf ("layer%d.%d", s + 1, i);
        gboolean first = i == 0 && s > 0;
        x = block (&n, x, prefix, widths[s], first ? 2 : 1, first);
      }
  x = graft_model_builder_add_gap (b, x);
  GraftLayerConfig fc = { .filters = graft_model_builder_units (b) };
  graft_model_builder_add (b, "Dense", "fc", &fc, &x, 1);
}

/* The study's experiments on a pretrained network: the head, the last stage and the head, the
 * last two stages and the head, everything. */
#define R18_STAGE(s)                                                                          \
  "layer" #s ".0.conv1", "layer" #s ".0.bn1", "layer" #s ".0.conv2", "layer" #s ".0.bn2",     \
  "layer" #s ".0.downsample.0", "layer" #s ".0.downsample.1", "layer" #s ".1.conv1",          \
  "layer" #s ".1.bn1", "layer" #s ".1.conv2", "layer" #s ".1.bn2"
static const char *const head[] = { "fc", NULL };
static const char *const last_stage[] = { R18_STAGE (4), "fc", NULL };
static const char *const last2_stages[] = { R18_STAGE (3), R18_STAGE (4), "fc", NULL };
static const char *const all[] = {
  "conv1", "bn1", "layer1.0.conv1", "layer1.0.bn1", "layer1.0.conv2", "layer1.0.bn2",
  "layer1.1.conv1", "layer1.1.bn1", "layer1.1.conv2", "layer1.1.bn2", R18_STAGE (2),
  R18_STAGE (3), R18_STAGE (4), "fc", NULL
};

const GraftArchPreset graft_arch_resnet18_presets[] = {
  { "head", "Head only", head },
  { "last-stage-head", "Last stage & head", last_stage },
  { "last2-stages-head", "Last two stages & head", last2_stages },
  { "all", "All layers", all },
  { NULL, NULL, NULL },
};
