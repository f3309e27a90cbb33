/* A model as a graph of layer instances: the builder, parameters, summary, and the forward and
 * backward passes on the device, which call each layer's class (graft-layer.h). */
#include "graft-model.h"

#include <math.h>
#include <string.h>

#include "graft-arch.h"
#include "graft-gemm.h"
#include "graft-rng.h"

typedef struct {
  cl_mem mem;
  gboolean busy;
} PoolBuf;

struct _GraftModel {
  GraftModelSpec spec;
  char          *architecture; /* spec.architecture points here */
  int            units;
  GPtrArray     *layers;       /* GraftLayer* */
  GPtrArray     *params;       /* GraftParam* */
  gsize          n_trainable;  /* floats in the trainable-role region */
  gsize          n_total;
  float         *host;
  /* device */
  GraftContext  *ctx;
  int            batch;
  cl_mem         dparams, dgrad, dm, dv;
  cl_mem         dlabels, dlogit_grad;
  cl_mem         fold;         /* scale (max c) then shift (max c) of a BN folded into a GEMM */
  int            max_c;
  GraftTensor    input_t, labels_t;
  GArray        *pool;         /* PoolBuf: gradient buffers of max activation size */
  gsize          max_act;      /* floats per batch of the largest activation */
  int           *grad_of;      /* layer → pool index holding d(output), −1 */
  guint64        device_bytes;
  /* What the view accessors return: valid until the next call of the same accessor. */
  GraftTensor    logits_view, grad_view, param_view;
};

struct _GraftModelBuilder {
  GraftModel *m;
  GHashTable *counts;          /* base name → layers named so far */
  GError     *error;           /* the first failure */
  int         current;         /* the layer whose parameters are being declared */
};

static GraftLayer *
L (GraftModel *m, int i)
{
  return m->layers->pdata[i];
}

GraftLayer *
graft_model_layer (GraftModel *m, guint i)
{
  g_return_val_if_fail (i < m->layers->len, NULL);
  return L (m, i);
}

static void
layer_free (gpointer p)
{
  GraftLayer *l = p;
  g_free (l->name);
  g_free (l);
}

static void
param_free (gpointer p)
{
  GraftParam *q = p;
  g_free (q->full_name);
  g_free (q);
}

/* ---- the builder ---- */

GraftModelBuilder *
graft_model_builder_new (const GraftModelSpec *spec)
{
  GraftModelBuilder *b = g_new0 (GraftModelBuilder, 1);
  GraftModel *m = b->m = g_new0 (GraftModel, 1);
  m->spec = *spec;
  m->architecture = g_strdup (spec->architecture && *spec->architecture ? spec->architecture
                                                                         : GRAFT_ARCH_DEFAULT);
  m->spec.architecture = m->architecture;
  if (m->spec.bn_momentum == 0)
    m->spec.bn_momentum = 0.99;
  m->units = spec->classes == 2 ? 1 : spec->classes;
  m->layers = g_ptr_array_new_with_free_func (layer_free);
  m->params = g_ptr_array_new_with_free_func (param_free);
  b->counts = g_hash_table_new (g_str_hash, g_str_equal);
  b->current = -1;
  return b;
}

void
graft_model_builder_free (GraftModelBuilder *b)
{
  if (b == NULL)
    return;
  graft_model_free (b->m);
  g_hash_table_unref (b->counts);
  g_clear_error (&b->error);
  g_free (b);
}

void
graft_model_builder_fail (GraftModelBuilder *b, GError *error)
{
  if (b->error == NULL)
    b->error = error;
  else
    g_error_free (error);
}

int
graft_model_builder_units (GraftModelBuilder *b)
{
  return b->m->units;
}

const GraftLayer *
graft_model_builder_layer (GraftModelBuilder *b, int i)
{
  return i >= 0 && (guint) i < b->m->layers->len ? L (b->m, i) : NULL;
}

/* Keras names layers per class: conv2d, conv2d_1, ... */
static char *
next_name (GHashTable *counts, const char *base)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, base));
  g_hash_table_insert (counts, (gpointer) base, GUINT_TO_POINTER (n + 1));
  return n == 0 ? g_strdup (base) : g_strdup_printf ("%s_%u", base, n);
}

void
graft_model_builder_param (GraftModelBuilder *b, GraftParamRole role, int ndim, const int *shape,
                           int fan_in, int fan_out)
{
  g_return_if_fail (b->current >= 0 && ndim >= 1 && ndim <= 4);
  GraftModel *m = b->m;
  GraftLayer *l = L (m, b->current);
  GraftParam *p = g_new0 (GraftParam, 1);
  p->layer = b->current;
  p->role = role;
  p->name = graft_param_role_name (role);
  p->full_name = g_strdup_printf ("%s/%s", l->name, p->name);
  p->ndim = ndim;
  p->count = 1;
  for (int i = 0; i < ndim; i++)
    {
      p->shape[i] = shape[i];
      p->count *= shape[i];
    }
  p->trainable = graft_param_role_trainable (role);
  if (graft_param_role_is_kernel (role))
    {
      p->fan_in = fan_in;
      p->fan_out = fan_out;
    }
  g_ptr_array_add (m->params, p);
  l->n_params++;
}

