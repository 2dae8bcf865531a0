"""`advlab eval RUN_DIR`: accuracy, per-class accuracy and confusion matrix, or a GAN run's metrics."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a trained run (UDA: accuracy and confusion matrix; GAN: sample metrics)")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run folder written by 'advlab train'")
    parser.add_argument("--domain", action="append", help="domain to evaluate on (repeatable; default: the run's source and target)")
    parser.add_argument("--split", default="test", choices=["train", "test"], help="split to evaluate on (default: test)")
    parser.add_argument("--data-root", help="folder with on-disk datasets (default: the run's data_root)")
    parser.add_argument("--samples", type=int, help="GAN runs: generated images per metric (default: the run's eval_samples)")
    parser.add_argument("--inception-weights", help="GAN runs: Inception weights file for the standard FID/KID (never downloaded)")
    parser.set_defaults(handler=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from advlab import runs

    from advlab.errors import UserError

    if args.samples is not None and args.samples < 2:
        raise UserError(f"invalid --samples {args.samples}: give at least 2 generated images")
    run_dir = runs.require_run_dir(args.run_dir)
    kind = runs.read_run_config(run_dir).get("kind")
    if kind == "gan":
        from advlab.cli.train_gan import evaluate_gan_run

        return evaluate_gan_run(run_dir, args)

    from advlab.analysis import evaluate_uda_run, format_evaluation

    results = evaluate_uda_run(Path(run_dir), args.domain, split=args.split, data_root=args.data_root)
    for entry in results.values():
        print(format_evaluation(entry))
        print()
    print(f"saved to {run_dir / 'eval.json'}")
    return 0
