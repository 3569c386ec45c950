#!/usr/bin/env bash
# Certify across a slurm allocation, as mmdet's slurm_test.sh does:
#   tools/slurm_certify.sh det|seg PARTITION JOB_NAME CONFIG CHECKPOINT [flags...]
# GPUS (default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS from the environment.
# On a preemptible partition, rerun the same command with --resume [RUN_DIR] after a
# preemption: finished frames are kept and skipped, with any number of GPUS.
set -euo pipefail
if [ "$#" -lt 5 ]; then
    echo "usage: $0 det|seg PARTITION JOB_NAME CONFIG CHECKPOINT [certify flags...]" >&2
    exit 2
fi
TASK=$1; PARTITION=$2; JOB_NAME=$3; CONFIG=$4; CHECKPOINT=$5; shift 5
case "$TASK" in det|seg) ;; *) echo "error: task must be det or seg, got '$TASK'" >&2; exit 2;; esac
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON=${PYTHON:-"$ROOT/.venv/bin/python"}
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} "$PYTHON" -u "$ROOT/tools/certify_$TASK.py" "$CONFIG" "$CHECKPOINT" \
    --launcher slurm "$@"