static int
builder_add (GraftModelBuilder *b, const GraftLayerClass *klass, const char *name,
             const GraftLayerConfig *config, const int *inputs, int n_inputs, int h, int w, int c)
{
  GraftModel *m = b->m;
  if (b->error)
    return -1;
  const char *kind = klass->name;
  GError *error = NULL;
  if (n_inputs < klass->min_inputs || n_inputs > klass->max_inputs)
    {
      g_set_error (&error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s layer %s: takes %d to %d inputs, not %d", kind,
                   name ? name : klass->base_name, klass->min_inputs, klass->max_inputs, n_inputs);
      graft_model_builder_fail (b, error);
      return -1;
    }
  const GraftLayer *in[GRAFT_LAYER_MAX_INPUTS] = { NULL };
  for (int j = 0; j < n_inputs; j++)
    {
      if (inputs[j] < 0 || (guint) inputs[j] >= m->layers->len)
        {
          g_set_error (&error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                       "%s layer %s: input %d is not an earlier layer", kind,
                       name ? name : klass->base_name, inputs[j]);
          graft_model_builder_fail (b, error);
          return -1;
        }
      in[j] = L (m, inputs[j]);
    }
  GraftLayer *l = g_new0 (GraftLayer, 1);
  l->klass = klass;
  l->name = name ? g_strdup (name) : next_name (b->counts, klass->base_name);
  if (config)
    l->config = *config;
  l->n_in = n_inputs;
  for (int j = 0; j < GRAFT_LAYER_MAX_INPUTS; j++)
    l->in[j] = j < n_inputs ? inputs[j] : -1;
  l->h = h;
  l->w = w;
  l->c = c;
  if (graft_model_layer_find (m, l->name) >= 0)
    g_set_error (&error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                 "the layer name “%s” appears twice", l->name);
  else if (klass->infer_shape && !klass->infer_shape (l, in, &error))
    g_prefix_error (&error, "%s layer %s: ", kind, l->name);
  else if (l->h < 1 || l->w < 1 || l->c < 1)
    g_set_error (&error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                 "%s layer %s: its output would be %d×%d×%d", kind, l->name, l->h, l->w, l->c);
  if (error)
    {
      layer_free (l);
      graft_model_builder_fail (b, error);
      return -1;
    }
  /* Printed as (None, c) when its kind's output is flat, or it keeps a flat input's shape. */
  l->flat = klass->flat || (n_inputs > 0 && in[0]->flat && l->h == 1 && l->w == 1);
  l->first_param = m->params->len;
  g_ptr_array_add (m->layers, l);
  b->current = m->layers->len - 1;
  if (klass->declare_params)
    klass->declare_params (b, l, in);
  b->current = -1;
  return m->layers->len - 1;
}

int
graft_model_builder_add (GraftModelBuilder *b, const char *kind, const char *name,
                         const GraftLayerConfig *config, const int *inputs, int n_inputs)
{
  if (b->error)
    return -1;
  const GraftLayerClass *klass = graft_layer_class_find (kind);
  if (klass == NULL || klass == &graft_layer_input)
    {
      GError *error = g_error_new (GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                                   "there is no layer kind “%s”", kind);
      graft_model_builder_fail (b, error);
      return -1;
    }
  return builder_add (b, klass, name, config, inputs, n_inputs, 0, 0, 0);
}

int
graft_model_builder_add_input (GraftModelBuilder *b, const char *name)
{
  int s = b->m->spec.image_size;
  return builder_add (b, &graft_layer_input, name, NULL, NULL, 0, s, s, 3);
}

static int
add1 (GraftModelBuilder *b, const GraftLayerClass *klass, int x, const GraftLayerConfig *cfg)
{
  if (b->error)
    return -1;
  return builder_add (b, klass, NULL, cfg, &x, 1, 0, 0, 0);
}

int
graft_model_builder_add_conv2d (GraftModelBuilder *b, int x, int filters, int k, int stride)
{
  GraftLayerConfig c = { .filters = filters, .kernel = k, .stride = stride };
  return add1 (b, &graft_layer_conv2d, x, &c);
}

int
graft_model_builder_add_separable_conv2d (GraftModelBuilder *b, int x, int filters, int k)
{
  GraftLayerConfig c = { .filters = filters, .kernel = k };
  return add1 (b, &graft_layer_separable_conv2d, x, &c);
}

int
graft_model_builder_add_batchnorm (GraftModelBuilder *b, int x)
{
  GraftLayerConfig c = { 0 };
  return add1 (b, &graft_layer_batchnorm, x, &c);
}

int
graft_model_builder_add_relu (GraftModelBuilder *b, int x)
{
  GraftLayerConfig c = { .activation = GRAFT_ACTIVATION_RELU };
  return add1 (b, &graft_layer_activation, x, &c);
}

int
graft_model_builder_add_maxpool (GraftModelBuilder *b, int x, int k, int stride)
{
  GraftLayerConfig c = { .kernel = k, .stride = stride };
  return add1 (b, &graft_layer_maxpool, x, &c);
}

int
graft_model_builder_add_add (GraftModelBuilder *b, int x, int y)
{
  if (b->error)
    return -1;
  int in[] = { x, y };
  return builder_add (b, &graft_layer_add, NULL, NULL, in, 2, 0, 0, 0);
}

int
graft_model_builder_add_gap (GraftModelBuilder *b, int x)
{
  return add1 (b, &graft_layer_gap, x, NULL);
}

int
graft_model_builder_add_dropout (GraftModelBuilder *b, int x, double rate)
{
  GraftLayerConfig c = { .rate = rate };
  return add1 (b, &graft_layer_dropout, x, &c);
}

int
graft_model_builder_add_dense (GraftModelBuilder *b, int x, int units)
{
  GraftLayerConfig c = { .filters = units };
  return add1 (b, &graft_layer_dense, x, &c);
}

int
graft_model_builder_add_rescaling (GraftModelBuilder *b, int x, double scale, double offset)
{
  GraftLayerConfig c = { .scale = scale, .offset = offset };
  return add1 (b, &graft_layer_rescaling, x, &c);
}

/* The graph complete: consumers, each kind's plan (fusions, aliases), the parameter layout.
 * No parameter buffer yet. */
static GraftModel *
builder_layout (GraftModelBuilder *b, GError **error)
{
  GraftModel *m = b->m;
  if (b->error)
    {
      g_propagate_error (error, g_steal_pointer (&b->error));
      return NULL;
    }
  guint n = m->layers->len;
  if (n < 2 || L (m, 0)->klass != &graft_layer_input)
    {
      g_set_error_literal (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                           "the model needs an input layer first and at least one layer after it");
      return NULL;
    }
  for (guint i = 1; i < n; i++)
    if (L (m, i)->klass == &graft_layer_input)
      {
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                     "layer %s: a model has one input layer", L (m, i)->name);
        return NULL;
      }
  GraftLayer *last = L (m, n - 1);
  if (last->h != 1 || last->w != 1 || last->c != m->units)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "the last layer (%s) gives %d×%d×%d values per image but the model needs "
                   "%d (classes %d)", last->name, last->h, last->w, last->c, m->units,
                   m->spec.classes);
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    for (int j = 0; j < L (m, i)->n_in; j++)
      L (m, L (m, i)->in[j])->consumers++;
  for (guint i = 0; i < n; i++)
    if (L (m, i)->klass->plan)
      L (m, i)->klass->plan (m, i);

  /* Trainable-role tensors first, in layer order, so that full training is
   * one Adam launch; BN moving statistics after them. */
  gsize off = 0;
  for (guint pass = 0; pass < 2; pass++)
    {
      for (guint i = 0; i < m->params->len; i++)
        {
          GraftParam *p = m->params->pdata[i];
          if (p->trainable != (pass == 0))
            continue;
          p->offset = off;
          off += p->count;
        }
      if (pass == 0)
        m->n_trainable = off;
    }
  m->n_total = off;
  return g_steal_pointer (&b->m);
}

