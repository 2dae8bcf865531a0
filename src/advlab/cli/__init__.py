"""The `advlab` command line.

Each command group lives in its own module with a `register(subparsers)` function that adds its
parser and sets `handler`. Handlers resolve and check options, then call into the library; bad input
raises `UserError`, which `main` prints as one line with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from advlab import __version__
from advlab.errors import UserError

# Modules under advlab.cli that register a command group, in the order `advlab --help` lists them.
COMMAND_MODULES = [
    "data",
    "train",
    "evaluate",
    "predict",
    "score",
    "tsne",
    "generate",
    "report",
    "demo",
]


class OneLineErrorParser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (run '{self.prog} --help' for the options)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="advlab",
        description="Adversarial learning for vision: GANs and unsupervised domain adaptation.",
    )
    parser.add_argument("--version", action="version", version=f"advlab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"advlab.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        result = args.handler(args)
    except UserError as error:
        print(f"advlab: error: {error}", file=sys.stderr)
        return UserError.exit_status
    except KeyboardInterrupt:
        print("advlab: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)
