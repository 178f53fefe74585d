"""A peer to beat: torch-mimicry's SNGAN (or SSGAN) beside our preset, the same minutes on the
same machine, scored by the same ``keras-mrigan evaluate``.

The demo cohort's 64 x 64 training slices (``keras_mrigan.data.pipeline.load_slices``) are
written as PNG files, ``OUT/slices/``. The peer, installed from PyPI in a virtual environment
of its own (``benchmarks/peers/requirements.txt``; ``--setup`` creates it), trains on them in
a subprocess (``benchmarks/peers/mimicry_train.py``) for ``--minutes`` of wall-clock time and
writes ``--n`` samples as PNG files every ``--every`` training minutes and at the end. Our
preset trains as a user would, ``keras-mrigan train --preset NAME --minutes K`` and then
``keras-mrigan train --resume RUN --minutes K`` for each further ``--every`` minutes (each
continuation traces its step again within its own budget). After each piece, both are
scored with ``keras-mrigan evaluate --reference demo --n N`` (the reference statistics
fitted once, ``OUT/reference_stats.npz``); a curve's point is the mean SWD over the
real-vs-real floor against the training minutes.

Both clocks count reading the data and building the networks, and neither counts writing
the samples to score or scoring them; ours also counts its per-epoch sample grids and
checkpoints, which are part of a run.

Writes ``OUT/peers.json``, ``OUT/peers.md`` (the table), ``OUT/peers.png`` (SWD / floor
against minutes, both curves), ``OUT/peers_grids.png`` (real slices, ours and the peer's
samples at 10 and 45 minutes), and the runs ``OUT/peer/`` and ``OUT/ours/``. A side skipped
(``--skip-peer``, ``--skip-ours``) keeps its curve from an earlier ``OUT/peers.json``, so the two
can be run one after the other, each alone on the machine.

    python benchmarks/peers.py --out peers/ --minutes 45 --every 5 [--n 1000]
        [--preset demo-dcgan-budget] [--peer sngan|ssgan] [--peer-width 0.125]
        [--peer-args "--n-dis 5 --batch-size 64"] [--epochs E] [--setup]
        [--venv /work/peers_venv] [--skip-peer] [--skip-ours]
"""

import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import CLI, evaluate_demo

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
PEER_SCRIPT = HERE / "peers" / "mimicry_train.py"
REQUIREMENTS = HERE / "peers" / "requirements.txt"
DEFAULT_VENV = Path("/work/peers_venv")


def say(text):
    print(text, flush=True)


def setup_venv(venv):
    """Creates the peers' virtual environment and installs their requirements."""
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-r",
                    str(REQUIREMENTS)], check=True)


def write_slices(folder, resolution=64):
    """The demo cohort's training slices as 8-bit PNG files (``sub-XXX_slice_YYY.png``); kept
    when the folder already holds as many."""
    from PIL import Image

    from keras_mrigan.data.pipeline import load_slices
    from keras_mrigan.plotting import to_uint8

    images, subjects = load_slices("demo", resolution, return_subjects=True)
    names, counts = [], {}
    for subject in subjects:
        stem = Path(str(subject)).name.split(".")[0]
        names.append(f"{stem}_slice_{counts.setdefault(stem, 0):03d}.png")
        counts[stem] += 1
    if folder.exists() and len(list(folder.glob("*.png"))) == len(images):
        return len(images)
    staging = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, image in zip(names, to_uint8(images[..., 0]), strict=True):
        Image.fromarray(image).save(staging / name)
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return len(images)


def evaluate(generated, n, out, stats):
    """``keras-mrigan evaluate`` of ``generated``: ``(mean SWD, floor, metrics)``."""
    metrics = evaluate_demo(generated, out, n, stats)
    return metrics["swd"]["mean"], metrics["reference"]["swd"]["mean"], metrics


def point(minutes, images, swd, floor, metrics):
    return {"minutes": minutes, "images": images, "swd": swd, "floor": floor,
            "swd_over_floor": swd / floor, "sigma_per_image": metrics.get("sigma_per_image"),
            "rho": metrics.get("rho"), "delta": metrics.get("delta")}