GraftModel *
graft_model_builder_finish (GraftModelBuilder *b, GError **error)
{
  GraftModel *m = builder_layout (b, error);
  if (m == NULL)
    return NULL;
  m->host = g_new0 (float, MAX (m->n_total, 1));
  graft_model_init_layer (m, -1, 1337);
  return m;
}

/* ---- models of a spec ---- */

static gboolean
spec_check (const GraftModelSpec *spec, const GraftArch **arch, GError **error)
{
  if (spec->image_size < GRAFT_MODEL_MIN_IMAGE_SIZE || spec->image_size > GRAFT_MODEL_MAX_IMAGE_SIZE)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Image size %d is out of range: use %d to %d pixels", spec->image_size,
                   GRAFT_MODEL_MIN_IMAGE_SIZE, GRAFT_MODEL_MAX_IMAGE_SIZE);
      return FALSE;
    }
  if (spec->classes < 2 || spec->classes > GRAFT_MODEL_MAX_CLASSES)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Number of classes %d is out of range: use 2 to %d", spec->classes,
                   GRAFT_MODEL_MAX_CLASSES);
      return FALSE;
    }
  if (!(spec->width > 0 && spec->width <= GRAFT_MODEL_MAX_WIDTH))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Width multiplier %g is out of range (0, %g]", spec->width,
                   GRAFT_MODEL_MAX_WIDTH);
      return FALSE;
    }
  if (!(spec->dropout >= 0 && spec->dropout < 1))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Dropout rate %g must be in [0, 1)", spec->dropout);
      return FALSE;
    }
  if (!(spec->bn_momentum >= 0 && spec->bn_momentum < 1))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "BN momentum %g must be in [0, 1)", spec->bn_momentum);
      return FALSE;
    }
  *arch = graft_arch_find (spec->architecture, error);
  return *arch != NULL;
}

/* The layers and parameter layout of @spec, without the parameter buffer. */
static GraftModel *
model_build (const GraftModelSpec *spec, GError **error)
{
  const GraftArch *arch;
  if (!spec_check (spec, &arch, error))
    return NULL;
  GraftModelSpec s = *spec;
  s.architecture = arch->name;
  g_autoptr (GraftModelBuilder) b = graft_model_builder_new (&s);
  arch->build (b, &b->m->spec);
  GraftModel *m = builder_layout (b, error);
  if (m == NULL)
    g_prefix_error (error, "architecture %s: ", arch->name);
  return m;
}

GraftModel *
graft_model_new (const GraftModelSpec *spec, GError **error)
{
  GraftModel *m = model_build (spec, error);
  if (m == NULL)
    return NULL;
  m->host = g_new0 (float, MAX (m->n_total, 1));
  graft_model_init_layer (m, -1, 1337);
  return m;
}
gboolean
graft_model_spec_n_floats (const GraftModelSpec *spec, gsize *n_floats, GError **error)
{
  GraftModel *m = model_build (spec, error);
  if (m == NULL)
    return FALSE;
  *n_floats = m->n_total;
  graft_model_free (m);
  return TRUE;
}

static void
release_device (GraftModel *m)
{
  if (m->ctx)
    clFinish (graft_context_queue (m->ctx));
  for (guint i = 0; i < m->layers->len; i++)
    {
      GraftLayer *l = L (m, i);
      if (l->act && !l->alias && l->klass != &graft_layer_input)
        clReleaseMemObject (l->act);
      if (l->stats)
        clReleaseMemObject (l->stats);
      if (l->arg)
        clReleaseMemObject (l->arg);
      l->act = l->stats = l->arg = NULL;
      l->arg_valid = FALSE;
    }
  cl_mem *mems[] = { &m->dparams, &m->dgrad, &m->dm, &m->dv, &m->dlabels, &m->dlogit_grad,
                     &m->input_t.mem, &m->fold };
  for (guint i = 0; i < G_N_ELEMENTS (mems); i++)
    if (*mems[i])
      {
        clReleaseMemObject (*mems[i]);
        *mems[i] = NULL;
      }
  if (m->pool)
    {
      for (guint i = 0; i < m->pool->len; i++)
        clReleaseMemObject (g_array_index (m->pool, PoolBuf, i).mem);
      g_clear_pointer (&m->pool, g_array_unref);
    }
  g_clear_pointer (&m->grad_of, g_free);
  m->ctx = NULL;
  m->device_bytes = 0;
}

void
graft_model_free (GraftModel *m)
{
  if (m == NULL)
    return;
  release_device (m);
  g_ptr_array_unref (m->layers);
  g_ptr_array_unref (m->params);
  g_free (m->architecture);
  g_free (m->host);
  g_free (m);
}

const GraftModelSpec *graft_model_spec (GraftModel *m) { return &m->spec; }
int graft_model_units (GraftModel *m) { return m->units; }
guint graft_model_n_layers (GraftModel *m) { return m->layers->len; }
const char *graft_model_layer_name (GraftModel *m, guint i) { return L (m, i)->name; }
GraftLayerKind graft_model_layer_kind (GraftModel *m, guint i) { return L (m, i)->klass; }
const char *graft_layer_kind_name (GraftLayerKind kind) { return kind ? kind->name : "?"; }
const GraftLayerConfig *graft_model_layer_config (GraftModel *m, guint i) { return &L (m, i)->config; }
GraftContext *graft_model_context (GraftModel *m) { return m->ctx; }

int
graft_model_layer_inputs (GraftModel *m, guint i, int *in)
{
  const GraftLayer *l = L (m, i);
  for (int j = 0; j < l->n_in; j++)
    in[j] = l->in[j];
  return l->n_in;
}

