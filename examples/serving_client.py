"""Ask a TF Serving server for generated MRI slices, over gRPC.

Start the server on an exported model first (see the README, "Serving with TF Serving"):

    docker run -p 8500:8500 -p 8501:8501 \\
        -v "$PWD/saved_models/mrigan:/models/mrigan" -e MODEL_NAME=mrigan tensorflow/serving

then:

    python examples/serving_client.py --server localhost:8500 --model mrigan --seeds 0 1 2 3

Needs ``pip install tensorflow-serving-api`` (the ``serving`` extra), not keras_mrigan.
"""

import argparse
import os

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2


def _request(model_name, signature, name, array):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature
    request.inputs[name].CopyFrom(tf.make_tensor_proto(array))
    return request


def seed_request(model_name, seeds):
    """A ``PredictRequest`` for the ``generate_from_seed`` signature (int64 seeds)."""
    return _request(model_name, "generate_from_seed", "seed", np.asarray(seeds, np.int64))


def latent_request(model_name, latents):
    """A ``PredictRequest`` for the ``serving_default`` signature (float32 latents)."""
    return _request(model_name, "serving_default", "latent", np.asarray(latents, np.float32))


def parse_response(response):
    """The images of a ``PredictResponse``: ``(images in [-1, 1], uint8 images, masks)``,
    images ``(batch, H, W, 1)``; ``masks`` are the class indices ``(batch, H, W)`` of a model
    of image + mask pairs, else ``None``."""
    outputs = response.outputs
    if "mask" in outputs:  # A generator of image + mask pairs.
        images = tf.make_ndarray(outputs["image"])
        as_uint8 = np.round((images + 1.0) * 127.5).astype(np.uint8)
        return images, as_uint8, tf.make_ndarray(outputs["mask"])
    return tf.make_ndarray(outputs["images"]), tf.make_ndarray(outputs["images_uint8"]), None


def main():
    import grpc
    from PIL import Image
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="localhost:8500")
    parser.add_argument("--model", default="mrigan")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--out", default="served")
    args = parser.parse_args()

    stub = prediction_service_pb2_grpc.PredictionServiceStub(
        grpc.insecure_channel(args.server))
    response = stub.Predict(seed_request(args.model, args.seeds), timeout=30.0)
    _, as_uint8, masks = parse_response(response)
    os.makedirs(args.out, exist_ok=True)
    for i, (seed, image) in enumerate(zip(args.seeds, as_uint8, strict=True)):
        Image.fromarray(image[..., 0], mode="L").save(f"{args.out}/seed_{seed}.png")
        if masks is not None:  # Class indices; the run's metadata.json maps them to values.
            Image.fromarray(masks[i].astype(np.uint8), mode="L").save(
                f"{args.out}/seed_{seed}_mask.png")
    print(f"Wrote {len(args.seeds)} images to {args.out}/")


if __name__ == "__main__":
    main()
