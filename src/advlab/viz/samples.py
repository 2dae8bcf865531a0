"""Grids of labelled sample images."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # draw to files without a display

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from advlab.errors import UserError  # noqa: E402


def save_sample_grid(
    images: torch.Tensor,
    labels: Sequence[int] | torch.Tensor,
    path: str | Path,
    *,
    predictions: Sequence[int] | torch.Tensor | None = None,
    columns: int | None = None,
    title: str | None = None,
) -> Path:
    """Save uint8 (N, 3, S, S) images as a PNG grid with each label above its image.

    With `predictions`, each caption reads `pred/label` and is red where they differ. The parent folder
    is created, and a path that cannot be written raises `UserError`. Returns the path written.
    """
    path = Path(path)
    count = len(images)
    if count == 0:
        raise ValueError("save_sample_grid needs at least one image")
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)

    figure, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 1.05 + (0.4 if title else 0)), squeeze=False)
    pixels = images.detach().cpu().permute(0, 2, 3, 1).numpy()  # (N, S, S, 3) for imshow
    for index, axis in enumerate(axes.flat):
        axis.set_axis_off()
        if index >= count:
            continue
        axis.imshow(pixels[index], interpolation="nearest")
        label = int(labels[index])
        if predictions is None:
            axis.set_title(str(label), fontsize=9, pad=2)
        else:
            predicted = int(predictions[index])
            axis.set_title(f"{predicted}/{label}", fontsize=9, pad=2, color="black" if predicted == label else "red")
    top = 1.0
    if title:
        figure.suptitle(title, fontsize=10)
        top = 1.0 - 0.4 / figure.get_figheight()  # leave the title's 0.4 inch band free
    figure.tight_layout(pad=0.3, rect=(0, 0, 1, top))

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png", dpi=100)
    except OSError as error:
        raise UserError(f"cannot write {path} ({error.strerror}): pick a writable --out path") from error
    finally:
        plt.close(figure)
    return path