guint
graft_model_layer_gemms (GraftModel *m, guint i, GraftLayerGemm out[2])
{
  const GraftLayer *l = L (m, i);
  return l->klass->gemms ? l->klass->gemms (m, l, out) : 0;
}
guint graft_model_n_params (GraftModel *m) { return m->params->len; }
const GraftParam *graft_model_param (GraftModel *m, guint i) { return m->params->pdata[i]; }
gsize graft_model_trainable_floats (GraftModel *m) { return m->n_trainable; }
gboolean graft_model_get_frozen (GraftModel *m, guint i) { return L (m, i)->frozen; }
GraftTensor *graft_model_input (GraftModel *m) { return &m->input_t; }
GraftTensor *graft_model_labels (GraftModel *m) { return &m->labels_t; }
guint64 graft_model_device_bytes (GraftModel *m) { return m->device_bytes; }

void
graft_model_layer_shape (GraftModel *m, guint i, int *h, int *w, int *c)
{
  *h = L (m, i)->h;
  *w = L (m, i)->w;
  *c = L (m, i)->c;
}

int
graft_model_layer_find (GraftModel *m, const char *name)
{
  for (guint i = 0; i < m->layers->len; i++)
    if (g_str_equal (L (m, i)->name, name))
      return i;
  return -1;
}

gboolean
graft_model_layer_has_params (GraftModel *m, guint i)
{
  return L (m, i)->n_params > 0;
}

GPtrArray *
graft_model_kernel_layers (GraftModel *m)
{
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = 0; i < m->layers->len; i++)
    {
      const GraftLayer *l = L (m, i);
      for (int k = 0; k < l->n_params; k++)
        if (graft_param_role_is_kernel (((GraftParam *) m->params->pdata[l->first_param + k])->role))
          {
            g_ptr_array_add (out, l->name);
            break;
          }
    }
  return out;
}

const GraftParam *
graft_model_param_find (GraftModel *m, const char *full_name)
{
  for (guint i = 0; i < m->params->len; i++)
    if (g_str_equal (((GraftParam *) m->params->pdata[i])->full_name, full_name))
      return m->params->pdata[i];
  return NULL;
}

gsize
graft_model_count_params (GraftModel *m, gboolean trainable_role)
{
  return trainable_role ? m->n_trainable : m->n_total - m->n_trainable;
}

float *
graft_model_host_params (GraftModel *m)
{
  return m->host;
}

void
graft_model_set_frozen (GraftModel *m, guint i, gboolean frozen)
{
  L (m, i)->frozen = frozen;
}

void
graft_model_init_layer (GraftModel *m, int layer, guint32 seed)
{
  for (guint i = 0; i < m->params->len; i++)
    {
      GraftParam *p = m->params->pdata[i];
      if (layer >= 0 && p->layer != layer)
        continue;
      float *dst = m->host + p->offset;
      const GraftLayerClass *k = L (m, p->layer)->klass;
      if (k->init)
        k->init (m, p, dst, seed);
      else if (p->fan_in > 0)
        {
          /* Each tensor draws from its own stream, keyed by its name, so that
           * re-initialising one layer never shifts another's numbers. */
          double limit = sqrt (6.0 / (p->fan_in + p->fan_out));
          guint32 stream = g_str_hash (p->full_name);
          for (gsize j = 0; j < p->count; j++)
            dst[j] = (float) ((2.0 * graft_uniform (seed, stream, (guint32) j) - 1.0) * limit);
        }
      else
        {
          float v = p->role == GRAFT_PARAM_GAMMA || p->role == GRAFT_PARAM_MOVING_VARIANCE
                      ? 1.0f : 0.0f;
          for (gsize j = 0; j < p->count; j++)
            dst[j] = v;
        }
    }
}

static char *
thousands (guint64 v)
{
  g_autofree char *raw = g_strdup_printf ("%" G_GUINT64_FORMAT, v);
  GString *s = g_string_new (NULL);
  int len = strlen (raw);
  for (int i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (s, ',');
      g_string_append_c (s, raw[i]);
    }
  return g_string_free (s, FALSE);
}

char *
graft_model_summary (GraftModel *m)
{
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "Model: \"%s\" (%d×%d×3 → %d %s, width %g)\n",
                          m->spec.architecture, m->spec.image_size, m->spec.image_size, m->units,
                          m->units == 1 ? "sigmoid unit" : "softmax units", m->spec.width);
  const char *rule = "──────────────────────────────────────────────────────────────────────────────────────────────\n";
  g_string_append (s, rule);
  g_string_append_printf (s, "%-48s %-22s %10s  %s\n", "Layer (type)", "Output Shape", "Param #",
                          "Connected to");
  g_string_append (s, rule);
  for (guint i = 0; i < m->layers->len; i++)
    {
      GraftLayer *l = L (m, i);
      guint64 n = 0;
      for (int p = 0; p < l->n_params; p++)
        n += ((GraftParam *) m->params->pdata[l->first_param + p])->count;
      g_autofree char *name = g_strdup_printf ("%s (%s)%s", l->name, l->klass->name,
                                               l->frozen ? " [frozen]" : "");
      g_autofree char *shape = l->klass->summary ? l->klass->summary (l)
                               : l->flat ? g_strdup_printf ("(None, %d)", l->c)
                               : g_strdup_printf ("(None, %d, %d, %d)", l->h, l->w, l->c);
      g_autofree char *count = thousands (n);
      GString *inputs = g_string_new (NULL);
      for (int j = 0; j < l->n_in; j++)
        g_string_append_printf (inputs, "%s%s", inputs->len ? ", " : "", L (m, l->in[j])->name);
      g_string_append_printf (s, "%-48s %-22s %10s  %s\n", name, shape, count, inputs->str);
      g_string_free (inputs, TRUE);
    }
  g_string_append (s, rule);
  guint64 trainable = 0, frozen = 0;
  for (guint i = 0; i < m->params->len; i++)
    {
      GraftParam *p = m->params->pdata[i];
      if (p->trainable && !L (m, p->layer)->frozen)
        trainable += p->count;
      else
        frozen += p->count;
    }
  g_autofree char *t = thousands (trainable + frozen);
  g_autofree char *tr = thousands (trainable);
  g_autofree char *nt = thousands (frozen);
  g_string_append_printf (s, "Total params: %s (%.2f MB)\n", t, (trainable + frozen) * 4.0 / 1e6);
  g_string_append_printf (s, "Trainable params: %s\n", tr);
  g_string_append_printf (s, "Non-trainable params: %s\n", nt);
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------------ device */

