#!/usr/bin/env bash
# Makes Debian's PyTorch (python3-torch, 1.13) importable by /usr/bin/python3, installing it with apt when missing,
# plus OpenBLAS: Debian's torch calls the system libblas.so.3, which is the unoptimised reference BLAS
# (~3 GFLOP/s here) unless an optimised one is installed; bench/run.sh points the baseline at OpenBLAS explicitly.
# Used only by the benchmark (bench/run.sh); CI never calls this.
set -euo pipefail
PY=${BENCH_PYTHON:-/usr/bin/python3}
OPENBLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-pthread
missing=()
"$PY" -c "import torch" 2>/dev/null || missing+=(python3-torch)
[ -e "$OPENBLAS_DIR/libblas.so.3" ] || missing+=(libopenblas0-pthread)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]} for the PyTorch baseline" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
"$PY" -c "import torch; print('bench: PyTorch', torch.__version__)" >&2
