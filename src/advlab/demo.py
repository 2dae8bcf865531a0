"""`advlab demo`: the whole study on one command.

On the embedded data it trains source-only, DANN, DAN and target-only on the three embedded pairs,
draws t-SNE figures, trains the demo GANs and writes the report. With a data root holding USPS,
MNIST-M and SVHN it runs the classic pairs with their GPU-sized presets instead. Finished runs are
skipped and interrupted ones resumed, so running the demo again continues where it stopped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from advlab import runs
from advlab.config import build_config, config_to_dict, read_yaml_mapping
from advlab.errors import UserError
from advlab.methods.uda import UDA_METHODS
from advlab.training.uda_config import UDAConfig

EMBEDDED_PAIRS = (("optdigits", "mnistm-lite"), ("mnistm-lite", "syndigits"), ("syndigits", "optdigits"))
CLASSIC_PAIRS = (("usps", "mnistm"), ("mnistm", "svhn"), ("svhn", "usps"))
TSNE_METHODS = ("source-only", "dann", "dan")


def run_uda_study(out_dir: Path, pairs, *, seeds: list[int], data_root: str | None, tsne_per_domain: int, steps: int | None, log) -> list[Path]:
    """Train every method on every pair (skipping finished runs, resuming interrupted ones)."""
    from advlab.analysis import tsne_run
    from advlab.training.uda import train_uda

    run_dirs = []
    for source, target in pairs:
        for method in UDA_METHODS:
            for seed in seeds:
                config = build_config(
                    UDAConfig, read_yaml_mapping(f"uda-{source}-{target}"), {"method": method, "seed": seed, "data_root": data_root},
                    {"steps": steps} if steps else {},
                )
                run_dir = out_dir / "uda" / f"{source}-{target}" / f"{method}-s{seed}"
                _check_same_settings(run_dir, config_to_dict(config))
                _train_or_resume(run_dir, "results.json", lambda resume: train_uda(config, run_dir, resume=resume),
                                 f"{method} {source} -> {target} seed {seed}", log)
                if method in TSNE_METHODS and seed == seeds[0] and not (run_dir / "tsne_domain.png").exists():
                    tsne_run(run_dir, per_domain=tsne_per_domain, data_root=data_root)
                run_dirs.append(run_dir)
    return run_dirs


def _train_or_resume(run_dir: Path, finished_file: str, train, description: str, log) -> None:
    """Skip a run whose `finished_file` exists, resume one with a last.pt, or start it."""
    if (run_dir / finished_file).exists():
        log(f"skip {run_dir} (finished)")
    elif (run_dir / runs.LAST_CHECKPOINT).exists():
        log(f"resume {run_dir}")
        train(True)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        log(f"train {description}")
        train(False)


def _check_same_settings(run_dir: Path, expected: dict) -> None:
    """Reject a demo folder whose run was made with other settings, instead of reusing or overwriting it."""
    if not (run_dir / runs.CONFIG_FILE).exists():
        return
    saved = runs.read_run_config(run_dir)
    changed = sorted(key for key in expected if saved.get(key) != expected[key])
    if changed:
        raise UserError(
            f"{run_dir} contains a run made with other settings ({', '.join(changed)}): give the demo another --out folder"
        )


def run_gan_demo(out_dir: Path, *, steps: int | None, log) -> list[Path]:
    """Train the demo WGAN-GP and ACGAN on the embedded digits (skipped if finished)."""
    from advlab.training.gan import load_gan_config, run_gan

    run_dirs = []
    for preset in ("gan-digits-wgan-gp", "gan-digits-acgan"):
        run_dir = out_dir / "gan" / preset.removeprefix("gan-")
        config = load_gan_config(preset, {"steps": steps})
        _check_same_settings(run_dir, config_to_dict(config))
        _train_or_resume(run_dir, runs.FINAL_MODEL, lambda resume: run_gan(config, run_dir, resume=resume), f"GAN {preset}", log)
        run_dirs.append(run_dir)
    return run_dirs


def run_demo(
    out_dir: Path,
    *,
    data_root: str | None = None,
    seeds: list[int] | None = None,
    gan: bool = True,
    tsne_per_domain: int = 500,
    steps: int | None = None,
) -> Path:
    """Run the study into `out_dir` and return the path of report.md."""
    import resource

    from advlab.report import write_report

    logger = runs.setup_run_logger(None, name="advlab.demo")
    started = time.perf_counter()
    pairs = CLASSIC_PAIRS if data_root else EMBEDDED_PAIRS
    out_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    run_uda_study(out_dir, pairs, seeds=seeds or [0], data_root=data_root, tsne_per_domain=tsne_per_domain, steps=steps, log=logger.info)
    timings["uda_seconds"] = round(time.perf_counter() - started, 1)
    if gan and not data_root:
        gan_started = time.perf_counter()
        run_gan_demo(out_dir, steps=steps, log=logger.info)
        timings["gan_seconds"] = round(time.perf_counter() - gan_started, 1)

    timings["total_seconds"] = round(time.perf_counter() - started, 1)
    timings["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    runs.atomic_write_text(out_dir / "demo_timing.json", json.dumps(timings, indent=2) + "\n")
    note = (f"Made by `advlab demo` in {timings['total_seconds']:.0f} s of wall time "
            f"(peak memory {timings['peak_rss_mib']:.0f} MiB); timings in demo_timing.json.")
    report_md, _ = write_report(out_dir, extra_notes=[note])
    return report_md
