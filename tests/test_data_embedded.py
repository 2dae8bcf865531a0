import dataclasses

import pytest
import torch

from advlab.data import EMBEDDED_DOMAINS, DigitSet, list_domains, load_domain, normalize
from advlab.data import cache, domains
from advlab.data.transforms import to_three_channels
from advlab.errors import UserError

EXPECTED_SIZES = {
    "mnist-5k": (4000, 1000),
    "optdigits": (1437, 360),
    "mnistm-lite": (4000, 1000),
    "syndigits": (10000, 2000),
}


def test_embedded_domains_listed_first():
    names = [info.name for info in list_domains()]
    assert tuple(names[: len(EMBEDDED_DOMAINS)]) == EMBEDDED_DOMAINS
    assert set(EXPECTED_SIZES) == set(EMBEDDED_DOMAINS)
    assert set(names[len(EMBEDDED_DOMAINS) :]) == {"usps", "mnistm", "svhn", "mnist"}


@pytest.mark.parametrize("name", EMBEDDED_DOMAINS)
def test_embedded_split_contents(name, data_cache):
    info = next(info for info in list_domains() if info.name == name)
    assert info.embedded
    for split, expected_size in zip(("train", "test"), EXPECTED_SIZES[name]):
        digits = load_domain(name, split)
        assert isinstance(digits, DigitSet)
        assert len(digits) == expected_size
        assert info.split_sizes[split] == expected_size
        assert digits.images.dtype == torch.uint8
        assert digits.images.shape == (expected_size, 3, 28, 28)
        assert digits.labels.dtype == torch.int64
        assert digits.labels.min() == 0
        assert digits.labels.max() == 9
        assert torch.bincount(digits.labels, minlength=10).min() > 0
        assert digits.domain == name
        assert digits.split == split
        assert digits.images.float().std() > 20  # not blank


@pytest.mark.parametrize("name", ["mnist-5k", "optdigits"])
def test_fixed_splits_are_stratified(name, data_cache):
    train = load_domain(name, "train")
    test = load_domain(name, "test")
    train_counts = torch.bincount(train.labels, minlength=10)
    test_counts = torch.bincount(test.labels, minlength=10)
    ratio = test_counts.float() / (train_counts + test_counts).float()
    expected = len(test) / (len(train) + len(test))
    assert torch.allclose(ratio, torch.full((10,), expected), atol=0.02)
    if name == "mnist-5k":
        assert test_counts.tolist() == [100] * 10


@pytest.mark.parametrize("name", EMBEDDED_DOMAINS)
def test_builder_is_deterministic(name, data_cache):
    cached = load_domain(name, "test", image_size=domains.EMBEDDED[name].info.image_size)
    rebuilt = domains.EMBEDDED[name].build(0)
    assert torch.equal(to_three_channels(rebuilt["test_images"]), cached.images)
    assert torch.equal(rebuilt["test_labels"], cached.labels)


@pytest.mark.parametrize("name", ["mnistm-lite", "syndigits"])
def test_photo_domains_change_with_seed(name, data_cache):
    first = load_domain(name, "train", seed=0)
    second = load_domain(name, "train", seed=1)
    assert first.images.shape == second.images.shape
    changed = (first.images != second.images).flatten(1).any(dim=1).float().mean()
    assert changed > 0.99


@pytest.mark.parametrize("name", ["mnist-5k", "optdigits"])
def test_seed_does_not_change_fixed_domains(name, data_cache):
    assert torch.equal(load_domain(name, "test", seed=0).images, load_domain(name, "test", seed=5).images)


def test_mnistm_lite_differs_from_mnist(data_cache):
    mnist = load_domain("mnist-5k", "test")
    mnistm = load_domain("mnistm-lite", "test")
    assert torch.equal(mnist.labels, mnistm.labels)

    # colour: the channels of mnist-5k are identical, those of mnistm-lite differ
    assert (mnist.images[:, 0] != mnist.images[:, 1]).sum() == 0
    colour_difference = (mnistm.images[:, 0].float() - mnistm.images[:, 1].float()).abs().mean()
    assert colour_difference > 10

    # backgrounds: where the MNIST digit is blank, mnistm-lite shows a textured photo crop
    background = (mnist.images[:, :1] == 0).expand(-1, 3, -1, -1)
    stds = []
    for image, mask in zip(mnistm.images.float(), background):
        stds.append(image[mask].std())
    assert torch.stack(stds).median() > 15
    # output = |patch - digit|: a full-intensity digit stroke is 255 minus the patch, so it differs from the background
    assert (mnistm.images.float() - mnist.images.float()).abs().mean() > 40


