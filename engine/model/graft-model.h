/* A model: a graph of layer instances (graft-layer.h) built by an architecture's builder
 * (engine/model/arch/) through the builder API below, with forward/backward on a GraftContext,
 * freeze and re-initialise per layer. */
#pragma once

#include "graft-ops.h"
#include "graft-layer.h"

G_BEGIN_DECLS

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
  const char *architecture;  /* a name of the architecture registry (graft-arch.h);
                                NULL or "" → GRAFT_ARCH_DEFAULT ("keras-cnn") */
} GraftModelSpec;

/* One parameter tensor: "<layer>/<name>" in Keras layout. */
struct _GraftParam {
  int      layer;
  GraftParamRole role;
  const char *name;      /* graft_param_role_name (role): "kernel", "bias", "depthwise_kernel",
                            "pointwise_kernel", "gamma", "beta", "moving_mean", "moving_variance" */
  char    *full_name;    /* "<layer>/<name>" */
  int      ndim;
  int      shape[4];     /* Keras shape, ndim entries */
  gsize    count;
  gsize    offset;       /* floats into the parameter buffer */
  gboolean trainable;    /* role: FALSE for BN moving statistics */
  int      fan_in, fan_out;  /* for Glorot-uniform; 0 for non-kernels */
};

/* The model of @spec, built by its architecture's builder, with initial values (seed 1337). */
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
/* A layer's kind is its class (graft-layer.h); its name is Keras' class name ("Conv2D"). */
typedef const GraftLayerClass *GraftLayerKind;
GraftLayerKind graft_model_layer_kind (GraftModel *model, guint i);
const char *graft_layer_kind_name     (GraftLayerKind kind);
const GraftLayerConfig *graft_model_layer_config (GraftModel *model, guint i);
/* The layers feeding layer i: their count, indices in @in (GRAFT_LAYER_MAX_INPUTS). */
int         graft_model_layer_inputs  (GraftModel *model, guint i, int *in);
/* Per-image output shape h, w, c of layer i. */
void        graft_model_layer_shape   (GraftModel *model, guint i, int *h, int *w, int *c);
int         graft_model_layer_find    (GraftModel *model, const char *name);  /* −1 if none */
gboolean    graft_model_layer_has_params (GraftModel *model, guint i);
/* Names of the layers with a kernel (a parameter of a kernel role), in graph order. */
GPtrArray  *graft_model_kernel_layers (GraftModel *model);
/* The GEMMs of layer i's forward pass per image (graft-layer.h); returns how many (≤ 2). */
guint       graft_model_layer_gemms   (GraftModel *model, guint i, GraftLayerGemm out[2]);

guint       graft_model_n_params      (GraftModel *model);
const GraftParam *graft_model_param   (GraftModel *model, guint i);
const GraftParam *graft_model_param_find (GraftModel *model, const char *full_name);
gsize       graft_model_count_params  (GraftModel *model, gboolean trainable_role);
/* Size of the trainable-role region at the start of the parameter buffer. */
gsize       graft_model_trainable_floats (GraftModel *model);

/* ---- building a model: an architecture's builder adds layers in graph order ---- */

/* A builder for a model of @spec (image size, classes, BN momentum; the architecture name is
 * recorded). Every add returns the new layer's index, or −1 once anything failed: the first
 * error is kept and returned by _finish, so a builder can chain adds without checking each. */
GraftModelBuilder *graft_model_builder_new  (const GraftModelSpec *spec);
void        graft_model_builder_free        (GraftModelBuilder *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftModelBuilder, graft_model_builder_free)
/* Any kind of the registry (its GraftLayerClass.name, e.g. "Conv2D"), @name NULL for Keras'
 * automatic name (conv2d, conv2d_1, ...), @inputs indices of earlier layers. */
int         graft_model_builder_add         (GraftModelBuilder *b, const char *kind,
                                             const char *name, const GraftLayerConfig *config,
                                             const int *inputs, int n_inputs);
/* The image input, spec->image_size square with 3 channels (floats in [0, 1]). */
int         graft_model_builder_add_input   (GraftModelBuilder *b, const char *name);
int         graft_model_builder_add_conv2d  (GraftModelBuilder *b, int x, int filters, int k,
                                             int stride);
int         graft_model_builder_add_separable_conv2d (GraftModelBuilder *b, int x, int filters,
                                                      int k);
int         graft_model_builder_add_batchnorm (GraftModelBuilder *b, int x);
int         graft_model_builder_add_relu    (GraftModelBuilder *b, int x);
int         graft_model_builder_add_maxpool (GraftModelBuilder *b, int x, int k, int stride);
int         graft_model_builder_add_add     (GraftModelBuilder *b, int x, int y);
int         graft_model_builder_add_gap     (GraftModelBuilder *b, int x);
int         graft_model_builder_add_dropout (GraftModelBuilder *b, int x, double rate);
int         graft_model_builder_add_dense   (GraftModelBuilder *b, int x, int units);
int         graft_model_builder_add_rescaling (GraftModelBuilder *b, int x, double scale,
                                               double offset);
/* For GraftLayerClass.declare_params: a parameter of the layer being added. @shape has
 * @ndim entries (Keras layout); fan-in and fan-out matter for kernels (Glorot-uniform). */
void        graft_model_builder_param       (GraftModelBuilder *b, GraftParamRole role, int ndim,
                                             const int *shape, int fan_in, int fan_out);
/* Records an error (the first one wins), e.g. a builder's own setting check. */
void        graft_model_builder_fail        (GraftModelBuilder *b, GError *error);
int         graft_model_builder_units       (GraftModelBuilder *b);   /* 1 or classes */
/* The layer @i so far (its shape), or NULL. */
const GraftLayer *graft_model_builder_layer (GraftModelBuilder *b, int i);
/* The model: the last layer must give {1, 1, units}. Initial values as graft_model_new. */
GraftModel *graft_model_builder_finish      (GraftModelBuilder *b, GError **error);

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
