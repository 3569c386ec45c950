#!/usr/bin/env bash
# The checks that need a GPU, in at most 8 minutes on one: the CUDA tests, then
# benchmarks/scale.py at Cityscapes size (1024x2048) on the device noise path, the same
# with AMP, and a host noise path row. Run from anywhere:
#
#     OUT=work_dirs/device_check PYTHON=.venv/bin/python benchmarks/device_check.sh
#
# Tables go to $OUT/scale_cuda*.md (OUT defaults to work_dirs/device_check) and are
# printed at the end. Each step has its own time limit (60 + 130 + 130 + 150 s ≈ 7.8 min
# at most); a step that fails or runs out of time is reported and the others still run,
# and the script then exits 1.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
OUT="${OUT:-work_dirs/device_check}"
mkdir -p "$OUT"
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}"
failed=()

step() {  # step NAME SECONDS COMMAND...: run with a time limit, note a failure, go on
  local name=$1 limit=$2 rc=0
  shift 2
  echo "== $name (limit ${limit}s)"
  timeout "$limit" "$@" || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "== $name: exit status $rc$([[ $rc -eq 124 ]] && echo ' (time limit)')"
    failed+=("$name")
  fi
}

echo "== GPUs"
if command -v nvidia-smi >/dev/null; then nvidia-smi -L; else echo "nvidia-smi not found"; fi

# CUDA tests: pyproject.toml registers a `cuda` marker, so this runs -m cuda (the command
# line's -m replaces the addopts one). Without the marker it falls back to picking them by
# name, -k "cuda or device" (-k cuda alone would miss test_denoiser_runs_on_the_model_device,
# which is skipif(no CUDA) but not marked).
if grep -qE '^[[:space:]]*"cuda[:"]' pyproject.toml; then
  select=(-m cuda)
else
  select=(-k "cuda or device")
fi
pytest_rc=0
echo "== CUDA tests (pytest -q tests ${select[*]}, limit 60s)"
timeout 60 "$PYTHON" -m pytest -q tests "${select[@]}" || pytest_rc=$?
if [[ $pytest_rc -ne 0 && $pytest_rc -ne 5 ]]; then  # 5: no test selected
  echo "== CUDA tests: exit status $pytest_rc"
  failed+=("CUDA tests")
fi

scale=("$PYTHON" benchmarks/scale.py --task both --size 1024x2048 --n 16 --repeat 3
       --device cuda)
step "scale, device noise" 130 "${scale[@]}" --noise device --out "$OUT/scale_cuda.md"
step "scale, device noise, AMP" 130 "${scale[@]}" --noise device --amp \
  --out "$OUT/scale_cuda_amp.md"
step "scale, host noise" 150 "${scale[@]}" --noise host --out "$OUT/scale_cuda_host.md"

echo
for table in "$OUT"/scale_cuda.md "$OUT"/scale_cuda_amp.md "$OUT"/scale_cuda_host.md; do
  if [[ -f $table ]]; then echo "### $table"; cat "$table"; echo; fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
