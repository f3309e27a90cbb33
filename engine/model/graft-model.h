/* The Keras "image classification from scratch" network, layer for layer and name for name,
 * with forward/backward on a GraftContext, freeze and re-initialise per layer. */
#pragma once

#include "graft-ops.h"

G_BEGIN_DECLS

typedef enum {
  GRAFT_LAYER_INPUT,
  GRAFT_LAYER_RESCALING,
  GRAFT_LAYER_CONV2D,
  GRAFT_LAYER_SEPARABLE_CONV2D,
  GRAFT_LAYER_BATCH_NORMALIZATION,
  GRAFT_LAYER_ACTIVATION,
  GRAFT_LAYER_MAX_POOLING2D,
  GRAFT_LAYER_ADD,
  GRAFT_LAYER_GLOBAL_AVERAGE_POOLING2D,
  GRAFT_LAYER_DROPOUT,
  GRAFT_LAYER_DENSE,
  GRAFT_LAYER_N_KINDS
} GraftLayerKind;

/* Keras class name of each kind ("Conv2D", ...). */
const char *graft_layer_kind_name (GraftLayerKind kind);

/* What graft_model_new accepts (the checkpoint reader checks files against the same). */
#define GRAFT_MODEL_MIN_IMAGE_SIZE 32
#define GRAFT_MODEL_MAX_IMAGE_SIZE 2048
#define GRAFT_MODEL_MAX_CLASSES    100000
#define GRAFT_MODEL_MAX_WIDTH      8.0

typedef struct {
  int      image_size;   /* input H = W, 32 to 2048 */
  int      classes;      /* 2 to 100000; 2 → one sigmoid unit */
  double   width;        /* channel multiplier in (0, 8]; 1.0 = reference */
  double   dropout;      /* 0.5 */
  double   bn_momentum;  /* moving = m·moving + (1−m)·batch; 0 means Keras' 0.99 */
} GraftModelSpec;

/* One parameter tensor: "<layer>/<name>" in Keras layout. */
typedef struct {
  int      layer;
  char    *name;         /* "kernel", "bias", "depthwise_kernel", "pointwise_kernel",
                            "gamma", "beta", "moving_mean", "moving_variance" */
  char    *full_name;    /* "<layer>/<name>" */
  int      ndim;
  int      shape[4];     /* Keras shape, ndim entries */
  gsize    count;
  gsize    offset;       /* floats into the parameter buffer */
  gboolean trainable;    /* role: FALSE for BN moving statistics */
  int      fan_in, fan_out;  /* for Glorot-uniform; 0 for non-kernels */
} GraftParam;

typedef struct _GraftModel GraftModel;

GraftModel *graft_model_new           (const GraftModelSpec *spec, GError **error);
/* How many floats of parameters graft_model_new (@spec) would allocate, without
 * allocating them (so that a file can be checked against it first). */
gboolean    graft_model_spec_n_floats (const GraftModelSpec *spec, gsize *n_floats,
                                       GError **error);
void        graft_model_free          (GraftModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftModel, graft_model_free)

const GraftModelSpec *graft_model_spec (GraftModel *model);
int         graft_model_units         (GraftModel *model);   /* output units: 1 or classes */
guint       graft_model_n_layers      (GraftModel *model);
const char *graft_model_layer_name    (GraftModel *model, guint i);
GraftLayerKind graft_model_layer_kind (GraftModel *model, guint i);
/* Per-image output shape h, w, c of layer i. */
void        graft_model_layer_shape   (GraftModel *model, guint i, int *h, int *w, int *c);
int         graft_model_layer_find    (GraftModel *model, const char *name);  /* −1 if none */
/* The layers feeding layer i (@in[1] −1 unless it adds two), and its kernel size and stride
 * (0 where they do not apply). */
void        graft_model_layer_links   (GraftModel *model, guint i, int in[2], int *k, int *stride);
/* Batch normalisation's ε, as Keras' default. */
#define GRAFT_BN_EPSILON 1e-3f
gboolean    graft_model_layer_has_params (GraftModel *model, guint i);
/* Layers with a kernel, in Keras order (conv2d, separable_conv2d, ..., dense). */
GPtrArray  *graft_model_kernel_layers (GraftModel *model);

