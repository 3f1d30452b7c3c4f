#!/usr/bin/env bash
# The first call on a lent device (issue 28; scripts/device_run.sh says the rest):
#
#   run(command="bash scripts/device_world.sh", carry=[".gpuparts/part-00"])
#
# Prints the machine, installs part 00 (polars, and the packages the image
# lacks: scripts/device_parts.sh), and starts making the 10M-row benchmark
# world in a process session of its own, so that it runs on while the other
# parts travel (the device tool kills a call's other processes when it
# returns). Each part is kept under /tmp/parts, outside the working tree.
# ROWS (default 10000000): the world's size, as bench_scale.py's --rows.
set -euo pipefail
ROWS=${ROWS:-10000000}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 --version
nproc
mkdir -p /tmp/parts /tmp/first /tmp/site
cp .gpuparts/part-00 /tmp/parts/
tar -C /tmp/first -xf /tmp/parts/part-00
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site /tmp/first/*.whl
PYTHONPATH=/tmp/site python3 -c "import polars, jsonschema; print('polars', polars.__version__)"
PYTHONPATH=/tmp/site:$PWD setsid nohup python3 -c "
import sys, time
sys.path.insert(0, 'benchmarks')
import bench_scale
t = time.perf_counter()
print(bench_scale.world($ROWS), f'made in {time.perf_counter() - t:.0f} s', flush=True)
" > /tmp/world.log 2>&1 < /dev/null &
echo $! > /tmp/world.pid
echo "world started: pid $(cat /tmp/world.pid)"
