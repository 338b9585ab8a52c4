#!/bin/sh
# heapd's integration tests: start the real daemon on temporary sockets and
# talk msgpack-RPC to it with Debian's python3-msgpack (an independent
# client). `make test` runs this with HEAPD (the binary under test) and
# BUILD_DIR; run it by hand from anywhere: HEAPD=build/heapd tests/integration/run.sh
#   HEAPD_VALGRIND=1  run heapd under valgrind (slow)
#   extra arguments go to unittest (e.g. -k test_pipeline)
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
PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the tree
export HEAPD BUILD_DIR PYTHONDONTWRITEBYTECODE

if ! [ -x "$PYTHON" ] || ! "$PYTHON" -c 'import msgpack' 2>/dev/null; then
    echo "integration: $PYTHON with msgpack is needed; install it with:" >&2
    echo "  apt-get install python3-msgpack" >&2
    exit 1
fi
if ! [ -x "$HEAPD" ]; then
    echo "integration: $HEAPD not found; run make first" >&2
    exit 1
fi

set +e
"$PYTHON" -m unittest discover -s tests/integration -p 'test_*.py' -v "$@"
rc=$?
set -e
exit $rc
