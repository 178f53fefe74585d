"""CPU throughput of the train step at 64 x 64 beside TensorFlow's float32 conv and matmul rates.

For each architecture (dcgan, srresnet, progan at its final stage with alpha = 1, stylegan2)
with its demo preset's settings (``demo-<arch>``; without one, ``demo-dcgan``'s settings with
that architecture), the one ``GAN.train_step`` runs through ``model.fit`` on a batch of
random images held in memory (no data pipeline on the critical path). The first step traces
(and with ``jit_compile`` compiles) the step: its time is reported apart ("trace"); the images
per second are those of the warm steps (their median). In the same process, TensorFlow's
float32 rates are measured: a 2048^3 matrix product and 3 x 3 and 5 x 5 convolutions of
shapes like the networks' (batch 32; 16 x 16 and 32 x 32; 32 to 128 channels).

FLOPs of a step are counted by TensorFlow's profiler (``float_operation``) on the graph of
``GAN.train_step`` traced for the measured batch, over every pass of the step (the
discriminator step, the penalty with its double backward, the generator steps): the
convolutions with their backward convolutions and the matrix products ("GFLOP/step", what
the rates are compared with), and all ops, element-wise ones too (in the json). A lazy
penalty (every k-th step) sits in a ``tf.cond`` whose branches the profiler does not see, so
the step is counted twice, with the penalty on every step and as configured, and the
penalty's share is divided by k. The achieved GFLOP/s are those FLOPs over the warm step's
time, given also as a fraction of the conv rate of the network's kernel size (the best of
the conv shapes) and of the matmul rate.

Every configuration of thread pools and of oneDNN's instruction set runs in a fresh process
(``tf.config.threading`` cannot change after TensorFlow starts; ``ONEDNN_MAX_CPU_ISA=AVX2``
makes oneDNN behave as on a CPU without AVX-512; ``--isa onednn`` turns oneDNN on as the
``keras-mrigan`` command does; ``--isa eigen`` turns oneDNN off, which is
what TensorFlow does by default on x86 Linux CPUs without AVX512_VNNI, AVX512_BF16, AVX_VNNI
or AMX, such as AMD EPYC before Zen 4). ``--kernel 3`` rebuilds the networks whose
convolutions are 5 x 5 (dcgan, progan) with 3 x 3 ones; srresnet and stylegan2 are 3 x 3.

"Where a short run's time goes": ``training.train`` of ``demo-progan`` at 16 x 16 on 96
demo slices, batch 16, one epoch (6 steps) per phase (5 phases), with a callback that
records when each fit, epoch and batch begins and ends: set-up (data, networks, run
folder), rebuilding between phases, tracing (each phase's first step less a warm step),
training proper, per-epoch sample grids and checkpoints, the final model.

Writes ``OUT/throughput.json``, ``OUT/throughput.md`` (tables) and ``OUT/throughput.png``
(images per second and share of the conv rate per configuration).

    python benchmarks/throughput.py --out throughput/ [--archs dcgan srresnet progan stylegan2]
        [--steps 10] [--batch 32] [--kernel 5 3] [--jit off on] [--data memory pipeline]
        [--threads 0:0 1:1 2:1] [--isa native onednn avx2 eigen] [--no-short-run]
        [--presets demo-dcgan-k3 demo-dcgan-thin]

``--presets`` adds rows for named presets as they are (their own kernel size and widths);
``--archs`` with no name leaves only those.

``--threads INTRA:INTER`` (0: TensorFlow's default) and ``--isa`` each add fresh processes;
``--batch``, ``--kernel``, ``--jit`` and ``--data`` are compared inside each process
(``--data pipeline``: the steps fed by the run's own input pipeline of the demo cohort
instead of one batch held in memory, to see what the pipeline costs a step).
"""

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ARCHS = ("dcgan", "srresnet", "progan", "stylegan2")
# Batch, side, input and output channels of the reference convolutions.
CONV_SHAPES = ((32, 32, 32, 32), (32, 16, 64, 64), (32, 32, 64, 64), (32, 16, 128, 128))
# The op types counted as the step's convolutions and matrix products.
KERNEL_OPS = ["Conv2D.*", "Conv3D.*", "DepthwiseConv2d.*", "MatMul", "BatchMatMul.*"]
# The architectures whose convolutions' side is a run setting (``kernel_size``).
KERNEL_ARCHS = ("dcgan", "progan")