GraftTensor
graft_layer_view (cl_mem mem, gsize off, int n, int h, int w, int c)
{
  GraftTensor t = { mem, off, { n, h, w, c }, FALSE };
  return t;
}

#define T graft_layer_view

static GraftTensor
act (GraftModel *m, int i, int n)
{
  GraftLayer *l = L (m, i);
  return T (l->act, 0, n, l->h, l->w, l->c);
}

GraftTensor
graft_layer_act (GraftModel *m, int i, int n)
{
  return act (m, i, n);
}

/* A parameter as a tensor of its Keras shape, leading dimensions padded with 1. */
static GraftTensor
ptensor (GraftModel *m, cl_mem mem, const GraftParam *p)
{
  int ne[4] = { 1, 1, 1, 1 };
  for (int i = 0; i < p->ndim; i++)
    ne[4 - p->ndim + i] = p->shape[i];
  return T (mem, p->offset, ne[0], ne[1], ne[2], ne[3]);
}

static const GraftParam *
P (GraftModel *m, const GraftLayer *l, int k)
{
  return m->params->pdata[l->first_param + k];
}

GraftTensor
graft_layer_param (GraftModel *m, const GraftLayer *l, int k)
{
  return ptensor (m, m->dparams, P (m, l, k));
}

GraftTensor *
graft_layer_param_grad (GraftModel *m, const GraftLayer *l, int k, GraftTensor *slot)
{
  if (l->frozen)
    return NULL;
  *slot = ptensor (m, m->dgrad, P (m, l, k));
  return slot;
}

gboolean
graft_model_bind (GraftModel *m, GraftContext *ctx, int batch, GError **error)
{
  release_device (m);
  m->ctx = ctx;
  m->batch = batch;
  gsize fb = sizeof (float);
  guint64 bytes = 0;
#define ALLOC(dst, floats)                                                  \
  G_STMT_START {                                                            \
    gsize _n = (floats);                                                    \
    if (((dst) = graft_context_alloc (ctx, _n * fb, error)) == NULL)        \
      goto fail;                                                            \
    bytes += _n * fb;                                                       \
  } G_STMT_END
  gsize ntr = MAX (m->n_trainable, 1);
  ALLOC (m->dparams, m->n_total);
  ALLOC (m->dgrad, ntr);
  ALLOC (m->dm, ntr);
  ALLOC (m->dv, ntr);
  ALLOC (m->dlabels, batch);
  ALLOC (m->dlogit_grad, (gsize) batch * m->units);
  m->max_c = 1;
  for (guint i = 0; i < m->layers->len; i++)
    m->max_c = MAX (m->max_c, L (m, i)->c);
  ALLOC (m->fold, 2 * (gsize) m->max_c);
  m->max_act = 0;
  for (guint i = 0; i < m->layers->len; i++)
    {
      GraftLayer *l = L (m, i);
      gsize per = (gsize) batch * l->h * l->w * l->c;
      m->max_act = MAX (m->max_act, per);
      if (l->klass == &graft_layer_input)
        {
          ALLOC (m->input_t.mem, per);
          l->act = m->input_t.mem;
          continue;
        }
      if (l->alias)
        {
          l->act = L (m, l->in[0])->act;
          continue;
        }
      ALLOC (l->act, per);
      if (l->klass->bind && !l->klass->bind (m, l, batch, &bytes, error))
        goto fail;
    }
#undef ALLOC
  m->input_t = T (m->input_t.mem, 0, batch, m->spec.image_size, m->spec.image_size, 3);
  m->labels_t = T (m->dlabels, 0, batch, 1, 1, 1);
  m->pool = g_array_new (FALSE, TRUE, sizeof (PoolBuf));
  m->grad_of = g_new (int, m->layers->len);
  for (guint i = 0; i < m->layers->len; i++)
    m->grad_of[i] = -1;
  m->device_bytes = bytes;
  /* Many drivers allocate lazily, so a model that cannot fit would only fail somewhere inside
   * the first step; say it here, with the numbers. Training also needs a few gradient buffers
   * of the largest activation. */
  {
    const GraftDeviceInfo *dev = graft_context_device (ctx);
    guint64 need = bytes + 3 * (guint64) m->max_act * fb;
    if (need > dev->global_mem)
      {
        g_autofree char *want = graft_format_bytes (need);
        g_autofree char *have = graft_format_bytes (dev->global_mem);
        int fit = (int) MAX (1, (double) batch * dev->global_mem / need * 0.9);
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_OUT_OF_MEMORY,
                     "the model needs about %s, more than the %s the device has: try a batch of "
                     "%d or a smaller image size", want, have, MIN (fit, batch - 1));
        goto fail;
      }
  }
  if (!graft_model_upload (m, error))
    goto fail;
  GraftTensor tm = T (m->dm, 0, 1, 1, 1, (int) ntr), tv = T (m->dv, 0, 1, 1, 1, (int) ntr);
  GraftTensor tg = T (m->dgrad, 0, 1, 1, 1, (int) ntr);
  if (!graft_tensor_fill (ctx, &tm, 0, error) || !graft_tensor_fill (ctx, &tv, 0, error) ||
      !graft_tensor_fill (ctx, &tg, 0, error))
    goto fail;
  return TRUE;
fail:
  g_prefix_error (error, "Cannot set up the model for batches of %d on %s: ", batch,
                  graft_context_device (ctx)->name);
  release_device (m);
  return FALSE;
}

gboolean
graft_model_upload (GraftModel *m, GError **error)
{
  GraftTensor t = T (m->dparams, 0, 1, 1, 1, (int) m->n_total);
  return graft_tensor_write (m->ctx, &t, m->host, error);
}

gboolean
graft_model_download (GraftModel *m, GError **error)
{
  GraftTensor t = T (m->dparams, 0, 1, 1, 1, (int) m->n_total);
  return graft_tensor_read (m->ctx, &t, m->host, error);
}

GraftTensor *
graft_model_logits (GraftModel *m, int n)
{
  m->logits_view = act (m, m->layers->len - 1, n);
  return &m->logits_view;
}

GraftTensor *
graft_model_param_grad (GraftModel *m, const GraftParam *p)
{
  m->grad_view = ptensor (m, m->dgrad, p);
  return &m->grad_view;
}

GraftTensor *
graft_model_param_tensor (GraftModel *m, const GraftParam *p)
{
  m->param_view = ptensor (m, m->dparams, p);
  return &m->param_view;
}

