"""`advlab demo`: all methods on the three pairs, t-SNE, GANs and the report."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the whole study on the embedded data (or on --data-root) and write the report")
    parser.add_argument("--out", default="demo", help="folder for the runs and the report (default: demo)")
    parser.add_argument("--data-root", help="folder with USPS, MNIST-M and SVHN: run the classic pairs with GPU-sized presets")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per method and pair (default: 1); the table shows mean and spread")
    parser.add_argument("--no-gan", action="store_true", help="skip the GAN runs")
    parser.add_argument("--steps", type=int, help="override every run's number of steps (a quick check of the whole pipeline)")
    parser.add_argument("--tsne-per-domain", type=int, default=500, help="test images per domain in each t-SNE figure (default: 500)")
    parser.set_defaults(handler=run_demo_command)


def run_demo_command(args: argparse.Namespace) -> int:
    from advlab.demo import run_demo
    from advlab.errors import UserError

    if args.seeds < 1:
        raise UserError(f"invalid --seeds {args.seeds}: give 1 or more")
    if args.steps is not None and args.steps < 1:
        raise UserError(f"invalid --steps {args.steps}: give a positive number of steps")
    if args.tsne_per_domain < 10:
        raise UserError(f"invalid --tsne-per-domain {args.tsne_per_domain}: give at least 10 images per domain")
    report = run_demo(Path(args.out), data_root=args.data_root, seeds=list(range(args.seeds)), gan=not args.no_gan,
                      tsne_per_domain=args.tsne_per_domain, steps=args.steps)
    print(f"report: {report}")
    print(f"report: {report.with_suffix('.html')}")
    return 0
