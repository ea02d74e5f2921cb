#!/bin/bash
# Instructions per next + submit pair inside the app (bench/lane_cpu.py under callgrind, counting
# only while the pairs run, the event loop's thread only): a figure other processes on the
# machine do not move.
#   bash bench/lane_instructions.sh TREE [PAIRS]      (prints Ir per pair)
set -e
tree=$1; pairs=${2:-300}
here=$(cd "$(dirname "$0")" && pwd)
sync=$(mktemp -d /tmp/lh-lane-sync-XXXXXX)
out=$sync/callgrind.out
(cd /tmp && LH_LANE_SYNC=$sync PYTHONPATH=$tree exec valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes \
  --callgrind-out-file=$out "$(python -c 'import sys; print(sys.executable)')" "$here/lane_cpu.py" --tasks 2000 --pairs "$pairs" --warmup 200 --slices 1 \
  >"$sync/stdout" 2>"$sync/stderr") &
vg=$!
until [ -e "$sync/ready" ]; do sleep 0.2; kill -0 $vg 2>/dev/null || { tail -5 "$sync/stderr"; exit 1; }; done
callgrind_control -i on $vg >/dev/null
touch "$sync/go"
until [ -e "$sync/done" ]; do sleep 0.2; done
callgrind_control -i off $vg >/dev/null
touch "$sync/stop"
wait $vg
# Thread 1 is the event loop's: the checkpoint thread's work goes with time, not with pairs.
ir=$(grep -E '^totals:' "$out-01" | awk '{print $2}')
echo "$tree Ir/pair $((ir / pairs)) (pairs $pairs, $(date -u +%H:%M:%S))"
grep -q us_per_pair "$sync/stdout" || { tail -5 "$sync/stderr"; exit 1; }
[ -n "$LH_KEEP" ] || rm -rf "$sync"
