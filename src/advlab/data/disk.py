"""Readers for the standard digit datasets on disk: MNIST, USPS, SVHN and MNIST-M.

Nothing is downloaded. Under a data root DIR each domain is looked up in two layouts, in this order:

1. folder-and-CSV: DIR/<domain>/{train,test}.csv with the images under DIR/<domain>/{train,test}/.
2. the files torchvision's dataset classes keep (MNIST, USPS, SVHN), or for MNIST-M the common
   DIR/mnist_m/mnist_m_{train,test}/ folders with mnist_m_{train,test}_labels.txt.

The format readers check keys, shapes, dtypes and label ranges themselves instead of checksums, so
files converted or re-saved by other tools are accepted when their content is valid.
"""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import numpy as np
import scipy.io
import torch

from advlab.data.folders import read_csv_split, read_name_label_list
from advlab.data.transforms import resize_images, to_three_channels
from advlab.errors import UserError

# Split name in the torchvision file names of each dataset.
MNIST_PREFIX = {"train": "train", "test": "t10k"}
USPS_FILE = {"train": "usps.bz2", "test": "usps.t.bz2"}
SVHN_FILE = {"train": "train_32x32.mat", "test": "test_32x32.mat"}

# The second layout of each domain, for error messages.
NATIVE_LAYOUT = {
    "mnist": "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]",
    "usps": "usps.bz2 and usps.t.bz2",
    "svhn": "train_32x32.mat and test_32x32.mat",
    "mnistm": "mnist_m/mnist_m_{train,test}/ with mnist_m/mnist_m_{train,test}_labels.txt",
}

Split = tuple[torch.Tensor, torch.Tensor, list[str] | None]  # images, labels, file names


def read_disk_domain(name: str, split: str, data_root: Path, image_size: int) -> Split:
    """Read one split of a standard domain under `data_root` in either layout of the module docstring."""
    if not data_root.is_dir():
        raise UserError(f"data root {data_root} not found: pass an existing folder with --data-root")

    csv_folder = data_root / name
    if (csv_folder / f"{split}.csv").is_file():
        return read_csv_split(csv_folder, split, image_size)

    native = _read_native(name, split, data_root)
    if native is not None:
        images, labels, names = native
        return resize_images(to_three_channels(images), image_size), labels, names
    if name == "mnistm":
        folder = data_root / "mnist_m"
        if (folder / f"mnist_m_{split}_labels.txt").is_file():
            return read_name_label_list(folder / f"mnist_m_{split}_labels.txt", folder / f"mnist_m_{split}", image_size)

    if csv_folder.is_dir():
        raise UserError(
            f"CSV file {csv_folder / f'{split}.csv'} not found: add it with header 'image_name,label' "
            f"and the images under {csv_folder / split}/, or use the layout {NATIVE_LAYOUT[name]}"
        )
    raise UserError(
        f"data root {data_root} contains neither {name}/{split}.csv nor {NATIVE_LAYOUT[name]} for the {split} split: "
        f"put the {name} files there (see 'advlab data list') or pick an embedded domain"
    )


def _read_native(name: str, split: str, data_root: Path) -> tuple[torch.Tensor, torch.Tensor, None] | None:
    """Read the torchvision-format files of `name` if they exist, else return None."""
    if name == "mnist":
        raw = data_root / "MNIST" / "raw"
        images_path = _existing(raw / f"{MNIST_PREFIX[split]}-images-idx3-ubyte")
        labels_path = _existing(raw / f"{MNIST_PREFIX[split]}-labels-idx1-ubyte")
        if images_path is None or labels_path is None:
            return None
        return *read_mnist_idx(images_path, labels_path), None
    if name == "usps":
        path = data_root / USPS_FILE[split]
        return (*read_usps_bz2(path), None) if path.is_file() else None
    if name == "svhn":
        path = data_root / SVHN_FILE[split]
        return (*read_svhn_mat(path), None) if path.is_file() else None
    return None


