#!/usr/bin/env python3
"""The reference network in TensorFlow/Keras (the study's own framework), timed the way
graft-cli bench times Graft (random data, warm-up excluded)."""
import json
import os
import sys

from peer_common import add_frozen_ratio, channels, common_fields, parse_args, rate, timed

args = parse_args(__doc__)
# Thread counts must be set before TensorFlow starts its pools.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
try:
    import numpy as np
    import tensorflow as tf
    import keras
    from keras import layers
except ImportError:
    print("peer_keras.py: TensorFlow/Keras is not installed (pip install tensorflow-cpu)",
          file=sys.stderr)
    sys.exit(77)
tf.config.threading.set_intra_op_parallelism_threads(args.threads)
tf.config.threading.set_inter_op_parallelism_threads(1)


def make_model(units, width):
    """keras.io "Image classification from scratch", with the study's dropout of 0.5."""
    def ch(n):
        return channels(n, width)
    inputs = keras.Input(shape=(args.image_size, args.image_size, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(ch(128), 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    previous_block_activation = x
    for size in (256, 512, 728):
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(ch(size), 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(ch(size), 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(ch(size), 1, strides=2, padding="same")(
            previous_block_activation)
        x = layers.add([x, residual])
        previous_block_activation = x
    x = layers.SeparableConv2D(ch(1024), 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(units, activation=None, name="dense")(x)
    return keras.Model(inputs, outputs)


def compile_model(model, units):
    loss = (keras.losses.BinaryCrossentropy(from_logits=True) if units == 1
            else keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.compile(optimizer=keras.optimizers.Adam(1e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
                  loss=loss)


def measure():
    keras.utils.set_random_seed(7)
    units = 1 if args.classes == 2 else args.classes
    model = make_model(units, args.width)
    rng = np.random.default_rng(7)
    x = tf.constant(rng.random((args.batch, args.image_size, args.image_size, 3),
                               dtype=np.float32) * 255.0)
    if units == 1:
        y = tf.constant(rng.integers(0, 2, (args.batch, 1)).astype(np.float32))
    else:
        y = tf.constant(rng.integers(0, units, (args.batch,)))
    compile_model(model, units)

    out = {"parameters": int(model.count_params())}
    t = timed(lambda: model.train_on_batch(x, y), args.warmup, args.iterations)
    out["train"] = rate(args, t)

    infer = tf.function(lambda v: model(v, training=False))
    t = timed(lambda: infer(x).numpy(), args.warmup, args.iterations)
    out["infer"] = rate(args, t)

    if not args.no_frozen:
        # "only output": every layer but the dense frozen; Keras runs frozen BN in inference
        # mode and computes no gradients for frozen weights.
        for layer in model.layers:
            layer.trainable = layer.name == "dense"
        compile_model(model, units)
        t = timed(lambda: model.train_on_batch(x, y), args.warmup, args.iterations)
        out["frozen_train"] = rate(args, t)
        add_frozen_ratio(out)
    return out


def main():
    out = measure()
    out.update(common_fields(args, f"tensorflow {tf.__version__} / keras {keras.__version__}",
                             "channels_last"))
    if args.json:
        print(json.dumps(out, indent=2))
        return
    line = (f"Keras ({out['framework']}), {args.threads} threads, {args.image_size}×"
            f"{args.image_size}, batch {args.batch}, width {args.width}, "
            f"{out['parameters']:,} parameters: train {out['train']['images_per_s']:.2f} img/s, "
            f"infer {out['infer']['images_per_s']:.2f} img/s")
    if "frozen_train" in out:
        line += f", frozen-body train {out['frozen_train']['images_per_s']:.2f} img/s"
    print(line + f"; peak RSS {out['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
