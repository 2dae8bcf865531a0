"""`advlab score pred.csv gt.csv`: accuracy of a prediction CSV against a label CSV."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("score", help="accuracy of an image_name,label prediction CSV against a ground-truth CSV")
    parser.add_argument("predictions", metavar="PRED_CSV", help="predictions, image_name,label (as 'advlab predict' writes)")
    parser.add_argument("ground_truth", metavar="GT_CSV", help="true labels, image_name,label; every image in it must be predicted")
    parser.set_defaults(handler=run_score)


def run_score(args: argparse.Namespace) -> int:
    from advlab.analysis import score_predictions

    accuracy, correct, total = score_predictions(Path(args.predictions), Path(args.ground_truth))
    print(f"accuracy {accuracy:.4f} ({correct}/{total})")
    return 0
