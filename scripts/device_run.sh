#!/usr/bin/env bash
# The one prepared script for a session lent a GPU device (issue 28; docs/gpu.md).
#
# On this machine first:  ../shared/tools/gpu-wheels --with-xgboost
# Then, through the device tool, one call per part, each within the warm window:
#   run(command="ls .gpuparts", carry=[".gpuparts/part-00"]), ... part-NN
# carrying MANIFEST and MANIFEST.sha256 with the last part; then one call:
#   run(command="bash scripts/device_run.sh", timeout_s=590)
# What it leaves under $OUT comes back: the tests' log, the benchmark tables
# (copied into benchmarks/RESULTS.md here by hand) and the versions.
#
# Steps: the machine and the wheels (nvidia-smi, python3 --version, the
# installed versions, XGBoost's CUDA build), the GPU tests with fallback
# disabled, then ingest and detect at 10M report rows on the 16-core CPU
# engine and the GPU engine side by side (same store, same flags checked by
# the benchmark), then a per-step profile of detect on both engines
# (TRADEFLOWS_PROFILE). A 50M run does not fit the device time.
set -euo pipefail
OUT=${OUT:-/tmp/device_out}
mkdir -p "$OUT"
exec > >(tee "$OUT/device_run.log") 2>&1

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 --version
if [ ! -d /tmp/site/cudf_polars ]; then
  cat .gpuparts/part-* > /tmp/gpu.tar
  (cd .gpuparts && sha256sum -c --quiet MANIFEST.sha256)
  mkdir -p /tmp/gpuw && tar -C /tmp/gpuw -xf /tmp/gpu.tar
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site /tmp/gpuw/*.whl
fi
export PYTHONPATH=/tmp/site:$PWD
python3 - <<'EOF'
import importlib.metadata as m
import xgboost
for p in ("polars", "cudf-polars-cu13", "xgboost", "xgboost-cpu", "cupy-cuda13x", "cupy-cuda12x"):
    try:
        print(p, m.version(p))
    except m.PackageNotFoundError:
        print(p, "absent")
print("xgboost CUDA build:", xgboost.build_info().get("USE_CUDA"))
from tradeflows import _engine
print("gpu usable:", _engine.gpu_available(), "xgboost device on gpu:", _engine.xgboost_device("gpu"))
EOF

# The GPU tests: ingest and detect on the GPU engine give the CPU's store and flags.
python3 -m pytest -q -m gpu tests/test_engine.py -p no:cacheprovider | tee "$OUT/gpu_tests.log" || true

# 10M report rows, both engines in one run; the tables are appended to RESULTS.md.
cp benchmarks/RESULTS.md /tmp/RESULTS.before
timeout 420 python3 benchmarks/bench_scale.py --rows 10000000 --engines cpu gpu \
  --steps ingest detect || echo "bench_scale stopped: $?"
diff /tmp/RESULTS.before benchmarks/RESULTS.md | sed -n 's/^> //p' > "$OUT/results_new.md" || true

# A per-step profile of detect on the same world, both engines
# (TRADEFLOWS_PROFILE: each collect's time by step; on the GPU, cudf-polars'
# node timings too). Summarise with polars: group by engine and step.
world=$(ls -d benchmarks/data/scale_* | head -1)
timeout 120 python3 -m tradeflows.cli ingest "$world/comtrade" --out /tmp/prof_store --engine cpu -q \
  || echo "profile ingest stopped: $?"
# Which files the device parsed itself (values read exactly) and which went
# to the CPU's parser, and why (the log's "read by the CPU's parser" lines).
timeout 120 python3 -m tradeflows.cli ingest "$world/comtrade" --out /tmp/gpu_store --engine gpu \
  > "$OUT/gpu_ingest.log" 2>&1 || echo "gpu ingest stopped: $?"
grep -c "read by the CPU's parser" "$OUT/gpu_ingest.log" || true
for e in gpu cpu; do
  TRADEFLOWS_PROFILE="$OUT/profile_$e.csv" timeout 120 python3 -m tradeflows.cli detect \
    /tmp/prof_store --engine "$e" --out "/tmp/prof_$e.parquet" -q || echo "profile $e stopped: $?"
done
echo "done"
