"""GAN figures: sample grids, attribute pairs, per-class rows, latent walks, loss curves, report section.

Images come in as float tensors (N, 3, S, S) in [-1, 1] and are written with torchvision's
`make_grid`/`save_image`.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import torch
from torchvision.utils import save_image

from advlab.runs import read_metrics


def save_image_grid(images: torch.Tensor, path: Path, *, nrow: int = 8, padding: int = 2) -> Path:
    """Save images in [-1, 1] as one PNG grid with `nrow` images per row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images.float().add(1).div(2).clamp(0, 1), path, nrow=nrow, padding=padding, pad_value=1.0)
    return path


def slerp(start: torch.Tensor, end: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between noise vectors (D,) at weights (T,) -> (T, D).

    White's "Sampling Generative Networks" (2016) walks Gaussian latents along great circles,
    because a straight line passes through low-norm points that the generator rarely saw.
    """
    cos_angle = torch.dot(start / start.norm(), end / end.norm()).clamp(-1.0, 1.0)
    angle = torch.arccos(cos_angle)
    if angle.abs() < 1e-6:
        return start + weights[:, None] * (end - start)
    sin_angle = torch.sin(angle)
    start_weight = torch.sin((1.0 - weights) * angle) / sin_angle  # (T,)
    end_weight = torch.sin(weights * angle) / sin_angle
    return start_weight[:, None] * start + end_weight[:, None] * end


def interpolation_noise(noise_dim: int, *, rows: int, columns: int, generator: torch.Generator) -> torch.Tensor:
    """Noise for `rows` latent walks of `columns` steps each, between random endpoints: (rows*columns, D)."""
    walks = []
    weights = torch.linspace(0.0, 1.0, columns)
    for _ in range(rows):
        start, end = torch.randn(2, noise_dim, generator=generator)
        walks.append(slerp(start, end, weights))
    return torch.cat(walks)


def pair_inputs(noise_dim: int, count: int, *, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise and 0/1 attribute labels for `count` pairs laid out as two rows of a grid.

    Returns noise (2*count, D), whose rows count..2*count-1 repeat rows 0..count-1, and labels
    (2*count,): 0 (attribute off) for the top row and 1 (on) for the bottom row.
    """
    noise = torch.randn(count, noise_dim, generator=generator)
    labels = torch.cat([torch.zeros(count, dtype=torch.long), torch.ones(count, dtype=torch.long)])
    return torch.cat([noise, noise]), labels


def class_row_inputs(noise_dim: int, num_classes: int, columns: int, *, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise and labels for one row per class: column j shares its noise across all rows."""
    noise = torch.randn(columns, noise_dim, generator=generator)
    labels = torch.arange(num_classes).repeat_interleave(columns)  # (K*columns,)
    return noise.repeat(num_classes, 1), labels


def save_loss_curves(records: list[dict], path: Path) -> Path | None:
    """Plot the critic and generator losses and the Wasserstein estimate, plus the Frechet distance if evaluated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [record for record in records if "critic_loss" in record]
    evaluations = [record for record in records if "fd" in record]
    if not train:
        return None
    panels = 2 if evaluations else 1
    figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.4), dpi=100, squeeze=False)
    losses = axes[0][0]
    steps = [record["step"] for record in train]
    for key, label in (("critic_loss", "critic loss"), ("generator_loss", "generator loss"), ("wasserstein", "Wasserstein estimate"),
                       ("attr_loss_real", "attribute loss, real"), ("attr_loss_fake", "attribute loss, fake")):
        if key in train[0]:
            losses.plot(steps, [record.get(key, float("nan")) for record in train], label=label)
    losses.set_xlabel("generator step")
    losses.set_title("losses", fontsize=9)
    losses.legend(fontsize=7)
    losses.grid(alpha=0.3)
    if evaluations:
        frechet = axes[0][1]
        frechet.plot([record["step"] for record in evaluations], [record["fd"] for record in evaluations], marker="o")
        frechet.set_xlabel("generator step")
        frechet.set_title("Frechet distance (classifier features, EMA generator)", fontsize=9)
        frechet.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


