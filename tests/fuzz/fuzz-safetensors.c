/* Fuzz target: a safetensors file from memory, loaded as a checkpoint and transferred into a model. */
#include "graft-fuzz.h"
#include "graft-checkpoint.h"

#include <string.h>

size_t LLVMFuzzerCustomMutator (uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Half the time, a tree mutation of the header (graft-fuzz.h), the data kept as it is. */
size_t
LLVMFuzzerCustomMutator (uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
  guint64 hlen = 0;
  for (int i = 7; size >= 8 && i >= 0; i--)
    hlen = (hlen << 8) | data[i];
  if (seed % 2 == 0 || size < 8 || hlen > size - 8)
    return LLVMFuzzerMutate (data, size, max_size);
  g_autofree char *header = graft_fuzz_mutate_json ((const char *) data + 8, hlen, seed / 2);
  gsize n = header ? strlen (header) : 0, rest = size - 8 - hlen;
  if (header == NULL || 8 + n + rest > max_size)
    return LLVMFuzzerMutate (data, size, max_size);
  memmove (data + 8 + n, data + 8 + hlen, rest);
  memcpy (data + 8, header, n);
  for (int i = 0; i < 8; i++)
    data[i] = (uint8_t) ((guint64) n >> (8 * i));
  return 8 + n + rest;
}

/* The model fuzz-seed-checkpoint writes, for transfers. */
static GraftModel *target;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  graft_fuzz_init ();
  GraftModelSpec spec = { 32, 3, 0.02, 0.5 };
  target = graft_model_new (&spec, NULL);
  g_assert (target != NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GBytes) bytes = g_bytes_new_static (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftSafetensors) st = graft_safetensors_new_from_bytes (bytes, "fuzz.safetensors",
                                                                      &error);
  if (st == NULL)
    {
      g_assert (error != NULL && strstr (error->message, "fuzz.safetensors"));
      return 0;
    }
  /* Every accessor on every tensor the reader accepted. */
  for (guint i = 0; i < graft_safetensors_n_tensors (st); i++)
    {
      const char *name = graft_safetensors_name (st, i);
      int shape[8];
      int nd = graft_safetensors_shape (st, name, shape);
      g_assert (nd >= 0 && nd <= 8);
      gsize count = 1;
      for (int d = 0; d < nd; d++)
        count *= (gsize) shape[d];
      g_assert (count * 4 <= graft_safetensors_data_size (st));
      g_autofree float *dst = g_new (float, MAX (count, 1));
      g_assert (graft_safetensors_copy (st, name, dst, count, NULL));
    }
  /* Transfer takes what fits and reports the rest, whatever the file holds. */
  g_autoptr (GPtrArray) loaded = g_ptr_array_new ();
  g_autoptr (GString) report = g_string_new (NULL);
  graft_checkpoint_transfer (target, st, loaded, report);
  g_assert (loaded->len <= graft_model_n_layers (target));
  g_auto (GStrv) names = NULL;
  g_autoptr (GraftModel) m = graft_checkpoint_load_from (st, &names, &error);
  if (m == NULL)
    {
      g_assert (error != NULL && strstr (error->message, "fuzz.safetensors"));
      return 0;
    }
  /* Callers rely on exactly "classes" names. */
  if (names)
    g_assert (g_strv_length (names) == (guint) graft_model_spec (m)->classes);
  return 0;
}
