"""Image files on disk: single folders of images and the folder-and-CSV layout of a digit split.

Folder-and-CSV layout of a domain folder DIR:

    DIR/train.csv, DIR/test.csv   header `image_name,label`, one row per image, label an integer 0..9
    DIR/train/, DIR/test/         the images the CSV rows name, relative to that folder
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from advlab.data.transforms import stack_resized
from advlab.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
CSV_HEADER = ["image_name", "label"]


def read_image(path: Path) -> torch.Tensor:
    """Decode one image file with Pillow as uint8 (3, H, W), replicating grayscale and dropping alpha.

    Pillow reads every format torchvision.io.decode_image reads (PNG, JPEG, GIF, WebP) plus BMP and
    TIFF, and torchvision 0.29 deprecates its own decoders.
    """
    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB"))
    except FileNotFoundError as error:
        raise UserError(f"image file {path} not found: add it or remove it from the list") from error
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as error:
        raise UserError(f"image file {path} is unreadable or corrupt: replace or remove it") from error
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()  # (H, W, 3) -> (3, H, W)


def load_image_folder(folder: str | Path, *, image_size: int = 28) -> tuple[list[str], torch.Tensor]:
    """Read every PNG, JPEG and BMP file directly in `folder`, sorted by file name.

    Returns the file names and uint8 (N, 3, image_size, image_size) images. Subfolders and other files
    are skipped. A missing or empty folder and an unreadable image raise `UserError`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"image folder {folder} not found: pass a folder of .png, .jpg or .bmp files")
    paths = sorted(
        (path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda path: path.name,
    )
    if not paths:
        raise UserError(f"image folder {folder} contains no .png, .jpg, .jpeg or .bmp files: add images to it")
    images = [read_image(path) for path in paths]
    return [path.name for path in paths], stack_resized(images, image_size)


def has_csv_layout(folder: Path) -> bool:
    """Return whether `folder` contains a train.csv or test.csv."""
    return (folder / "train.csv").is_file() or (folder / "test.csv").is_file()


def read_csv_split(folder: Path, split: str, image_size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Read `folder/<split>.csv` and the images it names under `folder/<split>/`.

    Returns uint8 (N, 3, image_size, image_size) images, int64 labels and the image names.
    """
    csv_path = folder / f"{split}.csv"
    if not csv_path.is_file():
        raise UserError(
            f"CSV file {csv_path} not found: add it with header 'image_name,label' and the images under {folder / split}/"
        )
    rows = _read_label_csv(csv_path)
    image_folder = folder / split

    names, images, labels = [], [], []
    for line, name, label in rows:
        image_path = image_folder / name
        if not image_path.is_file():
            raise UserError(
                f"image file {image_path} named on line {line} of {csv_path} not found: add the file or remove the row"
            )
        images.append(read_image(image_path))
        labels.append(label)
        names.append(name)
    return stack_resized(images, image_size), torch.tensor(labels, dtype=torch.int64), names


def _read_label_csv(csv_path: Path) -> list[tuple[int, str, int]]:
    """Parse and check a label CSV into (line number, image name, label) per row."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as file:
            lines = list(csv.reader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"CSV file {csv_path} is unreadable ({error}): fix or replace it") from error

    header = [cell.strip() for cell in lines[0]] if lines else []
    if header != CSV_HEADER:
        raise UserError(
            f"CSV file {csv_path} starts with {','.join(header) or 'nothing'!r}, expected the header 'image_name,label': "
            "add that header line"
        )

    rows = []
    for line, cells in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        if len(cells) != 2:
            raise UserError(
                f"line {line} of {csv_path} has {len(cells)} columns, expected 2 (image_name,label): fix that row"
            )
        name, label_text = cells[0].strip(), cells[1].strip()
        rows.append((line, name, parse_label(label_text, f"line {line} of {csv_path} (image {name})")))
    if not rows:
        raise UserError(f"CSV file {csv_path} has no rows after the header: add one 'image_name,label' row per image")
    return rows


def parse_label(text: str, where: str) -> int:
    """Parse a digit label 0..9. `where` names the file and line for the error message."""
    try:
        label = int(text)
    except ValueError:
        label = None
    if label is None or not 0 <= label <= 9:
        raise UserError(f"label {text!r} on {where} is not an integer from 0 to 9: fix the label")
    return label


def read_name_label_list(list_path: Path, image_folder: Path, image_size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Read a text file of `name label` lines (the common MNIST-M release) and the images it names."""
    try:
        lines = list_path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"label list {list_path} is unreadable ({error}): fix or replace it") from error

    names, images, labels = [], [], []
    for line, text in enumerate(lines, start=1):
        fields = text.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise UserError(f"line {line} of {list_path} should be 'image_name label', got {text!r}: fix that line")
        name, label_text = fields
        label = parse_label(label_text, f"line {line} of {list_path} (image {name})")
        image_path = image_folder / name
        if not image_path.is_file():
            raise UserError(
                f"image file {image_path} named on line {line} of {list_path} not found: add the file or remove the line"
            )
        images.append(read_image(image_path))
        labels.append(label)
        names.append(name)
    if not names:
        raise UserError(f"label list {list_path} is empty: add one 'image_name label' line per image")
    return stack_resized(images, image_size), torch.tensor(labels, dtype=torch.int64), names
