/* Fuzz target: study.json text; a study that loads must write back text that loads. */
#include "graft-fuzz.h"
#include "graft-study.h"

#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  graft_fuzz_init ();
  return 0;
}

size_t LLVMFuzzerCustomMutator (uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Half the time, a tree mutation (graft-fuzz.h). */
size_t
LLVMFuzzerCustomMutator (uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
  g_autofree char *text = seed % 2 ? graft_fuzz_mutate_json ((const char *) data, size, seed / 2)
                                   : NULL;
  gsize n = text ? strlen (text) : 0;
  if (text == NULL || n > max_size)
    return LLVMFuzzerMutate (data, size, max_size);
  memcpy (data, text, n);
  return n;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftStudy) s = graft_study_from_json ((const char *) data, (gssize) size,
                                                    "fuzz/study.json", &error);
  if (s == NULL)
    {
      g_assert (error != NULL && strstr (error->message, "fuzz/study.json"));
      return 0;
    }
  g_autofree char *text = graft_study_to_json (s);
  g_autoptr (GraftStudy) back = graft_study_from_json (text, -1, "written study.json", &error);
  if (back == NULL)
    g_error ("a study that loaded does not load once written: %s\n%s", error->message, text);
  return 0;
}
