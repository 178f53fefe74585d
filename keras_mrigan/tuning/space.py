"""Search spaces: which run settings a search tries, as ranges, choices or fixed values,
checked before any trial runs.

Every value of a space is checked by ``config.validate``, the check of the ``RunConfig``
field it sets: a value a search refuses is one a config or the command line refuses too,
with the same message.
"""

import dataclasses
import json
from pathlib import Path

from keras_mrigan import config as run_config
from keras_mrigan.losses import GRADIENT_PENALTIES, LOSSES

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


# The settings a search may vary: those of the networks and their training, not the data,
# the schedule or where the run goes, as the RunConfig fields declare (``tunable``). Their
# checks are the fields' too.
TUNABLE = run_config.tunable_settings()


def _kind(name):
    """The one Python type of a tunable setting's values."""
    return next(kind for kind in run_config.kinds(name) if kind is not type(None))


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
    "latent_distribution": list(run_config.LATENT_DISTRIBUTIONS),
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
        if name not in TUNABLE:
            raise ValueError(f"Cannot tune {name!r}: tunable settings are {list(TUNABLE)}")
        kind = _kind(name)

        def check_value(value, name=name):
            return run_config.validate(name, value)

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
        if _kind(name) is int:
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

