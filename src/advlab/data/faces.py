"""Face and image-folder datasets for the GANs, decoded once into uint8 tensors.

Three on-disk layouts are read, detected in this order:

- CelebA as distributed (Liu et al., 2015): `img_align_celeba/*.jpg`, `list_attr_celeba.txt` (a count
  line, a line of 40 attribute names, then one line per image with -1/1 values) and, optionally,
  `list_eval_partition.txt` (image name and 0 train, 1 validation, 2 test).
- The course layout: `DIR/train/*.png` (or .jpg) with `DIR/train.csv`, whose `image_name` column names
  the file and whose other columns hold 0/1 attributes such as `Smiling`.
- Any folder of images, with an optional CSV of labels: an `image_name` (or `filename`) column plus
  either integer class columns or 0/1 attribute columns.

Every image is center-cropped to a square and resized to `image_size` with antialiasing. Aligned
CelebA images are 178x218 with the face in the middle. They are first cut to a centered
`celeba_crop` x `celeba_crop` square (108 by default), which keeps the face and drops most of the
background. Attributes are returned as 0/1 int64, whatever the
file used (-1/1 in CelebA).

Decoded tensors are cached under `$ADVLAB_CACHE` (see `advlab.data.cache`). The cache key hashes the
folder, the sizes and modification times of its label files and image folder, and the load options.
Editing the folder therefore builds a new cache file instead of serving a stale one.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from advlab.data.cache import cache_dir, load_or_build
from advlab.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
CELEBA_IMAGES = "img_align_celeba"
CELEBA_ATTRIBUTES = "list_attr_celeba.txt"
CELEBA_PARTITION = "list_eval_partition.txt"
CELEBA_SPLITS = {"train": 0, "valid": 1, "test": 2}
NAME_COLUMNS = ("image_name", "filename", "file", "image")
FACES_CACHE_VERSION = 1


@dataclass
class ImageSet:
    """Decoded images with optional labels.

    images: uint8 (N, 3, S, S).
    attributes: int64 (N, A) of 0/1 values, one column per name in `attribute_names`, or None.
    classes: int64 (N,) class indices 0..K-1 when the labels are classes, else None.
    """

    images: torch.Tensor
    names: list[str]
    attribute_names: list[str]
    attributes: torch.Tensor | None = None
    classes: torch.Tensor | None = None
    layout: str = "folder"

    def __len__(self) -> int:
        return self.images.shape[0]

    def attribute_column(self, name: str) -> torch.Tensor:
        """0/1 values (N,) of one attribute; an unknown name raises a UserError listing the known ones."""
        if self.attributes is None or not self.attribute_names:
            raise UserError(f"--attr {name}: this dataset has no attribute labels; give a CSV of 0/1 attribute columns")
        if name not in self.attribute_names:
            raise UserError(f"unknown attribute {name!r}: this dataset has {', '.join(self.attribute_names)}")
        return self.attributes[:, self.attribute_names.index(name)]


def detect_layout(root: Path) -> str:
    """Return "celeba", "course" or "folder" for the dataset at `root`."""
    if not root.is_dir():
        raise UserError(f"data folder {root} not found: give an existing folder or the embedded mnist-5k")
    if (root / CELEBA_IMAGES).is_dir() and (root / CELEBA_ATTRIBUTES).is_file():
        return "celeba"
    if (root / "train.csv").is_file() and (root / "train").is_dir():
        return "course"
    return "folder"


def load_face_dataset(
    root: str | Path,
    *,
    split: str = "train",
    image_size: int = 64,
    celeba_crop: int = 108,
    labels_csv: str | Path | None = None,
    max_images: int | None = None,
) -> ImageSet:
    """Load the dataset at `root` in whichever layout it has (see the module docstring)."""
    root = Path(root)
    layout = detect_layout(root)
    key = _cache_key(root, layout, split, image_size, celeba_crop, labels_csv, max_images)
    path = cache_dir() / "faces" / f"{root.name or 'root'}-{layout}-{split}-{key}.pt"

    def build() -> dict:
        if layout == "celeba":
            dataset = _load_celeba(root, split, image_size, celeba_crop, max_images)
        elif layout == "course":
            dataset = _load_course(root, split, image_size, max_images)
        else:
            dataset = _load_folder(root, image_size, labels_csv, max_images)
        return {
            "images": dataset.images,
            "names": dataset.names,
            "attribute_names": dataset.attribute_names,
            "attributes": dataset.attributes,
            "classes": dataset.classes,
            "layout": dataset.layout,
        }

    return ImageSet(**load_or_build(path, build))


def _cache_key(root: Path, layout: str, split: str, image_size: int, crop: int, labels_csv, max_images) -> str:
    """Hash of the load options and of the size and modification time of every file the load reads."""
    watched = [root / CELEBA_ATTRIBUTES, root / CELEBA_PARTITION, root / "train.csv", root / "test.csv"]
    if labels_csv is not None:
        watched.append(Path(labels_csv))
    image_folder = {"celeba": root / CELEBA_IMAGES, "course": root / split, "folder": root}[layout]
    stamps = {}
    for path in [*watched, image_folder]:
        if path.exists():
            stat = path.stat()
            stamps[str(path)] = [stat.st_size, stat.st_mtime_ns]
    options = {
        "version": FACES_CACHE_VERSION,
        "root": str(root.resolve()),
        "layout": layout,
        "split": split,
        "image_size": image_size,
        "crop": crop,
        "labels_csv": str(labels_csv) if labels_csv else None,
        "max_images": max_images,
        "stamps": stamps,
    }
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:16]


def center_crop_resize(image: Image.Image, image_size: int, crop: int | None = None) -> np.ndarray:
    """Cut a centered square (side `crop`, or the shorter side) and resize it to uint8 (3, S, S)."""
    image = image.convert("RGB")
    side = min(image.width, image.height) if crop is None else min(crop, image.width, image.height)
    left = (image.width - side) // 2
    top = (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    if square.size != (image_size, image_size):
        square = square.resize((image_size, image_size), Image.Resampling.LANCZOS)
    return np.asarray(square).transpose(2, 0, 1)  # (S, S, 3) -> (3, S, S)


def decode_images(paths: list[Path], image_size: int, crop: int | None = None, *, source: Path | None = None) -> torch.Tensor:
    """Decode, crop and resize `paths` in parallel threads into uint8 (N, 3, S, S); `source` names the folder in errors."""
    if not paths:
        raise UserError(f"no images to load from {source or 'the folder'}: it has no .png, .jpg, .bmp or .webp files")

    def read(path: Path) -> np.ndarray:
        try:
            with Image.open(path) as image:
                image.draft("RGB", (image_size * 2, image_size * 2))  # JPEG: decode at a reduced scale
                return center_crop_resize(image, image_size, crop)
        except FileNotFoundError:
            raise UserError(f"image {path} not found: the label file lists it, so add the file or remove its row") from None
        except (UnidentifiedImageError, OSError) as error:
            raise UserError(f"image {path} cannot be decoded ({error}): replace or remove the file") from None

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        arrays = list(pool.map(read, paths))
    return torch.from_numpy(np.stack(arrays))


def _load_celeba(root: Path, split: str, image_size: int, crop: int, max_images: int | None) -> ImageSet:
    attribute_names, rows = read_celeba_attributes(root / CELEBA_ATTRIBUTES)
    partition_path = root / CELEBA_PARTITION
    if partition_path.is_file():
        if split not in CELEBA_SPLITS:
            raise UserError(f"unknown split {split!r}: CelebA has {', '.join(CELEBA_SPLITS)}")
        partition = read_celeba_partition(partition_path)
        rows = [(name, values) for name, values in rows if partition.get(name) == CELEBA_SPLITS[split]]
        if not rows:
            raise UserError(f"{partition_path} puts no image of {root / CELEBA_ATTRIBUTES} in the {split} split")
    if max_images is not None:
        rows = rows[:max_images]
    names = [name for name, _ in rows]
    attributes = torch.tensor([values for _, values in rows], dtype=torch.int64)
    images = decode_images([root / CELEBA_IMAGES / name for name in names], image_size, crop, source=root / CELEBA_IMAGES)
    return ImageSet(images, names, attribute_names, (attributes + 1) // 2, None, "celeba")  # -1/1 -> 0/1


def read_celeba_attributes(path: Path) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """Parse list_attr_celeba.txt into (attribute names, [(image name, [-1 or 1, ...]), ...])."""
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if len(lines) < 2:
        raise UserError(f"{path} is too short: expected a count line, a line of attribute names, then one line per image")
    if len(lines[0]) == 1 and lines[0][0].isdigit():
        lines = lines[1:]  # the image count
    attribute_names = lines[0]
    rows = []
    for number, fields in enumerate(lines[1:], start=3):
        if len(fields) != len(attribute_names) + 1:
            raise UserError(
                f"{path} line {number} has {len(fields) - 1} values for {len(attribute_names)} attributes: fix or remove that line"
            )
        try:
            values = [int(value) for value in fields[1:]]
        except ValueError:
            raise UserError(f"{path} line {number} has a value that is not -1 or 1: fix that line") from None
        if any(value not in (-1, 1) for value in values):
            raise UserError(f"{path} line {number} has a value that is not -1 or 1: fix that line")
        rows.append((fields[0], values))
    if not rows:
        raise UserError(f"{path} lists no images")
    return attribute_names, rows


def read_celeba_partition(path: Path) -> dict[str, int]:
    partition = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise UserError(f"{path} line {number} is not 'IMAGE_NAME 0|1|2': fix that line")
        partition[fields[0]] = int(fields[1])
    return partition


def read_label_csv(path: Path) -> tuple[list[str], list[str], list[list[int]]]:
    """Parse a CSV with an image-name column and integer label columns: (names, label columns, rows)."""
    if not path.is_file():
        raise UserError(f"label file {path} not found: give an existing CSV")
    with open(path, newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if not header:
            raise UserError(f"{path} is empty: expected a header with an image_name column and label columns")
        header = [column.strip() for column in header]
        name_column = next((column for column in NAME_COLUMNS if column in header), None)
        if name_column is None:
            raise UserError(f"{path} has no image_name column: its header is {','.join(header)}")
        name_index = header.index(name_column)
        label_columns = [column for index, column in enumerate(header) if index != name_index]
        if not label_columns:
            raise UserError(f"{path} has no label columns besides {name_column}: add 0/1 attribute or class columns")
        names, rows = [], []
        for number, fields in enumerate(reader, start=2):
            if not fields or all(not field.strip() for field in fields):
                continue
            if len(fields) != len(header):
                raise UserError(f"{path} line {number} has {len(fields)} fields, the header has {len(header)}: fix that line")
            values = []
            for index, field in enumerate(fields):
                if index == name_index:
                    continue
                try:
                    values.append(int(float(field)))
                except (ValueError, OverflowError):
                    raise UserError(
                        f"{path} line {number}: {header[index]} value {field.strip()!r} is not an integer: fix that line"
                    ) from None
            names.append(fields[name_index].strip())
            rows.append(values)
    if not rows:
        raise UserError(f"{path} lists no images")
    return names, label_columns, rows


def _labels_from_csv(path: Path) -> tuple[list[str], list[str], torch.Tensor | None, torch.Tensor | None]:
    """Read a label CSV into (names, attribute names, 0/1 attributes or None, classes or None).

    A single column named `label` or `class` contains class indices. Any other set of columns must
    be 0/1 attributes. -1/1 columns are accepted and mapped to 0/1 as in CelebA.
    """
    names, columns, rows = read_label_csv(path)
    values = torch.tensor(rows, dtype=torch.int64)  # (N, A)
    if len(columns) == 1 and columns[0].lower() in ("label", "class"):
        if values.min() < 0:
            raise UserError(f"{path} has negative class labels: use class indices 0..K-1")
        return names, [], None, values[:, 0]
    if bool(((values == -1) | (values == 1)).all()):
        values = (values + 1) // 2
    if not bool(((values == 0) | (values == 1)).all()):
        bad = columns[int(((values != 0) & (values != 1)).any(0).nonzero()[0])]
        raise UserError(f"{path} column {bad} has values other than 0 and 1: attribute columns must be 0/1 (or -1/1)")
    return names, columns, values, None


def _load_course(root: Path, split: str, image_size: int, max_images: int | None) -> ImageSet:
    csv_path = root / f"{split}.csv"
    names, attribute_names, attributes, classes = _labels_from_csv(csv_path)
    if max_images is not None:
        names = names[:max_images]
        attributes = None if attributes is None else attributes[:max_images]
        classes = None if classes is None else classes[:max_images]
    images = decode_images([root / split / name for name in names], image_size, source=root / split)
    return ImageSet(images, names, attribute_names, attributes, classes, "course")


def _load_folder(root: Path, image_size: int, labels_csv, max_images: int | None) -> ImageSet:
    if labels_csv is not None:
        names, attribute_names, attributes, classes = _labels_from_csv(Path(labels_csv))
    else:
        names = sorted(path.name for path in root.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
        attribute_names, attributes, classes = [], None, None
    if max_images is not None:
        names = names[:max_images]
        attributes = None if attributes is None else attributes[:max_images]
        classes = None if classes is None else classes[:max_images]
    images = decode_images([root / name for name in names], image_size, source=root)
    return ImageSet(images, names, attribute_names, attributes, classes, "folder")
