/* Layer kinds as modules: one const GraftLayerClass (a small vtable) per kind, each in its own
 * file engine/model/layers/graft-layer-<kind>.c and one row of graft-layer-kinds.h. A model is
 * a graph of GraftLayer instances (inputs by index, a GraftLayerConfig each) built with the
 * builder API of graft-model.h; the model's loops call the class of each layer and never look
 * at layer names. */
#pragma once

#include "graft-ops.h"

G_BEGIN_DECLS

typedef struct _GraftModel        GraftModel;
typedef struct _GraftModelBuilder GraftModelBuilder;
typedef struct _GraftLayerClass   GraftLayerClass;
typedef struct _GraftOnnxGraph    GraftOnnxGraph;
typedef struct _GraftParam        GraftParam;

/* What a parameter tensor is for. The role decides its tensor name ("<layer>/<role name>"),
 * whether Adam trains it (moving statistics are not trained) and its initial values. */
typedef enum {
  GRAFT_PARAM_KERNEL,            /* "kernel": Conv2D HWIO, Dense (in, units) */
  GRAFT_PARAM_DEPTHWISE_KERNEL,  /* "depthwise_kernel": (k, k, C, 1) */
  GRAFT_PARAM_POINTWISE_KERNEL,  /* "pointwise_kernel": (1, 1, C, filters) */
  GRAFT_PARAM_BIAS,              /* "bias" */
  GRAFT_PARAM_GAMMA,             /* "gamma" */
  GRAFT_PARAM_BETA,              /* "beta" */
  GRAFT_PARAM_MOVING_MEAN,       /* "moving_mean" (not trained) */
  GRAFT_PARAM_MOVING_VARIANCE,   /* "moving_variance" (not trained) */
  GRAFT_PARAM_N_ROLES
} GraftParamRole;

const char *graft_param_role_name      (GraftParamRole role);
gboolean    graft_param_role_trainable (GraftParamRole role);
/* A kernel (Glorot-uniform initial values, its fan-in and fan-out set). */
gboolean    graft_param_role_is_kernel (GraftParamRole role);

typedef enum {
  GRAFT_PADDING_SAME,      /* TensorFlow's "same": output ceil(in / stride) */
  GRAFT_PADDING_VALID,     /* no padding */
  GRAFT_PADDING_EXPLICIT,  /* GraftLayerConfig.pad: top, bottom, left, right */
} GraftPadding;

typedef enum {
  GRAFT_ACTIVATION_RELU,
  GRAFT_ACTIVATION_RELU6,  /* min(max(x, 0), 6) */
} GraftActivation;

/* A layer's own settings; zero means the default noted, so that `{ .filters = 64 }` is a
 * complete Conv2D config. Each kind reads only its fields. */
typedef struct {
  int             filters;     /* Conv2D, SeparableConv2D: output channels; Dense: units */
  int             kernel;      /* Conv2D, SeparableConv2D: k×k (0 → 3); MaxPooling2D: pool size */
  int             stride;      /* 0 → 1 */
  GraftPadding    padding;     /* SAME by default */
  int             pad[4];      /* GRAFT_PADDING_EXPLICIT: top, bottom, left, right */
  gboolean        no_bias;     /* Conv2D, SeparableConv2D, Dense without bias */
  GraftActivation activation;  /* Activation */
  double          epsilon;     /* BatchNormalization: 0 → GRAFT_BN_EPSILON */
  double          momentum;    /* BatchNormalization: 0 → the model spec's bn_momentum */
  double          rate;        /* Dropout */
  double          scale;       /* Rescaling: y = x·scale + offset */
  double          offset;
} GraftLayerConfig;

/* Batch normalisation's default ε, as Keras'. */
#define GRAFT_BN_EPSILON 1e-3f

#define GRAFT_LAYER_MAX_INPUTS 4

