"""Resumable, rank-aware batch sampling over in-memory datasets."""

from __future__ import annotations

import torch


class EpochBatchSampler:
    """Draw batches of indices from a fresh permutation each epoch, dropping the incomplete last batch.

    The permutation of epoch e depends only on (seed, e), so the sampler's whole state is
    (epoch, position) and a resumed run draws exactly the batches an uninterrupted run would.
    Under torchrun every rank computes the same global batch of `batch_size` indices and keeps
    its own interleaved slice `global[rank::world_size]`, as DistributedSampler shards a dataset.
    """

    def __init__(self, num_samples: int, batch_size: int, *, seed: int, rank: int = 0, world_size: int = 1):
        if num_samples < batch_size:
            raise ValueError(f"dataset of {num_samples} samples is smaller than the batch size {batch_size}")
        if batch_size % world_size:
            raise ValueError(f"batch size {batch_size} is not divisible by the {world_size} processes")
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.position = 0
        self._permutation = self._permute(0)

    def _permute(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.num_samples, generator=generator)

    def next_indices(self) -> torch.Tensor:
        """Indices of this rank's share of the next global batch."""
        if self.position + self.batch_size > self.num_samples:
            self.epoch += 1
            self.position = 0
            self._permutation = self._permute(self.epoch)
        global_batch = self._permutation[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return global_batch[self.rank :: self.world_size]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self._permutation = self._permute(self.epoch)
