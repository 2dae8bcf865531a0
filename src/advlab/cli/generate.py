"""`advlab generate RUN_DIR`: image grids, attribute pairs, per-class rows and latent walks from a GAN run."""

from __future__ import annotations

import argparse
from pathlib import Path

from advlab.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("generate", help="draw images from a trained GAN run's EMA generator")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run folder written by 'advlab train gan'")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--n", type=int, default=32, help="number of random images, laid out 8 per row (default: 32, a 4x8 grid)")
    parser.add_argument("--pairs", type=int, metavar="COUNT",
                        help="draw COUNT pairs as two rows: the same noise per column, --attr off on top and on below")
    parser.add_argument("--attr", help="the attribute of --pairs; must be the one the run was conditioned on")
    parser.add_argument("--per-class", type=int, metavar="COUNT", help="draw one row of COUNT images per class (class-conditional runs)")
    parser.add_argument("--interpolate", action="store_true", help="draw latent walks: 8 rows of 10 steps between random noise vectors")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise (default: 0)")
    parser.add_argument("--checkpoint", default="auto", choices=["auto", "best", "final", "last"],
                        help="weights to use (default: auto, best.pt then model.pt then last.pt)")
    parser.set_defaults(handler=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    import torch

    from advlab.models.gan import generate_images
    from advlab.training.gan import load_trained_generator
    from advlab.viz.gan_figures import class_row_inputs, interpolation_noise, pair_inputs, save_image_grid

    modes = [name for name, value in (("--pairs", args.pairs), ("--per-class", args.per_class), ("--interpolate", args.interpolate or None))
             if value is not None]
    if len(modes) > 1:
        raise UserError(f"{' and '.join(modes)} cannot be combined: pick one kind of figure per call")
    for name, value in (("--n", args.n), ("--pairs", args.pairs), ("--per-class", args.per_class)):
        if value is not None and value < 1:
            raise UserError(f"invalid {name} {value}: give a positive number of images")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise UserError(f"--out {out} must be a .png file")

    generator, config, conditioning, _ = load_trained_generator(Path(args.run_dir), args.checkpoint)
    noise_rng = torch.Generator().manual_seed(args.seed)
    if args.pairs is not None:
        if conditioning.kind != "binary":
            raise UserError(f"--pairs needs a run conditioned on a binary attribute, and {args.run_dir} is conditioned on "
                            f"{conditioning.attribute or 'nothing'}: use --per-class for class-conditional runs")
        if args.attr is not None and args.attr != conditioning.attribute:
            raise UserError(f"--attr {args.attr}: {args.run_dir} was trained on {conditioning.attribute}, so pairs can only vary that attribute")
        noise, labels = pair_inputs(config.noise_dim, args.pairs, generator=noise_rng)
        nrow = args.pairs
    elif args.per_class is not None:
        if conditioning.kind != "class":
            raise UserError(f"--per-class needs a class-conditional run, and {args.run_dir} is conditioned on {conditioning.attribute or 'nothing'}")
        noise, labels = class_row_inputs(config.noise_dim, conditioning.num_classes, args.per_class, generator=noise_rng)
        nrow = args.per_class
    elif args.interpolate:
        rows, nrow = 8, 10
        noise = interpolation_noise(config.noise_dim, rows=rows, columns=nrow, generator=noise_rng)
        labels = None if conditioning.kind == "none" else (torch.arange(rows) % conditioning.num_values).repeat_interleave(nrow)
    else:
        noise = torch.randn(args.n, config.noise_dim, generator=noise_rng)
        labels = None if conditioning.kind == "none" else torch.randint(conditioning.num_values, (args.n,), generator=noise_rng)
        nrow = 8

    images = generate_images(generator, noise, labels, conditioning)
    save_image_grid(images, out, nrow=nrow)
    print(out)
    return 0