/* One layer of a model's graph. */
typedef struct {
  const GraftLayerClass *klass;
  char            *name;
  GraftLayerConfig config;
  int              n_in;
  int              in[GRAFT_LAYER_MAX_INPUTS];  /* indices of earlier layers */
  int              h, w, c;                     /* per-image output shape */
  int              first_param, n_params;       /* its parameters in the model's list */
  gboolean         frozen;
  gboolean         fused_relu;   /* BN whose only consumer is a ReLU: the BN applies it */
  gboolean         alias;        /* output is its first input's buffer (set by plan) */
  gboolean         flat;         /* printed as (None, c) */
  int              consumers;    /* layers reading its output */
  /* device */
  cl_mem           act;          /* output activations (owned unless alias) */
  cl_mem           stats;        /* per-kind state (BN: saved mean then invstd) */
  cl_mem           arg;          /* per-kind bytes (max-pool: arg-max per output) */
  gboolean         arg_valid;
} GraftLayer;

/* One GEMM of a layer's forward pass over one image: [rows × depth] · [depth × cols]. */
typedef struct {
  gsize rows;
  int   cols, depth;
} GraftLayerGemm;

/* What a layer's forward and backward get. */
typedef struct {
  GraftModel   *model;
  GraftContext *ctx;
  guint         index;
  GraftLayer   *layer;
  int           n;                               /* images in this pass */
  gboolean      training;
  guint32       seed, step;                      /* dropout stream */
  GraftTensor   x[GRAFT_LAYER_MAX_INPUTS];       /* the inputs' activations */
  GraftTensor   y;                               /* this layer's output */
  /* backward only */
  GraftTensor   dy;
  GraftTensor  *dx[GRAFT_LAYER_MAX_INPUTS];      /* overwrite; NULL where not wanted */
} GraftLayerPass;

struct _GraftLayerClass {
  const char *name;        /* the kind: Keras' class name ("Conv2D") */
  const char *base_name;   /* automatic layer names: conv2d, conv2d_1, ... */
  int         min_inputs, max_inputs;
  gboolean    flat;        /* output printed as (None, c) */
  gboolean    gemm_store;  /* forward ends in a GEMM store that can apply a following
                              inference-mode BN (graft_layer_gemm_forward) */
  /* Output shape (l->h, w, c) from the inputs', checking l->config; the message names the
   * setting. */
  gboolean  (*infer_shape)    (GraftLayer *l, const GraftLayer *const *in, GError **error);
  /* Parameters, with graft_model_builder_param, in their order. NULL: none. */
  void      (*declare_params) (GraftModelBuilder *b, const GraftLayer *l,
                               const GraftLayer *const *in);
  /* Once the graph is complete: fusions and aliases (may set l->alias, fused_relu of the
   * input). NULL: none. */
  void      (*plan)           (GraftModel *m, guint i);
  /* Device state besides the output (l->stats, l->arg), adding its size to @bytes. */
  gboolean  (*bind)           (GraftModel *m, GraftLayer *l, int batch, guint64 *bytes,
                               GError **error);
  gboolean  (*forward)        (GraftLayerPass *p, GError **error);
  /* Parameter gradients (unless frozen) and p->dx of the inputs that want one. NULL: the
   * layer passes no gradient. */
  gboolean  (*backward)       (GraftLayerPass *p, GError **error);
  /* The GEMMs of one forward per image (at most 2), for FLOP counts and tuning. */
  guint     (*gemms)          (GraftModel *m, const GraftLayer *l, GraftLayerGemm out[2]);
  /* Summary: output shape text; NULL → "(None, h, w, c)", or "(None, c)" when flat. */
  char     *(*summary)        (const GraftLayer *l);
  /* ONNX nodes of the layer (graft-layer-onnx.h); NULL: not exportable. */
  void      (*onnx)           (GraftOnnxGraph *g, GraftModel *m, guint i);
  /* Initial values of parameter @p (p->count floats into @dst). NULL: by role — kernels
   * Glorot-uniform from the counter RNG keyed by the tensor's name, γ and the moving variance 1,
   * the rest 0. */
  void      (*init)           (GraftModel *m, const GraftParam *p, float *dst, guint32 seed);
};

/* The registry: every layer kind (graft-layer-kinds.h), by name. */
const GraftLayerClass *graft_layer_class_find (const char *name);
guint                  graft_layer_n_classes  (void);
const GraftLayerClass *graft_layer_class      (guint i);
#define GRAFT_LAYER_KIND_DECLARE(id) extern const GraftLayerClass graft_layer_##id;
#include "graft-layer-kinds.h"
GRAFT_LAYER_KINDS (GRAFT_LAYER_KIND_DECLARE)