gboolean
graft_model_read_adam (GraftModel *m, float *mh, float *vh, GError **error)
{
  GraftTensor tm = T (m->dm, 0, 1, 1, 1, (int) m->n_trainable);
  GraftTensor tv = T (m->dv, 0, 1, 1, 1, (int) m->n_trainable);
  return graft_tensor_read (m->ctx, &tm, mh, error) && graft_tensor_read (m->ctx, &tv, vh, error);
}

gboolean
graft_model_write_adam (GraftModel *m, const float *mh, const float *vh, GError **error)
{
  GraftTensor tm = T (m->dm, 0, 1, 1, 1, (int) m->n_trainable);
  GraftTensor tv = T (m->dv, 0, 1, 1, 1, (int) m->n_trainable);
  return graft_tensor_write (m->ctx, &tm, mh, error) && graft_tensor_write (m->ctx, &tv, vh, error);
}

/* The index of the one layer that reads layer @i's output, or -1 when none or several do. */
int
graft_layer_sole_consumer (GraftModel *m, guint i)
{
  if (L (m, i)->consumers != 1)
    return -1;
  for (guint j = i + 1; j < m->layers->len; j++)
    for (int k = 0; k < L (m, j)->n_in; k++)
      if (L (m, j)->in[k] == (int) i)
        return j;
  return -1;
}

static int
pool_take (GraftModel *m, GError **error)
{
  for (guint i = 0; i < m->pool->len; i++)
    if (!g_array_index (m->pool, PoolBuf, i).busy)
      {
        g_array_index (m->pool, PoolBuf, i).busy = TRUE;
        return i;
      }
  PoolBuf b = { graft_context_alloc (m->ctx, m->max_act * sizeof (float), error), TRUE };
  if (b.mem == NULL)
    return -1;
  m->device_bytes += m->max_act * sizeof (float);
  g_array_append_val (m->pool, b);
  return m->pool->len - 1;
}

static void
pool_give (GraftModel *m, int i)
{
  if (i >= 0)
    g_array_index (m->pool, PoolBuf, i).busy = FALSE;
}

int
graft_layer_scratch_take (GraftModel *m, GError **error)
{
  return pool_take (m, error);
}

cl_mem
graft_layer_scratch_mem (GraftModel *m, int i)
{
  return g_array_index (m->pool, PoolBuf, i).mem;
}

void
graft_layer_scratch_give (GraftModel *m, int i)
{
  pool_give (m, i);
}

gboolean
graft_layer_bn_training (const GraftLayer *l, gboolean training)
{
  return training && !l->frozen;
}

GraftBatchNormShape
graft_layer_bn_shape (GraftModel *m, const GraftLayer *l, int n)
{
  double eps = l->config.epsilon > 0 ? l->config.epsilon : GRAFT_BN_EPSILON;
  double momentum = l->config.momentum > 0 ? l->config.momentum : m->spec.bn_momentum;
  GraftBatchNormShape s = { n * l->h * l->w, l->c, (float) eps, (float) momentum,
                            l->fused_relu };
  return s;
}

/* Whether BN layer @j runs folded into the layer before it in this pass: in inference mode and
 * the only reader of a GEMM-store layer's output (in training mode it needs that output and the
 * batch statistics). That layer then applies it, and the BN itself does nothing. */
gboolean
graft_layer_bn_folded (GraftModel *m, guint j, gboolean training)
{
  GraftLayer *bn = L (m, j), *in = L (m, bn->in[0]);
  return bn->klass == &graft_layer_batchnorm && !graft_layer_bn_training (bn, training) &&
         in->klass->gemm_store && graft_layer_sole_consumer (m, bn->in[0]) == (int) j;
}

int
graft_layer_add_folded (GraftModel *m, guint j)
{
  GraftLayer *a = L (m, j);
  if (a->klass != &graft_layer_add || a->n_in != 2 || a->in[0] == a->in[1])
    return -1;
  int later = MAX (a->in[0], a->in[1]);
  GraftLayer *g = L (m, later);
  return g->klass->gemm_store && !g->alias && graft_layer_sole_consumer (m, later) == (int) j
         ? later : -1;
}

gboolean
graft_layer_kernel_forward (GraftLayerPass *p, const GraftConv2dShape *s, GError **error)
{
  GraftTensor w = graft_layer_param (p->model, p->layer, 0);
  GraftTensor b = p->layer->config.no_bias ? w : graft_layer_param (p->model, p->layer, 1);
  return graft_layer_gemm_forward (p, s, &p->x[0], &w, p->layer->config.no_bias ? NULL : &b,
                                   error);
}

gboolean
graft_layer_kernel_backward (GraftLayerPass *p, const GraftConv2dShape *s, GError **error)
{
  GraftTensor w = graft_layer_param (p->model, p->layer, 0);
  GraftTensor s0, s1;
  gboolean ok = TRUE;
  GraftTensor *db = p->layer->config.no_bias ? NULL
                                             : graft_layer_bias_grad (p, 1, &s1, &ok, error);
  return ok && graft_conv2d_backward (p->ctx, s, &p->x[0], &w, &p->dy, p->dx[0],
                                      graft_layer_param_grad (p->model, p->layer, 0, &s0), db,
                                      error);
}

/* Where layer @p's GEMM stores and what it applies: its own output and bias; where the BN
 * after it folds, that BN's output and its scale, shift and ReLU (computed here); where the
 * residual sum after it folds, the sum's output and its other input. */
