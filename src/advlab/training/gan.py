"""GAN training: WGAN, WGAN-GP, DCGAN and hinge losses, optionally with an ACGAN attribute head.

One generator iteration (`GANTrainer.train_step`) is `n_critic` critic updates, each on a fresh real
batch, followed by one generator update, as in Algorithm 1 of the WGAN and WGAN-GP papers. The run
folder contains config.yaml, metrics.jsonl, TensorBoard events under tb/, sample grids under samples/
(from one fixed noise batch), last.pt (everything needed to resume), best.pt (the generator with
the lowest feature-space Frechet distance so far) and model.pt (the final weights).

Speed: datasets stay uint8 on the device and are normalised per batch; models and batches are
channels_last; forward passes run under bf16 autocast where the hardware has native bf16
(`precision: auto`), while the gradient penalty runs in fp32 by default (`gp_fp32`) because its
(||grad|| - 1)^2 term is a small difference of numbers near 1, which bf16's 8-bit mantissa resolves
only to about 0.4%. Losses stay on the device and are read (`.item()`) only every `log_every` steps.

Distributed: under `torchrun --nproc_per_node N` every process keeps the whole dataset in memory, takes its
own share of each global batch of `batch_size` images, and averages gradients through
DistributedDataParallel (gloo on the CPU, NCCL on CUDA). Rank 0 alone writes logs, checkpoints,
figures and metrics.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from advlab import runs
from advlab.config import build_config, config_to_dict, dump_yaml, parse_set_items, read_yaml_mapping, require
from advlab.errors import UserError
from advlab.losses import gan as gan_losses
from advlab.models.gan import SUPPORTED_IMAGE_SIZES, Conditioning, build_gan_models, generate_images
from advlab.training.ema import ExponentialMovingAverage
from advlab.training.runtime import (
    DistributedContext,
    autocast,
    configure_threads,
    init_distributed,
    resolve_device,
    resolve_precision,
)
from advlab.training.sampling import EpochBatchSampler

DIGITS = "mnist-5k"
BEST_CHECKPOINT = "best.pt"
EVAL_FILE = "eval.json"
SAMPLES_DIR = "samples"
GRID_NOISE_SEED = 1234  # seed of the fixed noise batch behind every sample grid
EVAL_NOISE_SEED = 4321  # seed of the noise behind every evaluation


@dataclass
class GANConfig:
    """Options of `advlab train gan`; every field can be set in YAML or with --set key=value.

    Fields left at "auto" or None are filled by `resolve_defaults` from the loss and the data, and the
    run folder's config.yaml stores the filled-in values.
    """

    kind: Literal["gan"] = "gan"
    # data
    data: str = DIGITS  # "mnist-5k" (embedded MNIST digits) or a folder: CelebA, course layout or images
    labels_csv: str | None = None  # CSV of labels for a plain image folder
    conditional: bool = False  # ACGAN: condition the generator and add an attribute head to the critic
    attr: str | None = None  # conditioning attribute of a face dataset, e.g. Smiling (digits use the class)
    image_size: int | None = None  # 32 for the digits, 64 otherwise
    celeba_crop: int = 108  # side of the centered square cut from each aligned CelebA image
    max_images: int | None = None  # use only the first N images of a folder
    # model and loss
    loss: Literal["wgan", "wgan-gp", "dcgan", "hinge"] = "wgan-gp"
    noise_dim: int = 100
    width: int = 64  # channels of the generator's last and the critic's first hidden layer
    critic_norm: Literal["auto", "batch", "layer", "none"] = "auto"  # auto: batch, or layer under wgan-gp
    # optimisation
    seed: int = 0
    steps: int = 2000  # generator updates
    batch_size: int = 64  # real images per critic update, summed over all processes
    n_critic: int | None = None  # critic updates per generator update: 5 for wgan and wgan-gp, 1 otherwise
    optimizer: Literal["auto", "adam", "rmsprop"] = "auto"  # auto: rmsprop for wgan, adam otherwise
    lr_generator: float | None = None  # wgan 5e-5, wgan-gp 1e-4, dcgan and hinge 2e-4
    lr_critic: float | None = None  # the same defaults as lr_generator
    adam_beta1: float | None = None  # wgan-gp 0.0, dcgan and hinge 0.5
    adam_beta2: float | None = None  # wgan-gp 0.9, dcgan and hinge 0.999
    clip_value: float = 0.01  # wgan: critic weights are clipped to [-c, c]
    gp_weight: float = 10.0  # wgan-gp: lambda
    gp_fp32: bool = True  # compute the gradient penalty outside autocast, in fp32
    attr_weight: float = 1.0  # ACGAN: weight of the attribute loss for both players
    ema_decay: float = 0.999  # generator weight average used for samples and metrics
    # logging, samples, metrics and checkpoints, in generator steps
    log_every: int = 50
    sample_every: int = 500  # 0: only at the end
    eval_every: int = 500  # 0: only at the end
    eval_samples: int = 2000  # generated images per evaluation
    eval_real_max: int = 10000  # real images in the reference statistics
    checkpoint_every: int = 500
    classifier_steps: int = 1000  # training steps of the metric's feature classifier
    # execution
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: Literal["auto", "bf16", "fp32"] = "auto"  # auto: bf16 where the hardware runs it natively
    channels_last: bool = True
    compile: bool = False  # torch.compile the generator and critic (the gradient penalty stays eager)
    num_threads: int | None = None  # intra-op CPU threads; default: cores / local processes

    def validate(self) -> None:
        require(self.image_size is None or self.image_size in SUPPORTED_IMAGE_SIZES,
                f"invalid image_size {self.image_size}: the seed models take {' or '.join(map(str, SUPPORTED_IMAGE_SIZES))}")
        for name in ("noise_dim", "width", "steps", "batch_size", "log_every", "checkpoint_every", "eval_samples",
                     "eval_real_max", "classifier_steps", "celeba_crop"):
            require(getattr(self, name) >= 1, f"invalid {name} {getattr(self, name)}: give a positive number")
        for name in ("sample_every", "eval_every"):
            require(getattr(self, name) >= 0, f"invalid {name} {getattr(self, name)}: give 0 (only at the end) or a positive number")
        require(self.batch_size >= 2, f"invalid batch_size {self.batch_size}: BatchNorm needs at least 2 images")
        require(self.n_critic is None or self.n_critic >= 1, f"invalid n_critic {self.n_critic}: give a positive number")
        require(self.max_images is None or self.max_images >= 2, f"invalid max_images {self.max_images}: give at least 2")
        for name in ("lr_generator", "lr_critic"):
            value = getattr(self, name)
            require(value is None or value > 0, f"invalid {name} {value}: the learning rate must be positive")
        for name in ("adam_beta1", "adam_beta2"):
            value = getattr(self, name)
            require(value is None or 0 <= value < 1, f"invalid {name} {value}: give a value in [0, 1)")
        require(self.clip_value > 0, f"invalid clip_value {self.clip_value}: give a positive number")
        require(self.gp_weight >= 0, f"invalid gp_weight {self.gp_weight}: give a non-negative weight")
        require(self.attr_weight >= 0, f"invalid attr_weight {self.attr_weight}: give a non-negative weight")
        require(0 <= self.ema_decay < 1, f"invalid ema_decay {self.ema_decay}: give a value in [0, 1)")
        require(self.num_threads is None or self.num_threads >= 1, f"invalid num_threads {self.num_threads}: give a positive number")
        require(not (self.loss == "wgan-gp" and self.critic_norm == "batch"),
                "critic_norm batch cannot be used with loss wgan-gp: the gradient penalty is per sample and BatchNorm "
                "couples the samples of a batch, so use critic_norm layer or none")
        require(self.attr is None or self.conditional,
                f"attr {self.attr} is set but conditional is false: add --conditional (or --set conditional=true)")
        require(not (self.data == DIGITS and self.attr not in (None, "class")),
                f"unknown attribute {self.attr!r} for {DIGITS}: the digits have no attributes, so a conditional run uses the class (leave out --attr)")

    def resolve_defaults(self) -> GANConfig:
        """Return a copy with every "auto" or None option replaced by its value for this loss and data."""
        wasserstein = self.loss in ("wgan", "wgan-gp")
        lr = {"wgan": 5e-5, "wgan-gp": 1e-4}.get(self.loss, 2e-4)
        beta1, beta2 = (0.0, 0.9) if self.loss == "wgan-gp" else (0.5, 0.999)
        critic_norm = self.critic_norm
        if critic_norm == "auto":
            critic_norm = "layer" if self.loss == "wgan-gp" else "batch"
        optimizer = self.optimizer
        if optimizer == "auto":
            optimizer = "rmsprop" if self.loss == "wgan" else "adam"
        resolved = dataclasses.replace(
            self,
            image_size=self.image_size or (32 if self.data == DIGITS else 64),
            critic_norm=critic_norm,
            n_critic=self.n_critic or (5 if wasserstein else 1),
            optimizer=optimizer,
            lr_generator=self.lr_generator or lr,
            lr_critic=self.lr_critic or lr,
            adam_beta1=beta1 if self.adam_beta1 is None else self.adam_beta1,
            adam_beta2=beta2 if self.adam_beta2 is None else self.adam_beta2,
        )
        resolved.validate()
        return resolved


def load_gan_config(
    preset_or_file: str | Path | None = None, flags: dict[str, Any] | None = None, sets: list[str] | None = None
) -> GANConfig:
    """Resolve defaults <- preset or YAML file <- flags <- `--set` items into a checked, filled-in GANConfig."""
    layers = [
        read_yaml_mapping(preset_or_file) if preset_or_file else {},
        {key: value for key, value in (flags or {}).items() if value is not None},
        parse_set_items(sets),
    ]
    return build_config(GANConfig, *layers).resolve_defaults()


# data


@dataclass
class GANData:
    """Real training images and the labels the run conditions on and evaluates with.

    images: uint8 (N, 3, S, S). labels: int64 (N,) classes or 0/1 values of the conditioning attribute,
    None for an unconditional run. classifier_labels: what the metric's feature classifier learns,
    classes (N,) or all 0/1 attributes (N, A), None when the data has no labels.
    """

    name: str
    images: torch.Tensor
    conditioning: Conditioning
    labels: torch.Tensor | None
    classifier_labels: torch.Tensor | None
    attribute_names: list[str] = field(default_factory=list)
    attribute_index: int | None = None  # column of the conditioning attribute in classifier_labels


def load_gan_data(config: GANConfig) -> GANData:
    """Load the embedded digits or a face/image folder as uint8 tensors, with conditioning labels."""
    if config.data == DIGITS:
        from advlab.data import load_domain

        digits = load_domain(DIGITS, "train", image_size=config.image_size, seed=0)
        conditioning = Conditioning("class", num_classes=10, attribute="class") if config.conditional else Conditioning()
        labels = digits.labels if config.conditional else None
        return GANData(DIGITS, digits.images, conditioning, labels, digits.labels)

    from advlab.data.faces import load_face_dataset

    dataset = load_face_dataset(
        config.data,
        image_size=config.image_size,
        celeba_crop=config.celeba_crop,
        labels_csv=config.labels_csv,
        max_images=config.max_images,
    )
    name = f"{Path(config.data).resolve().name}-{dataset.layout}"
    classifier_labels = dataset.attributes if dataset.attributes is not None else dataset.classes
    if not config.conditional:
        data = GANData(name, dataset.images, Conditioning(), None, classifier_labels, dataset.attribute_names)
    elif config.attr is not None:
        labels = dataset.attribute_column(config.attr)
        index = dataset.attribute_names.index(config.attr)
        conditioning = Conditioning("binary", attribute=config.attr)
        data = GANData(name, dataset.images, conditioning, labels, classifier_labels, dataset.attribute_names, index)
    elif dataset.classes is not None:
        num_classes = int(dataset.classes.max()) + 1
        conditioning = Conditioning("class", num_classes=num_classes, attribute="class")
        data = GANData(name, dataset.images, conditioning, dataset.classes, dataset.classes)
    else:
        known = ", ".join(dataset.attribute_names) or "none"
        raise UserError(f"a conditional run on {config.data} needs --attr NAME: its attributes are {known}")
    require(len(dataset) >= config.batch_size,
            f"{config.data} has {len(dataset)} images, fewer than batch_size {config.batch_size}: lower --set batch_size")
    return data


# training


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the last good checkpoint."""


