"""Face loaders on folders that the tests write: CelebA layout, course layout, image folder with CSV."""

import numpy as np
import pytest
import torch
from PIL import Image

from advlab.data.faces import detect_layout, load_face_dataset
from advlab.errors import UserError

CELEBA_ATTRIBUTES = ["5_o_Clock_Shadow", "Male", "Smiling"]


def write_image(path, size, colour):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), colour, dtype=np.uint8)).save(path)


def write_celeba(root, count=6):
    """A CelebA folder of 178x218 images whose center is red and whose border is blue."""
    names = [f"{i + 1:06d}.jpg" for i in range(count)]
    for name in names:
        array = np.zeros((218, 178, 3), dtype=np.uint8)
        array[..., 2] = 255
        array[55:163, 35:143] = (255, 0, 0)  # the centered 108x108 square
        (root / "img_align_celeba").mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(root / "img_align_celeba" / name, quality=95)
    lines = [str(count), " ".join(CELEBA_ATTRIBUTES)]
    for i, name in enumerate(names):
        values = [1 if (i + j) % 2 else -1 for j in range(len(CELEBA_ATTRIBUTES))]
        lines.append(name + " " + " ".join(f"{value:2d}" for value in values))
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    partition = [f"{name} {0 if i < count - 2 else 2}" for i, name in enumerate(names)]
    (root / "list_eval_partition.txt").write_text("\n".join(partition) + "\n")
    return names


def test_celeba_layout_parses_attributes(tmp_path, data_cache):
    names = write_celeba(tmp_path / "celeba")
    assert detect_layout(tmp_path / "celeba") == "celeba"
    dataset = load_face_dataset(tmp_path / "celeba", image_size=64)
    assert dataset.names == names[:4]  # partition 0 only
    assert dataset.images.shape == (4, 3, 64, 64)
    assert dataset.images.dtype == torch.uint8
    assert dataset.attribute_names == CELEBA_ATTRIBUTES
    # image i has value 1 for attribute j when (i + j) is odd, -1 otherwise; -1/1 become 0/1
    expected = torch.tensor([[(i + j) % 2 for j in range(3)] for i in range(4)])
    assert torch.equal(dataset.attributes, expected)
    assert dataset.attribute_column("Smiling").tolist() == [0, 1, 0, 1]


def test_celeba_crop_keeps_the_face(tmp_path, data_cache):
    write_celeba(tmp_path / "celeba")
    dataset = load_face_dataset(tmp_path / "celeba", image_size=64, celeba_crop=108)
    red = dataset.images[:, 0].float().mean().item()
    blue = dataset.images[:, 2].float().mean().item()
    assert red > 240  # the 108-pixel center crop is all red
    assert blue < 15
    test_split = load_face_dataset(tmp_path / "celeba", split="test", image_size=32)
    assert test_split.images.shape == (2, 3, 32, 32)


def test_celeba_bad_attribute_line(tmp_path, data_cache):
    write_celeba(tmp_path / "celeba")
    path = tmp_path / "celeba" / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("-1", "0", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="line 4 has a value that is not -1 or 1"):
        load_face_dataset(tmp_path / "celeba")


def write_course(root, rows):
    (root / "train").mkdir(parents=True)
    lines = ["image_name,Male,Smiling"]
    for i, (male, smiling) in enumerate(rows):
        write_image(root / "train" / f"{i}.png", (64, 64), (10 * i, 100, 200))
        lines.append(f"{i}.png,{male},{smiling}")
    (root / "train.csv").write_text("\n".join(lines) + "\n")


def test_course_layout_reads_csv(tmp_path, data_cache):
    write_course(tmp_path / "course", [(0, 1), (1, 0), (1, 1)])
    assert detect_layout(tmp_path / "course") == "course"
    dataset = load_face_dataset(tmp_path / "course", image_size=64)
    assert dataset.layout == "course"
    assert dataset.attribute_names == ["Male", "Smiling"]
    assert dataset.attribute_column("Smiling").tolist() == [1, 0, 1]
    assert dataset.images[2, :, 0, 0].tolist() == [20, 100, 200]  # 64x64 input passes through unchanged


def test_unknown_attribute_lists_known(tmp_path, data_cache):
    write_course(tmp_path / "course", [(0, 1), (1, 0)])
    dataset = load_face_dataset(tmp_path / "course")
    with pytest.raises(UserError, match="unknown attribute 'Blond'.*Male, Smiling"):
        dataset.attribute_column("Blond")


def test_course_csv_rejects_non_binary(tmp_path, data_cache):
    write_course(tmp_path / "course", [(0, 1), (1, 0)])
    (tmp_path / "course" / "train.csv").write_text("image_name,Male,Smiling\n0.png,0,1\n1.png,1,7\n")
    with pytest.raises(UserError, match="column Smiling has values other than 0 and 1"):
        load_face_dataset(tmp_path / "course")


def test_folder_with_class_csv(tmp_path, data_cache):
    folder = tmp_path / "images"
    for i in range(4):
        write_image(folder / f"img{i}.png", (40, 30), (50 * i, 0, 0))
    (tmp_path / "labels.csv").write_text("filename,label\n" + "".join(f"img{i}.png,{i % 2}\n" for i in range(4)))
    dataset = load_face_dataset(folder, image_size=32, labels_csv=tmp_path / "labels.csv")
    assert dataset.images.shape == (4, 3, 32, 32)
    assert dataset.classes.tolist() == [0, 1, 0, 1]
    assert dataset.attributes is None
    unlabelled = load_face_dataset(folder, image_size=32)
    assert unlabelled.names == [f"img{i}.png" for i in range(4)]


def test_cache_notices_new_labels(tmp_path, data_cache):
    write_course(tmp_path / "course", [(0, 1), (1, 0)])
    first = load_face_dataset(tmp_path / "course")
    (tmp_path / "course" / "train.csv").write_text("image_name,Male,Smiling\n0.png,1,1\n1.png,1,0\n")
    second = load_face_dataset(tmp_path / "course")
    assert first.attribute_column("Male").tolist() == [0, 1]
    assert second.attribute_column("Male").tolist() == [1, 1]


def test_course_csv_names_bad_value(tmp_path, data_cache):
    write_course(tmp_path / "course", [(0, 1), (1, 0)])
    (tmp_path / "course" / "train.csv").write_text("image_name,Male,Smiling\n0.png,0,1\n1.png,1,x\n")
    with pytest.raises(UserError, match="line 3: Smiling value 'x' is not an integer"):
        load_face_dataset(tmp_path / "course")


def test_empty_image_folder_named(tmp_path, data_cache):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError) as error:
        load_face_dataset(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(error.value)
