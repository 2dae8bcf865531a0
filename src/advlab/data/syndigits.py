"""syndigits: SVHN-like 32x32 colour house-number crops rendered from the fonts matplotlib ships.

Each image shows one centred digit (the label) with, on either side, parts of neighbouring digits in
the same font and colour, the way an SVHN crop cuts a house number. Every variation is drawn from
`seed`. The glyph varies in font (21 faces), stroke weight, height, width, rotation, shear and
position. The background is a photo crop, a flat colour, a linear gradient, or a photo faded into a
flat colour. The digit colour differs from the background by a random luminance contrast that is
sometimes low. Some images get a drop shadow, and all get Gaussian blur, uneven lighting and noise.

Glyphs are drawn once per font with Pillow and everything else runs batched in torch, so the 12,000
images build in about 5 s on two idle CPU cores.

Difficulty was tuned to SVHN's: a small CNN (Conv(3,64,5)+BN+ReLU+MaxPool, Conv(64,128,5)+BN+ReLU+
MaxPool, Linear to 10) trained on the train split resized to 28x28, with Adam at 1e-3, batch 128 and
1,500 steps, reached 92.7% test accuracy (seed 0, one run, 2-core CPU with bf16 autocast). Models of
that size are commonly reported at about 92-96% on real SVHN (an estimate, not measured here).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from advlab.data.photos import random_photo_crops

# matplotlib's fonts that draw all ten digits as ordinary numerals. Left out: the Display and STIX
# symbol/size variants (no digits), cmmi10 (old-style figures), cmsy10/cmex10 (symbols) and
# LastResortHE (placeholder boxes).
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
    "cmr10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
    "cmb10.ttf",
    "cmti10.ttf",
)
STROKE_WIDTHS = (0, 3)  # extra outline in pixels at font size 72: regular and heavier strokes
GLYPH_HEIGHT = 40  # glyph height on the layout canvas, in canvas pixels
RENDER_SIZE = 64  # the digit mask is sampled at this size, then averaged down to IMAGE_SIZE
IMAGE_SIZE = 32
CANVAS_HEIGHT, CANVAS_WIDTH = 112, 288  # layout canvas holding up to three glyphs in a row
CHUNK = 1000  # images composed at once, which bounds peak memory to about 0.5 GB
BACKGROUND_KINDS = ("photo", "flat", "gradient", "faded photo")

TRAIN_SIZE = 10_000
TEST_SIZE = 2_000


@dataclasses.dataclass(frozen=True)
class SynDigitsParams:
    """Ranges of the random variations. They enter the cache key, so a change rebuilds the cache."""

    digit_height: tuple[float, float] = (0.45, 0.85)  # fraction of the image height
    width_scale: tuple[float, float] = (0.75, 1.3)
    rotation_degrees: float = 12.0
    shear: float = 0.2
    offset: tuple[float, float] = (0.09, 0.07)  # max centre offset (x, y), fraction of image size
    neighbour_probability: float = 0.8
    neighbour_gap: tuple[float, float] = (1.0, 14.0)  # canvas pixels between glyphs
    background_weights: tuple[float, float, float, float] = (0.35, 0.2, 0.25, 0.2)  # photo, flat, gradient, faded photo
    contrast: tuple[float, float] = (20.0, 140.0)  # luminance difference foreground - background, 0..255
    shadow_probability: float = 0.25
    blur_sigma: tuple[float, float] = (0.2, 1.1)  # at IMAGE_SIZE
    lighting: float = 0.35  # max relative brightness change across the image
    noise_std: tuple[float, float] = (0.0, 12.0)  # at IMAGE_SIZE, 0..255


def build_syndigits(seed: int, params: SynDigitsParams = SynDigitsParams()) -> dict[str, torch.Tensor]:
    """Render 10,000 train and 2,000 test images, uint8 (N, 3, 32, 32), labels balanced at random."""
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    result = {}
    for split, size in (("train", TRAIN_SIZE), ("test", TEST_SIZE)):
        labels = rng.integers(10, size=size)
        chunks = [_render_chunk(rng, labels[start : start + CHUNK], params) for start in range(0, size, CHUNK)]
        result[f"{split}_images"] = _degrade(rng, generator, torch.cat(chunks), params)
        result[f"{split}_labels"] = torch.from_numpy(labels).long()
    return result


@functools.cache
def glyph_masks() -> tuple[tuple[np.ndarray, ...], ...]:
    """Return float32 masks in 0..1, indexed [style][digit], each GLYPH_HEIGHT high and tightly cropped."""
    font_folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    styles = []
    for file_name in FONT_FILES:
        font = ImageFont.truetype(str(font_folder / file_name), size=72)
        for stroke in STROKE_WIDTHS:
            masks = []
            for digit in "0123456789":
                page = Image.new("L", (160, 160))
                ImageDraw.Draw(page).text((30, 10), digit, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
                glyph = page.crop(page.getbbox())
                width = max(1, round(glyph.width * GLYPH_HEIGHT / glyph.height))
                glyph = glyph.resize((width, GLYPH_HEIGHT), Image.Resampling.LANCZOS)
                masks.append(np.asarray(glyph, dtype=np.float32) / 255.0)
            styles.append(tuple(masks))
    return tuple(styles)


def _layout_canvas(rng: np.random.Generator, labels: np.ndarray, params: SynDigitsParams) -> np.ndarray:
    """Place each centre digit and its optional clipped neighbours on a (N, 1, H, W) canvas."""
    styles = glyph_masks()
    canvas = np.zeros((len(labels), 1, CANVAS_HEIGHT, CANVAS_WIDTH), dtype=np.float32)
    top = (CANVAS_HEIGHT - GLYPH_HEIGHT) // 2
    for index, label in enumerate(labels):
        glyphs = styles[rng.integers(len(styles))]
        centre = glyphs[label]
        left = (CANVAS_WIDTH - centre.shape[1]) // 2
        canvas[index, 0, top : top + GLYPH_HEIGHT, left : left + centre.shape[1]] = centre

        gap = rng.uniform(*params.neighbour_gap)
        if rng.random() < params.neighbour_probability:
            neighbour = glyphs[rng.integers(10)]
            end = left - round(gap)
            start = max(0, end - neighbour.shape[1])
            canvas[index, 0, top : top + GLYPH_HEIGHT, start:end] = np.maximum(
                canvas[index, 0, top : top + GLYPH_HEIGHT, start:end], neighbour[:, neighbour.shape[1] - (end - start) :]
            )
        if rng.random() < params.neighbour_probability:
            neighbour = glyphs[rng.integers(10)]
            start = left + centre.shape[1] + round(gap)
            end = min(CANVAS_WIDTH, start + neighbour.shape[1])
            canvas[index, 0, top : top + GLYPH_HEIGHT, start:end] = neighbour[:, : end - start]
    return canvas


def _sampling_grid(rng: np.random.Generator, count: int, params: SynDigitsParams) -> torch.Tensor:
    """Return grid_sample coordinates that map the RENDER_SIZE output onto the canvas, (N, S, S, 2)."""
    height_fraction = rng.uniform(*params.digit_height, size=count)
    scale = GLYPH_HEIGHT / (height_fraction * RENDER_SIZE)  # canvas pixels per output pixel
    width_scale = rng.uniform(*params.width_scale, size=count)
    angle = np.radians(rng.uniform(-params.rotation_degrees, params.rotation_degrees, size=count))
    shear = rng.uniform(-params.shear, params.shear, size=count)
    offset_x = rng.uniform(-1, 1, size=count) * params.offset[0] * RENDER_SIZE
    offset_y = rng.uniform(-1, 1, size=count) * params.offset[1] * RENDER_SIZE

    # output -> canvas: rotate, shear, then stretch, each (N, 2, 2)
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    shearing = np.stack([np.stack([np.ones(count), shear], -1), np.stack([np.zeros(count), np.ones(count)], -1)], -2)
    stretch = np.zeros((count, 2, 2))
    stretch[:, 0, 0] = scale / width_scale
    stretch[:, 1, 1] = scale
    matrix = stretch @ shearing @ rotation

    matrix = torch.from_numpy(matrix).float()
    pixels = torch.arange(RENDER_SIZE, dtype=torch.float32) - (RENDER_SIZE - 1) / 2
    u = pixels[None, None, :] - torch.from_numpy(offset_x).float()[:, None, None]  # (N, 1, S), x
    v = pixels[None, :, None] - torch.from_numpy(offset_y).float()[:, None, None]  # (N, S, 1), y
    canvas_x = matrix[:, 0, 0, None, None] * u + matrix[:, 0, 1, None, None] * v + (CANVAS_WIDTH - 1) / 2
    canvas_y = matrix[:, 1, 0, None, None] * u + matrix[:, 1, 1, None, None] * v + (CANVAS_HEIGHT - 1) / 2

    # pixel centres to grid_sample's [-1, 1] with align_corners=False
    grid_x = (canvas_x + 0.5) / CANVAS_WIDTH * 2 - 1
    grid_y = (canvas_y + 0.5) / CANVAS_HEIGHT * 2 - 1
    return torch.stack([grid_x, grid_y], dim=-1)  # (N, S, S, 2)


def _backgrounds(rng: np.random.Generator, count: int, params: SynDigitsParams) -> torch.Tensor:
    """Return float (N, 3, 32, 32) backgrounds in 0..255."""
    weights = np.asarray(params.background_weights) / sum(params.background_weights)
    kinds = rng.choice(len(BACKGROUND_KINDS), size=count, p=weights)
    flat = _muted_colours(rng, count)
    background = flat.expand(-1, -1, IMAGE_SIZE, IMAGE_SIZE).clone()

    # linear gradient from the flat colour to a second colour along a random direction
    gradient = torch.from_numpy(np.flatnonzero(kinds == BACKGROUND_KINDS.index("gradient")))
    other = _muted_colours(rng, len(gradient))
    position = _linear_ramp(rng, len(gradient), IMAGE_SIZE) + 0.5  # (n, 1, S, S) in about 0..1
    background[gradient] = flat[gradient] + (other - flat[gradient]) * position

    photo = torch.from_numpy(np.flatnonzero(kinds == BACKGROUND_KINDS.index("photo")))
    background[photo] = torch.from_numpy(random_photo_crops(rng, len(photo), IMAGE_SIZE, min_std=10.0)).float()

    faded = torch.from_numpy(np.flatnonzero(kinds == BACKGROUND_KINDS.index("faded photo")))
    crops = torch.from_numpy(random_photo_crops(rng, len(faded), IMAGE_SIZE, min_std=10.0)).float()
    fade = torch.from_numpy(rng.uniform(0.2, 0.7, size=(len(faded), 1, 1, 1))).float()
    background[faded] = flat[faded] * (1 - fade) + crops * fade
    return background


def _muted_colours(rng: np.random.Generator, count: int) -> torch.Tensor:
    """Return (N, 3, 1, 1) colours in 0..255: a grey level plus a chroma that is usually small, as on walls and plates."""
    grey = rng.uniform(0, 255, size=(count, 1))
    chroma = rng.normal(size=(count, 3))
    chroma -= chroma.mean(axis=1, keepdims=True)
    chroma /= np.linalg.norm(chroma, axis=1, keepdims=True) + 1e-8
    chroma *= rng.uniform(0, 1, size=(count, 1)) ** 2 * 150
    return torch.from_numpy(np.clip(grey + chroma, 0, 255)).float()[:, :, None, None]


def _linear_ramp(rng: np.random.Generator, count: int, size: int) -> torch.Tensor:
    """Return (N, 1, size, size) values from about -0.5 to 0.5 along a random direction per image."""
    direction = torch.from_numpy(rng.uniform(0, 2 * math.pi, size=count)).float()
    ramp = torch.linspace(-0.5, 0.5, size)
    position = torch.cos(direction)[:, None, None] * ramp[None, None, :] + torch.sin(direction)[:, None, None] * ramp[None, :, None]
    return position[:, None]


def _luminance(rgb: torch.Tensor) -> torch.Tensor:
    return 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]


def _foreground_colours(rng: np.random.Generator, background: torch.Tensor, params: SynDigitsParams) -> torch.Tensor:
    """Pick (N, 3, 1, 1) digit colours whose luminance differs from the background mean by a random contrast."""
    count = len(background)
    background_luminance = _luminance(background.mean(dim=(2, 3), keepdim=True))[:, 0, 0].numpy()  # (N,)
    contrast = rng.uniform(*params.contrast, size=count)
    sign = np.where(rng.random(count) < 0.5, -1.0, 1.0)
    target = background_luminance + sign * contrast
    out_of_range = (target < 0) | (target > 255)
    target[out_of_range] = background_luminance[out_of_range] - sign[out_of_range] * contrast[out_of_range]
    target = np.clip(target, 0, 255)

    # a muted colour shifted to the target luminance (a grey shift keeps the hue)
    colour = _muted_colours(rng, count)[:, :, 0, 0].numpy()
    colour_luminance = colour @ np.array([0.299, 0.587, 0.114])
    colour = np.clip(colour + (target - colour_luminance)[:, None], 0, 255)
    return torch.from_numpy(colour).float()[:, :, None, None]


def _gaussian_blur(images: torch.Tensor, sigma: np.ndarray) -> torch.Tensor:
    """Blur each (N, C, S, S) image with its own sigma, rounded to 0.05 so images share a kernel in groups.

    The separable blur runs as two matrix products with a banded (S, S) matrix whose rows hold the
    Gaussian taps, with taps beyond the border folded onto the edge pixel (replicate padding).
    """
    size = images.shape[-1]
    sigma = np.round(sigma * 20) / 20
    blurred = images.clone()
    for value in np.unique(sigma):
        members = torch.from_numpy(np.flatnonzero(sigma == value))
        radius = max(1, math.ceil(3 * value))
        taps = torch.arange(-radius, radius + 1)
        kernel = torch.exp(-0.5 * (taps.float() / value) ** 2)
        kernel = kernel / kernel.sum()
        matrix = torch.zeros(size, size)
        rows = torch.arange(size)[:, None].expand(-1, len(taps))
        columns = (rows + taps[None, :]).clamp(0, size - 1)
        matrix.index_put_((rows, columns), kernel.expand(size, -1), accumulate=True)
        blurred[members] = matrix @ images[members] @ matrix.T
    return blurred


def _render_chunk(rng: np.random.Generator, labels: np.ndarray, params: SynDigitsParams) -> torch.Tensor:
    """Compose the digits over their backgrounds as float (N, 3, 32, 32) images in 0..255.

    The digit mask is sampled at RENDER_SIZE and averaged down, so glyph edges are antialiased.
    """
    count = len(labels)
    canvas = torch.from_numpy(_layout_canvas(rng, labels, params))
    grid = _sampling_grid(rng, count, params)
    mask = F.grid_sample(canvas, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # (N, 1, 64, 64)
    mask = F.avg_pool2d(mask, RENDER_SIZE // IMAGE_SIZE)  # (N, 1, 32, 32)

    background = _backgrounds(rng, count, params)
    foreground = _foreground_colours(rng, background, params)

    # drop shadow: the mask shifted by one or two pixels, darkening the background
    has_shadow = torch.from_numpy(rng.random(count) < params.shadow_probability)[:, None, None, None]
    shift = rng.integers(1, 3, size=2)
    shadow = torch.roll(mask, shifts=(int(shift[0]), int(shift[1])), dims=(2, 3)) * has_shadow
    image = background * (1 - 0.7 * shadow)
    return image * (1 - mask) + foreground * mask


def _degrade(rng: np.random.Generator, generator: torch.Generator, images: torch.Tensor, params: SynDigitsParams) -> torch.Tensor:
    """Blur, light unevenly and add noise to float (N, 3, 32, 32) images, returning uint8."""
    count = len(images)
    images = _gaussian_blur(images, rng.uniform(*params.blur_sigma, size=count))

    strength = torch.from_numpy(rng.uniform(-params.lighting, params.lighting, size=(count, 1, 1, 1))).float()
    images = images * (1 + strength * _linear_ramp(rng, count, IMAGE_SIZE))

    noise_std = torch.from_numpy(rng.uniform(*params.noise_std, size=(count, 1, 1, 1))).float()
    images = images + noise_std * torch.randn(images.shape, generator=generator)
    return images.clamp(0, 255).round().to(torch.uint8)
