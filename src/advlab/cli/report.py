"""`advlab report RUNS_DIR`: Markdown and HTML with the accuracy table, t-SNE figures and curves."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="write report.md and report.html for a folder of runs")
    parser.add_argument("runs_dir", metavar="RUNS_DIR", help="folder holding run folders (searched 4 levels deep)")
    parser.add_argument("--out", help="folder for the report (default: RUNS_DIR)")
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    from advlab.report import write_report

    md_path, html_path = write_report(Path(args.runs_dir), Path(args.out) if args.out else None)
    print(md_path)
    print(html_path)
    return 0
