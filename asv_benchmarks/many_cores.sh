#!/usr/bin/env bash
# The many-core measurements, in one run: thread scaling of shapes a, b and c
# (the figure and table of the benchmarks page), the machine's own scaling
# beside the fused pass, and the per-iteration overhead table on all threads.
#
# Run from the repository's root: bash asv_benchmarks/many_cores.sh OUT_DIR [THREADS]
# (THREADS default 1,2,4,8,12,16). Needs numba, numpy, scipy, scikit-learn,
# threadpoolctl and matplotlib importable by $PYTHON (default python3);
# fastgmm is imported from this checkout. Writes into OUT_DIR, each step's
# file as soon as the step ends (so that a run cut short keeps what it did):
#   environment.txt      the interpreter, packages and processor
#   thread_scaling.json  thread_scaling.py's results (ms per EM iteration)
#   thread_scaling.txt   its table
#   thread_scaling.png   the figure (docs/_static/thread_scaling_16core.png)
#   thread_scaling_plot.txt  the plotting step's messages
#   core_scaling.txt     core_scaling.py: FMA, copy and the passes per thread count
#   overhead.txt         iteration_overhead.py on all threads
# About five minutes on a 2-core machine with THREADS 1,2 (Numba's compile included).
set -u
out=${1:?usage: bash asv_benchmarks/many_cores.sh OUT_DIR [THREADS]}
threads=${2:-1,2,4,8,12,16}
py=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
mkdir -p "$out"
status=0
step() {  # step NAME COMMAND...: runs COMMAND, its output into OUT_DIR/NAME
    local name=$1
    shift
    echo "== $name: $*"
    "$@" > "$out/$name" 2>&1 || { echo "   failed, see $name"; status=1; }
    tail -n 20 "$out/$name"
}
step environment.txt "$py" -c "
import os, platform, numba, numpy, scipy, sklearn, fastgmm
print(platform.python_version(), platform.processor() or platform.machine())
print('fastgmm', fastgmm.__version__, 'numba', numba.__version__, 'numpy', numpy.__version__,
      'scipy', scipy.__version__, 'scikit-learn', sklearn.__version__)
fastgmm.GaussianMixture(2).fit(numpy.random.default_rng(0).normal(size=(100000, 2)))
try:
    layer = numba.threading_layer()
except ValueError:
    layer = 'none started'
print('cpus', os.cpu_count(), 'numba threads', numba.config.NUMBA_NUM_THREADS, 'layer', layer)
names = [l for l in open('/proc/cpuinfo') if l.startswith('model name')]
print(names[0].strip() if names else platform.machine())"
step thread_scaling.txt "$py" "$here/thread_scaling.py" "$out/thread_scaling.json" \
    --threads "$threads" --repeat 3
step thread_scaling_plot.txt "$py" "$here/thread_scaling.py" "$out/thread_scaling.json" \
    --plot "$out/thread_scaling.png"
step core_scaling.txt "$py" "$here/core_scaling.py" --threads "$threads" --repeat 5
step overhead.txt "$py" "$here/iteration_overhead.py" --repeat 5
exit $status
