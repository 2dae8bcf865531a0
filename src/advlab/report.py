"""`advlab report`: Markdown and HTML summary of a folder of runs.

The domain adaptation table has one row per (source, target) pair and one column per method. A
cell is the target test accuracy of the final model, or the mean and standard deviation when
several seeds ran. Every number links to the run folder that produced it.
"""

from __future__ import annotations

import html
import json
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from advlab import runs
from advlab.errors import UserError

METHOD_COLUMNS = (("source-only", "Source only"), ("dann", "DANN"), ("dan", "DAN"), ("target-only", "Target only"))


@dataclass
class UDARunResult:
    run_dir: Path
    source: str
    target: str
    method: str
    seed: int
    target_acc: float
    source_acc: float


@dataclass
class ReportPart:
    """A section of the report in both output formats."""

    markdown: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)

    def extend(self, other: "ReportPart") -> None:
        self.markdown.extend(other.markdown)
        self.html.extend(other.html)


def discover_runs(root: Path, max_depth: int = 4) -> dict[str, list[Path]]:
    """Run folders below `root` grouped by their config's kind ("uda", "gan")."""
    found: dict[str, list[Path]] = {}
    for current, folders, files in os.walk(root):
        depth = len(Path(current).relative_to(root).parts)
        if depth >= max_depth:
            folders[:] = []
        folders.sort()
        if runs.CONFIG_FILE in files:
            kind = runs.read_run_config(Path(current)).get("kind", "unknown")
            found.setdefault(kind, []).append(Path(current))
            folders[:] = []  # a run folder's own sub-folders (tb/, samples/) are not runs
    return found


def collect_uda_results(run_dirs: list[Path]) -> list[UDARunResult]:
    """Results of finished UDA runs (those with results.json); unfinished ones are skipped."""
    results = []
    for run_dir in run_dirs:
        path = run_dir / "results.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        results.append(UDARunResult(run_dir, data["source"], data["target"], data["method"], int(data["seed"]), float(data["target_test_acc"]), float(data["source_test_acc"])))
    return results


# The demo's pairs first, in the order of the classic study they stand for; any other pair after them.
PAIR_ORDER = (
    ("optdigits", "mnistm-lite"), ("mnistm-lite", "syndigits"), ("syndigits", "optdigits"),
    ("usps", "mnistm"), ("mnistm", "svhn"), ("svhn", "usps"),
)


def ordered_pairs(results: list[UDARunResult]) -> list[tuple[str, str]]:
    pairs = {(r.source, r.target) for r in results}
    known = [pair for pair in PAIR_ORDER if pair in pairs]
    return known + sorted(pairs - set(known))


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def _format_cell(cell: list[UDARunResult], base: Path) -> tuple[str, str]:
    """Markdown and HTML of one table cell: accuracy in %, mean ± std over seeds, linked to the runs."""
    if not cell:
        return "–", "–"
    values = [100 * r.target_acc for r in cell]
    if len(cell) == 1:
        link = _rel(cell[0].run_dir, base)
        text = f"{values[0]:.1f}"
        return f"[{text}]({link})", f'<a href="{html.escape(link)}">{text}</a>'
    mean, spread = statistics.mean(values), statistics.stdev(values)
    links_md = " ".join(f"[s{r.seed}]({_rel(r.run_dir, base)})" for r in cell)
    links_html = " ".join(f'<a href="{html.escape(_rel(r.run_dir, base))}">s{r.seed}</a>' for r in cell)
    text = f"{mean:.1f} ± {spread:.1f}"
    return f"{text} ({links_md})", f"{text} <small>({links_html})</small>"


def uda_table(results: list[UDARunResult], base: Path) -> ReportPart:
    part = ReportPart()
    pairs = ordered_pairs(results)
    headers = ["Source → target"] + [label for _, label in METHOD_COLUMNS]
    part.markdown += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    part.html += ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"]
    for source, target in pairs:
        cells_md, cells_html = [f"{source} → {target}"], [html.escape(f"{source} → {target}")]
        for method, _ in METHOD_COLUMNS:
            cell = sorted((r for r in results if (r.source, r.target, r.method) == (source, target, method)), key=lambda r: r.seed)
            md, htm = _format_cell(cell, base)
            cells_md.append(md)
            cells_html.append(htm)
        part.markdown.append("| " + " | ".join(cells_md) + " |")
        part.html.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells_html) + "</tr>")
    part.html.append("</table>")
    part.markdown.append("")
    return part


