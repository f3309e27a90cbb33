/* Writes a small real checkpoint (32 px, 3 classes, width 0.02) as a seed for fuzz-safetensors.
 *   fuzz-seed-checkpoint PATH */
#include "graft-checkpoint.h"

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      g_printerr ("usage: %s PATH\n", argv[0]);
      return 2;
    }
  GraftModelSpec spec = { 32, 3, 0.02, 0.5 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftModel) m = graft_model_new (&spec, &error);
  const char *names[] = { "cat", "dog", "bird", NULL };
  if (m == NULL || !graft_checkpoint_save (m, argv[1], names, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  return 0;
}
