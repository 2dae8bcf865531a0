"""Device, numeric precision, memory format and distributed context for the training loops."""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from advlab.errors import UserError


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 arithmetic units (AVX-512 BF16 or AMX), read from /proc/cpuinfo.

    Without them autocast to bf16 on the CPU emulates the type and runs slower than fp32.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_device(name: str) -> torch.device:
    """Map "auto", "cpu", "cuda" or "cuda:N" to a device, rejecting CUDA where there is none."""
    if name == "auto":
        if dist.is_available() and dist.is_initialized() and torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"invalid device {name!r}: use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {name!r} requested but CUDA is not available here: use --set device=cpu")
    return device


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """Return the autocast dtype (None for fp32) for `precision` in {"auto", "bf16", "fp32"}.

    "auto" picks bf16 where the hardware runs it natively (CUDA with bf16 support, CPUs with
    AVX-512 BF16 or AMX) and fp32 elsewhere.
    """
    if precision == "fp32":
        return None
    native = cpu_has_native_bf16() if device.type == "cpu" else (device.type == "cuda" and torch.cuda.is_bf16_supported())
    if precision == "bf16":
        return torch.bfloat16
    return torch.bfloat16 if native else None


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Autocast context for `dtype`, or a no-op context for fp32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def configure_threads(num_threads: int | None) -> None:
    """Set intra-op threads; by default one per core divided among the local processes."""
    if num_threads is None:
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
        num_threads = max(1, (os.cpu_count() or 1) // local_world)
    torch.set_num_threads(num_threads)


@dataclass(frozen=True)
class DistributedContext:
    """Rank and world size of this process; world_size 1 when not launched by torchrun."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device_name: str) -> DistributedContext:
    """Join the process group that torchrun describes in the environment (gloo on CPU, NCCL on CUDA)."""
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    if world_size <= 1:
        return DistributedContext()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and device_name != "cpu"
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank)


def shutdown_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
