"""The ``keras-mrigan`` command line.

Each subcommand parses its arguments and calls one library function; the logic lives in the
library, so everything the command does can also be done from Python.
"""

import argparse
import sys

from keras_mrigan import __version__


def _add_slice_options(parser):
    """Arguments shared by every command that reads data; they map onto ``SliceOptions``."""
    group = parser.add_argument_group("reading slices")
    group.add_argument(
        "--data", required=True,
        help="folder or file of PNG/JPEG/TIFF slices or NIfTI/Analyze volumes, or 'demo'",
    )
    group.add_argument("--axis", default="axial", choices=["axial", "coronal", "sagittal"],
                       help="slicing plane of volumes (default: axial)")
    group.add_argument("--central-fraction", type=float, default=1.0,
                       help="keep this central fraction of each volume's slices (default: 1)")
    group.add_argument("--min-foreground", type=float, default=None,
                       help="drop volume slices with less foreground than this fraction "
                       "(default: 0.08)")
    group.add_argument("--pattern", default=None,
                       help="only read files whose name matches this shell pattern")
    group.add_argument("--include-masks", action="store_true",
                       help="also read folders whose name contains 'seg'")
    group.add_argument("--skip-bad-files", action="store_true",
                       help="skip unreadable files with one warning instead of stopping")


def _slice_options(args):
    from keras_mrigan.data.pipeline import SliceOptions

    fields = dict(
        axis=args.axis,
        central_fraction=args.central_fraction,
        pattern=args.pattern,
        include_masks=args.include_masks,
        skip_bad_files=args.skip_bad_files,
    )
    if args.min_foreground is not None:
        fields["min_foreground"] = args.min_foreground
    return SliceOptions(**fields)


def _data_preview(args):
    from keras_mrigan.data.pipeline import preview

    summary = preview(args.data, args.resolution, args.out, n=args.n, seed=args.seed,
                      options=_slice_options(args))
    print(summary)
    print(f"Wrote a grid of {min(args.n, summary.total)} slices to {args.out}")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-mrigan",
        description="Train GANs that synthesize brain MRI slices, and work with their data.",
    )
    parser.add_argument("--version", action="version", version=f"keras-mrigan {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    data = commands.add_parser("data", help="inspect training data")
    data_commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    preview = data_commands.add_parser(
        "preview", help="write a PNG grid of slices and count the slices per file"
    )
    _add_slice_options(preview)
    preview.add_argument("--resolution", type=int, default=64,
                         help="side of the slices, a power of two from 16 to 1024 (default: 64)")
    preview.add_argument("--out", required=True, help="PNG file to write")
    preview.add_argument("--n", type=int, default=64, help="slices in the grid (default: 64)")
    preview.add_argument("--seed", type=int, default=0, help="which slices are shown")
    preview.set_defaults(func=_data_preview)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"keras-mrigan: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
