"""Shared helpers of the benchmarks: machine description, matmul rate, timing and PNG datasets."""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def machine_description() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{model}, {torch.get_num_threads()} threads, {gpu}; Python {platform.python_version()}, torch {torch.__version__}"


def matmul_flops_per_second(dtype: torch.dtype, *, device: torch.device, size: int = 2048, seconds: float = 2.0) -> float:
    """Sustained rate of square matrix multiplications (2 n^3 FLOP each) in `dtype`."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    for _ in range(2):
        a @ b
    synchronize(device)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        count += 1
    synchronize(device)
    return 2 * size**3 * count / (time.perf_counter() - started)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def write_png_folder(images: torch.Tensor, labels: torch.Tensor, folder: Path) -> list[tuple[Path, int]]:
    """Write uint8 (N, 3, H, W) images as PNG files and return (path, label) pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for index, (image, label) in enumerate(zip(images, labels.tolist())):
        path = folder / f"{index:05d}.png"
        Image.fromarray(np.ascontiguousarray(image.permute(1, 2, 0).numpy())).save(path)
        items.append((path, label))
    return items


class PNGDataset(torch.utils.data.Dataset):
    """Dataset in the tutorial style: each access opens a PNG with PIL and converts it to a float tensor."""

    def __init__(self, items: list[tuple[Path, int]]):
        from torchvision import transforms

        self.items = items
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        path, label = self.items[index]
        return self.transform(Image.open(path).convert("RGB")), label


def endless(loader):
    while True:
        yield from loader


def count_flops(step) -> int:
    """FLOPs of one call of `step` (forward and backward), from torch.utils.flop_counter's formulas.

    FlopCounterMode itself cannot run the WGAN-GP step: its per-module tracking hooks fail inside
    torch.autograd.grad (torch 2.14: "A leaf node was passed to _will_engine_execute_node"). This
    dispatch mode applies the same per-operator formulas without module tracking.
    """
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class _Counter(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            formula = flop_registry.get(func._overloadpacket)
            if formula is not None:
                _Counter.total += formula(*args, **kwargs, out_val=out)
            return out

    with _Counter():
        step()
    return _Counter.total


def throughput_summary(reference_rate: float, advlab_rate: float, *, flops_per_step: int, images_per_step: int, bf16_rate: float) -> dict[str, float]:
    """Rates of both sides, their ratio, and advlab's achieved FLOP rate as a share of the bf16 matmul rate."""
    achieved = flops_per_step / (images_per_step / advlab_rate)
    return {
        "reference_samples_per_s": reference_rate,
        "advlab_samples_per_s": advlab_rate,
        "ratio": advlab_rate / reference_rate,
        "flops_per_step": flops_per_step,
        "achieved_flops_per_s": achieved,
        "share_of_bf16_matmul": achieved / bf16_rate,
    }
