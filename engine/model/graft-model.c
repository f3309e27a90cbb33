/* The reference CNN: layer table, parameters, summary, forward and backward on the device. */
#include "graft-model.h"

#include <math.h>
#include <string.h>

#include "graft-rng.h"

typedef struct {
  char          *name;
  GraftLayerKind kind;
  int            in[2];        /* input layer indices, −1 when unused */
  int            h, w, c;      /* per-image output shape */
  int            k, stride;    /* conv / pool */
  int            first_param, n_params;
  gboolean       frozen;
  gboolean       fused_relu;   /* BN whose only consumer is a ReLU: BN applies it */
  gboolean       alias;        /* output is its input's buffer (rescaling, fused relu) */
  /* device */
  cl_mem         act;          /* output activations (owned unless alias) */
  cl_mem         stats;        /* BN: saved mean (c) then invstd (c) */
  cl_mem         arg;          /* max-pool: each output's arg-max, one byte (training) */
  gboolean       arg_valid;    /* arg holds the last forward pass's positions */
  int            consumers;
} Layer;

typedef struct {
  cl_mem mem;
  gboolean busy;
} PoolBuf;

struct _GraftModel {
  GraftModelSpec spec;
  int            units;
  GArray        *layers;       /* Layer */
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

static const char *kind_names[] = {
  "InputLayer", "Rescaling", "Conv2D", "SeparableConv2D", "BatchNormalization", "Activation",
  "MaxPooling2D", "Add", "GlobalAveragePooling2D", "Dropout", "Dense",
};
G_STATIC_ASSERT (G_N_ELEMENTS (kind_names) == GRAFT_LAYER_N_KINDS);

const char *
graft_layer_kind_name (GraftLayerKind kind)
{
  return kind < GRAFT_LAYER_N_KINDS ? kind_names[kind] : "?";
}

static Layer *
L (GraftModel *m, int i)
{
  return &g_array_index (m->layers, Layer, i);
}

/* Keras names layers per class: conv2d, conv2d_1, ... */
static char *
next_name (GHashTable *counts, const char *base)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, base));
  g_hash_table_insert (counts, (gpointer) base, GUINT_TO_POINTER (n + 1));
  return n == 0 ? g_strdup (base) : g_strdup_printf ("%s_%u", base, n);
}

static void
add_param (GraftModel *m, int layer, const char *name, gboolean trainable, int ndim,
           const int *shape, int fan_in, int fan_out)
{
  GraftParam *p = g_new0 (GraftParam, 1);
  p->layer = layer;
  p->name = g_strdup (name);
  p->full_name = g_strdup_printf ("%s/%s", L (m, layer)->name, name);
  p->ndim = ndim;
  p->count = 1;
  for (int i = 0; i < ndim; i++)
    {
      p->shape[i] = shape[i];
      p->count *= shape[i];
    }
  p->trainable = trainable;
  p->fan_in = fan_in;
  p->fan_out = fan_out;
  g_ptr_array_add (m->params, p);
  L (m, layer)->n_params++;
}

static int
add_layer (GraftModel *m, GHashTable *counts, const char *base, GraftLayerKind kind, int in0,
           int in1, int h, int w, int c)
{
  Layer l = { 0 };
  l.name = next_name (counts, base);
  l.kind = kind;
  l.in[0] = in0;
  l.in[1] = in1;
  l.h = h;
  l.w = w;
  l.c = c;
  l.first_param = m->params->len;
  g_array_append_val (m->layers, l);
  return m->layers->len - 1;
}

static int
conv (GraftModel *m, GHashTable *counts, int x, int filters, int k, int stride)
{
  Layer *in = L (m, x);
  int cin = in->c;   /* read before add_layer, which may move the array */
  int i = add_layer (m, counts, "conv2d", GRAFT_LAYER_CONV2D, x, -1,
                     graft_same_out (in->h, stride), graft_same_out (in->w, stride), filters);
  L (m, i)->k = k;
  L (m, i)->stride = stride;
  int ks[] = { k, k, cin, filters }, bs[] = { filters };
  add_param (m, i, "kernel", TRUE, 4, ks, k * k * cin, k * k * filters);
  add_param (m, i, "bias", TRUE, 1, bs, 0, 0);
  return i;
}