static gboolean
gemm_store (GraftLayerPass *p, const GraftTensor *bias, GraftGemmEpilogue *ep, GraftTensor *y,
            GError **error)
{
  GraftModel *m = p->model;
  int j = graft_layer_sole_consumer (m, p->index);
  *ep = (GraftGemmEpilogue) { NULL, 0, bias ? bias->mem : NULL, bias ? bias->off : 0, FALSE };
  *y = p->y;
  if (j >= 0 && graft_layer_add_folded (m, j) == (int) p->index)
    {
      GraftLayer *a = L (m, j);
      GraftTensor other = act (m, a->in[a->in[0] == (int) p->index ? 1 : 0], p->n);
      ep->addend = other.mem;
      ep->addend_off = other.off;
      *y = act (m, j, p->n);
      return TRUE;
    }
  if (j < 0 || !graft_layer_bn_folded (m, j, p->training))
    return TRUE;
  GraftLayer *bn = L (m, j);
  GraftBatchNormShape bs = graft_layer_bn_shape (m, bn, p->n);
  GraftTensor g = ptensor (m, m->dparams, P (m, bn, 0));
  GraftTensor be = ptensor (m, m->dparams, P (m, bn, 1));
  GraftTensor mm = ptensor (m, m->dparams, P (m, bn, 2));
  GraftTensor mv = ptensor (m, m->dparams, P (m, bn, 3));
  GraftTensor scale = T (m->fold, 0, 1, 1, 1, bn->c), shift = T (m->fold, m->max_c, 1, 1, 1, bn->c);
  *ep = (GraftGemmEpilogue) { scale.mem, scale.off, shift.mem, shift.off, bn->fused_relu };
  *y = act (m, j, p->n);
  return graft_batchnorm_fold (m->ctx, &bs, &g, &be, &mm, &mv, bias, &scale, &shift, error);
}

gboolean
graft_layer_gemm_forward (GraftLayerPass *p, const GraftConv2dShape *s, const GraftTensor *x,
                          const GraftTensor *w, const GraftTensor *bias, GError **error)
{
  GraftGemmEpilogue ep;
  GraftTensor y;
  if (!gemm_store (p, bias, &ep, &y, error))
    return FALSE;
  if (ep.addend)
    {
      GraftTensor addend = T (ep.addend, ep.addend_off, y.ne[0], y.ne[1], y.ne[2], y.ne[3]);
      return graft_conv2d_forward_add (p->ctx, s, x, w, bias, &addend, &y, error);
    }
  if (ep.scale == NULL)
    return graft_conv2d_forward (p->ctx, s, x, w, bias, &y, error);
  GraftTensor scale = T (ep.scale, ep.scale_off, 1, 1, 1, s->cout);
  GraftTensor shift = T (ep.shift, ep.shift_off, 1, 1, 1, s->cout);
  return graft_conv2d_forward_affine (p->ctx, s, x, w, &scale, &shift, ep.relu, &y, error);
}

gboolean
graft_layer_gemm_forward_dw3 (GraftLayerPass *p, const GraftTensor *x, gboolean relu_x,
                              const GraftTensor *dwk, const GraftTensor *w,
                              const GraftTensor *bias, GError **error)
{
  GraftGemmEpilogue ep;
  GraftTensor y;
  int cout = w->ne[3];
  return gemm_store (p, bias, &ep, &y, error) &&
         graft_gemm_dw3 (p->ctx, "conv2d-fwd-gemm", x->ne[0], x->ne[1], x->ne[2], x->ne[3],
                         cout, relu_x, x->mem, x->off, dwk->mem, dwk->off, w->mem, w->off,
                         y.mem, y.off, &ep, error);
}

static void
pass_init (GraftLayerPass *p, GraftModel *m, guint i, int n, gboolean training, guint32 seed,
           guint32 step)
{
  GraftLayer *l = L (m, i);
  memset (p, 0, sizeof *p);
  p->model = m;
  p->ctx = m->ctx;
  p->index = i;
  p->layer = l;
  p->n = n;
  p->training = training;
  p->seed = seed;
  p->step = step;
  for (int j = 0; j < l->n_in; j++)
    p->x[j] = act (m, l->in[j], n);
  p->y = act (m, i, n);
}