def test_syndigits_native_size_and_resize(data_cache):
    native = load_domain("syndigits", "test", image_size=32)
    resized = load_domain("syndigits", "test", image_size=28)
    assert native.images.shape == (2000, 3, 32, 32)
    assert resized.images.shape == (2000, 3, 28, 28)
    assert torch.equal(native.labels, resized.labels)
    # resizing keeps the content: mean intensities agree closely
    assert (native.images.float().mean() - resized.images.float().mean()).abs() < 1.0
    # colour images with varied backgrounds, not flat grey
    assert (native.images[:, 0].float() - native.images[:, 2].float()).abs().mean() > 5


def test_normalize_maps_to_unit_range():
    images = torch.tensor([0, 255, 51], dtype=torch.uint8).view(1, 3, 1, 1).expand(2, 3, 4, 4)
    images = images.contiguous(memory_format=torch.channels_last)
    result = normalize(images)
    assert result.dtype == torch.float32
    assert result[0, 0, 0, 0].item() == -1.0
    assert result[0, 1, 0, 0].item() == 1.0
    assert result[0, 2, 0, 0].item() == pytest.approx(51 / 127.5 - 1)
    assert result.is_contiguous(memory_format=torch.channels_last)
    assert images[0, 1, 0, 0] == 255  # input untouched


def test_normalize_rejects_float():
    with pytest.raises(TypeError):
        normalize(torch.zeros(1, 3, 2, 2))


def test_cache_honours_env_and_hits(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path / "cache"))
    first = load_domain("optdigits", "train")
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1
    assert files[0].name.startswith("optdigits-v")
    assert files[0].suffix == ".pt"

    # a second load must come from the file, not from the builder
    def fail(seed):
        raise AssertionError("builder called despite a cache file")

    monkeypatch.setitem(domains.EMBEDDED, "optdigits", dataclasses.replace(domains.EMBEDDED["optdigits"], build=fail))
    second = load_domain("optdigits", "train")
    assert torch.equal(first.images, second.images)
    assert torch.equal(first.labels, second.labels)


def test_cache_key_covers_build_inputs():
    base = cache.cache_path("syndigits", 1, 0, {"a": 1})
    assert cache.cache_path("syndigits", 1, 0, {"a": 1}) == base
    assert cache.cache_path("syndigits", 2, 0, {"a": 1}) != base
    assert cache.cache_path("syndigits", 1, 1, {"a": 1}) != base
    assert cache.cache_path("syndigits", 1, 0, {"a": 2}) != base
    assert cache.cache_path("optdigits", 1, 0, {"a": 1}) != base


def test_corrupt_cache_file_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path))
    expected = load_domain("optdigits", "test")
    (path,) = tmp_path.iterdir()
    path.write_bytes(b"truncated")
    again = load_domain("optdigits", "test")
    assert torch.equal(expected.images, again.images)
    assert [file.name for file in tmp_path.iterdir()] == [path.name]  # no temporary files left


def test_unwritable_cache_is_user_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("ADVLAB_CACHE", str(blocker / "cache"))
    with pytest.raises(UserError, match="ADVLAB_CACHE"):
        load_domain("optdigits", "train")


@pytest.mark.parametrize("split", ["valid", "Train", ""])
def test_bad_split_is_user_error(split):
    with pytest.raises(UserError, match=f"split '{split}'"):
        load_domain("mnist-5k", split)


@pytest.mark.parametrize("image_size", [0, -3, 2.5])
def test_bad_image_size_is_user_error(image_size):
    with pytest.raises(UserError, match="image size"):
        load_domain("mnist-5k", "train", image_size=image_size)
