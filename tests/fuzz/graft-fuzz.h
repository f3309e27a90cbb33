/* What every fuzz target shares: the libFuzzer entry points, and GLib warnings made fatal. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#include <stdlib.h>

/* GLib ends a fatal message with SIGTRAP, which libFuzzer does not catch: abort instead, so
 * that the input is kept as a crash artifact. */
static GLogWriterOutput
graft_fuzz_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                       gpointer user_data)
{
  GLogWriterOutput out = g_log_writer_default (level, fields, n_fields, user_data);
  if (level & (G_LOG_FLAG_FATAL | G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    abort ();
  return out;
}

/* A CRITICAL or WARNING from GLib or json-glib means a reader used a value
 * without checking it: count it as a crash, as the test suite does. */
static inline void
graft_fuzz_init (void)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_FATAL_MASK);
  g_log_set_writer_func (graft_fuzz_log_writer, NULL, NULL);
}

#include <string.h>

#include "graft-json.h"

size_t LLVMFuzzerMutate (uint8_t *data, size_t size, size_t max_size);

/* Byte mutations rarely turn "F32" into 5 and keep the JSON valid, yet a value of the wrong
 * type is what crashes readers. So JSON targets also mutate the tree: one node, chosen by
 * @seed, becomes a value of another type (or the JSON is cut down to that node's parent). */
static inline JsonNode *
graft_fuzz_other_value (unsigned r)
{
  JsonNode *n = json_node_alloc ();
  switch (r % 10)
    {
    case 0: json_node_init_int (n, 5); break;
    case 1: json_node_init_int (n, -1); break;
    case 2: json_node_init_int (n, G_MAXINT64); break;
    case 3: json_node_init_double (n, 1e300); break;
    case 4: json_node_init_string (n, "x"); break;
    case 5: json_node_init_boolean (n, TRUE); break;
    case 6: json_node_init_null (n); break;
    case 7: json_node_init_array (n, json_array_new ()); break;
    case 8: json_node_init_object (n, json_object_new ()); break;
    default: json_node_init_int (n, 2147483648LL); break;
    }
  return n;
}

/* Replaces the @k-th node below @n (depth first) and returns TRUE once done. */
static inline gboolean
graft_fuzz_replace_node (JsonNode *n, unsigned *k, unsigned r)
{
  if (JSON_NODE_HOLDS_OBJECT (n))
    {
      JsonObject *o = json_node_get_object (n);
      g_autoptr (GList) names = json_object_get_members (o);
      for (GList *l = names; l; l = l->next)
        {
          if ((*k)-- == 0)
            {
              json_object_set_member (o, l->data, graft_fuzz_other_value (r));
              return TRUE;
            }
          if (graft_fuzz_replace_node (json_object_get_member (o, l->data), k, r))
            return TRUE;
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (n))
    {
      JsonArray *a = json_node_get_array (n);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          if ((*k)-- == 0)
            {
              /* Arrays have no setter: rebuild it with element i replaced. */
              JsonArray *b = json_array_new ();
              for (guint j = 0; j < json_array_get_length (a); j++)
                json_array_add_element (b, j == i ? graft_fuzz_other_value (r)
                                                  : json_node_copy (json_array_get_element (a, j)));
              json_node_take_array (n, b);
              return TRUE;
            }
          if (graft_fuzz_replace_node (json_array_get_element (a, i), k, r))
            return TRUE;
        }
    }
  return FALSE;
}

/* @text mutated as JSON into a new string (NULL when it is not JSON). */
static inline char *
graft_fuzz_mutate_json (const char *text, gsize len, unsigned seed)
{
  /* Bounded like the readers first, so that the mutator itself cannot recurse too deep;
   * then parsed again into nodes that can be changed. */
  g_autoptr (JsonNode) bounded = graft_json_parse (text, (gssize) len, "mutator", NULL);
  g_autoptr (JsonParser) p = json_parser_new ();
  if (bounded == NULL || !json_parser_load_from_data (p, text, (gssize) len, NULL))
    return NULL;
  JsonNode *root = json_parser_get_root (p);
  unsigned k = (seed >> 4) % 512;
  if (!graft_fuzz_replace_node (root, &k, seed))
    return NULL;
  return json_to_string (root, FALSE);
}