static int
sepconv (GraftModel *m, GHashTable *counts, int x, int filters)
{
  Layer *in = L (m, x);
  int cin = in->c;
  int i = add_layer (m, counts, "separable_conv2d", GRAFT_LAYER_SEPARABLE_CONV2D, x, -1, in->h,
                     in->w, filters);
  L (m, i)->k = 3;
  L (m, i)->stride = 1;
  int ds[] = { 3, 3, cin, 1 }, ps[] = { 1, 1, cin, filters }, bs[] = { filters };
  add_param (m, i, "depthwise_kernel", TRUE, 4, ds, 9 * cin, 9);
  add_param (m, i, "pointwise_kernel", TRUE, 4, ps, cin, filters);
  add_param (m, i, "bias", TRUE, 1, bs, 0, 0);
  return i;
}

static int
bn (GraftModel *m, GHashTable *counts, int x)
{
  Layer *in = L (m, x);
  int i = add_layer (m, counts, "batch_normalization", GRAFT_LAYER_BATCH_NORMALIZATION, x, -1,
                     in->h, in->w, in->c);
  int s[] = { L (m, i)->c };
  add_param (m, i, "gamma", TRUE, 1, s, 0, 0);
  add_param (m, i, "beta", TRUE, 1, s, 0, 0);
  add_param (m, i, "moving_mean", FALSE, 1, s, 0, 0);
  add_param (m, i, "moving_variance", FALSE, 1, s, 0, 0);
  return i;
}

static int
simple (GraftModel *m, GHashTable *counts, const char *base, GraftLayerKind kind, int x)
{
  Layer *in = L (m, x);
  return add_layer (m, counts, base, kind, x, -1, in->h, in->w, in->c);
}

static int
scaled (const GraftModelSpec *s, int channels)
{
  return MAX (1, (int) lround (channels * s->width));
}

