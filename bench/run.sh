#!/bin/sh
# make bench: every benchmark, with its peers measured side by side on this
# machine in the same run (compare the ratios, not absolute numbers).
# BENCH_GC_SIZES overrides the collector sizes (default 100000 1000000 10000000).
set -eu
here=$(dirname "$0")
echo "== memory per object: heapd vs CPython vs Redis"
python3 "$here/mem_compare.py"
echo
echo "== cycle collector: heapd vs CPython"
# shellcheck disable=SC2086
python3 "$here/gc_compare.py" ${BENCH_GC_SIZES:-100000 1000000 10000000}
