#!/usr/bin/env bash
# The one prepared run for a session lent a GPU device (issue 28; docs/gpu.md).
#
# On this machine first:
#   ../shared/tools/gpu-wheels --with-xgboost && bash scripts/device_parts.sh
# Then, through the device tool, each call within the warm window (30 s):
#   run(command="bash scripts/device_world.sh", carry=[".gpuparts/part-00"])
#   run(command="cp .gpuparts/part-01 /tmp/parts/ && ls /tmp/parts", carry=[".gpuparts/part-01"])
#   ... up to the part before the last, then
#   run(command="bash scripts/device_run.sh",
#       carry=[".gpuparts/part-NN", ".gpuparts/MANIFEST.sha256"], timeout_s=...)
# What it leaves under $OUT comes back: the log, the benchmark table
# (copied into benchmarks/RESULTS.md here by hand), the per-step profile.
#
# Steps, each cut to the time left (BUDGET seconds in all, 540 unless set):
# the wheels and their versions (XGBoost's CUDA build); ingest and detect at
# 10M report rows on the 16-core CPU engine and the GPU engine side by side
# (same store, same flags, checked by the benchmark); the GPU tests with
# fallback disabled; detect's and ingest's variants (dev/gpu_variants.py); a
# per-step profile of detect on both engines
# (TRADEFLOWS_PROFILE, benchmarks/profile_steps.py); the files a GPU ingest
# sent to the CPU's parser. A 50M run does not fit the device time.
#
# ROWS (default 10000000, as scripts/device_world.sh was given): the
# world's size; ONLY=bench stops after the benchmark.
set -uo pipefail
OUT=${OUT:-/tmp/device_out}
BUDGET=${BUDGET:-540}
ROWS=${ROWS:-10000000}
ONLY=${ONLY:-all}
mkdir -p "$OUT"
exec > >(tee "$OUT/device_run.log") 2>&1
start=$SECONDS
# within N CMD...: CMD under a timeout of N seconds or what is left of the
# budget less a margin, whichever is less; skipped when under 20 s are left.
within() {
  local want=$1 left=$((BUDGET - (SECONDS - start) - 10))
  shift
  ((left < want)) && want=$left
  if ((want < 20)); then echo "skipped, out of time: $*"; return 0; fi
  timeout "$want" "$@" || echo "stopped ($?): $*"
}
stamp() { echo "== $(date +%T) (+$((SECONDS - start)) s) $*"; }

stamp "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 --version
stamp "wheels"
mkdir -p /tmp/parts
cp .gpuparts/part-* .gpuparts/MANIFEST.sha256 /tmp/parts/ 2>/dev/null
if [ ! -d /tmp/site/cudf_polars ]; then
  (cd /tmp/parts && sha256sum -c --quiet MANIFEST.sha256) || { echo "parts missing or damaged"; exit 3; }
  ls /tmp/parts/part-* | grep -v 'part-00$' | sort | xargs cat > /tmp/gpu.tar
  mkdir -p /tmp/gpuw && tar -C /tmp/gpuw -xf /tmp/gpu.tar && rm /tmp/gpu.tar
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site /tmp/gpuw/*.whl
fi
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
python3 - <<'EOF'
import importlib.metadata as m
import xgboost
for p in ("polars", "cudf-polars-cu13", "xgboost", "jsonschema", "cupy-cuda13x", "numpy", "pandas"):
    try:
        print(p, m.version(p))
    except m.PackageNotFoundError:
        print(p, "absent")
print("xgboost CUDA build:", xgboost.build_info().get("USE_CUDA"))
from tradeflows import _engine
print("gpu usable:", _engine.gpu_available(), "xgboost device on gpu:", _engine.xgboost_device("gpu"))
EOF

stamp "the world (made in the background since the first call)"
world=benchmarks/data/scale_$(cd benchmarks && python3 -c "import bench_scale; print(bench_scale.world_pairs($ROWS))")
while [ ! -f "$world/world.json" ] && kill -0 "$(cat /tmp/world.pid 2>/dev/null)" 2>/dev/null; do
  sleep 2
done
cat /tmp/world.log 2>/dev/null

stamp "ingest and detect at $ROWS report rows (about), CPU and GPU engines"
cp benchmarks/RESULTS.md /tmp/RESULTS.before
within 330 python3 benchmarks/bench_scale.py --rows "$ROWS" --engines cpu gpu \
  --steps ingest detect
diff /tmp/RESULTS.before benchmarks/RESULTS.md | sed -n 's/^> //p' > "$OUT/results_new.md"
if [ "$ONLY" = bench ]; then stamp "done (ONLY=bench)"; exit 0; fi

stamp "the engine tests, the GPU ones and the plan check's included"
within 150 python3 -m pytest -q tests/test_engine.py -p no:cacheprovider

store=$world/runs/ingest_cpu
# Detect's and ingest's variants on the GPU engine, beside the CPU engine, on
# the store the benchmark's CPU ingest wrote (dev/gpu_variants.py).
stamp "detect's and ingest's variants on the GPU engine"
within 260 python3 dev/gpu_variants.py "$store" --files "$world/comtrade" | tee "$OUT/variants.md"

# Each collect's time by step, and on the GPU cudf-polars' node timings; the
# log's step timings beside.
for e in gpu cpu; do
  stamp "profiled detect, $e engine"
  TRADEFLOWS_PROFILE="$OUT/profile_$e.csv" within 60 python3 -m tradeflows.cli \
    --log "$OUT/detect_$e.log" detect "$store" --engine "$e" --out "/tmp/prof_$e.parquet" -q
done
python3 benchmarks/profile_steps.py "$OUT/profile_cpu.csv" "$OUT/profile_gpu.csv" \
  > "$OUT/profile_table.md" || echo "profile summary failed: $?"
cat "$OUT/profile_table.md"

# Which files the device parsed itself (values read exactly) and which went
# to the CPU's parser, and why.
stamp "GPU ingest, its files' parser"
within 60 python3 -m tradeflows.cli --log "$OUT/gpu_ingest.log" ingest \
  "$world/comtrade" --out /tmp/gpu_store --engine gpu -q
grep -c "read by the CPU's parser" "$OUT/gpu_ingest.log"
stamp "done"