def machine():
    """The CPU model and the vector instruction sets it has, from /proc/cpuinfo."""
    model, flags = platform.processor() or platform.machine(), set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    isa = [name for name in ("avx512f", "avx2", "fma") if name in flags]
    return {"cpu": model, "isa": isa, "cores": os.cpu_count()}


# --------------------------------------------------------------------------------------------
# The worker: one process, one thread setting and instruction set.


def best_time(fn, repeats):
    fn()  # Traced and warmed.
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def rates(repeats=5):
    """float32 FLOP/s TensorFlow reaches here: ``{"matmul": r, "conv3": [...], ...}``."""
    import tensorflow as tf

    n = 2048
    a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    result = {"matmul": 2 * n**3 / best_time(lambda: matmul().numpy(), repeats)}
    for k in (3, 5):
        shapes = []
        for batch, side, cin, cout in CONV_SHAPES:
            x = tf.random.normal((batch, side, side, cin))
            w = tf.random.normal((k, k, cin, cout))
            conv = tf.function(lambda x=x, w=w: tf.reduce_sum(tf.nn.conv2d(x, w, 1, "SAME")))
            flops = 2 * batch * side * side * cin * cout * k * k
            shapes.append({"shape": [batch, side, cin, cout],
                           "rate": flops / best_time(lambda c=conv: c().numpy(), repeats)})
        result[f"conv{k}"] = shapes
    return result


def demo_config(arch):
    """``(preset name, RunConfig)``: the demo preset of ``arch``, or ``demo-dcgan``'s settings
    with that architecture."""
    from keras_mrigan.config import PRESETS, get_preset

    name = f"demo-{arch}"
    if name in PRESETS:
        return name, get_preset(name)
    return f"demo-dcgan (arch={arch})", get_preset("demo-dcgan").replace(
        arch=arch, upsample="transpose")


def configurations(spec):
    """``(name, RunConfig, kernel sizes)`` of each architecture of ``spec["archs"]`` (its
    demo settings, rebuilt with each of ``spec["kernels"]`` where the kernel is a setting),
    then of each preset of ``spec["presets"]`` as it is."""
    from keras_mrigan.config import get_preset

    for arch in spec["archs"]:
        name, config = demo_config(arch)
        yield name, config, spec["kernels"] if arch in KERNEL_ARCHS else [None]
    for name in spec.get("presets", []):
        config = get_preset(name)
        yield name, config, [config.model.kernel_size]


def build(config):
    """The compiled GAN of ``config`` at its data resolution (a progressive one at its final
    stage, faded in)."""
    from keras_mrigan.builders import build_gan, compile_gan

    gan = compile_gan(build_gan(config, resolution=config.data.resolution), config)
    for layer in gan.fade_layers:
        layer.alpha.assign(1.0)
    return gan