class GANTrainer:
    """Generator, critic, their optimisers and EMA, the batch sampler and the step counter of one run.

    `train_step()` performs one generator iteration and returns its losses as device tensors, so a
    benchmark can call it in a loop without the logging and checkpointing of `fit`.
    """

    def __init__(self, config: GANConfig, data: GANData, *, device: torch.device, context: DistributedContext = DistributedContext()):
        self.config = config
        self.data = data
        self.device = device
        self.context = context
        self.conditioning = data.conditioning
        self.autocast_dtype = resolve_precision(config.precision, device)
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        self.step = 0
        self.local_batch_size = config.batch_size // context.world_size

        generator, critic = build_gan_models(
            image_size=config.image_size,
            noise_dim=config.noise_dim,
            width=config.width,
            critic_norm=config.critic_norm,
            condition_dim=self.conditioning.condition_dim,
            num_attribute_logits=self.conditioning.num_attribute_logits,
        )
        self.generator = generator.to(device, memory_format=self.memory_format)
        self.critic = critic.to(device, memory_format=self.memory_format)
        self.ema = ExponentialMovingAverage(self.generator, config.ema_decay)
        self.optimizer_generator = self._make_optimizer(self.generator, config.lr_generator)
        self.optimizer_critic = self._make_optimizer(self.critic, config.lr_critic)

        # The DDP wrappers run the updates that need averaged gradients. Everything else calls the
        # plain modules: the generator under no_grad in the critic update, the critic in the
        # generator update (its parameters are frozen there, so DDP must not wait for their gradients).
        self.generator_train: nn.Module = self.generator
        self.critic_train: nn.Module = self.critic
        if context.enabled:
            device_ids = [device.index] if device.type == "cuda" else None
            # forward_sync_buffers=False: the critic runs several forwards per update, and a buffer
            # broadcast between them would modify BatchNorm statistics that autograd saved. Each
            # rank keeps its own running statistics, and rank 0's are saved.
            self.generator_train = DistributedDataParallel(self.generator, device_ids=device_ids, forward_sync_buffers=False)
            self.critic_train = DistributedDataParallel(self.critic, device_ids=device_ids, forward_sync_buffers=False)
        self.critic_for_penalty: nn.Module = self.critic_train
        if config.compile:
            self.generator_train = torch.compile(self.generator_train)
            self.critic_train = torch.compile(self.critic_train)
            # critic_for_penalty stays eager: compiled graphs do not support the double backward of the penalty.

        self.images = data.images.to(device)  # uint8 (N, 3, S, S), normalised per batch
        self.labels = None if data.labels is None else data.labels.to(device)
        self.sampler = EpochBatchSampler(len(self.images), config.batch_size, seed=config.seed, rank=context.rank, world_size=context.world_size)
        self.noise_rng = torch.Generator(device=device).manual_seed(config.seed * 1_000_003 + 17 * context.rank + 1)
        self.label_prior = None
        if self.labels is not None:
            counts = torch.bincount(self.labels, minlength=self.conditioning.num_values).float()
            self.label_prior = counts / counts.sum()  # fakes get labels drawn from the data's label frequencies
        # Step of the first non-finite loss (-1: none yet), kept on the device so checking costs no sync.
        self.first_nonfinite_step = torch.full((), -1, dtype=torch.long, device=device)

    def _make_optimizer(self, module: nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.config.optimizer == "rmsprop":
            return torch.optim.RMSprop(module.parameters(), lr=lr)
        betas = (float(self.config.adam_beta1), float(self.config.adam_beta2))
        return torch.optim.Adam(module.parameters(), lr=lr, betas=betas)

    # batches

    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This rank's share of the next global batch: images in [-1, 1] and their labels (or None)."""
        from advlab.data.transforms import normalize

        indices = self.sampler.next_indices()
        if self.device.type == "cuda":
            # A copy from pinned memory with non_blocking=True does not wait for the GPU, unlike a pageable copy.
            indices = indices.pin_memory().to(self.device, non_blocking=True)
        images = normalize(self.images[indices]).contiguous(memory_format=self.memory_format)
        labels = None if self.labels is None else self.labels[indices]
        return images, labels

    def noise_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Noise (B, noise_dim) and, when conditional, labels drawn from the data's label frequencies."""
        noise = torch.randn(self.local_batch_size, self.config.noise_dim, device=self.device, generator=self.noise_rng)
        labels = None
        if self.label_prior is not None:
            labels = torch.multinomial(self.label_prior, self.local_batch_size, replacement=True, generator=self.noise_rng)
        return noise, labels

    def _autocast(self):
        return autocast(self.device, self.autocast_dtype)

    def _record_nonfinite(self, *losses: torch.Tensor) -> None:
        finite = torch.stack([loss.detach().float() for loss in losses]).isfinite().all()
        first_bad = (self.first_nonfinite_step < 0) & ~finite
        self.first_nonfinite_step = torch.where(first_bad, self.step + 1, self.first_nonfinite_step)

    # updates

    def critic_step(self) -> dict[str, torch.Tensor]:
        """Update the critic (or discriminator) once on a fresh real batch and a batch of fakes."""
        config = self.config
        real, real_labels = self.real_batch()
        noise, fake_labels = self.noise_batch()

        with torch.no_grad(), self._autocast():
            fake = self.generator(noise, self.conditioning.encode(fake_labels)).contiguous(memory_format=self.memory_format)
        with self._autocast():
            real_scores, real_attribute_logits = self.critic_train(real)
            fake_scores, _ = self.critic_train(fake)
        real_scores, fake_scores = real_scores.float(), fake_scores.float()

        adversarial = gan_losses.critic_loss(config.loss, real_scores, fake_scores)
        loss = adversarial
        stats = {"critic_loss": adversarial.detach(), "wasserstein": gan_losses.wasserstein_estimate(real_scores, fake_scores).detach()}
        if config.loss == "wgan-gp":
            penalty, gradient_norm = self._gradient_penalty(real, fake)
            loss = loss + config.gp_weight * penalty
            stats["gradient_penalty"] = penalty.detach()
            stats["gradient_norm"] = gradient_norm
        if real_attribute_logits is not None:
            attribute = gan_losses.attribute_loss(real_attribute_logits.float(), real_labels)
            loss = loss + config.attr_weight * attribute
            stats["attr_loss_real"] = attribute.detach()

        self.optimizer_critic.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer_critic.step()
        if config.loss == "wgan":
            gan_losses.clip_weights_(self.critic, config.clip_value)
        self._record_nonfinite(loss)
        return stats

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        epsilon = torch.rand(real.shape[0], device=self.device, generator=self.noise_rng)

        def critic_scores(images: torch.Tensor) -> torch.Tensor:
            return self.critic_for_penalty(images)[0].float()

        if self.config.gp_fp32:
            return gan_losses.gradient_penalty(critic_scores, real.float(), fake.float(), epsilon=epsilon)
        with self._autocast():
            return gan_losses.gradient_penalty(critic_scores, real, fake, epsilon=epsilon)

    def generator_step(self) -> dict[str, torch.Tensor]:
        """Update the generator once through the frozen critic, then update the EMA."""
        config = self.config
        noise, fake_labels = self.noise_batch()

        self.critic.requires_grad_(False)
        with self._autocast():
            fake = self.generator_train(noise, self.conditioning.encode(fake_labels)).contiguous(memory_format=self.memory_format)
            fake_scores, fake_attribute_logits = self.critic(fake)
        adversarial = gan_losses.generator_loss(config.loss, fake_scores.float())
        loss = adversarial
        stats = {"generator_loss": adversarial.detach()}
        if fake_attribute_logits is not None:
            attribute = gan_losses.attribute_loss(fake_attribute_logits.float(), fake_labels)
            loss = loss + config.attr_weight * attribute
            stats["attr_loss_fake"] = attribute.detach()

        self.optimizer_generator.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer_generator.step()
        self.critic.requires_grad_(True)

        self.ema.update(self.generator)
        self._record_nonfinite(loss)
        return stats

    def train_step(self) -> dict[str, torch.Tensor]:
        """Run one generator iteration (`n_critic` critic updates, one generator update) and return its losses as device tensors."""
        self.generator.train()
        self.critic.train()
        for _ in range(self.config.n_critic):
            stats = self.critic_step()  # the last critic update's values are reported
        stats.update(self.generator_step())
        self.step += 1
        return stats

    def check_finite(self, last_good: str | None) -> None:
        """Raise NonFiniteLossError if any loss so far was NaN or infinite (one host synchronisation).

        last_good: the last checkpoint written, e.g. "runs/x/last.pt (step 500)", or None if none was.
        """
        bad_step = int(self.first_nonfinite_step.item())
        if bad_step < 0:
            return
        stopped = f"non-finite loss (NaN or inf) at step {bad_step} of {self.config.loss} training, so the run stopped"
        if last_good is None:
            raise NonFiniteLossError(f"{stopped} before its first checkpoint: start it again with a lower learning rate")
        raise NonFiniteLossError(
            f"{stopped}. The last good checkpoint, {last_good}, is intact: resume from it with a lower learning rate (--set lr_critic=...)"
        )

    # checkpoints

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "generator": self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer_generator": self.optimizer_generator.state_dict(),
            "optimizer_critic": self.optimizer_critic.state_dict(),
            "sampler": self.sampler.state_dict(),
            "noise_rng": self.noise_rng.get_state(),
            "conditioning": dataclasses.asdict(self.conditioning),
        }

    def load_state_dict(self, state: dict[str, Any], noise_rng_state: torch.Tensor | None = None) -> None:
        self.step = state["step"]
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer_generator.load_state_dict(state["optimizer_generator"])
        self.optimizer_critic.load_state_dict(state["optimizer_critic"])
        self.sampler.load_state_dict(state["sampler"])
        self.noise_rng.set_state(noise_rng_state if noise_rng_state is not None else state["noise_rng"])


