"""Configuration resolution: presets, flags, --set, type checks and unknown keys."""

import pytest

from advlab.config import build_config, parse_set_items, preset_names, read_yaml_mapping
from advlab.errors import UserError
from advlab.training.sampling import EpochBatchSampler
from advlab.training.uda_config import UDAConfig


def test_set_items_are_typed():
    config = build_config(UDAConfig, parse_set_items(["lr=3e-4", "steps=20", "channels_last=false", "num_threads=none"]))
    assert config.lr == pytest.approx(3e-4)
    assert config.steps == 20
    assert config.channels_last is False
    assert config.num_threads is None


def test_later_layers_win():
    config = build_config(UDAConfig, {"steps": 5, "method": "dan"}, {"steps": 7})
    assert config.steps == 7
    assert config.method == "dan"


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"stepz": 3}, "unknown option 'stepz'"),
        ({"steps": "many"}, "invalid value 'many' for steps"),
        ({"steps": 2.5}, "invalid value 2.5 for steps"),
        ({"method": "coral"}, "unknown method 'coral'"),
        ({"precision": "fp16"}, "invalid value 'fp16' for precision"),
        ({"lr": -1}, "invalid lr -1"),
        ({"batch_size": 1}, "invalid batch_size 1"),
        ({"source": "mnist-5k", "target": "mnist-5k"}, "pick two different domains"),
    ],
)
def test_bad_values_rejected(overrides, fragment):
    with pytest.raises(UserError, match=fragment.replace("(", r"\(")):
        build_config(UDAConfig, overrides)


def test_set_item_without_equals_rejected():
    with pytest.raises(UserError, match="key=value"):
        parse_set_items(["steps"])


def test_presets_cover_the_six_pairs():
    names = set(preset_names())
    for pair in ("usps-mnistm", "mnistm-svhn", "svhn-usps", "optdigits-mnistm-lite", "mnistm-lite-syndigits", "syndigits-optdigits"):
        assert f"uda-{pair}" in names
        build_config(UDAConfig, read_yaml_mapping(f"uda-{pair}"))


def test_unknown_preset_lists_known_ones():
    with pytest.raises(UserError, match="uda-usps-mnistm"):
        read_yaml_mapping("no-such-preset")


def test_sampler_ranks_split_the_global_batch():
    single = EpochBatchSampler(100, 8, seed=3)
    ranks = [EpochBatchSampler(100, 8, seed=3, rank=r, world_size=2) for r in range(2)]
    for _ in range(30):  # crosses several epochs
        global_batch = single.next_indices()
        shares = [sampler.next_indices() for sampler in ranks]
        assert sorted(torch_cat(shares)) == sorted(global_batch.tolist())
        assert not set(shares[0].tolist()) & set(shares[1].tolist())


def test_sampler_resumes_exactly():
    sampler = EpochBatchSampler(50, 16, seed=1)
    for _ in range(5):
        sampler.next_indices()
    state = sampler.state_dict()
    expected = [sampler.next_indices().tolist() for _ in range(6)]
    resumed = EpochBatchSampler(50, 16, seed=1)
    resumed.load_state_dict(state)
    assert [resumed.next_indices().tolist() for _ in range(6)] == expected


def torch_cat(tensors):
    return [value for tensor in tensors for value in tensor.tolist()]