/* The layers and parameter layout of @spec, without the parameter buffer. */
static GraftModel *
model_build (const GraftModelSpec *spec, GError **error)
{
  if (spec->image_size < GRAFT_MODEL_MIN_IMAGE_SIZE || spec->image_size > GRAFT_MODEL_MAX_IMAGE_SIZE)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Image size %d is out of range: use %d to %d pixels", spec->image_size,
                   GRAFT_MODEL_MIN_IMAGE_SIZE, GRAFT_MODEL_MAX_IMAGE_SIZE);
      return NULL;
    }
  if (spec->classes < 2 || spec->classes > GRAFT_MODEL_MAX_CLASSES)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Number of classes %d is out of range: use 2 to %d", spec->classes,
                   GRAFT_MODEL_MAX_CLASSES);
      return NULL;
    }
  if (!(spec->width > 0 && spec->width <= GRAFT_MODEL_MAX_WIDTH))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Width multiplier %g is out of range (0, %g]", spec->width,
                   GRAFT_MODEL_MAX_WIDTH);
      return NULL;
    }
  if (!(spec->dropout >= 0 && spec->dropout < 1))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Dropout rate %g must be in [0, 1)", spec->dropout);
      return NULL;
    }
  if (!(spec->bn_momentum >= 0 && spec->bn_momentum < 1))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "BN momentum %g must be in [0, 1)", spec->bn_momentum);
      return NULL;
    }
  GraftModel *m = g_new0 (GraftModel, 1);
  m->spec = *spec;
  if (m->spec.bn_momentum == 0)
    m->spec.bn_momentum = 0.99;
  m->units = spec->classes == 2 ? 1 : spec->classes;
  m->layers = g_array_new (FALSE, TRUE, sizeof (Layer));
  m->params = g_ptr_array_new ();
  g_autoptr (GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);

  int s = spec->image_size;
  int x = add_layer (m, counts, "input_1", GRAFT_LAYER_INPUT, -1, -1, s, s, 3);
  x = simple (m, counts, "rescaling", GRAFT_LAYER_RESCALING, x);
  x = conv (m, counts, x, scaled (spec, 128), 3, 2);
  x = bn (m, counts, x);
  x = simple (m, counts, "activation", GRAFT_LAYER_ACTIVATION, x);
  int previous = x;
  const int sizes[] = { 256, 512, 728 };
  for (guint b = 0; b < G_N_ELEMENTS (sizes); b++)
    {
      int size = scaled (spec, sizes[b]);
      x = simple (m, counts, "activation", GRAFT_LAYER_ACTIVATION, x);
      x = sepconv (m, counts, x, size);
      x = bn (m, counts, x);
      x = simple (m, counts, "activation", GRAFT_LAYER_ACTIVATION, x);
      x = sepconv (m, counts, x, size);
      x = bn (m, counts, x);
      Layer *in = L (m, x);
      int pool = add_layer (m, counts, "max_pooling2d", GRAFT_LAYER_MAX_POOLING2D, x, -1,
                            graft_same_out (in->h, 2), graft_same_out (in->w, 2), in->c);
      L (m, pool)->k = 3;
      L (m, pool)->stride = 2;
      int residual = conv (m, counts, previous, size, 1, 2);
      x = add_layer (m, counts, "add", GRAFT_LAYER_ADD, pool, residual, L (m, pool)->h,
                     L (m, pool)->w, size);
      previous = x;
    }
  x = sepconv (m, counts, x, scaled (spec, 1024));
  x = bn (m, counts, x);
  x = simple (m, counts, "activation", GRAFT_LAYER_ACTIVATION, x);
  x = add_layer (m, counts, "global_average_pooling2d", GRAFT_LAYER_GLOBAL_AVERAGE_POOLING2D, x,
                 -1, 1, 1, L (m, x)->c);
  x = simple (m, counts, "dropout", GRAFT_LAYER_DROPOUT, x);
  int cin = L (m, x)->c;
  x = add_layer (m, counts, "dense", GRAFT_LAYER_DENSE, x, -1, 1, 1, m->units);
  int ks[] = { cin, m->units }, bs[] = { m->units };
  add_param (m, x, "kernel", TRUE, 2, ks, cin, m->units);
  add_param (m, x, "bias", TRUE, 1, bs, 0, 0);

  /* Consumers, and which BN layers can apply the following ReLU themselves. */
  for (guint i = 0; i < m->layers->len; i++)
    for (int j = 0; j < 2; j++)
      if (L (m, i)->in[j] >= 0)
        L (m, L (m, i)->in[j])->consumers++;
  for (guint i = 0; i < m->layers->len; i++)
    {
      Layer *l = L (m, i);
      if (l->kind == GRAFT_LAYER_RESCALING)
        l->alias = TRUE;
      if (l->kind == GRAFT_LAYER_ACTIVATION && L (m, l->in[0])->kind == GRAFT_LAYER_BATCH_NORMALIZATION &&
          L (m, l->in[0])->consumers == 1)
        {
          L (m, l->in[0])->fused_relu = TRUE;
          l->alias = TRUE;
        }
    }

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
      Layer *l = L (m, i);
      if (l->act && !l->alias && l->kind != GRAFT_LAYER_INPUT)
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
  for (guint i = 0; i < m->layers->len; i++)
    g_free (L (m, i)->name);
  g_array_unref (m->layers);
  for (guint i = 0; i < m->params->len; i++)
    {
      GraftParam *p = m->params->pdata[i];
      g_free (p->name);
      g_free (p->full_name);
      g_free (p);
    }
  g_ptr_array_unref (m->params);
  g_free (m->host);
  g_free (m);
}

