#!/usr/bin/env bash
# Certify on several GPUs (or CPU processes) of one machine with torchrun, as mmdet's
# dist_test.sh does:  tools/dist_certify.sh det|seg CONFIG CHECKPOINT GPUS [flags...]
# ("--" ends torchrun's own options, so certify flags like --n reach the tool intact.)
set -euo pipefail
if [ "$#" -lt 4 ]; then
    echo "usage: $0 det|seg CONFIG CHECKPOINT GPUS [certify flags...]" >&2
    exit 2
fi
TASK=$1; CONFIG=$2; CHECKPOINT=$3; GPUS=$4; shift 4
case "$TASK" in det|seg) ;; *) echo "error: task must be det or seg, got '$TASK'" >&2; exit 2;; esac
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON=${PYTHON:-"$ROOT/.venv/bin/python"}
PORT=${PORT:-29511}
exec "$PYTHON" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="$PORT" --nproc_per_node="$GPUS" -- \
    "$ROOT/tools/certify_$TASK.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