guint       graft_model_n_params      (GraftModel *model);
const GraftParam *graft_model_param   (GraftModel *model, guint i);
const GraftParam *graft_model_param_find (GraftModel *model, const char *full_name);
gsize       graft_model_count_params  (GraftModel *model, gboolean trainable_role);
/* Size of the trainable-role region at the start of the parameter buffer. */
gsize       graft_model_trainable_floats (GraftModel *model);

/* Keras-style table (layer, type, output shape, params, inputs) and totals. */
char       *graft_model_summary       (GraftModel *model);

/* The model's host copy of all parameters (graft_model_count_params(TRUE)+(FALSE) floats,
 * laid out by GraftParam.offset), owned by the model. */
float      *graft_model_host_params   (GraftModel *model);
/* The first parameter tensor (of @layer, or of any layer when −1) whose host values are not
 * all finite, or NULL. */
const GraftParam *graft_model_find_nonfinite (GraftModel *model, int layer);
/* Glorot-uniform kernels, zero biases, BN γ=1 β=0 mean 0 var 1, seeded;
 * layer == −1 initialises every layer. */
void        graft_model_init_layer    (GraftModel *model, int layer, guint32 seed);

/* Freezing: a frozen layer gets no parameter gradients and runs BN in inference mode. */
void        graft_model_set_frozen    (GraftModel *model, guint layer, gboolean frozen);
gboolean    graft_model_get_frozen    (GraftModel *model, guint layer);

/* ---- device side ---- */

/* Uploads the host parameters and allocates activations for batches of up
 * to @batch images, gradients and Adam state. */
gboolean    graft_model_bind          (GraftModel *model, GraftContext *ctx, int batch,
                                       GError **error);
gboolean    graft_model_upload        (GraftModel *model, GError **error);
gboolean    graft_model_download      (GraftModel *model, GError **error);  /* device → host */
/* The input tensor {batch, S, S, 3} (floats in [0,1]) and label tensor {batch,1,1,1}. */
GraftTensor *graft_model_input        (GraftModel *model);
GraftTensor *graft_model_labels       (GraftModel *model);
/* The logits of the last forward, {n, 1, 1, units}. This and the two accessors below return a
 * view owned by the model, valid until the same accessor is called again. */
GraftTensor *graft_model_logits       (GraftModel *model, int n);

/* Forward over the first @n images of the input. training: BN batch statistics
 * (for trainable BN layers) and dropout with stream @step. */
gboolean    graft_model_forward       (GraftModel *model, int n, gboolean training,
                                       guint32 seed, guint32 step, GError **error);
/* Loss + gradients of the mean loss, backward through the trainable part, and
 * one Adam step. Loss/correct sums are added to the stats tensor {1,1,1,2}. */
gboolean    graft_model_train_step    (GraftModel *model, int n, const GraftAdamParams *adam,
                                       guint32 seed, guint32 step, GraftTensor *stats,
                                       GError **error);
/* Loss/correct sums of the last forward, added to stats (no gradients). */
gboolean    graft_model_eval_loss     (GraftModel *model, int n, GraftTensor *stats,
                                       GError **error);
/* Backward only (after forward + loss with gradients into the logits grad). */
gboolean    graft_model_backward      (GraftModel *model, int n, guint32 seed, guint32 step,
                                       GError **error);
/* Device gradient of trainable-role parameter @p (valid after backward; zero
 * for frozen layers). */
GraftTensor *graft_model_param_grad   (GraftModel *model, const GraftParam *p);
GraftTensor *graft_model_param_tensor (GraftModel *model, const GraftParam *p);
/* Adam moments, same layout as gradients (host read/write for checkpoints). */
gboolean    graft_model_read_adam     (GraftModel *model, float *m, float *v, GError **error);
gboolean    graft_model_write_adam    (GraftModel *model, const float *m, const float *v,
                                       GError **error);
/* Device bytes held by the model (parameters, activations, gradients, Adam). */
guint64     graft_model_device_bytes  (GraftModel *model);

G_END_DECLS
