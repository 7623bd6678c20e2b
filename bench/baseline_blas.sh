# Sourced by bench/run.sh and bench/hh.sh (needs PY_BIN, OPENBLAS_DIR and $raw): runs the PyTorch baseline with
# OpenBLAS and picks its fastest correct kernel by measurement.
# The baseline's OpenBLAS kernel: Debian's OpenBLAS 0.3.21 mis-detects some AVX-512 Xeons as "Prescott" (a generic
# kernel, ~5x slower GEMM), and some machines preset OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE. pick_blas below measures
# each candidate kernel (correctness checked against float64) and the baseline runs with the fastest correct one.
blas_env=()
pyenv() {
  local threads=$1; shift
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${blas_env[@]}" \
    LD_LIBRARY_PATH="$OPENBLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OPENBLAS_NUM_THREADS=$threads \
    OMP_NUM_THREADS=$threads "$PY_BIN" bench/pytorch_dpo_step.py "$@"
}
pick_blas() {
  local best="" best_rate=0 detected line rate ok cand
  # The kernel OpenBLAS picks by itself on this CPU (OPENBLAS_VERBOSE=2 prints "Core: NAME").
  detected=$(blas_env=(OPENBLAS_VERBOSE=2); pyenv 1 gemm --threads 1 --size 64 2>&1 >/dev/null \
    | sed -n 's/^Core: *//p' | head -n 1)
  echo "bench: OpenBLAS detects this CPU as '${detected:-unknown}'" >&2
  local results="{"
  for cand in auto SkylakeX Cooperlake Haswell Zen Sandybridge; do
    if [ "$cand" = auto ]; then blas_env=(); else blas_env=("OPENBLAS_CORETYPE=$cand"); fi
    line=$(pyenv 1 gemm --threads 1 --size 1024 2>/dev/null || true)
    rate=$(echo "$line" | grep -o '"gflops": [0-9.]*' | grep -o '[0-9.]*$' || echo 0)
    ok=$(echo "$line" | grep -o '"correct": [a-z]*' | grep -o '[a-z]*$' || echo false)
    echo "bench: baseline BLAS kernel $cand: ${rate:-0} GFLOP/s at 1 thread (correct: ${ok:-false})" >&2
    results+="\"$cand\": {\"gflops\": ${rate:-0}, \"correct\": ${ok:-false}}, "
    if [ "$ok" = true ] && awk -v a="${rate:-0}" -v b="$best_rate" 'BEGIN { exit !(a > b) }'; then
      best=$cand; best_rate=$rate
    fi
  done
  results="${results%, }}"
  if [ -z "$best" ]; then echo "bench: no OpenBLAS kernel gave a correct GEMM; stopping" >&2; exit 1; fi
  if [ "$best" = auto ]; then blas_env=(); else blas_env=("OPENBLAS_CORETYPE=$best"); fi
  echo "bench: baseline uses OpenBLAS kernel '$best' ($best_rate GFLOP/s at 1 thread)" >&2
  echo "{\"kind\": \"baseline_blas\", \"detected\": \"${detected:-unknown}\", \"chosen\": \"$best\", \"candidates\": $results}" \
    >> "$raw.tmp"
}
