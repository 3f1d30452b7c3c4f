#!/usr/bin/env bash
# Check, on a machine without a GPU, that every plan of ingest, detect and
# report translates to the Polars GPU engine (scripts/gpu_plan_check.py), in one
# command: the steps of that script's header, each done once and kept.
#
#   bash scripts/gpu_check.sh [STORE_OR_FILES...]
#
# Default input: make report's bundled files. Needs Python 3.12 (PYTHON3_12, or
# python3.12 on the PATH: the GPU wheels are built for it) and the package
# index (about 1.5 GB of wheels on the first run). Kept between runs: the venv
# (GPU_VENV, default /tmp/gpuvenv), the installed wheels (GPU_SITE, default
# /tmp/gpusite) and .gpuwheels (git-ignored). No device is touched; failures
# that only happen while a GPU executes cannot be seen here.
set -euo pipefail
[ -f pyproject.toml ] || { echo "run this in the project root" >&2; exit 2; }
PY=${PYTHON3_12:-$(command -v python3.12 || true)}
[ -n "$PY" ] && "$PY" --version >/dev/null 2>&1 \
  || { echo "needs Python 3.12: set PYTHON3_12=/path/to/python3.12" >&2; exit 2; }
VENV=${GPU_VENV:-/tmp/gpuvenv}
SITE=${GPU_SITE:-/tmp/gpusite}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q -e .
fi
if [ ! -d "$SITE/cudf_polars" ]; then
  [ -d .gpuwheels ] || PATH="$VENV/bin:$PATH" ../shared/tools/gpu-wheels
  "$VENV/bin/pip" install -q --no-deps --target "$SITE" .gpuwheels/*.whl
  # The CUDA libraries a GPU machine's image has; here only for the imports.
  rm -rf "$SITE.cuda"
  "$VENV/bin/pip" install -q --no-deps --target "$SITE.cuda" "cuda-bindings>=13,<14" \
    cuda-pathfinder nvidia-ml-py "nvidia-cuda-runtime>=13,<14" "nvidia-cuda-nvrtc>=13,<14" \
    "nvidia-nvjitlink>=13,<14" "nvidia-cufile>=1.15"
  cp -rn "$SITE.cuda"/* "$SITE"/ && cp -rn "$SITE.cuda/nvidia/cu13" "$SITE/nvidia/"
  rm -rf "$SITE.cuda"
fi
if [ $# -eq 0 ]; then
  set -- datasets/eu_electronics_exports_2020_2022.parquet datasets/eu_export_sanctions
fi
PYTHONPATH="$SITE:$PWD" LD_LIBRARY_PATH="$SITE/nvidia/cu13/lib" \
  "$VENV/bin/python" scripts/gpu_plan_check.py "$@" > /tmp/gpu_plan_check.log 2>&1 \
  || { tail -20 /tmp/gpu_plan_check.log >&2; echo "GPU plan check failed (log: /tmp/gpu_plan_check.log)" >&2; exit 1; }
echo "GPU plan check passed on: $* (log: /tmp/gpu_plan_check.log)"