gboolean
graft_model_forward (GraftModel *m, int n, gboolean training, guint32 seed, guint32 step,
                     GError **error)
{
  g_return_val_if_fail (m->ctx != NULL && n >= 1 && n <= m->batch, FALSE);
  for (guint i = 1; i < m->layers->len; i++)
    {
      GraftLayer *l = L (m, i);
      if (l->alias)
        continue;
      GraftLayerPass p;
      pass_init (&p, m, i, n, training, seed, step);
      if (!l->klass->forward (&p, error))
        {
          g_prefix_error (error, "Layer %s: ", l->name);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- gradient buffers: each layer's d(output) lives in a pool buffer of the
 * largest activation size, taken when first written and given back once the
 * layer's own backward has consumed it. ---- */

static GraftTensor
grad_tensor (GraftModel *m, int pool_index, int layer, int n)
{
  GraftLayer *l = L (m, layer);
  return T (g_array_index (m->pool, PoolBuf, pool_index).mem, 0, n, l->h, l->w, l->c);
}

/* Where to write d(layer output): its own buffer when nothing is there yet,
 * else a temporary to be added in by grad_commit. */
static gboolean
grad_begin (GraftModel *m, int layer, int n, GraftTensor *out, int *tmp, GError **error)
{
  *tmp = -1;
  if (m->grad_of[layer] < 0)
    {
      int b = pool_take (m, error);
      if (b < 0)
        return FALSE;
      m->grad_of[layer] = b;
      *out = grad_tensor (m, b, layer, n);
      return TRUE;
    }
  *tmp = pool_take (m, error);
  if (*tmp < 0)
    return FALSE;
  *out = grad_tensor (m, *tmp, layer, n);
  return TRUE;
}

static gboolean
grad_commit (GraftModel *m, int layer, int n, int tmp, GError **error)
{
  if (tmp < 0)
    return TRUE;
  GraftTensor src = grad_tensor (m, tmp, layer, n);
  GraftTensor dst = grad_tensor (m, m->grad_of[layer], layer, n);
  gboolean ok = graft_axpy (m->ctx, 1.0f, &src, &dst, error);
  pool_give (m, tmp);
  return ok;
}

static int
first_trainable_layer (GraftModel *m)
{
  for (guint i = 0; i < m->layers->len; i++)
    if (L (m, i)->n_params > 0 && !L (m, i)->frozen)
      return i;
  return m->layers->len;
}

/* The bias gradient of layer @i, or NULL where it is not wanted. A bias whose only consumer is
 * a batch normalisation in training mode has a gradient of exactly zero: with x̂ the normalised
 * input, Σ_rows dx_BN = γ·invstd·(Σdy − Σdy − Σx̂·Σ(dy·x̂)/N) and Σx̂ = 0, so summing dx_BN over
 * every pixel of the batch (a quarter of a conv2d backward's memory traffic) would only
 * produce rounding noise. Then the slot is set to 0 and NULL returned. */
GraftTensor *
graft_layer_bias_grad (GraftLayerPass *p, int k, GraftTensor *slot, gboolean *ok, GError **error)
{
  GraftModel *m = p->model;
  GraftTensor *db = graft_layer_param_grad (m, p->layer, k, slot);
  int c = graft_layer_sole_consumer (m, p->index);
  if (db == NULL || c < 0 || L (m, c)->klass != &graft_layer_batchnorm ||
      !graft_layer_bn_training (L (m, c), TRUE))
    return db;
  *ok = graft_tensor_fill (m->ctx, db, 0.0f, error);
  return NULL;
}

gboolean
graft_model_backward (GraftModel *m, int n, guint32 seed, guint32 step, GError **error)
{
  GraftContext *ctx = m->ctx;
  int first = first_trainable_layer (m);
  int last = m->layers->len - 1;
  for (guint i = 0; i < m->layers->len; i++)
    {
      pool_give (m, m->grad_of[i]);
      m->grad_of[i] = -1;
    }
  /* d(logits) was written by the loss into dlogit_grad; copy it into the pool. */
  {
    GraftTensor dst;
    int tmp;
    GraftTensor src = T (m->dlogit_grad, 0, n, 1, 1, m->units);
    if (!grad_begin (m, last, n, &dst, &tmp, error) || !graft_tensor_copy (ctx, &src, &dst, error))
      return FALSE;
  }
  for (int i = last; i >= 1 && i >= first; i--)
    {
      GraftLayer *l = L (m, i);
      int gi = m->grad_of[i];
      if (gi < 0)
        continue;   /* nothing flows here */
      GraftTensor dy = grad_tensor (m, gi, i, n);
      gboolean ok = TRUE;

      if (l->alias)
        {
          /* An alias (rescaling, a ReLU that the BN before it applied): pass through. */
          int src = l->in[0];
          gboolean want_dx = src >= first && L (m, src)->n_in > 0;
          if (want_dx && m->grad_of[src] < 0)
            {
              m->grad_of[src] = gi;
              m->grad_of[i] = -1;
              continue;
            }
          if (want_dx)
            {
              GraftTensor dx;
              int tmp;
              ok = grad_begin (m, src, n, &dx, &tmp, error) &&
                   graft_tensor_copy (ctx, &dy, &dx, error) &&
                   grad_commit (m, src, n, tmp, error);
            }
        }
      else
        {
          GraftLayerPass p;
          GraftTensor dx[GRAFT_LAYER_MAX_INPUTS];
          int tmp[GRAFT_LAYER_MAX_INPUTS];
          pass_init (&p, m, i, n, TRUE, seed, step);
          p.dy = dy;
          for (int j = 0; j < l->n_in; j++)
            {
              int src = l->in[j];
              tmp[j] = -1;
              /* No input gradient below the first trainable layer, nor into the input. */
              if (l->klass->backward == NULL || src < first || L (m, src)->n_in == 0)
                continue;
              if (!grad_begin (m, src, n, &dx[j], &tmp[j], error))
                return FALSE;
              p.dx[j] = &dx[j];
            }
          if (l->klass->backward)
            ok = l->klass->backward (&p, error);
          for (int j = 0; j < l->n_in && ok; j++)
            if (p.dx[j])
              ok = grad_commit (m, l->in[j], n, tmp[j], error);
        }
      if (!ok)
        {
          g_prefix_error (error, "Layer %s (backward): ", l->name);
          return FALSE;
        }
      pool_give (m, m->grad_of[i]);
      m->grad_of[i] = -1;
    }
  for (guint i = 0; i < m->layers->len; i++)
    {
      pool_give (m, m->grad_of[i]);
      m->grad_of[i] = -1;
    }
  return TRUE;
}

gboolean
graft_model_eval_loss (GraftModel *m, int n, GraftTensor *stats, GError **error)
{
  GraftTensor labels = T (m->dlabels, 0, n, 1, 1, 1);
  return graft_loss_forward_backward (m->ctx, graft_model_logits (m, n), &labels, NULL, stats,
                                      error);
}

gboolean
graft_model_train_step (GraftModel *m, int n, const GraftAdamParams *adam, guint32 seed,
                        guint32 step, GraftTensor *stats, GError **error)
{
  GraftTensor labels = T (m->dlabels, 0, n, 1, 1, 1);
  GraftTensor dlogits = T (m->dlogit_grad, 0, n, 1, 1, m->units);
  if (!graft_model_forward (m, n, TRUE, seed, step, error) ||
      !graft_loss_forward_backward (m->ctx, graft_model_logits (m, n), &labels, &dlogits, stats,
                                    error) ||
      !graft_model_backward (m, n, seed, step, error))
    return FALSE;
  /* Adam over each maximal run of trainable tensors: one launch when nothing is frozen. */
  gsize start = 0, end = 0;
  gboolean open = FALSE;
  for (guint i = 0; i <= m->params->len; i++)
    {
      GraftParam *p = i < m->params->len ? m->params->pdata[i] : NULL;
      if (p && !p->trainable)
        continue;   /* moving statistics live in their own region */
      gboolean take = p && p->trainable && !L (m, p->layer)->frozen;
      if (take && open && p->offset == end)
        {
          end += p->count;
          continue;
        }
      if (open && (!take || p->offset != end))
        {
          GraftTensor tp = T (m->dparams, start, 1, 1, 1, (int) (end - start));
          GraftTensor tg = T (m->dgrad, start, 1, 1, 1, (int) (end - start));
          GraftTensor tm = T (m->dm, start, 1, 1, 1, (int) (end - start));
          GraftTensor tv = T (m->dv, start, 1, 1, 1, (int) (end - start));
          if (!graft_adam_update (m->ctx, adam, &tp, &tg, &tm, &tv, error))
            return FALSE;
          open = FALSE;
        }
      if (take)
        {
          start = p->offset;
          end = p->offset + p->count;
          open = TRUE;
        }
    }
  return TRUE;
}

const GraftParam *
graft_model_find_nonfinite (GraftModel *model, int layer)
{
  const float *host = graft_model_host_params (model);
  for (guint i = 0; i < graft_model_n_params (model); i++)
    {
      const GraftParam *p = graft_model_param (model, i);
      if (layer >= 0 && p->layer != layer)
        continue;
      for (gsize k = 0; k < p->count; k++)
        if (!isfinite (host[p->offset + k]))
          return p;
    }
  return NULL;
}
