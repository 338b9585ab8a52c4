#!/bin/sh
# The Redis side of bench/mem.c: used_memory per key for N keys
# "key:I" -> small int, on a private redis-server over a Unix socket.
set -eu
n=${1:-1000000}
command -v redis-server >/dev/null 2>&1 || { echo "Redis: redis-server not installed (apt-get install redis-server)"; exit 0; }
dir=$(mktemp -d)
sock=$dir/redis.sock
redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no --daemonize no >"$dir/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
i=0
while ! redis-cli -s "$sock" ping >/dev/null 2>&1; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.05; done
used() { redis-cli -s "$sock" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
before=$(used)
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "SET key:%d %d\r\n", i, i % 257 }' |
    redis-cli -s "$sock" --pipe >/dev/null
after=$(used)
printf '%-44s %10.1f\n' "Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'): $n keys" \
    "$(echo "($after - $before) / $n" | bc -l)"
