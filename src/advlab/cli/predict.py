"""`advlab predict RUN_DIR --images DIR --out pred.csv`: label every image of a folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("predict", help="predict a digit for every image in a folder, as an image_name,label CSV")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a UDA run folder, or a folder of runs (then pick one with --target/--method)")
    parser.add_argument("--images", required=True, help="folder of images (png, jpg, bmp)")
    parser.add_argument("--out", required=True, help="CSV file to write")
    parser.add_argument("--target", help="among several runs, use the one adapted to this target domain")
    parser.add_argument("--method", help="among several runs, use the one trained with this method")
    parser.set_defaults(handler=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    from advlab.analysis import pick_run, predict_folder

    run_dir = pick_run(Path(args.run_dir), target=args.target, method=args.method)
    count = predict_folder(run_dir, Path(args.images), Path(args.out))
    print(f"wrote {count} predictions to {args.out} (model: {run_dir})")
    return 0
