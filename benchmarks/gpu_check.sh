#!/usr/bin/env bash
# Short DANN and WGAN-GP runs on one CUDA GPU with bf16 autocast, then their training throughput.
# Runs in about 5 minutes on one GPU; needs a CUDA build of torch with advlab installed in .venv.
# Usage: benchmarks/gpu_check.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-check}
python=${PYTHON:-.venv/bin/python}
"$python" - <<'PY'
import torch
if not torch.cuda.is_available():
    raise SystemExit("gpu_check: CUDA is not available here, so there is nothing to check")
print(f"GPU: {torch.cuda.get_device_name(0)}, bf16 supported: {torch.cuda.is_bf16_supported()}, torch {torch.__version__}")
PY
rm -rf "$out"
mkdir -p "$out"
"$python" -m advlab train uda --source mnistm-lite --target syndigits --method dann --steps 1500 \
    --set batch_size=128 --set device=cuda --set log_every=100 --set checkpoint_every=1500 --out "$out/dann"
"$python" -m advlab train gan --config gan-digits-wgan-gp --steps 300 --set image_size=64 --set batch_size=64 \
    --set device=cuda --set eval_every=0 --set sample_every=0 --set checkpoint_every=300 --out "$out/wgan-gp"
"$python" - "$out" <<'PY'
import json, statistics, sys
from pathlib import Path
out = Path(sys.argv[1])
for name, key in (("dann", "images_per_s"), ("wgan-gp", "images_per_second")):
    records = [json.loads(line) for line in (out / name / "metrics.jsonl").read_text().splitlines()]
    rates = [r[key] for r in records if key in r][1:]  # the first interval includes warm-up
    print(f"{name}: median {statistics.median(rates):.0f} images/s over {len(rates)} logging intervals")
results = json.loads((out / "dann" / "results.json").read_text())
print(f"dann target test accuracy after {results['steps']} steps: {results['target_test_acc']:.4f}")
PY
"$python" -m benchmarks.train_throughput --device cuda --skip-tsne --rounds 3
