/* ONNX export: each layer's nodes from its kind's hook (GraftLayerClass.onnx, with the helpers
 * of graft-layer-onnx.h), Keras layouts converted to ONNX's. */
#include "graft-onnx.h"
#include "graft-layer-onnx.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "graft-config.h"
#include "graft-error.h"
#include "onnx.pb-c.h"

/* Everything the messages point to lives until the model is packed. */
struct _GraftOnnxGraph {
  GPtrArray *keep;        /* g_free'd at the end */
  GPtrArray *nodes;       /* Onnx__NodeProto* */
  GPtrArray *inits;       /* Onnx__TensorProto* */
};
typedef GraftOnnxGraph Graph;

static gpointer
keep (Graph *g, gpointer p)
{
  g_ptr_array_add (g->keep, p);
  return p;
}

static char *
kstr (Graph *g, const char *s)
{
  return keep (g, g_strdup (s));
}

static Onnx__AttributeProto *
attr_new (Graph *g, const char *name, Onnx__AttributeProto__AttributeType type)
{
  Onnx__AttributeProto *a = keep (g, g_new (Onnx__AttributeProto, 1));
  onnx__attribute_proto__init (a);
  a->name = kstr (g, name);
  a->has_type = TRUE;
  a->type = type;
  return a;
}

