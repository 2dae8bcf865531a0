"""`advlab train uda` and `advlab train gan`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from advlab.config import build_config, dump_yaml, parse_set_items, preset_names, read_yaml_mapping
from advlab.cli import train_gan
from advlab.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train", help="train a domain adaptation model or a GAN")
    kinds = train.add_subparsers(dest="train_kind", metavar="KIND", parser_class=type(train))
    train.set_defaults(handler=lambda args: train.print_help() or 2)

    uda = kinds.add_parser("uda", help="unsupervised domain adaptation on digits (source-only, dann, dan, target-only)")
    uda.add_argument("--source", help="source domain (see 'advlab data list') or a folder with train.csv/test.csv")
    uda.add_argument("--target", help="target domain or folder")
    uda.add_argument("--method", help="source-only | dann | dan | target-only")
    uda.add_argument("--model", help="network (default: seed, the reference DANN/DAN digit networks)")
    uda.add_argument("--data-root", help="folder with the on-disk datasets (usps, mnistm, svhn, mnist)")
    uda.add_argument("--steps", type=int, help="number of optimiser steps")
    add_common_run_options(uda)
    uda.set_defaults(handler=run_train_uda)

    train_gan.register(kinds)


def add_common_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML file or packaged preset name; flags and --set override it")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="override one option (repeatable), e.g. --set lr=3e-4")
    parser.add_argument("--seed", type=int, help="random seed of the run")
    parser.add_argument("--out", help="run folder to create (default: runs/NNNNN-<description>)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last.pt with its saved config")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")


def resolve_uda_config(args: argparse.Namespace):
    """Resolve defaults <- preset or --config <- flags <- --set into a checked UDAConfig."""
    from advlab.training.uda_config import UDAConfig

    flags = {
        "source": args.source, "target": args.target, "method": args.method, "model": args.model,
        "data_root": args.data_root, "steps": args.steps, "seed": args.seed,
    }
    flags = {key: value for key, value in flags.items() if value is not None}
    preset = args.config
    if preset is None and "source" in flags and "target" in flags:
        candidate = f"uda-{flags['source']}-{flags['target']}"
        if candidate in preset_names():
            preset = candidate
    layers = [read_yaml_mapping(preset) if preset else {}, flags, parse_set_items(args.sets)]
    return build_config(UDAConfig, *layers), preset


def run_train_uda(args: argparse.Namespace) -> int:
    from advlab import runs
    from advlab.training.uda import load_uda_data, train_uda
    from advlab.training.uda_config import UDAConfig

    if args.resume:
        given = {"--source": args.source, "--target": args.target, "--method": args.method, "--model": args.model,
                 "--config": args.config, "--seed": args.seed, "--steps": args.steps, "--out": args.out}
        run_dir = runs.require_resumable_run(args.resume, given)
        config = build_config(UDAConfig, runs.read_run_config(run_dir), parse_set_items(args.sets))
        saved_step = runs.load_checkpoint(run_dir / runs.LAST_CHECKPOINT)["step"]
        if saved_step >= config.steps and (run_dir / runs.FINAL_MODEL).exists():
            print(f"{run_dir} already finished its {config.steps} steps: nothing to resume (raise steps with --set steps=N)")
            return 0
        train_uda(config, run_dir, resume=True)
        return 0

    if args.source is None and args.config is None:
        raise UserError("give --source and --target (see 'advlab data list') or a --config preset")
    config, preset = resolve_uda_config(args)
    if args.dry_run:
        print(f"# preset: {preset or 'none'}")
        print(dump_yaml(config), end="")
        return 0
    data = load_uda_data(config)  # bad data is rejected before a run folder exists
    description = f"uda-{config.method}-{Path(config.source).name}-{Path(config.target).name}"
    run_dir = prepare_run_dir_on_rank0(args.out, description, config.device)
    train_uda(config, run_dir, data=data)
    if is_main_process():
        print(run_dir)
    return 0


def is_main_process() -> bool:
    return int(os.environ.get("RANK", 0)) == 0


def prepare_run_dir_on_rank0(out: str | None, description: str, device: str) -> Path:
    """Create the run folder on rank 0 alone and share its path, so ranks never race or disagree on numbering."""
    from advlab import runs
    from advlab.training.runtime import init_distributed

    context = init_distributed(device)
    if not context.enabled:
        return runs.prepare_new_run_dir(out, description)
    import torch.distributed as dist

    shared: list[object] = [None]
    if context.is_main:
        try:
            shared[0] = runs.prepare_new_run_dir(out, description)
        except UserError as error:
            shared[0] = error
    dist.broadcast_object_list(shared, src=0)
    if isinstance(shared[0], UserError):
        raise shared[0]
    return Path(shared[0])
