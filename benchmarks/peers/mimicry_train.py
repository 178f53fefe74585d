"""Trains torch-mimicry's SNGAN or SSGAN at 64 x 64 on a folder of PNG slices for a wall-clock
budget, writing samples along the way. Runs in the peers' virtual environment (PyTorch and
torch-mimicry 0.1.16), never in the package's.

SNGAN: Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks"
(ResNet backbone, hinge loss). SSGAN: Chen et al. 2019, "Self-Supervised GANs via Auxiliary
Rotation Loss". The networks and their update steps are the library's (``netD.train_step``,
``netG.train_step``, as its ``Trainer`` calls them: ``n_dis`` discriminator updates, then one
generator update on the last batch); only the loop is ours, so that it stops on time. The
library's networks are RGB: each gray slice is given as three equal channels, and a sample is
the mean of the three channels the generator makes.

The clock starts before the slices are read (as ``keras-mrigan train --minutes`` counts
its data and networks); writing samples is not counted. Every ``--every`` training minutes
and at the end, ``--n`` samples go to ``OUT/samples/min_MMM.M/`` and a line to
``OUT/progress.json``; the end also writes ``OUT/checkpoint.pt`` (both networks and
optimizers).

    /work/peers_venv/bin/python benchmarks/peers/mimicry_train.py --data SLICES/ --out OUT/
        --minutes 10 [--every 2.5] [--n 1000] [--model sngan|ssgan] [--width 0.125]
        [--batch-size 64] [--n-dis 5] [--lr 2e-4] [--betas 0.0 0.9] [--seed 0]
"""

import argparse
import json
import sys
import time
import types
from pathlib import Path

# torch-mimicry 0.1.16 imports ``torch._six`` (removed in PyTorch 2.0) for two names of its
# vendored ImageNet loader, which is not used here: a stand-in module lets it import.
sys.modules.setdefault("torch._six", types.SimpleNamespace(PY3=True, string_classes=(str, bytes)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

# torch-mimicry imports TensorFlow (for its FID); torchvision loaded after it crashes the
# process (triton's extension, a segmentation fault), loaded before it does not.
import torchvision  # noqa: E402, F401
from PIL import Image  # noqa: E402
from torch_mimicry.nets import sngan, ssgan  # noqa: E402
from torch_mimicry.training import metric_log  # noqa: E402

NETS = {"sngan": (sngan.SNGANGenerator64, sngan.SNGANDiscriminator64),
        "ssgan": (ssgan.SSGANGenerator64, ssgan.SSGANDiscriminator64)}
FULL_WIDTH = 1024  # ngf = ndf of the library's 64 x 64 networks.


def read_slices(folder):
    """Every PNG under ``folder`` as a float32 tensor ``(N, 3, H, W)`` in [-1, 1]."""
    files = sorted(Path(folder).rglob("*.png"))
    if not files:
        raise SystemExit(f"{folder}: no PNG files")
    gray = np.stack([np.asarray(Image.open(f).convert("L"), np.float32) for f in files])
    images = torch.from_numpy(gray / 127.5 - 1.0)[:, None]
    return images.repeat(1, 3, 1, 1)


def write_samples(net_g, n, folder, seed, batch=100):
    """``n`` samples from fixed noise as gray PNGs (mean of the three channels)."""
    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(seed)
    was_training = net_g.training
    net_g.eval()
    with torch.no_grad():
        for start in range(0, n, batch):
            noise = torch.randn((min(batch, n - start), net_g.nz), generator=generator)
            images = net_g(noise).mean(dim=1).clamp(-1, 1)
            pixels = ((images.numpy() + 1.0) * 127.5).round().astype(np.uint8)
            for i, array in enumerate(pixels):
                Image.fromarray(array).save(folder / f"sample_{start + i:05d}.png")
    net_g.train(was_training)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--every", type=float, default=0.0,
                        help="write samples every this many training minutes (0: at the end)")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--model", choices=sorted(NETS), default="sngan")
    parser.add_argument("--width", type=float, default=0.125,
                        help="ngf = ndf = 1024 x width (the library's 64 x 64 nets: 1)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-dis", type=int, default=5)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--betas", type=float, nargs=2, default=[0.0, 0.9])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    started = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = read_slices(args.data)
    width = max(16, int(round(FULL_WIDTH * args.width)))
    make_g, make_d = NETS[args.model]
    net_g, net_d = make_g(ngf=width), make_d(ndf=width)
    opt_g = torch.optim.Adam(net_g.parameters(), args.lr, betas=tuple(args.betas))
    opt_d = torch.optim.Adam(net_d.parameters(), args.lr, betas=tuple(args.betas))
    parameters = {name: sum(p.numel() for p in net.parameters())
                  for name, net in (("generator", net_g), ("discriminator", net_d))}
    print(f"{args.model} width {width}: {len(data)} slices, {parameters}, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    device = torch.device("cpu")
    shuffle = torch.Generator().manual_seed(args.seed)
    order, position = torch.randperm(len(data), generator=shuffle), 0

    def next_batch():
        nonlocal order, position
        if position + args.batch_size > len(data):
            order, position = torch.randperm(len(data), generator=shuffle), 0
        batch = data[order[position:position + args.batch_size]]
        position += args.batch_size
        return batch, None

    paused = 0.0  # Seconds spent writing samples: not training time.
    progress, step, images = [], 0, 0
    budget = 60 * args.minutes
    next_mark = 60 * args.every if args.every > 0 else float("inf")

    def training_seconds():
        return time.perf_counter() - started - paused

    def mark():
        nonlocal paused
        seconds = training_seconds()
        pause = time.perf_counter()
        folder = out / "samples" / f"min_{seconds / 60:05.1f}"
        write_samples(net_g, args.n, folder, args.seed)
        progress.append({"minutes": seconds / 60, "steps": step, "images": images,
                         "samples": str(folder)})
        (out / "progress.json").write_text(json.dumps(
            {"model": args.model, "width": width, "settings": vars(args),
             "parameters": parameters, "progress": progress}, indent=1))
        print(f"  {seconds / 60:.2f} min: {step} steps, {images} real images seen", flush=True)
        paused += time.perf_counter() - pause

    while training_seconds() < budget:
        log_data = metric_log.MetricLog()
        for i in range(args.n_dis):
            batch = next_batch()
            net_d.train_step(real_batch=batch, netG=net_g, optD=opt_d, log_data=log_data,
                             global_step=step, device=device)
            images += args.batch_size
            if i == args.n_dis - 1:
                net_g.train_step(real_batch=batch, netD=net_d, optG=opt_g, log_data=log_data,
                                 global_step=step, device=device)
        step += 1
        if training_seconds() >= next_mark and training_seconds() < budget:
            mark()
            next_mark += 60 * args.every
    mark()
    torch.save({"netG": net_g.state_dict(), "netD": net_d.state_dict(),
                "optG": opt_g.state_dict(), "optD": opt_d.state_dict(), "step": step},
               out / "checkpoint.pt")


if __name__ == "__main__":
    main()
