import bz2
import gzip
import struct

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from advlab.data import load_domain, load_image_folder
from advlab.errors import UserError


def write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def digit_image(value, size=28):
    """A grayscale image whose pixels all equal `value`, so the value identifies the image after loading."""
    return np.full((size, size), value, dtype=np.uint8)


def write_csv_domain(folder, split, labels, *, size=28):
    """Write folder/<split>.csv and one grayscale PNG per label with pixel value 10 * index."""
    lines = ["image_name,label"]
    for index, label in enumerate(labels):
        name = f"img{index:03d}.png"
        write_png(folder / split / name, digit_image(10 * index, size))
        lines.append(f"{name},{label}")
    (folder / f"{split}.csv").write_text("\n".join(lines) + "\n")


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


# folder-and-CSV layout


def test_csv_domain_reads_images_labels_names(tmp_path):
    write_csv_domain(tmp_path / "usps", "train", [3, 0, 9])
    digits = load_domain("usps", "train", data_root=tmp_path, image_size=28)
    assert digits.labels.tolist() == [3, 0, 9]
    assert digits.names == ["img000.png", "img001.png", "img002.png"]
    assert digits.images.shape == (3, 3, 28, 28)
    assert digits.images.dtype == torch.uint8
    assert digits.images[:, :, 5, 5].tolist() == [[0, 0, 0], [10, 10, 10], [20, 20, 20]]
    assert digits.domain == "usps"


def test_csv_domain_resizes_mixed_sizes(tmp_path):
    folder = tmp_path / "svhn"
    write_png(folder / "test" / "a.png", np.full((32, 32, 3), (200, 100, 50), dtype=np.uint8))
    write_png(folder / "test" / "b.png", digit_image(77, size=20))
    (folder / "test.csv").write_text("image_name,label\na.png,1\nb.png,2\n")
    digits = load_domain("svhn", "test", data_root=tmp_path, image_size=16)
    assert digits.images.shape == (2, 3, 16, 16)
    assert digits.images[0, :, 8, 8].tolist() == [200, 100, 50]
    assert digits.images[1, :, 8, 8].tolist() == [77, 77, 77]


def test_csv_layout_takes_priority(tmp_path):
    write_csv_domain(tmp_path / "mnist", "test", [4])
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28)))
    write_idx(raw / "t10k-labels-idx1-ubyte", np.array([1, 2]))
    digits = load_domain("mnist", "test", data_root=tmp_path)
    assert digits.labels.tolist() == [4]


def test_custom_domain_by_path_and_root(tmp_path):
    folder = tmp_path / "my-digits"
    write_csv_domain(folder, "train", [7, 8])
    by_path = load_domain(str(folder), "train")
    by_root = load_domain("my-digits", "train", data_root=tmp_path)
    assert by_path.labels.tolist() == [7, 8]
    assert torch.equal(by_path.images, by_root.images)
    assert by_root.domain == "my-digits"


# torchvision file formats


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_mnist_idx(tmp_path, suffix):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.stack([digit_image(value) for value in (0, 128, 255)])
    images[1, 3, 4] = 9  # one marker pixel checks the row/column order
    write_idx(raw / f"train-images-idx3-ubyte{suffix}", images)
    write_idx(raw / f"train-labels-idx1-ubyte{suffix}", np.array([5, 0, 9]))
    digits = load_domain("mnist", "train", data_root=tmp_path, image_size=28)
    assert digits.labels.tolist() == [5, 0, 9]
    assert digits.images.shape == (3, 3, 28, 28)
    assert digits.images[:, 0, 0, 0].tolist() == [0, 128, 255]
    assert digits.images[1, :, 3, 4].tolist() == [9, 9, 9]
    assert digits.names is None


