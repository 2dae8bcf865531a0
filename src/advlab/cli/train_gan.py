"""`advlab train gan` and the GAN side of `advlab eval`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path



def register(train_subparsers: argparse._SubParsersAction) -> None:
    """Add the `gan` command to the `advlab train` group."""
    parser = train_subparsers.add_parser(
        "gan", help="train a GAN (wgan, wgan-gp, dcgan, hinge; --conditional for ACGAN) on digits or faces"
    )
    parser.add_argument("--data", help="mnist-5k (embedded digits, the default) or a folder: CelebA, DIR/train + DIR/train.csv, or images")
    parser.add_argument("--loss", help="adversarial loss: wgan | wgan-gp | dcgan | hinge (default: wgan-gp)")
    parser.add_argument("--conditional", action="store_true", default=None, help="train an ACGAN conditioned on the digit class or on --attr")
    parser.add_argument("--attr", help="attribute to condition on, e.g. Smiling (implies --conditional)")
    parser.add_argument("--labels-csv", help="CSV with image_name and label columns for a plain image folder")
    parser.add_argument("--steps", type=int, help="number of generator updates")
    parser.add_argument("--config", help="YAML file or packaged preset name (e.g. gan-digits-wgan-gp); flags and --set override it")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="override one option (repeatable), e.g. --set batch_size=128")
    parser.add_argument("--seed", type=int, help="random seed of the run")
    parser.add_argument("--out", help="run folder to create (default: runs/NNNNN-gan-<loss>-<data>)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last.pt with its saved config")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")
    parser.set_defaults(handler=run_train_gan)


def resolve_gan_config(args: argparse.Namespace):
    from advlab.training.gan import load_gan_config

    flags = {
        "data": args.data, "loss": args.loss, "conditional": args.conditional, "attr": args.attr,
        "labels_csv": args.labels_csv, "steps": args.steps, "seed": args.seed,
    }
    if args.attr is not None:
        flags["conditional"] = True
    return load_gan_config(args.config, flags, args.sets)


def run_train_gan(args: argparse.Namespace) -> int:
    from advlab import runs
    from advlab.config import build_config, dump_yaml, parse_set_items
    from advlab.training.gan import GANConfig, NonFiniteLossError, load_gan_data, run_gan

    if args.resume:
        given = {"--data": args.data, "--loss": args.loss, "--conditional": args.conditional, "--attr": args.attr,
                 "--labels-csv": args.labels_csv, "--config": args.config, "--seed": args.seed, "--out": args.out}
        run_dir = runs.require_resumable_run(args.resume, given)
        steps = {"steps": args.steps} if args.steps is not None else {}
        config = build_config(GANConfig, runs.read_run_config(run_dir), steps, parse_set_items(args.sets)).resolve_defaults()
        return _train(lambda: run_gan(config, run_dir, resume=True), NonFiniteLossError)

    config = resolve_gan_config(args)
    if args.dry_run:
        load_gan_data(config)  # reports missing folders, malformed label files and unknown attributes now
        print(dump_yaml(config), end="")
        return 0
    return _train(lambda: run_gan(config, Path(args.out) if args.out else None), NonFiniteLossError)


def _train(start, diverged_error: type[Exception]) -> int:
    import sys

    try:
        run_dir = start()
    except diverged_error as error:
        print(f"advlab: error: {error}", file=sys.stderr)
        return 1
    print(run_dir)
    return 0


def evaluate_gan_run(run_dir: Path, args: argparse.Namespace) -> int:
    """Score a GAN run's EMA generator (best.pt, else model.pt or last.pt); print and save eval.json.

    Reads `args.samples` and `args.inception_weights` from the `advlab eval` parser.
    """
    import torch

    from advlab import runs
    from advlab.metrics.feature_classifier import ClassifierOptions
    from advlab.metrics.frechet import inception_metrics, inception_missing_notice, inception_weights_path
    from advlab.metrics.gan_eval import build_gan_evaluator
    from advlab.models.gan import generate_images
    from advlab.training.gan import EVAL_FILE, EVAL_NOISE_SEED, load_gan_data, load_trained_generator

    generator, config, conditioning, state = load_trained_generator(run_dir)
    num_samples = args.samples or config.eval_samples
    data = load_gan_data(config)
    results: dict = {"checkpoint": state["path"], "step": state.get("step"), "num_samples": num_samples}
    if data.classifier_labels is None:
        print(f"feature-space metrics skipped: {config.data} has no labels to train the feature classifier on")
    else:
        evaluator = build_gan_evaluator(
            data.name, data.images, data.classifier_labels, conditioning, attribute_index=data.attribute_index,
            device=torch.device("cpu"), classifier_options=ClassifierOptions(steps=config.classifier_steps),
            max_real=config.eval_real_max,
        )
        results.update(evaluator.evaluate(generator, num_samples=num_samples, noise_dim=config.noise_dim, seed=EVAL_NOISE_SEED))
        results["classifier_holdout_accuracy"] = evaluator.classifier_info["holdout_accuracy"]

    explicit = args.inception_weights
    weights = inception_weights_path(explicit)
    if weights is None:
        print(inception_missing_notice(explicit))
    else:
        noise = torch.randn(num_samples, config.noise_dim, generator=torch.Generator().manual_seed(EVAL_NOISE_SEED))
        labels = None if conditioning.kind == "none" else torch.arange(num_samples) % conditioning.num_values
        fake = generate_images(generator, noise, labels, conditioning)
        results.update(inception_metrics(data.images[: config.eval_real_max], fake, weights))

    for name, value in results.items():
        print(f"{name}: {value:.4g}" if isinstance(value, float) else f"{name}: {value}")
    runs.atomic_write_text(run_dir / EVAL_FILE, json.dumps(results, indent=2) + "\n")
    print(f"saved to {run_dir / EVAL_FILE}")
    return 0