def step_times(gan, batch, resolution, steps, data="memory", config=None):
    """``(first, warm)``: seconds of the first step (tracing included) and of each later one,
    through ``model.fit``, on one batch of random images held in memory (``data="memory"``)
    or on the run's own input pipeline of the demo cohort (``"pipeline"``: ``config``'s
    ``training.make_dataset`` and ``batch_epochs``, as a run feeds its steps)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_mrigan import training
    from keras_mrigan.data.pipeline import batch_epochs

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.begun = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self.begun)

    timer = Timer()
    timer.times = []
    if data == "pipeline":
        data = batch_epochs(training.make_dataset(config), batch,
                            shuffle_buffer=config.data.shuffle_buffer).repeat()
    else:
        images = np.random.default_rng(0).uniform(-1, 1, (batch, resolution, resolution, 1))
        data = tf.data.Dataset.from_tensors(images.astype(np.float32)).repeat()
    gan.fit(data, steps_per_epoch=steps + 1, epochs=1, verbose=0, callbacks=[timer],
            shuffle=False)
    return timer.times[0], timer.times[1:]


def count_flops(gan, batch, resolution):
    """``(all, conv)``: FLOPs of one ``train_step`` (TensorFlow's profiler on its traced
    graph), all ops and only convolutions and matrix products (forward and backward), a lazy
    penalty's share divided by its interval."""
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.profiler import model_analyzer, option_builder

    def flops_of_trace():
        spec = tf.TensorSpec((batch, resolution, resolution, 1), tf.float32)
        graph = tf.function(gan.train_step).get_concrete_function(spec).graph
        counts = []
        for regexes in (KERNEL_OPS, [".*"]):
            options = option_builder.ProfileOptionBuilder.float_operation()
            options["output"] = "none"
            options["account_type_regexes"] = regexes
            counts.append(model_analyzer.profile(graph, options=options).total_float_ops)
        return np.array(counts[::-1], dtype=np.float64)

    interval = gan.loss_fn.penalty_interval
    configured = flops_of_trace()
    if interval == 1:
        return tuple(configured)
    gan.loss_fn.penalty_interval = 1  # Traced with the penalty on every step.
    try:
        every_step = flops_of_trace()
    finally:
        gan.loss_fn.penalty_interval = interval
    return tuple(configured + (every_step - configured) / interval)


class PhaseClock:
    """Records the times of a training run's fits, epochs and batches (one callback)."""

    def __init__(self):
        import keras

        events = self.events = []

        class Recorder(keras.callbacks.Callback):
            def _mark(self, what):
                events.append((what, time.perf_counter()))

            def on_train_begin(self, logs=None):
                self._mark("fit_begin")

            def on_train_end(self, logs=None):
                self._mark("fit_end")

            def on_epoch_begin(self, epoch, logs=None):
                self._mark("epoch_begin")

            # Placed before SampleGrid and RunCheckpoint: their work follows this mark.
            def on_epoch_end(self, epoch, logs=None):
                self._mark("epoch_end")

            def on_train_batch_begin(self, batch, logs=None):
                self._mark("batch_begin")

            def on_train_batch_end(self, batch, logs=None):
                self._mark("batch_end")

        self.callback = Recorder()

    def breakdown(self, started, finished):
        """Seconds per part of the run between ``started`` and ``finished``."""
        import numpy as np

        events = self.events
        times = dict.fromkeys(("set-up", "rebuild between phases", "tracing (first steps)",
                               "training steps", "between steps (data, callbacks)",
                               "grids and checkpoints", "final model", "other"), 0.0)
        first_steps, warm = [], []
        fits = [i for i, (what, _) in enumerate(events) if what == "fit_begin"]
        times["set-up"] = events[fits[0]][1] - started
        for i, j in zip(fits, fits[1:] + [len(events)], strict=True):
            chunk = events[i:j]
            first = True
            for (a, ta), (b, tb) in zip(chunk, chunk[1:], strict=False):
                if (a, b) == ("batch_begin", "batch_end"):
                    (first_steps if first else warm).append(tb - ta)
                    first = False
                elif (a, b) == ("batch_end", "batch_begin"):
                    times["between steps (data, callbacks)"] += tb - ta
                elif a == "epoch_end":
                    times["grids and checkpoints"] += tb - ta
            if j < len(events):  # Until the next fit: the next phase's networks are built.
                times["rebuild between phases"] += events[j][1] - chunk[-1][1]
        warm_step = float(np.median(warm)) if warm else 0.0
        times["tracing (first steps)"] = sum(t - warm_step for t in first_steps)
        times["training steps"] = sum(warm) + warm_step * len(first_steps)
        times["final model"] = finished - events[-1][1]
        total = finished - started
        times["other"] = total - sum(times.values())
        epochs = sum(what == "epoch_begin" for what, _ in events)
        return {"total": total, "steps": len(first_steps) + len(warm), "fits": len(fits),
                "epochs": epochs,
                "warm_step": warm_step, "parts": times}


