"""`advlab tsne RUN_DIR`: t-SNE of source and target test features, by class and by domain."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tsne", help="t-SNE of a UDA run's features, coloured by class and by domain")
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("--per-domain", type=int, default=1000, help="test images drawn from each domain (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the subsample and the embedding")
    parser.add_argument("--data-root", help="folder with on-disk datasets (default: the run's data_root)")
    parser.set_defaults(handler=run_tsne)


def run_tsne(args: argparse.Namespace) -> int:
    from advlab import runs
    from advlab.analysis import tsne_run
    from advlab.errors import UserError

    if args.per_domain < 10:
        raise UserError(f"invalid --per-domain {args.per_domain}: give at least 10 images per domain")
    run_dir = runs.require_run_dir(args.run_dir)
    by_class, by_domain = tsne_run(Path(run_dir), per_domain=args.per_domain, seed=args.seed, data_root=args.data_root)
    print(by_class)
    print(by_domain)
    return 0
