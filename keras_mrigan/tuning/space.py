"""Search spaces: which run settings a search tries, as ranges, choices or fixed values,
checked before any trial runs."""

import dataclasses
import json
from pathlib import Path

from keras_mrigan.losses import GRADIENT_PENALTIES, LOSSES
from keras_mrigan.models import ARCHITECTURES
from keras_mrigan.models.dcgan import UPSAMPLING
from keras_mrigan.models.gan import LATENT_DISTRIBUTIONS

TARGET_LOSSES = sorted(name for name, cls in LOSSES.items() if cls.smoothing)
PENALTY_LOSSES = sorted(name for name, cls in LOSSES.items()
                         if cls.penalty in GRADIENT_PENALTIES)


@dataclasses.dataclass(frozen=True)
class Range:
    """A numeric interval to search: ``[low, high]``, sampled linearly or on a log scale,
    optionally on a grid of ``step``."""

    low: float
    high: float
    log: bool = False
    step: float | None = None


# What each tunable setting may be: (type, check, description of valid values).
_TUNABLE = {
    "arch": (str, lambda v: v in ARCHITECTURES, f"one of {sorted(ARCHITECTURES)}"),
    "loss": (str, lambda v: v in LOSSES, f"one of {sorted(LOSSES)}"),
    "g_learning_rate": (float, lambda v: v > 0, "> 0"),
    "d_learning_rate": (float, lambda v: v > 0, "> 0"),
    "beta_1": (float, lambda v: 0 <= v < 1, "in [0, 1)"),
    "g_steps": (int, lambda v: v >= 1, ">= 1"),
    "d_steps": (int, lambda v: v >= 1, ">= 1"),
    "real_label": (float, lambda v: 0 < v <= 1, "in (0, 1]"),
    "penalty_weight": (float, lambda v: v >= 0, ">= 0"),
    "latent_distribution": (str, lambda v: v in LATENT_DISTRIBUTIONS,
                            f"one of {list(LATENT_DISTRIBUTIONS)}"),
    "minibatch_stddev": (bool, lambda v: True, "True or False"),
    "width": (float, lambda v: v > 0, "> 0"),
    "batch_size": (int, lambda v: v >= 1, ">= 1"),
    "ema_half_life_images": (float, lambda v: v >= 0, ">= 0 (0: no average)"),
    "upsample": (str, lambda v: v in UPSAMPLING, f"one of {list(UPSAMPLING)}"),
}
TUNABLE = tuple(_TUNABLE)

# Searched unless the space says otherwise; architecture, width and batch size stay at the
# base config's values (they change the model's cost more than its training dynamics).
DEFAULT_SPACE = {
    "loss": sorted(LOSSES),
    "g_learning_rate": Range(1e-5, 1e-3, log=True),
    "d_learning_rate": Range(1e-5, 1e-3, log=True),
    "beta_1": Range(0.0, 0.9),
    "g_steps": Range(1, 3),
    "d_steps": Range(1, 2),
    "real_label": [1.0, 0.9],
    "penalty_weight": Range(1.0, 100.0, log=True),
    "latent_distribution": list(LATENT_DISTRIBUTIONS),
    "minibatch_stddev": [True, False],
}


def check_space(space):
    """Validates a search space and returns it normalized (JSON ranges become ``Range``s).

    Raises:
        ValueError: naming the setting and what was expected, for an unknown setting, an
            empty or repeated choice list, a value of the wrong type or out of bounds, or a
            range whose low end is above its high end.
    """
    checked = {}
    for name, spec in space.items():
        if name not in _TUNABLE:
            raise ValueError(f"Cannot tune {name!r}: tunable settings are {list(TUNABLE)}")
        kind, valid, expected = _TUNABLE[name]

        def check_value(value, name=name, kind=kind, valid=valid, expected=expected):
            ok_type = (isinstance(value, bool) if kind is bool else
                       isinstance(value, kind) and not isinstance(value, bool) if kind is not float
                       else isinstance(value, (int, float)) and not isinstance(value, bool))
            if not ok_type or not valid(value):
                raise ValueError(f"Search space {name!r}: invalid value {value!r}; expected "
                                 f"{kind.__name__} {expected}")
            return float(value) if kind is float else value

        if isinstance(spec, dict):  # The JSON form of a Range.
            unknown = set(spec) - {"min", "max", "log", "step"}
            if unknown or not {"min", "max"} <= set(spec):
                raise ValueError(f"Search space {name!r}: a range is {{\"min\": ..., \"max\": "
                                 f"..., \"log\": false, \"step\": null}}. Received: {spec}")
            spec = Range(spec["min"], spec["max"], spec.get("log", False), spec.get("step"))
        if isinstance(spec, (list, tuple)):
            if not spec:
                raise ValueError(f"Search space {name!r}: the choice list is empty")
            values = [check_value(v) for v in spec]
            if len(set(values)) != len(values):
                raise ValueError(f"Search space {name!r}: repeated values in {list(spec)}")
            checked[name] = values
        elif isinstance(spec, Range):
            if kind not in (int, float):
                raise ValueError(f"Search space {name!r}: a Range needs a numeric setting; "
                                 f"give a list of values instead")
            low, high = check_value(spec.low), check_value(spec.high)
            if low > high:
                raise ValueError(f"Search space {name!r}: min > max ({spec.low} > {spec.high})")
            if spec.log and low <= 0:
                raise ValueError(f"Search space {name!r}: a log range needs min > 0 "
                                 f"(received {spec.low})")
            if spec.step is not None and spec.step <= 0:
                raise ValueError(f"Search space {name!r}: step must be > 0 "
                                 f"(received {spec.step})")
            checked[name] = Range(low, high, bool(spec.log), spec.step)
        else:
            checked[name] = check_value(spec)
    return checked


def load_space(path):
    """A search space from a JSON file (lists, ``{"min", "max", "log", "step"}`` ranges and
    single values), validated."""
    try:
        space = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON search space ({exc})") from exc
    if not isinstance(space, dict):
        raise ValueError(f"{path}: a search space is a JSON object of settings")
    return check_space(space)


def declare(hp, name, spec, default):
    """Declares one hyperparameter of the space on ``hp`` and returns its value."""
    if isinstance(spec, Range):
        if _TUNABLE[name][0] is int:
            default = default if spec.low <= default <= spec.high else spec.low
            return hp.Int(name, spec.low, spec.high, step=spec.step or 1, default=default,
                          sampling="log" if spec.log else "linear")
        default = default if spec.low <= default <= spec.high else spec.low
        return hp.Float(name, spec.low, spec.high, step=spec.step, default=default,
                        sampling="log" if spec.log else "linear")
    if isinstance(spec, list):
        if sorted(spec) == [False, True]:
            return hp.Boolean(name, default=bool(default))
        return hp.Choice(name, spec, default=default if default in spec else spec[0])
    return hp.Fixed(name, spec)

