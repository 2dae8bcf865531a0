"""`advlab data`: list the digit domains and save a grid of samples from one of them."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from advlab.data import EMBEDDED_DOMAINS, domain_info, list_domains, load_domain
from advlab.errors import UserError
from advlab.viz.samples import save_sample_grid


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="list digit domains and show samples")
    commands = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND", parser_class=type(parser))

    list_parser = commands.add_parser("list", help="print every domain with its source, image size and split sizes")
    list_parser.set_defaults(handler=run_list)

    show_parser = commands.add_parser("show", help="save a PNG grid of labelled samples from one domain")
    show_parser.add_argument(
        "domain",
        metavar="DOMAIN",
        help=f"domain name ({', '.join(EMBEDDED_DOMAINS)}, usps, mnistm, svhn, mnist) or a custom domain folder",
    )
    show_parser.add_argument("--out", required=True, type=Path, help="PNG file to write (its folder is created)")
    show_parser.add_argument("--split", choices=("train", "test"), default="train", help="split to sample (default: train)")
    show_parser.add_argument("--n", type=int, default=64, help="number of samples, at most the split size (default: 64)")
    show_parser.add_argument("--data-root", type=Path, default=None, help="folder holding the disk domains")
    show_parser.add_argument("--seed", type=int, default=0, help="seed of the embedded domain build and of the sample choice")
    show_parser.add_argument(
        "--image-size", type=int, default=None, help="side length in pixels (default: the domain's native size, 28 for custom domains)"
    )
    show_parser.set_defaults(handler=run_show)

    parser.set_defaults(handler=lambda args: _print_help(parser))


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_list(args: argparse.Namespace) -> int:
    header = ("name", "source", "size", "classes", "train", "test", "needs --data-root")
    rows = [
        (
            info.name,
            info.source,
            f"{info.image_size}x{info.image_size}",
            str(info.num_classes),
            f"{info.split_sizes['train']:,}",
            f"{info.split_sizes['test']:,}",
            "no" if info.embedded else "yes",
        )
        for info in list_domains()
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print("Custom domains: pass a folder with train.csv/test.csv (header image_name,label) and train/, test/ image folders.")
    return 0


def run_show(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise UserError(f"--n {args.n} is not valid: use a positive number of samples")
    if args.out.suffix.lower() != ".png":
        raise UserError(f"--out {args.out} does not end in .png: give a .png file name")
    info = domain_info(args.domain)
    image_size = args.image_size or (info.image_size if info else 28)

    digits = load_domain(args.domain, args.split, data_root=args.data_root, image_size=image_size, seed=args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    chosen = torch.randperm(len(digits), generator=generator)[: args.n]
    title = f"{digits.domain} ({args.split}, {len(chosen)} of {len(digits):,})"
    path = save_sample_grid(digits.images[chosen], digits.labels[chosen], args.out, title=title)
    print(path)
    return 0