def uda_figures(results: list[UDARunResult], base: Path, out_dir: Path) -> ReportPart:
    """t-SNE figures of each run that has them, and one loss-curve figure per pair."""
    from advlab.viz.curves import plot_uda_curves

    part = ReportPart()
    for source, target in ordered_pairs(results):
        pair_runs = [r for r in results if (r.source, r.target) == (source, target)]
        title = f"{source} → {target}"
        part.markdown += [f"### {title}", ""]
        part.html.append(f"<h3>{html.escape(title)}</h3>")
        curve = plot_uda_curves([(f"{r.method} s{r.seed}", r.run_dir) for r in pair_runs], out_dir / f"curves_{source}_{target}.png".replace("/", "_"), title=title)
        if curve is not None:
            part.markdown += [f"![training losses]({_rel(curve, base)})", ""]
            part.html.append(f'<p><img src="{html.escape(_rel(curve, base))}" width="720"></p>')
        for method, label in METHOD_COLUMNS:
            for r in sorted((r for r in pair_runs if r.method == method), key=lambda r: r.seed):
                by_class, by_domain = r.run_dir / "tsne_class.png", r.run_dir / "tsne_domain.png"
                if by_class.exists() and by_domain.exists():
                    caption = f"{label} (seed {r.seed}): t-SNE of test features"
                    part.markdown += [f"{caption}", "", f"![by class]({_rel(by_class, base)}) ![by domain]({_rel(by_domain, base)})", ""]
                    part.html.append(
                        f"<p>{html.escape(caption)}<br><img src=\"{html.escape(_rel(by_class, base))}\" width=\"360\">"
                        f"<img src=\"{html.escape(_rel(by_domain, base))}\" width=\"360\"></p>"
                    )
    return part


def write_report(runs_dir: Path, out_dir: Path | None = None, *, extra_notes: list[str] | None = None) -> tuple[Path, Path]:
    """Write report.md and report.html for the runs below `runs_dir`; return their paths."""
    if not runs_dir.is_dir():
        raise UserError(f"runs folder {runs_dir} not found: give the folder that contains the run folders")
    out_dir = out_dir or runs_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    found = discover_runs(runs_dir)
    if not found:
        raise UserError(f"no run folders (with config.yaml) below {runs_dir}: train something first or give another folder")
    report = ReportPart(["# advlab report", ""], ["<!doctype html><html><head><meta charset=\"utf-8\"><title>advlab report</title>",
                                                  "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
                                                  "td,th{border:1px solid #999;padding:4px 8px;text-align:right}</style></head><body>",
                                                  "<h1>advlab report</h1>"])
    for note in extra_notes or []:
        report.markdown += [note, ""]
        report.html.append(f"<p>{html.escape(note)}</p>")

    uda_results = collect_uda_results(found.get("uda", []))
    if uda_results:
        heading = "Unsupervised domain adaptation: target test accuracy (%)"
        report.markdown += [f"## {heading}", ""]
        report.html.append(f"<h2>{html.escape(heading)}</h2>")
        report.extend(uda_table(uda_results, out_dir))
        explanation = ("Final model of each run (no model selection, so target labels are never used by the UDA methods); "
                       "mean ± sample standard deviation over seeds where several ran. Each number links to its run folder.")
        report.markdown += [explanation, ""]
        report.html.append(f"<p>{html.escape(explanation)}</p>")
        report.extend(uda_figures(uda_results, out_dir, out_dir))

    gan_runs = found.get("gan", [])
    if gan_runs:
        from advlab.viz.gan_figures import render_gan_report_section

        markdown, html_fragment = render_gan_report_section(gan_runs, out_dir)
        report.markdown.append(markdown)
        report.html.append(html_fragment)

    report.html.append("</body></html>")
    md_path, html_path = out_dir / "report.md", out_dir / "report.html"
    runs.atomic_write_text(md_path, "\n".join(report.markdown) + "\n")
    runs.atomic_write_text(html_path, "\n".join(report.html) + "\n")
    return md_path, html_path