def test_mnist_idx_bad_header(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x0d\x03" + b"\x00" * 20)
    write_idx(raw / "train-labels-idx1-ubyte", np.array([1]))
    with pytest.raises(UserError, match="train-images-idx3-ubyte"):
        load_domain("mnist", "train", data_root=tmp_path)


def write_usps(path, rows):
    lines = []
    for label, pixels in rows:
        features = " ".join(f"{index + 1}:{value:.6f}" for index, value in enumerate(pixels))
        lines.append(f"{label} {features}")
    path.write_bytes(bz2.compress(("\n".join(lines) + "\n").encode()))


def test_usps_bz2_labels_and_pixels(tmp_path):
    pixels = np.full(256, -1.0)
    pixels[17] = 1.0  # row 1, column 1
    write_usps(tmp_path / "usps.t.bz2", [(10, pixels), (1, np.zeros(256)), (4, np.ones(256))])
    digits = load_domain("usps", "test", data_root=tmp_path, image_size=16)
    assert digits.labels.tolist() == [9, 0, 3]  # digit = label - 1, as torchvision does
    assert digits.images.shape == (3, 3, 16, 16)
    assert digits.images[0, :, 0, 0].tolist() == [0, 0, 0]
    assert digits.images[0, :, 1, 1].tolist() == [255, 255, 255]
    assert digits.images[1, 0, 5, 5].item() == 128
    assert digits.images[2].min().item() == 255


def test_usps_bad_label(tmp_path):
    write_usps(tmp_path / "usps.bz2", [(11, np.zeros(256))])
    with pytest.raises(UserError, match="'11'.*usps.bz2"):
        load_domain("usps", "train", data_root=tmp_path)


def test_svhn_mat_layout_and_label_ten(tmp_path):
    images = np.zeros((32, 32, 3, 2), dtype=np.uint8)
    images[2, 5, 0, 1] = 200  # image 1, row 2, column 5, red
    images[:, :, 2, 0] = 50  # image 0, blue everywhere
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": images, "y": np.array([[10], [3]], dtype=np.uint8)})
    digits = load_domain("svhn", "train", data_root=tmp_path, image_size=32)
    assert digits.labels.tolist() == [0, 3]
    assert digits.images.shape == (2, 3, 32, 32)
    assert digits.images[1, :, 2, 5].tolist() == [200, 0, 0]
    assert digits.images[0, :, 10, 10].tolist() == [0, 0, 50]


def test_svhn_mat_wrong_keys(tmp_path):
    scipy.io.savemat(tmp_path / "test_32x32.mat", {"images": np.zeros((32, 32, 3, 1), dtype=np.uint8)})
    with pytest.raises(UserError, match="test_32x32.mat lacks the variables X and y"):
        load_domain("svhn", "test", data_root=tmp_path)


def test_svhn_mat_wrong_shape(tmp_path):
    scipy.io.savemat(tmp_path / "test_32x32.mat", {"X": np.zeros((28, 28, 1), dtype=np.uint8), "y": np.ones((1, 1))})
    with pytest.raises(UserError, match=r"shape \(28, 28, 1\)"):
        load_domain("svhn", "test", data_root=tmp_path)


def test_mnistm_label_list_layout(tmp_path):
    folder = tmp_path / "mnist_m"
    write_png(folder / "mnist_m_train" / "00000000.png", np.full((28, 28, 3), 90, dtype=np.uint8))
    write_png(folder / "mnist_m_train" / "00000001.png", np.full((28, 28, 3), 30, dtype=np.uint8))
    (folder / "mnist_m_train_labels.txt").write_text("00000000.png 5\n00000001.png 7\n")
    digits = load_domain("mnistm", "train", data_root=tmp_path)
    assert digits.labels.tolist() == [5, 7]
    assert digits.names == ["00000000.png", "00000001.png"]
    assert digits.images[:, 0, 0, 0].tolist() == [90, 30]


# load_image_folder


def test_image_folder_sorted_and_filtered(tmp_path):
    write_png(tmp_path / "b.PNG", digit_image(20, size=10))
    write_png(tmp_path / "a.jpg", digit_image(200, size=10))
    Image.fromarray(digit_image(100, size=10)).save(tmp_path / "c.bmp")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()
    write_png(tmp_path / "sub" / "d.png", digit_image(0))
    names, images = load_image_folder(tmp_path, image_size=12)
    assert names == ["a.jpg", "b.PNG", "c.bmp"]
    assert images.shape == (3, 3, 12, 12)
    assert images.dtype == torch.uint8
    assert abs(int(images[0, 0, 6, 6]) - 200) <= 3  # JPEG is lossy
    assert images[1, :, 6, 6].tolist() == [20, 20, 20]
    assert images[2, :, 6, 6].tolist() == [100, 100, 100]


def test_image_folder_empty(tmp_path):
    (tmp_path / "readme.txt").write_text("")
    with pytest.raises(UserError, match=f"{tmp_path} contains no .png"):
        load_image_folder(tmp_path)


def test_image_folder_missing(tmp_path):
    with pytest.raises(UserError, match="nowhere not found"):
        load_image_folder(tmp_path / "nowhere")


def test_image_folder_corrupt_image(tmp_path):
    write_png(tmp_path / "good.png", digit_image(1))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(UserError, match="broken.png is unreadable or corrupt"):
        load_image_folder(tmp_path)


# bad input


def test_missing_data_root(tmp_path):
    with pytest.raises(UserError, match=f"data root {tmp_path / 'absent'} not found"):
        load_domain("mnist", "train", data_root=tmp_path / "absent")


def test_disk_domain_without_data_root():
    with pytest.raises(UserError, match="domain svhn is read from disk: pass --data-root"):
        load_domain("svhn", "train")


def test_root_without_domain_files(tmp_path):
    with pytest.raises(UserError, match="usps.bz2 and usps.t.bz2"):
        load_domain("usps", "train", data_root=tmp_path)


def test_missing_csv(tmp_path):
    write_csv_domain(tmp_path / "usps", "train", [1])
    with pytest.raises(UserError, match=r"CSV file .*usps/test\.csv not found"):
        load_domain("usps", "test", data_root=tmp_path)


def test_csv_wrong_header(tmp_path):
    write_csv_domain(tmp_path / "usps", "train", [1])
    (tmp_path / "usps" / "train.csv").write_text("file,class\nimg000.png,1\n")
    with pytest.raises(UserError, match="'file,class'.*image_name,label"):
        load_domain("usps", "train", data_root=tmp_path)


def test_csv_without_rows(tmp_path):
    folder = tmp_path / "usps"
    (folder / "train").mkdir(parents=True)
    (folder / "train.csv").write_text("image_name,label\n")
    with pytest.raises(UserError, match="no rows after the header"):
        load_domain("usps", "train", data_root=tmp_path)


def test_csv_row_with_missing_image(tmp_path):
    write_csv_domain(tmp_path / "usps", "train", [1, 2])
    with open(tmp_path / "usps" / "train.csv", "a") as file:
        file.write("ghost.png,3\n")
    with pytest.raises(UserError, match="ghost.png named on line 4 of"):
        load_domain("usps", "train", data_root=tmp_path)


def test_csv_corrupt_image(tmp_path):
    write_csv_domain(tmp_path / "usps", "train", [1, 2])
    (tmp_path / "usps" / "train" / "img001.png").write_bytes(b"garbage")
    with pytest.raises(UserError, match="img001.png is unreadable or corrupt"):
        load_domain("usps", "train", data_root=tmp_path)


@pytest.mark.parametrize("label", ["11", "x", "-1", "3.5"])
def test_csv_bad_label(tmp_path, label):
    write_csv_domain(tmp_path / "usps", "train", [1, label])
    with pytest.raises(UserError, match=f"label '{label}' on line 3 of .*train.csv \\(image img001.png\\)"):
        load_domain("usps", "train", data_root=tmp_path)


def test_unknown_domain_lists_known(tmp_path):
    with pytest.raises(UserError, match="unknown domain 'mnist-50k'.*mnist-5k, optdigits.*svhn") as caught:
        load_domain("mnist-50k", "train", data_root=tmp_path)
    assert "\n" not in str(caught.value)


def test_bad_split_on_disk_domain(tmp_path):
    write_csv_domain(tmp_path / "usps", "train", [1])
    with pytest.raises(UserError, match="split 'validation'"):
        load_domain("usps", "validation", data_root=tmp_path)
