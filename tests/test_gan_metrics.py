"""Offline GAN metrics: feature-space Frechet distance and KID, classifier cache, Inception gating."""

import socket
import urllib.request

import pytest
import torch

from advlab.metrics import frechet
from advlab.metrics.feature_classifier import (
    ClassifierFeatureExtractor,
    ClassifierOptions,
    FeatureClassifier,
    classifier_cache_path,
    load_or_train_classifier,
)
from advlab.metrics.frechet import FeatureSpaceMetrics, inception_missing_notice, inception_weights_path


@pytest.fixture
def real_images():
    generator = torch.Generator().manual_seed(0)
    base = torch.randint(40, 200, (300, 3, 1, 1), generator=generator)
    noise = torch.randint(-40, 40, (300, 3, 32, 32), generator=generator)
    return (base + noise).clamp(0, 255).to(torch.uint8)


@pytest.fixture
def extractor():
    torch.manual_seed(0)
    classifier = FeatureClassifier(image_size=32, num_outputs=10, multi_label=False, width=8)
    return ClassifierFeatureExtractor(classifier)


def shifted(images, amount):
    return (images.int() + amount).clamp(0, 255).to(torch.uint8)


def test_frechet_distance_near_zero_on_same_set(real_images, extractor):
    metrics = FeatureSpaceMetrics(extractor, real_images, kid_subset_size=100)
    values = metrics.compute(real_images)
    assert abs(values["fd"]) < 1e-3
    assert abs(values["kid"]) < 1e-2


def test_frechet_distance_grows_with_shift(real_images, extractor):
    metrics = FeatureSpaceMetrics(extractor, real_images, kid_subset_size=100)
    distances = [metrics.compute(shifted(real_images, amount))["fd"] for amount in (0, 10, 30, 60)]
    assert distances[0] < distances[1] < distances[2] < distances[3]
    assert distances[1] > 100 * max(abs(distances[0]), 1e-6)
    kid_small = metrics.compute(shifted(real_images, 10))["kid"]
    kid_large = metrics.compute(shifted(real_images, 60))["kid"]
    assert kid_large > kid_small


def test_float_fakes_equal_their_uint8_version(real_images, extractor):
    metrics = FeatureSpaceMetrics(extractor, real_images, kid_subset_size=100)
    as_float = real_images.float() / 127.5 - 1.0
    assert metrics.compute(as_float)["fd"] == pytest.approx(metrics.compute(real_images)["fd"], abs=1e-6)


def test_classifier_cache_key_follows_data_and_options(real_images, data_cache):
    labels = torch.arange(len(real_images)) % 10
    options = ClassifierOptions(steps=5, width=8, batch_size=16)
    path = classifier_cache_path("toy", real_images, labels, options)
    assert path != classifier_cache_path("toy", shifted(real_images, 1), labels, options)
    assert path != classifier_cache_path("toy", real_images, labels.roll(1), options)
    assert path != classifier_cache_path("toy", real_images, labels, ClassifierOptions(steps=6, width=8, batch_size=16))

    rng_before = torch.get_rng_state()
    first, info = load_or_train_classifier("toy", real_images, labels, options=options)
    assert torch.equal(torch.get_rng_state(), rng_before)  # training ran under a forked RNG
    assert path.is_file()
    assert info["cache_file"] == str(path)
    second, _ = load_or_train_classifier("toy", real_images, labels, options=options)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name


def test_inception_without_weights_never_downloads(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv(frechet.INCEPTION_WEIGHTS_ENV_VAR, raising=False)
    assert inception_weights_path() is None
    assert inception_weights_path(tmp_path / "missing.pth") is None
    notice = inception_missing_notice()
    assert "\n" not in notice
    assert frechet.INCEPTION_WEIGHTS_FILE in notice
    assert "--inception-weights" in notice
    weights = tmp_path / "hub" / "checkpoints" / frechet.INCEPTION_WEIGHTS_FILE
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"placeholder")
    assert inception_weights_path() == weights
