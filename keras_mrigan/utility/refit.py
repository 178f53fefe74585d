"""Training a compiled model again from a new seed's initial state, which spares Keras the
tracing of a new training step (seconds per ``fit`` on a CPU, many times in a study)."""

import keras


def restart_from(model, fresh):
    """Puts ``model`` (compiled, trained before) into the state ``fresh`` (the same
    architecture, just built) starts from: every layer's variables, weights and random-seed
    states alike (a dropout layer's draws), and a zeroed optimizer state (moments and step
    count; the learning rate is kept). Training ``model`` then gives what compiling and
    training ``fresh`` would, with the training step Keras traced before.

    Raises:
        ValueError: the two models do not have the same inputs, outputs and layers.
    """
    if model.input_shape != fresh.input_shape or model.output_shape != fresh.output_shape:
        raise ValueError(f"`model` maps {model.input_shape} to {model.output_shape}, these "
                         f"slices need {fresh.input_shape} to {fresh.output_shape}.")
    pairs = list(zip(model.layers, fresh.layers, strict=True))
    for old, new in pairs:
        if len(old.variables) != len(new.variables):
            raise ValueError(f"Layer {old.name!r} holds {len(old.variables)} variables, the "
                             f"new model's {new.name!r} holds {len(new.variables)}.")
    for old, new in pairs:
        for target, source in zip(old.variables, new.variables, strict=True):
            target.assign(source)
    for variable in model.optimizer.variables:  # Moments and step count.
        if "learning_rate" not in variable.path:
            variable.assign(keras.ops.zeros_like(variable))
