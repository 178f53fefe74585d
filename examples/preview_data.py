"""Look at training data the way the GAN will see it.

    python examples/preview_data.py [PATH|demo] [RESOLUTION]
"""

import sys

from keras_mrigan.data.pipeline import build_dataset, preview


def main(source="demo", resolution=64):
    summary = preview(source, resolution, "preview.png", n=36)
    print(summary)
    dataset = build_dataset(source, resolution, batch_size=16, seed=0)
    batch = next(iter(dataset))
    print(f"one training batch: {tuple(batch.shape)}, values in "
          f"[{float(batch.numpy().min()):.2f}, {float(batch.numpy().max()):.2f}]")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo",
         int(sys.argv[2]) if len(sys.argv) > 2 else 64)
