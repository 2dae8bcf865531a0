"""GAN training: every loss with and without ACGAN conditioning, clipping, resume and the NaN stop."""

import json

import pytest
import torch

from advlab import runs
from advlab.losses import gan as gan_losses
from advlab.models.gan import Conditioning
from advlab.training.gan import GANData, GANTrainer, NonFiniteLossError, load_gan_config, run_gan

TINY = {"width": 8, "batch_size": 8, "noise_dim": 16, "precision": "fp32", "device": "cpu", "num_threads": 1}
TINY_RUN = {**TINY, "batch_size": 16, "eval_samples": 64, "classifier_steps": 20, "log_every": 1, "checkpoint_every": 2,
            "sample_every": 0, "eval_every": 0}


@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread: on a shared 2-core machine, two threads per test process can oversubscribe the cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def synthetic_data(conditional: bool, count: int = 32) -> GANData:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    classes = torch.arange(count) % 10
    conditioning = Conditioning("class", num_classes=10, attribute="class") if conditional else Conditioning()
    return GANData("synthetic", images, conditioning, classes if conditional else None, classes)


@pytest.mark.parametrize("conditional", [False, True], ids=["unconditional", "acgan"])
@pytest.mark.parametrize("loss", ["wgan", "wgan-gp", "dcgan", "hinge"])
def test_every_loss_trains(loss, conditional):
    config = load_gan_config(None, {**TINY, "loss": loss, "conditional": conditional, "n_critic": 2})
    trainer = GANTrainer(config, synthetic_data(conditional), device=torch.device("cpu"))
    generator_before = [parameter.clone() for parameter in trainer.generator.parameters()]
    critic_before = [parameter.clone() for parameter in trainer.critic.parameters()]
    for _ in range(2):
        stats = trainer.train_step()
    assert trainer.step == 2
    for name, value in stats.items():
        assert torch.isfinite(value), name
    assert ("gradient_penalty" in stats) == (loss == "wgan-gp")
    assert ("attr_loss_real" in stats) == conditional
    assert ("attr_loss_fake" in stats) == conditional
    assert any(not torch.equal(a, b) for a, b in zip(generator_before, trainer.generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(critic_before, trainer.critic.parameters()))
    assert all(parameter.requires_grad for parameter in trainer.critic.parameters())
    trainer.check_finite("none")


def test_wgan_clipping_during_training():
    config = load_gan_config(None, {**TINY, "loss": "wgan", "clip_value": 0.02, "lr_critic": 0.1})
    trainer = GANTrainer(config, synthetic_data(False), device=torch.device("cpu"))
    for _ in range(2):
        trainer.train_step()
    largest = max(parameter.abs().max().item() for parameter in trainer.critic.parameters())
    assert largest <= 0.02 + 1e-9
    assert largest == pytest.approx(0.02)  # lr 0.1 pushes some weight onto the bound


def test_defaults_follow_the_papers():
    wgan = load_gan_config(None, {"loss": "wgan"})
    assert (wgan.optimizer, wgan.lr_critic, wgan.n_critic, wgan.critic_norm) == ("rmsprop", 5e-5, 5, "batch")
    gp = load_gan_config(None, {"loss": "wgan-gp"})
    assert (gp.optimizer, gp.lr_critic, gp.adam_beta1, gp.adam_beta2, gp.n_critic, gp.critic_norm, gp.gp_weight) == (
        "adam", 1e-4, 0.0, 0.9, 5, "layer", 10.0)
    dcgan = load_gan_config(None, {"loss": "dcgan"})
    assert (dcgan.n_critic, dcgan.adam_beta1, dcgan.image_size) == (1, 0.5, 32)


def losses_by_step(run_dir):
    records = [json.loads(line) for line in (run_dir / runs.METRICS_FILE).read_text().splitlines()]
    return {record["step"]: (record["critic_loss"], record["generator_loss"]) for record in records if "critic_loss" in record}


def test_resume_matches_uninterrupted_run(tmp_path, data_cache):
    full = load_gan_config(None, {**TINY_RUN, "steps": 4, "conditional": True, "loss": "wgan-gp", "n_critic": 2})
    run_gan(full, tmp_path / "full")

    first_half = load_gan_config(None, {**TINY_RUN, "steps": 2, "conditional": True, "loss": "wgan-gp", "n_critic": 2})
    run_gan(first_half, tmp_path / "split")
    run_gan(full, tmp_path / "split", resume=True)

    uninterrupted, resumed = losses_by_step(tmp_path / "full"), losses_by_step(tmp_path / "split")
    assert sorted(resumed) == [1, 2, 3, 4]
    for step in (3, 4):
        assert resumed[step] == uninterrupted[step], step
    for name in ("config.yaml", "last.pt", "model.pt", "best.pt", "loss_curves.png"):
        assert (tmp_path / "split" / name).is_file(), name


def test_nan_stops_the_run(tmp_path, data_cache, monkeypatch):
    original = gan_losses.critic_loss
    calls = {"count": 0}

    def critic_loss_turning_nan(loss, real_scores, fake_scores):
        calls["count"] += 1
        value = original(loss, real_scores, fake_scores)
        return value * float("nan") if calls["count"] > 3 else value  # n_critic 1: step 4 is the first bad one

    monkeypatch.setattr(gan_losses, "critic_loss", critic_loss_turning_nan)
    config = load_gan_config(None, {**TINY_RUN, "steps": 8, "loss": "dcgan", "log_every": 3})
    with pytest.raises(NonFiniteLossError) as raised:
        run_gan(config, tmp_path / "run")
    message = str(raised.value)
    assert "at step 4" in message
    assert "last.pt (step 2)" in message
    checkpoint = runs.load_checkpoint(tmp_path / "run" / runs.LAST_CHECKPOINT)
    assert checkpoint["step"] == 2
    assert all(torch.isfinite(value).all() for value in checkpoint["generator"].values() if value.is_floating_point())
    assert not (tmp_path / "run" / runs.FINAL_MODEL).exists()