/* ---- for layer implementations ---- */

GraftLayer       *graft_model_layer        (GraftModel *m, guint i);
/* Output of layer @i as a tensor of @n images. */
GraftTensor       graft_layer_act          (GraftModel *m, int i, int n);
/* Parameter @k of layer @l (values), and its gradient slot (NULL when frozen). */
GraftTensor       graft_layer_param        (GraftModel *m, const GraftLayer *l, int k);
GraftTensor      *graft_layer_param_grad   (GraftModel *m, const GraftLayer *l, int k,
                                            GraftTensor *slot);
/* The bias gradient slot of layer @p, or NULL where not wanted: a bias whose only consumer is
 * a training-mode BN has a gradient of exactly 0 (set here, then NULL returned). */
GraftTensor      *graft_layer_bias_grad    (GraftLayerPass *p, int k, GraftTensor *slot,
                                            gboolean *ok, GError **error);
/* A scratch buffer of the largest activation size (−1 on failure), and giving it back. */
int               graft_layer_scratch_take (GraftModel *m, GError **error);
cl_mem            graft_layer_scratch_mem  (GraftModel *m, int i);
void              graft_layer_scratch_give (GraftModel *m, int i);
/* The one layer reading layer @i's output, or −1. */
int               graft_layer_sole_consumer (GraftModel *m, guint i);
/* Whether BN layer @j runs in training mode in this pass. */
gboolean          graft_layer_bn_training  (const GraftLayer *l, gboolean training);
/* Whether the BatchNormalization layer @j is folded into the GEMM store before it. */
gboolean          graft_layer_bn_folded    (GraftModel *m, guint j, gboolean training);
/* The input of Add layer @j whose GEMM store (graft_layer_gemm_forward) adds the other input
 * in and writes the sum, or −1: the later of two inputs, when it is a GEMM-store layer the sum
 * alone reads (the earlier is computed by then). The Add itself then does nothing, in every
 * pass (its backward needs neither output). */
int               graft_layer_add_folded   (GraftModel *m, guint j);
/* BatchNormalization layer @l's op shape for @n images: its ε (config, else GRAFT_BN_EPSILON),
 * momentum (config, else the model spec's) and fused ReLU. */
GraftBatchNormShape graft_layer_bn_shape   (GraftModel *m, const GraftLayer *l, int n);
/* The context the model is bound to. */
GraftContext     *graft_model_context      (GraftModel *m);
/* Layer @p's convolution GEMM into p->y, or, where the BN after it folds, with that BN's
 * scale and shift (and ReLU) applied in the store, written to the BN's output. */
gboolean          graft_layer_gemm_forward (GraftLayerPass *p, const GraftConv2dShape *s,
                                            const GraftTensor *x, const GraftTensor *w,
                                            const GraftTensor *bias, GError **error);
/* The same for a separable convolution in one pass (graft_gemm_dw3, where it covers the
 * shape): the 3×3 depthwise convolution of x by @dwk (of max(x, 0) when relu_x) times the
 * pointwise kernel @w. */
gboolean          graft_layer_gemm_forward_dw3 (GraftLayerPass *p, const GraftTensor *x,
                                                gboolean relu_x, const GraftTensor *dwk,
                                                const GraftTensor *w, const GraftTensor *bias,
                                                GError **error);
/* Whether separable convolution @i computes its forward in one pass for @n images, and whether
 * the ReLU layer @j, in a pass that does not train it, is then applied by it instead (its only
 * reader; its own output is never written). */
gboolean          graft_layer_separable_fused (GraftModel *m, guint i, int n);
gboolean          graft_layer_relu_folded  (GraftModel *m, guint j, int n, gboolean training);
/* A layer whose parameters are a kernel (0) and, unless config.no_bias, a bias (1), computed
 * as the convolution GEMM of shape @s (conv2d, dense): its forward and its backward. */
gboolean          graft_layer_kernel_forward  (GraftLayerPass *p, const GraftConv2dShape *s,
                                               GError **error);
gboolean          graft_layer_kernel_backward (GraftLayerPass *p, const GraftConv2dShape *s,
                                               GError **error);
GraftTensor       graft_layer_view         (cl_mem mem, gsize off, int n, int h, int w, int c);

G_END_DECLS
