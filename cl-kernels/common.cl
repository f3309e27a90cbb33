/* Prepended to every Graft kernel program: shared helpers. */

/* Counter-based random numbers (a 32-bit integer hash of key and counter):
 * the same seed gives the same stream on every device, in any launch order. */
inline uint graft_hash (uint x)
{
  x ^= x >> 16; x *= 0x7feb352dU;
  x ^= x >> 15; x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

/* Uniform float in [0, 1) from (seed, stream, index). */
inline float graft_uniform (uint seed, uint stream, uint index)
{
  uint h = graft_hash (seed ^ graft_hash (stream * 0x9e3779b9U ^ graft_hash (index)));
  return (float) (h >> 8) * (1.0f / 16777216.0f);
}