def run_peer(args, out, slices, stats):
    peer_dir = out / "peer"
    shutil.rmtree(peer_dir, ignore_errors=True)
    command = [str(args.venv / "bin" / "python"), str(PEER_SCRIPT), "--data", str(slices),
               "--out", str(peer_dir), "--minutes", str(args.minutes), "--every",
               str(args.every), "--n", str(args.n), "--model", args.peer, "--width",
               str(args.peer_width), *shlex.split(args.peer_args)]
    say("peer: " + " ".join(command))
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started
    progress = json.loads((peer_dir / "progress.json").read_text())
    points = []
    for entry in progress["progress"]:
        report = Path(entry["samples"]).with_name(Path(entry["samples"]).name + "_report")
        swd, floor, metrics = evaluate(entry["samples"], args.n, report, stats)
        points.append(point(entry["minutes"], entry["images"], swd, floor, metrics))
        say(f"  peer {entry['minutes']:.1f} min: SWD {swd:.2f} = {swd / floor:.2f}x floor")
    return {"name": f"torch-mimicry {args.peer} (width {progress['width']})",
            "settings": progress["settings"], "parameters": progress["parameters"],
            "wall_seconds": wall, "points": points}


def run_ours(args, out, stats):
    run = out / "ours"
    points, done, wall = [], 0.0, 0.0
    while done < args.minutes - 1e-9:
        chunk = min(args.every or args.minutes, args.minutes - done)
        if done == 0:
            command = [*CLI, "train", "--preset", args.preset, "--out", str(run),
                       "--overwrite", "--minutes", f"{chunk:g}", "--epochs", str(args.epochs)]
        else:
            command = [*CLI, "train", "--resume", str(run), "--minutes", f"{chunk:g}"]
        say("ours: " + " ".join(command))
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        wall += time.perf_counter() - started
        done += chunk
        images = json.loads((run / "state.json").read_text()).get("images")
        swd, floor, metrics = evaluate(run, args.n, out / f"ours_report_{done:05.1f}", stats)
        # 36 samples for the picture, as the peer writes its own (outside both clocks).
        subprocess.run([*CLI, "generate", "--model", str(run), "--n", str(GRID), "--out",
                        str(out / "ours_samples" / f"min_{done:05.1f}")], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The budget's minutes; the commands' wall time (start-up included) beside them.
        points.append({**point(done, images, swd, floor, metrics), "wall_seconds": wall})
        say(f"  ours {done:.1f} min ({images} images): SWD {swd:.2f} = {swd / floor:.2f}x floor")
        if json.loads((run / "state.json").read_text()).get("epoch", 0) >= args.epochs:
            break  # Its epochs ended it before its budget.
    return {"name": f"keras-mrigan {args.preset}", "wall_seconds": wall, "points": points}


def plot(record, path):
    from keras_mrigan.plotting import new_figure, save_figure

    figure = new_figure(figsize=(7, 4.5), layout="tight")
    axis = figure.add_subplot()
    for i, run in enumerate(record["runs"].values()):
        axis.plot([p["minutes"] for p in run["points"]],
                  [p["swd_over_floor"] for p in run["points"]], marker="o", color=f"C{i}",
                  label=run["name"])
    axis.axhline(1.0, color="gray", linestyle=":", label="real vs real")
    axis.set_xlabel(f"training minutes ({record['machine']})")
    axis.set_ylabel("mean SWD / real-vs-real floor")
    axis.set_yscale("log")
    axis.legend()
    axis.grid(alpha=0.3)
    save_figure(figure, path, dpi=110)


GRID = 36  # Images per panel of the picture.


def picture(record, out, minutes):
    """``OUT/peers_grids.png``: real slices, then ours and the peer's samples at each of
    ``minutes`` (the curve points nearest them), 36 a panel."""
    from keras_mrigan.plotting import image_grid, save_panels

    def pngs(folder):
        files = sorted(Path(folder).glob("*.png"))[:GRID]
        return read_pngs(files) if len(files) == GRID else None

    real = sorted((out / "slices").glob("*.png"))
    picks = np.random.default_rng(0).choice(len(real), GRID, replace=False)
    panels = [("real", image_grid(read_pngs([real[i] for i in sorted(picks)])))]
    for wanted in minutes:
        for name, folder in (("ours", out / "ours_samples"), ("peer", out / "peer" / "samples")):
            run = record["runs"].get(name)
            if run is None:
                continue
            nearest = min(run["points"], key=lambda p: abs(p["minutes"] - wanted))
            images = pngs(folder / f"min_{nearest['minutes']:05.1f}")
            if images is not None:
                panels.append((f"{run['name']}\n{nearest['minutes']:.0f} min, "
                               f"{nearest['swd_over_floor']:.2f}x floor", image_grid(images)))
    save_panels(panels, out / "peers_grids.png", size=(3.3, 3.9), fontsize=9)


def read_pngs(files):
    """8-bit PNG files as float32 images in [-1, 1]."""
    from PIL import Image

    return np.stack([np.asarray(Image.open(f).convert("L"), np.float32) / 127.5 - 1
                     for f in files])


def table(record):
    lines = [f"Machine: {record['machine']}; {record['date']}; n = {record['n']} samples.", "",
             "| model | minutes | images seen | SWD | SWD / floor | σ/n | ρ | δ |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in record["runs"].values():
        for p in run["points"]:
            extra = " | ".join("-" if p[k] is None else f"{p[k]:.3g}"
                               for k in ("sigma_per_image", "rho", "delta"))
            lines.append(f"| {run['name']} | {p['minutes']:.1f} | {p['images'] or '-'} | "
                         f"{p['swd']:.2f} | {p['swd_over_floor']:.2f} | {extra} |")
    return "\n".join(lines) + "\n"


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.partition(':')[2].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{os.cpu_count()} cores"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--minutes", type=float, required=True, help="training minutes each")
    parser.add_argument("--every", type=float, default=0.0,
                        help="a curve point every this many minutes (0: at the end only)")
    parser.add_argument("--n", type=int, default=1000, help="samples scored per point")
    parser.add_argument("--preset", default="demo-dcgan-budget",
                        help="our preset (default: the one `keras-mrigan demo` runs)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="our run's epochs, an upper bound beside the minutes (default: "
                        "10 a minute, more than this machine trains)")
    parser.add_argument("--peer", choices=["sngan", "ssgan"], default="sngan")
    parser.add_argument("--peer-width", type=float, default=0.125,
                        help="the peer's ngf = ndf = 1024 x this (the library's default: 1)")
    parser.add_argument("--peer-args", default="",
                        help="more options of peers/mimicry_train.py, e.g. '--n-dis 5'")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--setup", action="store_true",
                        help="create the peers' virtual environment and install it first")
    parser.add_argument("--picture-minutes", type=float, nargs="+", default=[10.0, 45.0],
                        help="the curve points shown in OUT/peers_grids.png")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--skip-ours", action="store_true")
    args = parser.parse_args()
    if args.every < 0 or args.minutes <= 0:
        raise SystemExit(f"--minutes must be > 0 and --every >= 0. Received: "
                         f"minutes={args.minutes}, every={args.every}")
    if args.epochs is None:
        args.epochs = math.ceil(10 * args.minutes) + 1
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    record = {"machine": cpu_name(), "date": time.strftime("%Y-%m-%d"), "n": args.n,
              "minutes": args.minutes, "every": args.every, "runs": {}}
    if (out / "peers.json").exists():  # A run skipped now keeps its earlier curve.
        earlier = json.loads((out / "peers.json").read_text())
        record["runs"] = {name: {"date": earlier["date"], **run}
                          for name, run in earlier["runs"].items()}
    say(f"machine: {record['machine']}")
    if args.setup:
        setup_venv(args.venv)
    from keras_mrigan.utils import atomic_path

    slices = out / "slices"
    say(f"{write_slices(slices)} demo slices in {slices}")
    stats = out / "reference_stats.npz"

    def save():
        with atomic_path(out / "peers.json") as tmp:
            tmp.write_text(json.dumps(record, indent=1))

    if not args.skip_peer:
        record["runs"]["peer"] = {"date": record["date"], **run_peer(args, out, slices, stats)}
        save()
    if not args.skip_ours:
        record["runs"]["ours"] = {"date": record["date"], **run_ours(args, out, stats)}
        save()
    text = table(record)
    with atomic_path(out / "peers.md") as tmp:
        tmp.write_text(text)
    plot(record, out / "peers.png")
    picture(record, out, args.picture_minutes)
    say(text)


if __name__ == "__main__":
    main()