const GraftModelSpec *graft_model_spec (GraftModel *m) { return &m->spec; }
int graft_model_units (GraftModel *m) { return m->units; }
guint graft_model_n_layers (GraftModel *m) { return m->layers->len; }
const char *graft_model_layer_name (GraftModel *m, guint i) { return L (m, i)->name; }
GraftLayerKind graft_model_layer_kind (GraftModel *m, guint i) { return L (m, i)->kind; }
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
      GraftLayerKind k = L (m, i)->kind;
      if (k == GRAFT_LAYER_CONV2D || k == GRAFT_LAYER_SEPARABLE_CONV2D || k == GRAFT_LAYER_DENSE)
        g_ptr_array_add (out, L (m, i)->name);
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
      if (p->fan_in > 0)
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
          float v = g_str_equal (p->name, "gamma") || g_str_equal (p->name, "moving_variance")
                      ? 1.0f : 0.0f;
          for (gsize j = 0; j < p->count; j++)
            dst[j] = v;
        }
    }
}

static char *
shape_string (GraftModel *m, Layer *l)
{
  if (l->kind == GRAFT_LAYER_GLOBAL_AVERAGE_POOLING2D || l->kind == GRAFT_LAYER_DROPOUT ||
      l->kind == GRAFT_LAYER_DENSE)
    return g_strdup_printf ("(None, %d)", l->c);
  return g_strdup_printf ("(None, %d, %d, %d)", l->h, l->w, l->c);
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
  g_string_append_printf (s, "Model: \"image_classification_from_scratch\" (%d×%d×3 → %d %s, width %g)\n",
                          m->spec.image_size, m->spec.image_size, m->units,
                          m->units == 1 ? "sigmoid unit" : "softmax units", m->spec.width);
  const char *rule = "──────────────────────────────────────────────────────────────────────────────────────────────\n";
  g_string_append (s, rule);
  g_string_append_printf (s, "%-48s %-22s %10s  %s\n", "Layer (type)", "Output Shape", "Param #",
                          "Connected to");
  g_string_append (s, rule);
  for (guint i = 0; i < m->layers->len; i++)
    {
      Layer *l = L (m, i);
      guint64 n = 0;
      for (int p = 0; p < l->n_params; p++)
        n += ((GraftParam *) m->params->pdata[l->first_param + p])->count;
      g_autofree char *name = g_strdup_printf ("%s (%s)%s", l->name, kind_names[l->kind],
                                               l->frozen ? " [frozen]" : "");
      g_autofree char *shape = shape_string (m, l);
      g_autofree char *count = thousands (n);
      GString *inputs = g_string_new (NULL);
      for (int j = 0; j < 2; j++)
        if (l->in[j] >= 0)
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

static GraftTensor
T (cl_mem mem, gsize off, int n, int h, int w, int c)
{
  GraftTensor t = { mem, off, { n, h, w, c }, FALSE };
  return t;
}

static GraftTensor
act (GraftModel *m, int i, int n)
{
  Layer *l = L (m, i);
  return T (l->act, 0, n, l->h, l->w, l->c);
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
P (GraftModel *m, Layer *l, int k)
{
  return m->params->pdata[l->first_param + k];
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
      Layer *l = L (m, i);
      gsize per = (gsize) batch * l->h * l->w * l->c;
      m->max_act = MAX (m->max_act, per);
      if (l->kind == GRAFT_LAYER_INPUT)
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
      /* A separable convolution's depthwise output lives in a pool buffer: taken for the
       * forward pass and recomputed in the backward one (a few percent of a step) rather than
       * kept per layer (1.4 GB at 180×180, batch 64). */
      if (l->kind == GRAFT_LAYER_BATCH_NORMALIZATION)
        ALLOC (l->stats, 2 * (gsize) l->c);
      /* The training forward records where each maximum came from, a byte per output, so
       * the backward pass neither reads the input again nor zeroes its gradient first. */
      if (l->kind == GRAFT_LAYER_MAX_POOLING2D && l->k <= GRAFT_MAXPOOL_ARG_MAX_K &&
          per < G_MAXINT32)
        {
          if ((l->arg = graft_context_alloc (ctx, per, error)) == NULL)
            goto fail;
          bytes += per;
        }
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

/* Conv2D and Dense layers run as conv2d (a dense layer is a 1×1 convolution of {N,1,1,Cin}). */
static GraftConv2dShape
conv_shape (Layer *l, Layer *in, int n)
{
  GraftConv2dShape s = { n, in->h, in->w, in->c, l->c, l->k ? l->k : 1, l->k ? l->k : 1,
                         l->stride ? l->stride : 1 };
  return s;
}

/* The index of the one layer that reads layer @i's output, or -1 when none or several do. */
static int
sole_consumer (GraftModel *m, guint i)
{
  if (L (m, i)->consumers != 1)
    return -1;
  for (guint j = i + 1; j < m->layers->len; j++)
    if (L (m, j)->in[0] == (int) i || L (m, j)->in[1] == (int) i)
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

static gboolean
bn_training (Layer *l, gboolean training)
{
  return training && !l->frozen;
}

static GraftBatchNormShape
bn_shape (Layer *l, int n, double momentum)
{
  GraftBatchNormShape s = { n * l->h * l->w, l->c, GRAFT_BN_EPSILON, (float) momentum, l->fused_relu };
  return s;
}

/* Whether BN layer @j runs folded into the layer before it in this pass: in inference mode and
 * the only reader of a convolution's output (in training mode it needs that output and the
 * batch statistics). The convolution then applies it, and the BN itself does nothing. */
static gboolean
bn_folded (GraftModel *m, int j, gboolean training)
{
  Layer *bn = L (m, j), *in = L (m, bn->in[0]);
  return bn->kind == GRAFT_LAYER_BATCH_NORMALIZATION && !bn_training (bn, training) &&
         (in->kind == GRAFT_LAYER_CONV2D || in->kind == GRAFT_LAYER_DENSE ||
          in->kind == GRAFT_LAYER_SEPARABLE_CONV2D) &&
         sole_consumer (m, bn->in[0]) == j;
}

/* Layer @i's convolution (its GEMM part: x is the im2col or depthwise input) into @y, or, when
 * the BN that reads its output folds (see bn_folded), with that BN's scale and shift (and
 * ReLU) in the GEMM's store, written straight to the BN's output instead. */
static gboolean
conv_forward (GraftModel *m, guint i, int n, gboolean training, const GraftConv2dShape *s,
              const GraftTensor *x, const GraftTensor *w, const GraftTensor *bias, GraftTensor *y,
              GError **error)
{
  int j = sole_consumer (m, i);
  if (j < 0 || !bn_folded (m, j, training))
    return graft_conv2d_forward (m->ctx, s, x, w, bias, y, error);
  Layer *bn = L (m, j);
  GraftBatchNormShape bs = bn_shape (bn, n, m->spec.bn_momentum);
  GraftTensor g = ptensor (m, m->dparams, P (m, bn, 0));
  GraftTensor be = ptensor (m, m->dparams, P (m, bn, 1));
  GraftTensor mm = ptensor (m, m->dparams, P (m, bn, 2));
  GraftTensor mv = ptensor (m, m->dparams, P (m, bn, 3));
  GraftTensor scale = T (m->fold, 0, 1, 1, 1, bn->c), shift = T (m->fold, m->max_c, 1, 1, 1, bn->c);
  GraftTensor bn_y = act (m, j, n);
  return graft_batchnorm_fold (m->ctx, &bs, &g, &be, &mm, &mv, bias, &scale, &shift, error) &&
         graft_conv2d_forward_affine (m->ctx, s, x, w, &scale, &shift, bn->fused_relu, &bn_y,
                                      error);
}

gboolean
graft_model_forward (GraftModel *m, int n, gboolean training, guint32 seed, guint32 step,
                     GError **error)
{
  GraftContext *ctx = m->ctx;
  g_return_val_if_fail (ctx != NULL && n >= 1 && n <= m->batch, FALSE);
  for (guint i = 1; i < m->layers->len; i++)
    {
      Layer *l = L (m, i);
      if (l->alias)
        continue;
      Layer *in = L (m, l->in[0]);
      GraftTensor x = act (m, l->in[0], n), y = act (m, i, n);
      gboolean ok = TRUE;
      switch (l->kind)
        {
        case GRAFT_LAYER_CONV2D:
        case GRAFT_LAYER_DENSE:
          {
            GraftConv2dShape s = conv_shape (l, in, n);
            GraftTensor w = ptensor (m, m->dparams, P (m, l, 0));
            GraftTensor b = ptensor (m, m->dparams, P (m, l, 1));
            ok = conv_forward (m, i, n, training, &s, &x, &w, &b, &y, error);
            break;
          }
        case GRAFT_LAYER_SEPARABLE_CONV2D:
          {
            GraftDepthwiseShape ds = { n, in->h, in->w, in->c, 3 };
            GraftTensor dwk = ptensor (m, m->dparams, P (m, l, 0));
            GraftTensor pwk = ptensor (m, m->dparams, P (m, l, 1));
            GraftTensor b = ptensor (m, m->dparams, P (m, l, 2));
            int mb = pool_take (m, error);
            if (mb < 0)
              return FALSE;
            GraftTensor mid = T (g_array_index (m->pool, PoolBuf, mb).mem, 0, n, in->h, in->w,
                                 in->c);
            GraftConv2dShape ps = { n, in->h, in->w, in->c, l->c, 1, 1, 1 };
            ok = graft_depthwise_forward (ctx, &ds, &x, &dwk, &mid, error) &&
                 conv_forward (m, i, n, training, &ps, &mid, &pwk, &b, &y, error);
            pool_give (m, mb);
            break;
          }
        case GRAFT_LAYER_BATCH_NORMALIZATION:
          {
            if (bn_folded (m, i, training))
              break;   /* the layer before applied it (conv_forward) */
            GraftBatchNormShape s = bn_shape (l, n, m->spec.bn_momentum);
            GraftTensor g = ptensor (m, m->dparams, P (m, l, 0));
            GraftTensor be = ptensor (m, m->dparams, P (m, l, 1));
            GraftTensor mm = ptensor (m, m->dparams, P (m, l, 2));
            GraftTensor mv = ptensor (m, m->dparams, P (m, l, 3));
            if (bn_training (l, training))
              {
                GraftTensor sm = T (l->stats, 0, 1, 1, 1, l->c);
                GraftTensor si = T (l->stats, l->c, 1, 1, 1, l->c);
                ok = graft_batchnorm_forward_train (ctx, &s, &x, &g, &be, &mm, &mv, &y, &sm, &si,
                                                    error);
              }
            else
              ok = graft_batchnorm_forward_infer (ctx, &s, &x, &g, &be, &mm, &mv, &y, error);
            break;
          }
        case GRAFT_LAYER_ACTIVATION:
          ok = graft_relu_forward (ctx, &x, &y, error);
          break;
        case GRAFT_LAYER_MAX_POOLING2D:
          {
            GraftPoolShape s = { n, in->h, in->w, in->c, l->k, l->stride };
            l->arg_valid = training && l->arg;
            ok = l->arg_valid ? graft_maxpool_forward_arg (ctx, &s, &x, &y, l->arg, 0, error)
                              : graft_maxpool_forward (ctx, &s, &x, &y, error);
            break;
          }
        case GRAFT_LAYER_ADD:
          {
            GraftTensor b = act (m, l->in[1], n);
            ok = graft_add (ctx, &x, &b, &y, error);
            break;
          }
        case GRAFT_LAYER_GLOBAL_AVERAGE_POOLING2D:
          ok = graft_gap_forward (ctx, &x, &y, error);
          break;
        case GRAFT_LAYER_DROPOUT:
          if (training && m->spec.dropout > 0)
            ok = graft_dropout_forward (ctx, m->spec.dropout, seed, step, &x, &y, error);
          else
            ok = graft_tensor_copy (ctx, &x, &y, error);
          break;
        default:
          break;
        }
      if (!ok)
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
  Layer *l = L (m, layer);
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

static GraftTensor *
pgrad (GraftModel *m, Layer *l, int k, GraftTensor *slot)
{
  if (l->frozen)
    return NULL;
  *slot = ptensor (m, m->dgrad, P (m, l, k));
  return slot;
}

/* The bias gradient of layer @i, or NULL where it is not wanted. A bias whose only consumer is
 * a batch normalisation in training mode has a gradient of exactly zero: with x̂ the normalised
 * input, Σ_rows dx_BN = γ·invstd·(Σdy − Σdy − Σx̂·Σ(dy·x̂)/N) and Σx̂ = 0, so summing dx_BN over
 * every pixel of the batch (a quarter of a conv2d backward's memory traffic) would only
 * produce rounding noise. Then the slot is set to 0 and NULL returned. */
static GraftTensor *
bias_grad (GraftModel *m, guint i, int k, GraftTensor *slot, gboolean *ok, GError **error)
{
  GraftTensor *db = pgrad (m, L (m, i), k, slot);
  int c = sole_consumer (m, i);
  if (db == NULL || c < 0 || L (m, c)->kind != GRAFT_LAYER_BATCH_NORMALIZATION ||
      !bn_training (L (m, c), TRUE))
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
      Layer *l = L (m, i);
      int gi = m->grad_of[i];
      if (gi < 0)
        continue;   /* nothing flows here */
      GraftTensor dy = grad_tensor (m, gi, i, n);
      Layer *in = L (m, l->in[0]);
      gboolean want_dx = l->in[0] >= first && in->kind != GRAFT_LAYER_INPUT;
      GraftTensor x = act (m, l->in[0], n), y = act (m, i, n);
      GraftTensor dx, s0, s1, s2;
      int tmp = -1;
      gboolean ok = TRUE;

      if (l->alias)
        {
          /* Rescaling and a ReLU that the BN before it applied: pass through. */
          if (want_dx && m->grad_of[l->in[0]] < 0)
            {
              m->grad_of[l->in[0]] = gi;
              m->grad_of[i] = -1;
              continue;
            }
          if (want_dx)
            {
              ok = grad_begin (m, l->in[0], n, &dx, &tmp, error) &&
                   graft_tensor_copy (ctx, &dy, &dx, error) &&
                   grad_commit (m, l->in[0], n, tmp, error);
            }
          goto next;
        }
      if (want_dx && !grad_begin (m, l->in[0], n, &dx, &tmp, error))
        return FALSE;
      switch (l->kind)
        {
        case GRAFT_LAYER_CONV2D:
        case GRAFT_LAYER_DENSE:
          {
            GraftConv2dShape s = conv_shape (l, in, n);
            GraftTensor w = ptensor (m, m->dparams, P (m, l, 0));
            GraftTensor *db = bias_grad (m, i, 1, &s1, &ok, error);
            ok = ok && graft_conv2d_backward (ctx, &s, &x, &w, &dy, want_dx ? &dx : NULL,
                                              pgrad (m, l, 0, &s0), db, error);
            break;
          }
        case GRAFT_LAYER_SEPARABLE_CONV2D:
          {
            GraftDepthwiseShape ds = { n, in->h, in->w, in->c, 3 };
            GraftConv2dShape ps = { n, in->h, in->w, in->c, l->c, 1, 1, 1 };
            GraftTensor dwk = ptensor (m, m->dparams, P (m, l, 0));
            GraftTensor pwk = ptensor (m, m->dparams, P (m, l, 1));
            gboolean need_mid = want_dx || !l->frozen;
            int mb = need_mid ? pool_take (m, error) : -1;
            if (need_mid && mb < 0)
              return FALSE;
            GraftTensor dmid = T (mb >= 0 ? g_array_index (m->pool, PoolBuf, mb).mem : NULL, 0, n,
                                  in->h, in->w, in->c);
            /* The pointwise kernel's gradient needs the depthwise output again. */
            int fb = l->frozen ? -1 : pool_take (m, error);
            if (!l->frozen && fb < 0)
              return FALSE;
            GraftTensor mid = T (fb >= 0 ? g_array_index (m->pool, PoolBuf, fb).mem : NULL, 0, n,
                                 in->h, in->w, in->c);
            if (fb >= 0)
              ok = graft_depthwise_forward (ctx, &ds, &x, &dwk, &mid, error);
            GraftTensor *db = ok ? bias_grad (m, i, 2, &s2, &ok, error) : NULL;
            ok = ok &&
                 graft_conv2d_backward (ctx, &ps, &mid, &pwk, &dy, need_mid ? &dmid : NULL,
                                        pgrad (m, l, 1, &s1), db, error) &&
                 (!need_mid ||
                  graft_depthwise_backward (ctx, &ds, &x, &dwk, &dmid, want_dx ? &dx : NULL,
                                            pgrad (m, l, 0, &s0), error));
            pool_give (m, mb);
            pool_give (m, fb);
            break;
          }
        case GRAFT_LAYER_BATCH_NORMALIZATION:
          {
            GraftBatchNormShape s = bn_shape (l, n, m->spec.bn_momentum);
            GraftTensor g = ptensor (m, m->dparams, P (m, l, 0));
            if (!l->frozen)
              {
                GraftTensor sm = T (l->stats, 0, 1, 1, 1, l->c);
                GraftTensor si = T (l->stats, l->c, 1, 1, 1, l->c);
                GraftTensor be = ptensor (m, m->dparams, P (m, l, 1));
                ok = graft_batchnorm_backward_train (ctx, &s, &x, &be, &g, &sm, &si, &dy,
                                                     want_dx ? &dx : NULL, pgrad (m, l, 0, &s0),
                                                     pgrad (m, l, 1, &s1), error);
              }
            else if (want_dx)
              {
                GraftTensor mv = ptensor (m, m->dparams, P (m, l, 3));
                ok = graft_batchnorm_backward_infer (ctx, &s, &y, &g, &mv, &dy, &dx, error);
              }
            break;
          }
        case GRAFT_LAYER_ACTIVATION:
          if (want_dx)
            ok = graft_relu_backward (ctx, &y, &dy, &dx, error);
          break;
        case GRAFT_LAYER_MAX_POOLING2D:
          if (want_dx)
            {
              GraftPoolShape s = { n, in->h, in->w, in->c, l->k, l->stride };
              ok = l->arg_valid
                   ? graft_maxpool_backward_arg (ctx, &s, l->arg, 0, &dy, &dx, error)
                   : graft_maxpool_backward (ctx, &s, &x, &dy, &dx, error);
            }
          break;
        case GRAFT_LAYER_ADD:
          if (want_dx)
            ok = graft_tensor_copy (ctx, &dy, &dx, error);
          if (ok && l->in[1] >= first)
            {
              GraftTensor dx2;
              int tmp2;
              ok = grad_begin (m, l->in[1], n, &dx2, &tmp2, error) &&
                   graft_tensor_copy (ctx, &dy, &dx2, error) &&
                   grad_commit (m, l->in[1], n, tmp2, error);
            }
          break;
        case GRAFT_LAYER_GLOBAL_AVERAGE_POOLING2D:
          if (want_dx)
            ok = graft_gap_backward (ctx, &dy, &dx, error);
          break;
        case GRAFT_LAYER_DROPOUT:
          if (want_dx)
            ok = m->spec.dropout > 0
                   ? graft_dropout_backward (ctx, m->spec.dropout, seed, step, &dy, &dx, error)
                   : graft_tensor_copy (ctx, &dy, &dx, error);
          break;
        default:
          break;
        }
      if (ok && want_dx)
        ok = grad_commit (m, l->in[0], n, tmp, error);
    next:
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

void
graft_model_layer_links (GraftModel *model, guint i, int in[2], int *k, int *stride)
{
  g_return_if_fail (i < model->layers->len);
  const Layer *l = L (model, i);
  in[0] = l->in[0];
  in[1] = l->in[1];
  *k = l->k;
  *stride = l->stride;
}
