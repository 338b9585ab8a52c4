#!/bin/sh
# heapd driven by a stock msgpack-RPC client from npm (msgpack5rpc), with
# ext handlers written from docs/protocol.md: installs the pinned packages
# of package-lock.json (npm ci; skipped when node_modules already matches,
# so it works offline after the first run), starts heapd ($HEAPD, default
# build/heapd) on a temporary socket, runs test.js, and requires heapd to
# exit 0 after the test's final shutdown().
#
# Without node or npm, or when the packages cannot be installed, it fails
# when CI=true and skips with a message otherwise. `make test` runs it.
set -eu

# A relative HEAPD names a file from the caller's directory.
case ${HEAPD:-} in
    "" | /*) ;;
    *) HEAPD=$PWD/$HEAPD ;;
esac

cd "$(dirname "$0")"
HEAPD=${HEAPD:-$PWD/../../build/heapd}

# Missing prerequisites: a failure in CI, a skip (exit 0) elsewhere.
unavailable() {
    if [ "${CI:-}" = true ]; then
        echo "node-test: FAIL: $1 (CI=true)" >&2
        exit 1
    fi
    echo "node-test: SKIP: $1"
    exit 0
}

command -v node >/dev/null 2>&1 ||
    unavailable "node is not installed (apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 ||
    unavailable "npm is not installed (apt-get install npm)"
if ! [ -x "$HEAPD" ]; then
    echo "node-test: $HEAPD not found; run make first" >&2
    exit 1
fi
echo "node-test: node $(node --version), npm $(npm --version)"

# npm ci only when node_modules is not what package-lock.json pins.
STAMP=node_modules/.heapd-package-lock.json
if ! cmp -s package-lock.json "$STAMP" 2>/dev/null; then
    if ! npm ci --ignore-scripts --no-audit --no-fund --prefer-offline; then
        unavailable "npm ci could not install the packages of tests/node/package-lock.json"
    fi
    cp package-lock.json "$STAMP"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/heapd-node.XXXXXX")
SOCK=$TMP/heapd.sock
LOG=$TMP/heapd.log
HEAPD_PID=

cleanup() {
    if [ -n "$HEAPD_PID" ] && kill -0 "$HEAPD_PID" 2>/dev/null; then
        kill -KILL "$HEAPD_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$HEAPD" --socket "$SOCK" </dev/null >"$LOG" 2>&1 &
HEAPD_PID=$!

# Up when the socket exists (or gone if heapd stopped at start).
i=0
while ! [ -S "$SOCK" ]; do
    if ! kill -0 "$HEAPD_PID" 2>/dev/null || [ "$i" -ge 1000 ]; then
        echo "node-test: heapd did not start:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.01
    i=$((i + 1))
done

set +e
HEAPD_SOCKET=$SOCK node test.js
rc=$?
set -e

# test.js ends with shutdown(); heapd must then exit, and exit 0. If the
# test stopped early, SIGTERM stops it the ordinary way.
i=0
while kill -0 "$HEAPD_PID" 2>/dev/null && [ "$i" -lt 500 ]; do
    [ "$i" -eq 200 ] && kill -TERM "$HEAPD_PID" 2>/dev/null
    sleep 0.01
    i=$((i + 1))
done
if kill -0 "$HEAPD_PID" 2>/dev/null; then
    echo "node-test: heapd did not exit; killed" >&2
    kill -KILL "$HEAPD_PID" 2>/dev/null || true
fi
set +e
wait "$HEAPD_PID"
heapd_rc=$?
set -e
HEAPD_PID=
if [ "$heapd_rc" -ne 0 ]; then
    echo "node-test: heapd exited with $heapd_rc:" >&2
    cat "$LOG" >&2
    rc=1
elif [ "$rc" -ne 0 ]; then
    echo "node-test: heapd's log:" >&2
    cat "$LOG" >&2
fi
exit "$rc"
