/* The header bar's short device names: PoCL's CPU device by what it is, others without the
 * trademark noise, the full name being the tooltip. */
#include "graft-test.h"

#include "../../app/graft-device-label.h"

int
main (int argc, char **argv)
{
  static const struct { const char *name, *type, *platform, *want; } cases[] = {
    { "pthread-skylake-avx512-Intel(R) Xeon(R) Processor", "CPU", "Portable Computing Language",
      "CPU (PoCL)" },
    { "pthread-haswell-AMD EPYC", "CPU", NULL, "CPU (PoCL)" },
    { "cpu-haswell-AMD EPYC 7B13", "CPU", "Portable Computing Language", "CPU (PoCL)" },
    { "NVIDIA GeForce RTX 3080", "GPU", "NVIDIA CUDA", "NVIDIA GeForce RTX 3080 (GPU)" },
    { "Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz", "CPU", "Intel(R) OpenCL",
      "Intel Core i7-8650U (CPU)" },
    { "gfx1030", "GPU", "AMD Accelerated Parallel Processing", "gfx1030 (GPU)" },
    { "A device  with a  name far longer than any header bar has room for", "Accelerator", NULL,
      "A device with a name far longer than an… (Accelerator)" },
    { "", "GPU", NULL, "Unknown device (GPU)" },
    { NULL, NULL, NULL, "Unknown device" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = graft_device_short_label (cases[i].name, cases[i].type,
                                                       cases[i].platform);
      if (g_strcmp0 (got, cases[i].want) != 0)
        {
          g_printerr ("“%s”: got “%s”, want “%s”\n", cases[i].name, got, cases[i].want);
          return 1;
        }
    }
  g_print ("ok: %u device names\n", (guint) G_N_ELEMENTS (cases));
  return 0;
}
