#!/usr/bin/env bash
# Cut the GPU wheels into the parts that travel to a lent device (issue 28).
#
#   ../shared/tools/gpu-wheels --with-xgboost     (fills .gpuwheels)
#   bash scripts/device_parts.sh                  (fills .gpuparts)
#
# Part 00 is a tar of its own: polars and the few packages the device's image
# lacks (jsonschema and its dependencies, for the store's audit), so the first
# call can install them and start making the benchmark world
# (scripts/device_world.sh) while the other parts travel. Parts 01.. are one
# tar of every other wheel, cut at 58 MiB (a call carries 64 MiB with the
# working tree). MANIFEST.sha256 checks them all.
set -euo pipefail
[ -d .gpuwheels ] || { echo "run ../shared/tools/gpu-wheels --with-xgboost first" >&2; exit 2; }
for d in /.gpuparts/ /.gpuwheels/ /.whl/; do
  grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >> .git/info/exclude
done
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl jsonschema jsonschema-specifications referencing rpds-py
rm -rf .gpuparts /tmp/first_wheels && mkdir -p .gpuparts /tmp/first_wheels
cp .gpuwheels/polars-*.whl .gpuwheels/polars_runtime_32-*.whl .whl/*.whl /tmp/first_wheels/
tar -C /tmp/first_wheels -cf .gpuparts/part-00 .
(cd .gpuwheels && ls | grep -v -e '^polars-' -e '^polars_runtime_32-' | tar -cf - -T -) \
  | split -b 58m -d --numeric-suffixes=1 - .gpuparts/part-
(cd .gpuparts && sha256sum part-* > MANIFEST.sha256)
ls -la .gpuparts