static Onnx__AttributeProto *
attr_ints (Graph *g, const char *name, const gint64 *v, gsize n)
{
  Onnx__AttributeProto *a = attr_new (g, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = n;
  a->ints = keep (g, g_memdup2 (v, n * sizeof *v));
  return a;
}

static Onnx__AttributeProto *
attr_int (Graph *g, const char *name, gint64 v)
{
  Onnx__AttributeProto *a = attr_new (g, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = TRUE;
  a->i = v;
  return a;
}

static Onnx__AttributeProto *
attr_float (Graph *g, const char *name, float v)
{
  Onnx__AttributeProto *a = attr_new (g, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = TRUE;
  a->f = v;
  return a;
}

/* Adds a node; @inputs and @attrs are NULL-terminated. */
static void
node (Graph *g, const char *op, const char *name, const char *output, const char *const *inputs,
      Onnx__AttributeProto *const *attrs)
{
  Onnx__NodeProto *n = keep (g, g_new (Onnx__NodeProto, 1));
  onnx__node_proto__init (n);
  n->op_type = kstr (g, op);
  n->name = kstr (g, name);
  n->n_output = 1;
  n->output = keep (g, g_new (char *, 1));
  n->output[0] = kstr (g, output);
  guint ni = g_strv_length ((char **) inputs);
  n->n_input = ni;
  n->input = keep (g, g_new (char *, MAX (ni, 1)));
  for (guint i = 0; i < ni; i++)
    n->input[i] = kstr (g, inputs[i]);
  guint na = 0;
  while (attrs && attrs[na])
    na++;
  n->n_attribute = na;
  n->attribute = keep (g, g_new (Onnx__AttributeProto *, MAX (na, 1)));
  for (guint i = 0; i < na; i++)
    n->attribute[i] = attrs[i];
  g_ptr_array_add (g->nodes, n);
}

/* An initializer of @count floats (taken over) with dims @dims. */
static void
init_tensor (Graph *g, const char *name, float *data, gsize count, const gint64 *dims, int nd)
{
  Onnx__TensorProto *t = keep (g, g_new (Onnx__TensorProto, 1));
  onnx__tensor_proto__init (t);
  t->name = kstr (g, name);
  t->has_data_type = TRUE;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->n_dims = nd;
  t->dims = keep (g, g_memdup2 (dims, nd * sizeof *dims));
  t->has_raw_data = TRUE;
  t->raw_data.len = count * sizeof (float);   /* little-endian, as ONNX's raw_data is */
  t->raw_data.data = keep (g, data);
  g_ptr_array_add (g->inits, t);
}

/* ---- for the layer kinds' hooks (graft-layer-onnx.h) ---- */

GraftOnnxAttr *
graft_onnx_attr_ints (GraftOnnxGraph *g, const char *name, const gint64 *v, gsize n)
{
  return (GraftOnnxAttr *) attr_ints (g, name, v, n);
}

GraftOnnxAttr *
graft_onnx_attr_int (GraftOnnxGraph *g, const char *name, gint64 v)
{
  return (GraftOnnxAttr *) attr_int (g, name, v);
}

GraftOnnxAttr *
graft_onnx_attr_float (GraftOnnxGraph *g, const char *name, float v)
{
  return (GraftOnnxAttr *) attr_float (g, name, v);
}

void
graft_onnx_node (GraftOnnxGraph *g, const char *op, const char *name, const char *output,
                 const char *const *inputs, GraftOnnxAttr *const *attrs)
{
  node (g, op, name, output, inputs, (Onnx__AttributeProto *const *) attrs);
}

void
graft_onnx_initializer (GraftOnnxGraph *g, const char *name, float *data, gsize count,
                        const gint64 *dims, int nd)
{
  init_tensor (g, name, data, count, dims, nd);
}

const char *
graft_onnx_keep (GraftOnnxGraph *g, char *s)
{
  return keep (g, s);
}

void
graft_onnx_param_copy (GraftOnnxGraph *g, GraftModel *m, guint i, int k, const char *tensor)
{
  const GraftLayer *l = graft_model_layer (m, i);
  const GraftParam *p = graft_model_param (m, l->first_param + k);
  const float *src = graft_model_host_params (m) + p->offset;
  gint64 dims[] = { (gint64) p->count };
  init_tensor (g, tensor, g_memdup2 (src, p->count * sizeof (float)), p->count, dims, 1);
}

/* TensorFlow's "same" padding along one side: before, after. */
static void
same_pads (int in, int k, int stride, gint64 *before, gint64 *after)
{
  int out = (in + stride - 1) / stride;
  int total = MAX ((out - 1) * stride + k - in, 0);
  *before = total / 2;
  *after = total - total / 2;
}

void
graft_onnx_pads (const GraftLayerConfig *cfg, int in_h, int in_w, int k, int stride,
                 gint64 pads[4])
{
  switch (cfg->padding)
    {
    case GRAFT_PADDING_SAME:
      same_pads (in_h, k, stride, &pads[0], &pads[2]);
      same_pads (in_w, k, stride, &pads[1], &pads[3]);
      break;
    case GRAFT_PADDING_VALID:
      pads[0] = pads[1] = pads[2] = pads[3] = 0;
      break;
    case GRAFT_PADDING_EXPLICIT:
      pads[0] = cfg->pad[0];
      pads[1] = cfg->pad[2];
      pads[2] = cfg->pad[1];
      pads[3] = cfg->pad[3];
      break;
    }
}

void
graft_onnx_conv (GraftOnnxGraph *g, const char *name, const char *x, const char *w,
                 const char *b, const char *out, const GraftLayerConfig *cfg, int in_h, int in_w,
                 int k, int group)
{
  int stride = cfg->stride > 0 ? cfg->stride : 1;
  gint64 pads[4], ks[] = { k, k }, st[] = { stride, stride };
  graft_onnx_pads (cfg, in_h, in_w, k, stride, pads);
  Onnx__AttributeProto *attrs[] = { attr_ints (g, "kernel_shape", ks, 2),
                                    attr_ints (g, "strides", st, 2),
                                    attr_ints (g, "pads", pads, 4), attr_int (g, "group", group),
                                    NULL };
  const char *in3[] = { x, w, b, NULL }, *in2[] = { x, w, NULL };
  node (g, "Conv", name, out, b ? in3 : in2, attrs);
}

const char *
graft_onnx_output (GraftOnnxGraph *g, GraftModel *m, int i)
{
  if (i == (int) graft_model_n_layers (m) - 1)
    return "logits";
  return graft_model_layer_name (m, (guint) i);
}

static Onnx__ValueInfoProto *
value_info (Graph *g, const char *name, const gint64 *dims, int nd)
{
  Onnx__ValueInfoProto *v = keep (g, g_new (Onnx__ValueInfoProto, 1));
  onnx__value_info_proto__init (v);
  v->name = kstr (g, name);
  Onnx__TypeProto *t = keep (g, g_new (Onnx__TypeProto, 1));
  onnx__type_proto__init (t);
  Onnx__TypeProto__Tensor *tt = keep (g, g_new (Onnx__TypeProto__Tensor, 1));
  onnx__type_proto__tensor__init (tt);
  tt->has_elem_type = TRUE;
  tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  Onnx__TensorShapeProto *sh = keep (g, g_new (Onnx__TensorShapeProto, 1));
  onnx__tensor_shape_proto__init (sh);
  sh->n_dim = nd;
  sh->dim = keep (g, g_new (Onnx__TensorShapeProto__Dimension *, nd));
  for (int i = 0; i < nd; i++)
    {
      Onnx__TensorShapeProto__Dimension *d = keep (g, g_new (Onnx__TensorShapeProto__Dimension, 1));
      onnx__tensor_shape_proto__dimension__init (d);
      if (dims[i] < 0)
        {
          d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
          d->dim_param = kstr (g, "N");
        }
      else
        {
          d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
          d->dim_value = dims[i];
        }
      sh->dim[i] = d;
    }
  tt->shape = sh;
  t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  t->tensor_type = tt;
  v->type = t;
  return v;
}

static Onnx__StringStringEntryProto *
meta (Graph *g, const char *key, const char *value)
{
  Onnx__StringStringEntryProto *e = keep (g, g_new (Onnx__StringStringEntryProto, 1));
  onnx__string_string_entry_proto__init (e);
  e->key = kstr (g, key);
  e->value = kstr (g, value);
  return e;
}

static gboolean
add_layers (Graph *g, GraftModel *m, GError **error)
{
  for (guint i = 0; i < graft_model_n_layers (m); i++)
    {
      const GraftLayerClass *k = graft_model_layer_kind (m, i);
      if (k->onnx == NULL)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                       "layer %s: the ONNX export does not know %s layers",
                       graft_model_layer_name (m, i), k->name);
          return FALSE;
        }
      k->onnx (g, m, i);
    }
  return TRUE;
}

gboolean
graft_onnx_export (GraftModel *m, const char *const *class_names, const char *path,
                   GError **error)
{
  Graph g = { g_ptr_array_new_with_free_func (g_free), g_ptr_array_new (), g_ptr_array_new () };
  const GraftModelSpec *spec = graft_model_spec (m);
  int units = graft_model_units (m), S = spec->image_size;
  if (!add_layers (&g, m, error))
    {
      g_ptr_array_unref (g.nodes);
      g_ptr_array_unref (g.inits);
      g_ptr_array_unref (g.keep);
      return FALSE;
    }
  if (units == 1)
    {
      /* Two classes: [1 − p, p] of the sigmoid, in class order. */
      const char *sig[] = { "logits", NULL };
      node (&g, "Sigmoid", "probability", "probability", sig, NULL);
      gint64 one[] = { 1 };
      float *v = g_new (float, 1);
      *v = 1.0f;
      init_tensor (&g, "one", v, 1, one, 1);
      const char *sub[] = { "one", "probability", NULL };
      node (&g, "Sub", "complement", "complement", sub, NULL);
      const char *cat[] = { "complement", "probability", NULL };
      Onnx__AttributeProto *a[] = { attr_int (&g, "axis", 1), NULL };
      node (&g, "Concat", "probabilities", "probabilities", cat, a);
    }
  else
    {
      const char *ins[] = { "logits", NULL };
      Onnx__AttributeProto *a[] = { attr_int (&g, "axis", 1), NULL };
      node (&g, "Softmax", "probabilities", "probabilities", ins, a);
    }

  Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
  graph.name = (char *) "graft";
  graph.n_node = g.nodes->len;
  graph.node = (Onnx__NodeProto **) g.nodes->pdata;
  graph.n_initializer = g.inits->len;
  graph.initializer = (Onnx__TensorProto **) g.inits->pdata;
  gint64 in_dims[] = { -1, S, S, 3 }, logit_dims[] = { -1, units },
         prob_dims[] = { -1, spec->classes };
  Onnx__ValueInfoProto *inputs[] = { value_info (&g, "image", in_dims, 4) };
  Onnx__ValueInfoProto *outputs[] = { value_info (&g, "logits", logit_dims, 2),
                                      value_info (&g, "probabilities", prob_dims, 2) };
  graph.n_input = 1;
  graph.input = inputs;
  graph.n_output = 2;
  graph.output = outputs;

  Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  opset.domain = (char *) "";
  opset.has_version = TRUE;
  opset.version = 13;
  Onnx__OperatorSetIdProto *opsets[] = { &opset };

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (int k = 0; class_names && k < spec->classes && class_names[k]; k++)
    json_builder_add_string_value (b, class_names[k]);
  json_builder_end_array (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) names = json_builder_get_root (b);
  json_generator_set_root (gen, names);
  g_autofree char *names_json = json_generator_to_data (gen, NULL);
  g_autofree char *size = g_strdup_printf ("%d", S);
  Onnx__StringStringEntryProto *props[] = {
    meta (&g, "class_names", names_json), meta (&g, "image_size", size),
    meta (&g, "architecture", spec->architecture),
    meta (&g, "input", "NHWC RGB pixels in [0, 255], resized to image_size × image_size"),
  };

  Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
  model.has_ir_version = TRUE;
  model.ir_version = 8;   /* ONNX 1.10+: opset 13 needs IR ≥ 7 */
  model.producer_name = (char *) "Graft";
  model.producer_version = (char *) GRAFT_VERSION;
  model.n_opset_import = 1;
  model.opset_import = opsets;
  model.graph = &graph;
  model.n_metadata_props = G_N_ELEMENTS (props);
  model.metadata_props = props;

  gsize len = onnx__model_proto__get_packed_size (&model);
  g_autofree guint8 *buf = g_malloc (len);
  onnx__model_proto__pack (&model, buf);
  g_ptr_array_unref (g.nodes);
  g_ptr_array_unref (g.inits);
  g_ptr_array_unref (g.keep);
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents_full (path, (const char *) buf, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write %s: %s", path,
                   local->message);
      return FALSE;
    }
  return TRUE;
}
