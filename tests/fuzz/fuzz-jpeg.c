/* Fuzz target: JPEG sniff, decode (with and without DCT scaling) and bilinear resize from memory. */
#include "graft-fuzz.h"
#include "graft-image.h"

/* Decoding 100 megapixels (the engine's limit, tested in tests/data) takes seconds under
 * ASan; like libjpeg-turbo's own fuzzers, skip what is larger than this. */
#define FUZZ_MAX_PIXELS (4 * 1024 * 1024)

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  graft_fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static tjhandle tj;
  if (tj == NULL)
    tj = tjInitDecompress ();
  g_free (graft_image_sniff (data, size, "fuzz.jpg"));
  int w = 0, h = 0, ss = 0, cs = 0;
  if (tjDecompressHeader3 (tj, data, size, &w, &h, &ss, &cs) == 0 &&
      (guint64) MAX (w, 0) * (guint64) MAX (h, 0) > FUZZ_MAX_PIXELS)
    return 0;
  /* The last byte picks the smallest side to scale to: none, 1, 32 or 180 pixels. */
  static const int min_sides[] = { 0, 1, 32, 180 };
  int min_side = size ? min_sides[data[size - 1] % 4] : 0;
  g_autofree char *reason = NULL;
  g_autofree guint8 *px = graft_jpeg_decode_rgb (tj, data, size, min_side, &w, &h, &reason);
  if (px == NULL)
    {
      g_assert (reason != NULL);
      return 0;
    }
  g_assert (w > 0 && h > 0);
  guint8 small[32 * 32 * 3], large[97 * 61 * 3];
  graft_resize_bilinear_rgb8 (px, w, h, small, 32, 32);
  graft_resize_bilinear_rgb8 (px, w, h, large, 97, 61);
  return 0;
}