def _gather_noise_rng_states(trainer: GANTrainer) -> list[torch.Tensor]:
    """Collect every rank's noise RNG state, so that a resumed distributed run draws the same noise."""
    state = trainer.noise_rng.get_state()
    if not trainer.context.enabled:
        return [state]
    states: list[Any] = [None] * trainer.context.world_size
    dist.all_gather_object(states, state)
    return states


def final_weights(trainer: GANTrainer, config_dict: dict) -> dict[str, Any]:
    """Generator, EMA generator and critic weights with the conditioning and run metadata (best.pt, model.pt)."""
    return {
        **runs.checkpoint_metadata(config_dict),
        "step": trainer.step,
        "generator": trainer.generator.state_dict(),
        "ema_generator": trainer.ema.model.state_dict(),
        "critic": trainer.critic.state_dict(),
        "conditioning": dataclasses.asdict(trainer.conditioning),
    }


class GANRun:
    """The logging side of a run on rank 0: metrics, TensorBoard, sample grids, evaluation, checkpoints."""

    def __init__(self, trainer: GANTrainer, run_dir: Path, *, resume_step: int | None, logger):
        from torch.utils.tensorboard import SummaryWriter

        self.trainer = trainer
        self.run_dir = run_dir
        self.config_dict = config_to_dict(trainer.config)
        self.logger = logger
        self.metrics = runs.MetricsLog(run_dir / runs.METRICS_FILE, resume_step=resume_step)
        self.writer = SummaryWriter(log_dir=str(run_dir / "tb"), purge_step=resume_step)
        self.evaluator = None
        self.best_fd = math.inf
        for record in runs.read_metrics(run_dir):
            if "fd" in record and record["fd"] < self.best_fd:
                self.best_fd = record["fd"]
        count = 64
        noise_rng = torch.Generator(device=trainer.device).manual_seed(GRID_NOISE_SEED)
        self.grid_noise = torch.randn(count, trainer.config.noise_dim, device=trainer.device, generator=noise_rng)
        # Row r of the 8x8 grid requests label r mod K, so every class or attribute value has rows.
        self.grid_labels = None
        if trainer.conditioning.kind != "none":
            self.grid_labels = (torch.arange(count, device=trainer.device) // 8) % trainer.conditioning.num_values

    def log_step(self, stats: dict[str, torch.Tensor], images_per_second: float) -> dict[str, float]:
        values = {name: float(value.item()) for name, value in stats.items()}
        record = {"step": self.trainer.step, **{name: round(value, 6) for name, value in values.items()},
                  "images_per_second": round(images_per_second, 1)}
        self.metrics.write(record)
        for name, value in values.items():
            self.writer.add_scalar(f"train/{name}", value, self.trainer.step)
        self.writer.add_scalar("train/images_per_second", images_per_second, self.trainer.step)
        return values

    def save_samples(self) -> Path:
        from advlab.viz.gan_figures import save_image_grid

        images = generate_images(self.trainer.ema.model, self.grid_noise, self.grid_labels, self.trainer.conditioning)
        path = self.run_dir / SAMPLES_DIR / f"step-{self.trainer.step:06d}.png"
        save_image_grid(images, path, nrow=8)
        self.writer.add_image("samples", (images[:64].add(1).div(2).clamp(0, 1)), self.trainer.step, dataformats="NCHW")
        return path

    def evaluate(self) -> dict[str, float] | None:
        """Score the EMA generator, log the values and save best.pt when the Frechet distance improves."""
        from advlab.metrics.feature_classifier import ClassifierOptions
        from advlab.metrics.gan_eval import build_gan_evaluator

        trainer, data = self.trainer, self.trainer.data
        if data.classifier_labels is None:
            if self.evaluator is None:
                self.logger.info("metrics skipped: %s has no labels to train the feature classifier on", data.name)
                self.evaluator = False
            return None
        if self.evaluator is None:
            options = ClassifierOptions(steps=trainer.config.classifier_steps)
            self.evaluator = build_gan_evaluator(
                data.name, data.images, data.classifier_labels, trainer.conditioning,
                attribute_index=data.attribute_index, device=trainer.device, classifier_options=options,
                max_real=trainer.config.eval_real_max,
            )
        started = time.perf_counter()
        values = self.evaluator.evaluate(trainer.ema.model, num_samples=trainer.config.eval_samples,
                                         noise_dim=trainer.config.noise_dim, seed=EVAL_NOISE_SEED)
        record = {"step": trainer.step, **{name: round(value, 6) for name, value in values.items()},
                  "classifier_holdout_accuracy": round(self.evaluator.classifier_info["holdout_accuracy"], 4),
                  "eval_seconds": round(time.perf_counter() - started, 2)}
        self.metrics.write(record)
        for name, value in values.items():
            self.writer.add_scalar(f"eval/{name}", value, trainer.step)
        summary = ", ".join(f"{name} {value:.4g}" for name, value in values.items())
        self.logger.info("step %d: %s", trainer.step, summary)
        if values["fd"] < self.best_fd:
            self.best_fd = values["fd"]
            runs.atomic_torch_save({**final_weights(trainer, self.config_dict), "fd": values["fd"]}, self.run_dir / BEST_CHECKPOINT)
        return values

    def save_last(self, noise_rng_states: list[torch.Tensor]) -> None:
        state = {
            **runs.checkpoint_metadata(self.config_dict),
            **self.trainer.state_dict(),
            "noise_rng_states": noise_rng_states,
            "rng": runs.rng_state(),
            "best_fd": self.best_fd,
        }
        runs.atomic_torch_save(state, self.run_dir / runs.LAST_CHECKPOINT)

    def close(self) -> None:
        self.writer.close()


def run_gan(config: GANConfig, run_dir: Path | None, *, resume: bool = False) -> Path:
    """Train (or, with `resume`, continue from last.pt) a GAN into `run_dir`; return the run folder.

    Raises NonFiniteLossError when a loss becomes NaN or infinite. last.pt then still contains the
    last checkpoint written before that step.
    """
    config = config.resolve_defaults()
    context = init_distributed(config.device)
    configure_threads(config.num_threads)
    device = resolve_device(config.device)
    if config.batch_size % context.world_size:
        raise UserError(f"batch_size {config.batch_size} is not divisible by the {context.world_size} processes: change one of them")

    # Data first: bad input is rejected before a run folder exists.
    runs.seed_everything(config.seed + context.rank)
    data = load_gan_data(config)

    if context.is_main:
        if resume:
            run_dir = runs.require_run_dir(run_dir)
        else:
            run_dir = runs.prepare_new_run_dir(run_dir, f"gan-{config.loss}{'-acgan' if config.conditional else ''}-{Path(config.data).name}")
            runs.atomic_write_text(run_dir / runs.CONFIG_FILE, dump_yaml(config))
    logger = runs.setup_run_logger(run_dir if context.is_main else None, name="advlab.gan")

    trainer = GANTrainer(config, data, device=device, context=context)
    resume_step = None
    if resume:
        checkpoint = runs.load_checkpoint(Path(run_dir) / runs.LAST_CHECKPOINT)
        states = checkpoint["noise_rng_states"]
        if len(states) != context.world_size:
            raise UserError(f"{run_dir} was saved by {len(states)} processes: resume it with --nproc_per_node {len(states)}")
        trainer.load_state_dict(checkpoint, states[context.rank])
        if context.is_main:
            runs.restore_rng_state(checkpoint["rng"])
        resume_step = trainer.step
        logger.info("resumed %s at step %d", run_dir, trainer.step)

    run = GANRun(trainer, Path(run_dir), resume_step=resume_step, logger=logger) if context.is_main else None
    try:
        _fit(trainer, run, logger)
    finally:
        if run is not None:
            run.close()
    return Path(run_dir)


def _fit(trainer: GANTrainer, run: GANRun | None, logger) -> None:
    """Train until `config.steps`, logging, sampling, evaluating and checkpointing at their intervals."""
    from tqdm import tqdm

    config = trainer.config
    checkpoint_path = run.run_dir / runs.LAST_CHECKPOINT if run else Path(runs.LAST_CHECKPOINT)
    last_good = f"{checkpoint_path} (step {trainer.step})" if trainer.step > 0 else None  # resumed from last.pt
    progress = tqdm(total=config.steps, initial=trainer.step, disable=run is None, dynamic_ncols=True, desc="gan")
    images_per_step = config.batch_size * config.n_critic
    interval_started, interval_steps = time.perf_counter(), 0

    while trainer.step < config.steps:
        stats = trainer.train_step()
        interval_steps += 1
        progress.update(1)
        step = trainer.step
        final = step == config.steps

        if step % config.log_every == 0 or final:
            trainer.check_finite(last_good)
            elapsed = time.perf_counter() - interval_started
            images_per_second = interval_steps * images_per_step / max(elapsed, 1e-9)
            if run is not None:
                values = run.log_step(stats, images_per_second)
                postfix = {name: f"{values[name]:.3g}" for name in ("critic_loss", "generator_loss", "wasserstein") if name in values}
                progress.set_postfix(**postfix, img_s=f"{images_per_second:.0f}")
            interval_started, interval_steps = time.perf_counter(), 0

        sample_now = bool(config.sample_every and step % config.sample_every == 0) or final
        evaluate_now = bool(config.eval_every and step % config.eval_every == 0) or final
        checkpoint_now = step % config.checkpoint_every == 0 or final
        if sample_now or evaluate_now or checkpoint_now:
            trainer.check_finite(last_good)  # no figure, metric or checkpoint from diverged weights
        if run is not None and sample_now:
            run.save_samples()
        if run is not None and evaluate_now:
            run.evaluate()
        if checkpoint_now:
            noise_rng_states = _gather_noise_rng_states(trainer)
            if run is not None:
                run.save_last(noise_rng_states)
            last_good = f"{checkpoint_path} (step {step})"
    progress.close()

    if run is not None:
        runs.atomic_torch_save(final_weights(trainer, run.config_dict), run.run_dir / runs.FINAL_MODEL)
        from advlab.viz.gan_figures import save_loss_curves

        save_loss_curves(runs.read_metrics(run.run_dir), run.run_dir / "loss_curves.png")
        logger.info("finished %d steps in %s", trainer.step, run.run_dir)


# loading a trained generator


def load_trained_generator(run_dir: Path, checkpoint: Literal["best", "last", "final", "auto"] = "auto") -> tuple[nn.Module, GANConfig, Conditioning, dict]:
    """Return (EMA generator in eval mode on the CPU, config, conditioning, checkpoint) from a GAN run folder.

    "auto" takes best.pt, then model.pt, then last.pt, whichever exists first.
    """
    run_dir = runs.require_run_dir(run_dir)
    config = build_config(GANConfig, runs.read_run_config(run_dir)).resolve_defaults()
    names = {"best": [BEST_CHECKPOINT], "final": [runs.FINAL_MODEL], "last": [runs.LAST_CHECKPOINT],
             "auto": [BEST_CHECKPOINT, runs.FINAL_MODEL, runs.LAST_CHECKPOINT]}[checkpoint]
    path = next((run_dir / name for name in names if (run_dir / name).is_file()), run_dir / names[-1])
    state = runs.load_checkpoint(path)
    conditioning = Conditioning(**state["conditioning"])
    generator, _ = build_gan_models(
        image_size=config.image_size, noise_dim=config.noise_dim, width=config.width, critic_norm=config.critic_norm,
        condition_dim=conditioning.condition_dim, num_attribute_logits=conditioning.num_attribute_logits,
    )
    weights = state["ema_generator"] if "ema_generator" in state else state["ema"]["model"]
    generator.load_state_dict(weights)
    return generator.eval(), config, conditioning, {**state, "path": str(path)}