def short_run():
    """Where a short progressive run's time goes (see the module's docstring)."""
    from keras_mrigan import training
    from keras_mrigan.config import get_preset
    from keras_mrigan.data.pipeline import load_slices

    images = load_slices("demo", 16)
    images = images[:: max(1, len(images) // 96)][:96]
    config = get_preset("demo-progan").replace(resolution=16, batch_size=16, phase_epochs=1,
                                               sample_count=36)
    clock = PhaseClock()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        training.train(config, Path(folder) / "run", verbose=0, extra_callbacks=[clock.callback],
                       data={"images": images})
        finished = time.perf_counter()
    return {"setting": "demo-progan at 16 x 16, 96 slices, batch 16, 1 epoch (6 steps) per "
                       "phase", **clock.breakdown(started, finished)}


def worker(spec):
    """Measures one process's rows (``spec``: the parsed options of this process)."""
    import tensorflow as tf

    intra, inter = spec["threads"]
    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    import keras

    from keras_mrigan.models import get_architecture

    measured = rates(spec.get("rate_repeats", 5))
    applied = (tf.config.threading.get_intra_op_parallelism_threads(),
               tf.config.threading.get_inter_op_parallelism_threads())
    head = {"isa": spec["isa"], "threads": f"{intra}:{inter}", "threads_applied": applied,
            "tensorflow": tf.__version__, "keras": keras.__version__}
    print(f"[{spec['isa']}, threads {intra}:{inter}] matmul {measured['matmul'] / 1e9:.1f} "
          f"GFLOP/s, conv3 {max(s['rate'] for s in measured['conv3']) / 1e9:.1f}, conv5 "
          f"{max(s['rate'] for s in measured['conv5']) / 1e9:.1f}", flush=True)
    rows = []
    for preset, base, kernels in configurations(spec):
        arch = base.model.arch
        for kernel in kernels:
            for jit in spec["jit"]:
                for batch, data in [(b, d) for b in spec["batches"] for d in spec["data"]]:
                    config = base.replace(batch_size=batch, jit_compile=jit == "on",
                                          resolution=64, kernel_size=kernel)
                    k = kernel or getattr(get_architecture(arch), "KERNEL_SIZE", 3)
                    keras.utils.clear_session()
                    gan = build(config)
                    first, warm = step_times(gan, batch, 64, spec["steps"], data, config)
                    all_flops, flops = count_flops(gan, batch, 64)
                    step = sorted(warm)[len(warm) // 2]
                    conv = max(s["rate"] for s in measured[f"conv{5 if k == 5 else 3}"])
                    row = {"arch": arch, "preset": preset, "kernel": k, "jit": jit,
                           "batch": batch, "data": data, "images_per_s": batch / step,
                           "step_s": step,
                           "trace_s": first - step, "gflop_per_step": flops / 1e9,
                           "gflop_per_step_all_ops": all_flops / 1e9,
                           "gflop_per_s": flops / step / 1e9, "of_conv": flops / step / conv,
                           "of_matmul": flops / step / measured["matmul"]}
                    rows.append(row)
                    print(f"  {arch} k{k} jit {jit} batch {batch} {data}: "
                          f"{row['images_per_s']:.1f} img/s, trace {row['trace_s']:.1f} s, "
                          f"{row['gflop_per_s']:.1f} GFLOP/s = {row['of_conv']:.0%} of conv",
                          flush=True)
    result = {**head, "rates": measured, "rows": rows}
    if spec["short_run"]:
        result["short_run"] = short_run()
        parts = result["short_run"]["parts"]
        print("  short run: " + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()),
              flush=True)
    return result


# --------------------------------------------------------------------------------------------
# The driver: a fresh process per configuration, then the tables and the chart.


# The environment of each ``--isa`` setting: TensorFlow as it starts on this CPU (oneDNN on
# or off by its own policy), oneDNN on (what the ``keras-mrigan`` command asks for), oneDNN on
# and limited to AVX2, and oneDNN off (TensorFlow's own Eigen kernels, what TensorFlow runs by
# default on x86 Linux CPUs without AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX).
ISA_ENV = {"native": {}, "onednn": {"TF_ENABLE_ONEDNN_OPTS": "1"},
           "avx2": {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"},
           "eigen": {"TF_ENABLE_ONEDNN_OPTS": "0"}}


def run_worker(spec):
    """``worker(spec)`` in a fresh Python process, with the environment of its ``isa``."""
    env = {**os.environ, **ISA_ENV[spec["isa"]]}
    with tempfile.TemporaryDirectory() as folder:
        spec_path, result_path = Path(folder) / "spec.json", Path(folder) / "result.json"
        spec_path.write_text(json.dumps(spec))
        subprocess.run([sys.executable, __file__, "--worker", str(spec_path), str(result_path)],
                       env=env, check=True)
        return json.loads(result_path.read_text())


def tables(record):
    host = record["machine"]
    lines = [f"Machine: {host['cpu']} ({', '.join(host['isa'])}), {host['cores']} cores; "
             f"{record['date']}.", ""]
    lines += ["| ISA | threads | matmul GFLOP/s | conv 3x3 GFLOP/s | conv 5x5 GFLOP/s |",
              "| --- | --- | ---: | ---: | ---: |"]
    for result in record["results"]:
        r = result["rates"]
        lines.append(f"| {result['isa']} | {result['threads']} | {r['matmul'] / 1e9:.1f} | "
                     + " | ".join("/".join(f"{s['rate'] / 1e9:.0f}" for s in r[f"conv{k}"])
                                  for k in (3, 5)) + " |")
    shapes = ", ".join(f"{s}x{s}x{ci}->{co} (batch {b})"
                       for b, s, ci, co in CONV_SHAPES)
    lines += ["", f"Conv shapes: {shapes}.", ""]
    lines += ["| arch (settings) | ISA | threads | kernel | XLA | batch | data | img/s | trace s | "
              "GFLOP/step | GFLOP/s | of conv | of matmul |",
              "| --- | --- | --- | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: "
              "| ---: |"]
    for result in record["results"]:
        for row in result["rows"]:
            lines.append(
                f"| {row['preset']} | {result['isa']} | {result['threads']} | {row['kernel']} | "
                f"{row['jit']} | {row['batch']} | {row['data']} | {row['images_per_s']:.1f} | "
                f"{row['trace_s']:.1f} | {row['gflop_per_step']:.2f} | "
                f"{row['gflop_per_s']:.1f} | {row['of_conv']:.0%} | {row['of_matmul']:.0%} |")
    for result in record["results"]:
        short = result.get("short_run")
        if not short:
            continue
        lines += ["", f"Where a short run's time goes ({result['isa']}, threads "
                      f"{result['threads']}): {short['setting']}; {short['fits']} fits "
                      f"(one per resolution), {short['epochs']} epochs, {short['steps']} "
                      f"steps, warm step {short['warm_step']:.3f} s.", "",
                  "| part | seconds | share |", "| --- | ---: | ---: |"]
        for part, seconds in short["parts"].items():
            lines.append(f"| {part} | {seconds:.1f} | {seconds / short['total']:.0%} |")
        lines.append(f"| total | {short['total']:.1f} | 100% |")
    return "\n".join(lines) + "\n"


def plot(record, path):
    from keras_mrigan.plotting import new_figure, save_figure

    labels, speeds, shares = [], [], []
    for result in record["results"]:
        for row in result["rows"]:
            labels.append(f"{row['arch']} k{row['kernel']} b{row['batch']}"
                          f"{' xla' if row['jit'] == 'on' else ''}"
                          f"{' pipeline' if row['data'] == 'pipeline' else ''} "
                          f"[{result['isa']} {result['threads']}]")
            speeds.append(row["images_per_s"])
            shares.append(100 * row["of_conv"])
    figure = new_figure(figsize=(10, 0.35 * len(labels) + 1.5), layout="tight")
    left, right = figure.subplots(1, 2, sharey=True)
    positions = range(len(labels))
    left.barh(positions, speeds, color="C0")
    left.set_yticks(list(positions), labels, fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("images per second (warm train step)")
    right.barh(positions, shares, color="C1")
    right.axvline(50, color="gray", linestyle=":")
    right.set_xlabel("achieved GFLOP/s, % of the conv rate")
    for axis in (left, right):
        axis.grid(axis="x", alpha=0.3)
    save_figure(figure, path, dpi=110)


def parse_threads(text):
    intra, sep, inter = text.partition(":")
    if not sep or not (intra.isdigit() and inter.isdigit()):
        raise argparse.ArgumentTypeError(f"--threads takes INTRA:INTER. Received: {text!r}")
    return [int(intra), int(inter)]


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        result = worker(json.loads(Path(sys.argv[2]).read_text()))
        Path(sys.argv[3]).write_text(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--archs", nargs="*", default=list(ARCHS), choices=ARCHS)
    parser.add_argument("--presets", nargs="+", default=[], metavar="PRESET",
                        help="presets measured as they are (their kernel size), after the "
                        "architectures: e.g. demo-dcgan-k3 demo-dcgan-thin")
    parser.add_argument("--steps", type=int, default=10, help="warm steps timed")
    parser.add_argument("--batch", type=int, nargs="+", default=[32])
    parser.add_argument("--kernel", type=int, nargs="+", default=[5], choices=[3, 5],
                        help="kernel sizes of dcgan and progan")
    parser.add_argument("--jit", nargs="+", default=["off"], choices=["off", "on"])
    parser.add_argument("--data", nargs="+", default=["memory"], choices=["memory", "pipeline"],
                        help="feed the steps one batch held in memory, or the run's own input "
                        "pipeline of the demo cohort")
    parser.add_argument("--threads", nargs="+", type=parse_threads, default=[[0, 0]],
                        metavar="INTRA:INTER", help="thread pools, 0: TensorFlow's default")
    parser.add_argument("--isa", nargs="+", default=["native", "avx2"], choices=list(ISA_ENV),
                        help="TensorFlow as it starts on this CPU (native), oneDNN on, oneDNN on "
                        "and limited to AVX2, or oneDNN off (eigen)")
    parser.add_argument("--no-short-run", dest="short_run", action="store_false",
                        help="skip the short progressive run's time breakdown")
    args = parser.parse_args()
    from keras_mrigan.config import PRESETS
    from keras_mrigan.utils import atomic_path

    unknown = sorted(set(args.presets) - set(PRESETS))
    if unknown:
        parser.error(f"unknown --presets {unknown}; valid presets: {sorted(PRESETS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    host = machine()
    print(f"machine: {host['cpu']} ({', '.join(host['isa'])}), {host['cores']} cores",
          flush=True)
    record = {"machine": host, "date": time.strftime("%Y-%m-%d"), "options": vars(args),
              "results": []}
    for isa in args.isa:
        for i, threads in enumerate(args.threads):
            spec = {"isa": isa, "threads": threads, "archs": args.archs,
                    "presets": args.presets, "steps": args.steps,
                    "batches": args.batch, "kernels": args.kernel, "jit": args.jit,
                    "data": args.data,
                    "short_run": args.short_run and i == 0}
            record["results"].append(run_worker(spec))
            with atomic_path(out / "throughput.json") as tmp:
                tmp.write_text(json.dumps(record, indent=1))
    text = tables(record)
    with atomic_path(out / "throughput.md") as tmp:
        tmp.write_text(text)
    plot(record, out / "throughput.png")
    print(text)


if __name__ == "__main__":
    main()
