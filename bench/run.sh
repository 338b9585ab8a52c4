#!/bin/sh
# make bench: every benchmark, with its peers measured side by side on this
# machine in the same run (compare the ratios, not absolute numbers).
set -eu
here=$(dirname "$0")
echo "== memory per object: heapd vs CPython vs Redis"
python3 "$here/mem_compare.py" "$@"
