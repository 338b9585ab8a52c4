#!/bin/sh
# Install heapd's build dependencies (Debian/Ubuntu). Called by `make` when
# `pkg-config --exists` fails for a library the build needs, or scdoc (the
# man pages) or the test suite's Python modules are missing. systemd and man-db
# are for the service's tests; the python3 packages for the integration
# tests and the Python library (tests/node skips without node, outside CI);
# graphviz for heapctl graph's SVG test (skipped without dot, outside CI).
set -eu

PKGS="build-essential pkg-config libuv1-dev libmsgpack-dev libcjson-dev libcmocka-dev libedit-dev libsystemd-dev scdoc systemd man-db python3-msgpack python3-pytest python3-pip python3-venv python3-setuptools python3-wheel graphviz"
CMD="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PKGS"

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: apt-get not found; install these (or your distribution's equivalents): $PKGS" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PKGS
elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PKGS
else
    echo "install-deps: missing build dependencies and not root (no sudo). Run as root:" >&2
    echo "  $CMD" >&2
    exit 1
fi
