#!/usr/bin/env bash
# Run every benchmark in turn and print their tables (about 5 minutes on 2 cores).
# Usage: benchmarks/run_all.sh [PYTHON]   (default .venv/bin/python, else python3)
# Needs the bench extra for the swmr_tools baseline: pip install -e ".[test,bench]"
set -eo pipefail
cd "$(dirname "$0")/.."
PY="${1:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
for name in poll_cost frame_read map_pipeline map_end_to_end map_batch channels viewer_latency redraw_rate scatter_redraw event_loop memory viewer_memory xrf_fit; do
    echo "=================== benchmarks/$name.py"
    "$PY" "benchmarks/$name.py" 2>&1 | grep -v "propagateSizeHints"
done
