import json

import keras
import pytest

from keras_mrigan import training
from keras_mrigan.builders import (
    native_bfloat16,
    onednn_advice,
    onednn_enabled,
    resolve_precision,
)
from keras_mrigan.config import RunConfig

SAPPHIRE_RAPIDS = ["fpu", "avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"]
ZEN4 = ["fpu", "avx2", "avx512f", "avx512_bf16", "avx512_vnni"]
ZEN2 = ["fpu", "avx", "avx2", "fma"]


@pytest.mark.parametrize("flags, isa, native", [
    (ZEN4, "", True),
    (SAPPHIRE_RAPIDS, "", True),
    (ZEN2, "", False),  # AVX2 only: bfloat16 is emulated.
    (ZEN4, "AVX2", False),  # oneDNN held to AVX2, as on the slower machines.
    (ZEN4, "avx512_core", False),  # AVX-512 without its BF16 instructions.
    (ZEN4, "AVX512_CORE_BF16", True),
    (SAPPHIRE_RAPIDS, "ALL", True),
    (SAPPHIRE_RAPIDS, "avx512_core_amx", True),
])
def test_native_bfloat16_needs_the_instructions_and_onednn_allowed_to_use_them(flags, isa,
                                                                                 native):
    assert native_bfloat16(cpu_flags=flags, max_isa=isa) is native


def test_named_precisions_resolve_to_themselves():
    for name in ("float32", "mixed_float16", "mixed_bfloat16"):
        assert resolve_precision(name) == name
    assert resolve_precision("auto") in ("float32", "mixed_bfloat16")


def test_an_auto_precision_run_computes_in_what_the_machine_supports(tiny_config, tmp_path):
    gan = training.train(tiny_config.replace(precision="auto", epochs=1), tmp_path / "run",
                         verbose=0)
    expected = "bfloat16" if resolve_precision("auto") == "mixed_bfloat16" else "float32"
    assert gan.generator.compute_dtype == expected
    assert all(w.dtype == "float32" for w in gan.generator.weights)
    assert keras.config.dtype_policy().name == "float32"  # The global policy is restored.
    # The run keeps "auto", so that it resumes as its new machine allows.
    saved = RunConfig.load(tmp_path / "run" / "config.json")
    assert saved.schedule.precision == "auto"
    assert json.loads((tmp_path / "run" / "state.json").read_text())["epoch"] == 1
    with pytest.raises(ValueError, match="precision"):
        RunConfig().replace(precision="bfloat16")


def test_the_suite_runs_tensorflow_with_onednn_as_the_command_does():
    assert onednn_enabled() is True  # conftest sets TF_ENABLE_ONEDNN_OPTS=1, like the command.


@pytest.mark.parametrize("enabled, environ, machine, advised", [
    (False, {}, "x86_64", True),  # TensorFlow's default on a CPU without VNNI, BF16 or AMX.
    (False, {"TF_ENABLE_ONEDNN_OPTS": "0"}, "x86_64", False),  # The user's choice.
    (True, {}, "x86_64", False),
    (None, {}, "x86_64", False),  # Cannot tell.
    (False, {}, "aarch64", False),
])
def test_onednn_advice_only_where_tensorflow_turned_it_off_by_default(enabled, environ, machine,
                                                                      advised):
    advice = onednn_advice(enabled, environ, machine)
    assert (advice is not None) is advised
    if advised:
        assert "TF_ENABLE_ONEDNN_OPTS=1" in advice
