#!/bin/sh
# The Python library's tests (pytest, Debian's python3-pytest) against the
# real heapd on temporary sockets. `make test` runs this with HEAPD (the
# binary under test); by hand, from anywhere: HEAPD=build/heapd tests/python/run.sh
#   extra arguments go to pytest (e.g. -k pipeline, -x, -v)
set -eu

# A relative HEAPD names a file from the caller's directory.
case ${HEAPD:-} in
    "" | /*) ;;
    *) HEAPD=$PWD/$HEAPD ;;
esac

cd "$(dirname "$0")/../.."

PYTHON=/usr/bin/python3
BUILD_DIR=${BUILD_DIR:-build}
HEAPD=${HEAPD:-$PWD/$BUILD_DIR/heapd}
PYTHONPATH=$PWD/python
PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the tree
export HEAPD PYTHONPATH PYTHONDONTWRITEBYTECODE

if ! [ -x "$PYTHON" ] || ! "$PYTHON" -c 'import msgpack, pytest' 2>/dev/null; then
    echo "python: $PYTHON with msgpack and pytest is needed; install them with:" >&2
    echo "  apt-get install python3-msgpack python3-pytest" >&2
    exit 1
fi
if ! [ -x "$HEAPD" ]; then
    echo "python: $HEAPD not found; run make first" >&2
    exit 1
fi

exec "$PYTHON" -m pytest -q -p no:cacheprovider tests/python "$@"
