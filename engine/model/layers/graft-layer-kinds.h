/* The layer kinds: one row per kind, naming its class graft_layer_<id> (defined in
 * graft-layer-<file>.c). The registry (graft-layers.c) is generated from this list. */
#pragma once

#define GRAFT_LAYER_KINDS(X)  \
  X (input)                   \
  X (rescaling)               \
  X (conv2d)                  \
  X (separable_conv2d)        \
  X (batchnorm)               \
  X (activation)              \
  X (maxpool)                 \
  X (add)                     \
  X (gap)                     \
  X (dropout)                 \
  X (dense)
