#!/usr/bin/env bash
# The certification figures quoted for the demo models (issue notes, README): ℓ2 detection
# at σ = 0.25 for three ε, SegCertify's two settings, and the camera-effect ranges.
# Each line is a plain certify_det / certify_seg call; summaries land in $OUT/*/summary.json.
#   benchmarks/demo_numbers.sh [OUT] [DET_FRAMES] [SEG_FRAMES]   (CPU: about 40 minutes)
set -euo pipefail
OUT=${1:-work_dirs/numbers}; DET_FRAMES=${2:-30}; SEG_FRAMES=${3:-20}
PY=${PYTHON:-.venv/bin/python}
DET="configs/demo/rtmdet_mnv2_demo.py data/demo/checkpoints/rtmdet_mnv2_demo.pth"
SEG="configs/demo/fpn_mnv2_demo.py data/demo/checkpoints/fpn_mnv2_demo.pth"
for eps in 0.1 0.25 0.36; do
    $PY tools/certify_det.py $DET --work-dir "$OUT/det_l2_eps$eps" --sigma 0.25 --eps $eps \
        --n 200 --max-images "$DET_FRAMES" --seed 0
done
$PY tools/certify_seg.py $SEG --work-dir "$OUT/seg_l2_n100" --sigma 0.25 --tau 0.75 \
    --n0 20 --n 100 --max-images "$SEG_FRAMES" --seed 0
$PY tools/certify_seg.py $SEG --work-dir "$OUT/seg_l2_n500" --sigma 0.25 --tau 0.95 \
    --n0 20 --n 500 --max-images $((SEG_FRAMES / 2)) --seed 0
for spec in "brightness 0.2" "contrast 0.2" "gamma 0.85" "brightness_contrast 0.2"; do
    set -- $spec
    $PY tools/certify_det.py $DET --work-dir "$OUT/det_$1" --transform "$1" --sigma "$2" \
        --eps 0.05 --n 200 --max-images $((DET_FRAMES / 2)) --seed 0
    $PY tools/certify_seg.py $SEG --work-dir "$OUT/seg_$1" --transform "$1" --sigma "$2" \
        --tau 0.75 --n0 20 --n 100 --max-images $((SEG_FRAMES / 2)) --seed 0
done
$PY tools/plot_certified.py "$OUT"/seg_{brightness,contrast,gamma,brightness_contrast}/*/results.jsonl \
    --out "$OUT/certified_fraction_vs_range.png"