def _existing(path: Path) -> Path | None:
    """Return `path` or its `.gz` sibling, whichever exists, else None."""
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes (the MNIST format), gzip-compressed when it ends in .gz."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError) as error:
        raise UserError(f"IDX file {path} is unreadable ({error}): replace it with the original MNIST file") from error

    # header: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then each
    # dimension as a big-endian int32
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise UserError(f"IDX file {path} has no unsigned-byte IDX header: replace it with the original MNIST file")
    ndim = data[3]
    header_size = 4 + 4 * ndim
    shape = tuple(int(size) for size in np.frombuffer(data[4:header_size], dtype=">i4"))
    if len(shape) != ndim or len(data) - header_size != int(np.prod(shape)):
        raise UserError(
            f"IDX file {path} contains {len(data) - header_size} bytes after its header, but the header declares "
            f"shape {shape}: replace it with the original MNIST file"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def read_mnist_idx(images_path: Path, labels_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Read MNIST images (N, 28, 28) and labels (N,) as uint8 (N, 1, H, W) and int64 (N,)."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1:
        raise UserError(
            f"MNIST files {images_path} and {labels_path} have {images.ndim} and {labels.ndim} dimensions, "
            "expected 3 (images) and 1 (labels): check that the two files are not swapped"
        )
    if len(images) != len(labels):
        raise UserError(
            f"MNIST files {images_path} and {labels_path} hold {len(images)} images but {len(labels)} labels: "
            "use matching files"
        )
    if labels.size and labels.max() > 9:
        raise UserError(f"MNIST label file {labels_path} contains label {labels.max()}, expected 0..9: replace it")
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def read_usps_bz2(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Read the libsvm-format USPS file that torchvision's USPS class uses, as (N, 1, 16, 16) uint8.

    Each line is `label index:value ...` with label 1..10 meaning digit label - 1 (as in torchvision)
    and 256 pixel values in [-1, 1], mapped to 0..255. Absent indices are 0 in libsvm's sparse format.
    """
    try:
        with bz2.open(path, "rt") as file:
            lines = file.read().splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise UserError(f"USPS file {path} is not a readable bz2 text file ({error}): replace it") from error

    images, labels = [], []
    for line_number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"line {line_number} of {path}"
        try:
            label = float(fields[0])
            pixels = np.zeros(256, dtype=np.float32)
            for field in fields[1:]:
                index, value = field.split(":")
                pixels[int(index) - 1] = float(value)  # libsvm indices start at 1
        except (ValueError, IndexError) as error:
            raise UserError(f"{where} is not 'label index:value ...' with indices 1..256 ({error}): replace the file") from error
        if label != int(label) or not 1 <= label <= 10:
            raise UserError(f"label {fields[0]!r} on {where} is not an integer from 1 to 10: replace the file")
        if np.abs(pixels).max() > 1.0 + 1e-6:
            raise UserError(f"{where} has pixel values outside [-1, 1]: replace the file")
        images.append(pixels)
        labels.append(int(label) - 1)
    if not images:
        raise UserError(f"USPS file {path} contains no samples: replace it")

    pixels = np.stack(images).reshape(-1, 1, 16, 16)
    images_uint8 = np.round((pixels + 1.0) / 2.0 * 255.0).clip(0, 255).astype(np.uint8)
    return torch.from_numpy(images_uint8), torch.tensor(labels, dtype=torch.int64)


def read_svhn_mat(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Read an SVHN cropped-digits .mat file as (N, 3, 32, 32) uint8 and int64 labels.

    The file contains X, uint8 (32, 32, 3, N), and y, (N, 1) with 1..10 where 10 means digit 0.
    """
    try:
        contents = scipy.io.loadmat(path, variable_names=["X", "y"])
    except (OSError, ValueError, TypeError, NotImplementedError) as error:
        raise UserError(f"SVHN file {path} is not a readable MATLAB .mat file ({error}): replace it") from error

    if "X" not in contents or "y" not in contents:
        raise UserError(f"SVHN file {path} lacks the variables X and y: replace it with train_32x32.mat or test_32x32.mat")
    images, labels = contents["X"], contents["y"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[:3] != (32, 32, 3):
        raise UserError(
            f"SVHN file {path} has X of shape {images.shape} and dtype {images.dtype}, expected uint8 (32, 32, 3, N): "
            "replace it"
        )
    labels = labels.reshape(-1)
    if len(labels) != images.shape[3]:
        raise UserError(f"SVHN file {path} has {images.shape[3]} images but {len(labels)} labels: replace it")
    if labels.size and (labels.min() < 0 or labels.max() > 10 or not np.all(labels == np.round(labels))):
        raise UserError(f"SVHN file {path} has labels outside 0..10: replace it")

    labels = labels.astype(np.int64) % 10  # SVHN stores digit 0 as 10
    images = np.ascontiguousarray(images.transpose(3, 2, 0, 1))  # (32, 32, 3, N) -> (N, 3, 32, 32)
    return torch.from_numpy(images), torch.from_numpy(labels)
