#!/bin/sh
# make bench: every benchmark, with its peers measured side by side on this
# machine in the same run (compare the ratios, not absolute numbers).
# BENCH_GC_SIZES overrides the collector sizes (default 100000 1000000 10000000),
# BENCH_SNAPSHOT_SIZES the snapshot sizes (default 1000000 10000000),
# BENCH_STALL_ARGS bench/stall.py's options (default none: full sizes; --small);
# compare-redis.sh's settings (BENCH_CLIENTS, BENCH_REQUESTS_P1, ...) are in its header.
set -eu
here=$(dirname "$0")
echo "== memory per object: heapd vs CPython vs Redis"
python3 "$here/mem_compare.py"
echo
echo "== cycle collector: heapd vs CPython"
# shellcheck disable=SC2086
python3 "$here/gc_compare.py" ${BENCH_GC_SIZES:-100000 1000000 10000000}
echo
echo "== requests per second and server CPU per request: heapd vs Redis"
sh "$here/compare-redis.sh"
echo
echo "== snapshots: save and load throughput, bytes per object (vs CPython pickle)"
# shellcheck disable=SC2086
python3 "$here/snapshot_compare.py" ${BENCH_SNAPSHOT_SIZES:-1000000 10000000}
echo
echo "== stalls: a pinging client's latency while each workload of SPEC 9 runs"
# shellcheck disable=SC2086
python3 "$here/stall.py" ${BENCH_STALL_ARGS:-}