# report


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def render_gan_report_section(run_dirs: list[Path], report_dir: Path) -> tuple[str, str]:
    """Write each run's figures under report_dir/gan/ and return (Markdown, HTML) fragments for the report.

    Per run: a 32-image grid from the EMA generator, one row per class for class-conditional runs
    (pairs for a binary attribute), the loss curves, and a table of the final metrics whose numbers
    link to the run folder.
    """
    from advlab.training.gan import load_trained_generator

    markdown = ["## GANs", ""]
    html_parts = ["<h2>GANs</h2>"]
    rows = []
    figure_dir = report_dir / "gan"
    for run_dir in sorted(run_dirs):
        run_dir = Path(run_dir)
        generator, config, conditioning, state = load_trained_generator(run_dir)
        name = run_dir.name
        link = _relative(run_dir, report_dir)
        noise_rng = torch.Generator().manual_seed(0)

        figures = []
        noise = torch.randn(32, config.noise_dim, generator=noise_rng)
        labels = None if conditioning.kind == "none" else torch.arange(32) % conditioning.num_values
        grid = _generate(generator, noise, labels, conditioning)
        figures.append(("32 samples (EMA generator)", save_image_grid(grid, figure_dir / f"{name}-grid.png", nrow=8)))
        if conditioning.kind == "class":
            noise, labels = class_row_inputs(config.noise_dim, conditioning.num_classes, 10, generator=noise_rng)
            rows_image = _generate(generator, noise, labels, conditioning)
            figures.append(("one row per class 0..9, each column one noise vector",
                            save_image_grid(rows_image, figure_dir / f"{name}-classes.png", nrow=10)))
        elif conditioning.kind == "binary":
            noise, labels = pair_inputs(config.noise_dim, 10, generator=noise_rng)
            pairs_image = _generate(generator, noise, labels, conditioning)
            figures.append((f"pairs: {conditioning.attribute} off (top) and on (bottom), same noise per column",
                            save_image_grid(pairs_image, figure_dir / f"{name}-pairs.png", nrow=10)))
        curves = save_loss_curves(read_metrics(run_dir), figure_dir / f"{name}-curves.png")
        if curves is not None:
            figures.append(("losses and Frechet distance", curves))

        evaluations = [record for record in read_metrics(run_dir) if "fd" in record]
        final = evaluations[-1] if evaluations else {}
        rows.append((name, link, config, conditioning, final, state.get("step")))

        title = f"{name}: {config.loss}{' + ACGAN' if conditioning.kind != 'none' else ''} on {config.data}, {config.steps} steps"
        markdown += [f"### {title}", ""]
        html_parts.append(f"<h3>{html.escape(title)}</h3>")
        for caption, path in figures:
            relative = _relative(path, report_dir)
            markdown += [f"![{caption}]({relative})", "", f"*{caption}*", ""]
            html_parts.append(f"<figure><img src=\"{html.escape(relative)}\" alt=\"{html.escape(caption)}\">"
                              f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    columns = ["fd", "kid", "control_accuracy", "pair_flip_rate", "pair_other_attribute_change"]
    present = [column for column in columns if any(column in final for *_, final, _ in rows)]
    header = ["run", "loss", "conditioning", "final step", *present]
    markdown += ["### GAN metrics (EMA generator, last evaluation)", "",
                 "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    html_parts += ["<h3>GAN metrics (EMA generator, last evaluation)</h3>", "<table><tr>"
                   + "".join(f"<th>{html.escape(cell)}</th>" for cell in header) + "</tr>"]
    for name, link, config, conditioning, final, _ in rows:
        cells_md = [f"[{name}]({link})", config.loss, conditioning.attribute or "none", str(final.get("step", "-"))]
        cells_html = [f"<a href=\"{html.escape(link)}\">{html.escape(name)}</a>", config.loss,
                      html.escape(conditioning.attribute or "none"), str(final.get("step", "-"))]
        for column in present:
            if column in final:
                value = f"{final[column]:.4g}"
                cells_md.append(f"[{value}]({link}/metrics.jsonl)")
                cells_html.append(f"<a href=\"{html.escape(link)}/metrics.jsonl\">{value}</a>")
            else:
                cells_md.append("-")
                cells_html.append("-")
        markdown.append("| " + " | ".join(cells_md) + " |")
        html_parts.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells_html) + "</tr>")
    html_parts.append("</table>")
    note = ("fd and kid: Frechet distance and KID (torchmetrics) in the pooled features of a classifier trained on the real "
            "training images; control_accuracy: share of generated images that this classifier reads as the requested class "
            "or attribute value.")
    markdown += ["", note, ""]
    html_parts.append(f"<p>{html.escape(note)}</p>")
    return "\n".join(markdown), "\n".join(html_parts)


def _generate(generator, noise, labels, conditioning) -> torch.Tensor:
    from advlab.models.gan import generate_images

    return generate_images(generator, noise, labels, conditioning)
