#!/bin/sh
# heapd vs Redis, side by side on Unix sockets: redis-benchmark against
# redis-server and heapctl bench against heapd, with the same clients,
# requests and pipeline depth, for the analogous operations. For each pair
# it prints both servers' requests per second and both servers' CPU time
# per request (utime+stime from /proc/PID/stat, which does not depend on
# how fast the benchmark client is), and the ratios heapd/Redis.
#
# Environment: HEAPD, HEAPCTL (default build/heapd, build/heapctl);
# BENCH_CLIENTS (50); BENCH_PIPELINES ("1 16"); BENCH_REQUESTS_P1 (500000)
# and BENCH_REQUESTS_P16 (3000000) for depths 1 and 16, BENCH_REQUESTS for
# any other depth: enough that each server's CPU time spans many clock ticks.
# BENCH_PAIRS: which pairs (default all four: SET:set:bind GET:get:get ...).
# BENCH_FSYNC: durability, both sides alike: "" (default: Redis without AOF,
# heapd without the effect log), or always / everysec / no (Redis
# appendonly yes with that appendfsync; heapd persistence.log with that
# persistence.fsync), the files in the temporary directory.
set -eu

HEAPD=${HEAPD:-build/heapd}
HEAPCTL=${HEAPCTL:-build/heapctl}
CLIENTS=${BENCH_CLIENTS:-50}
PIPELINES=${BENCH_PIPELINES:-1 16}

for tool in redis-server redis-benchmark redis-cli; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "compare-redis: $tool not installed; skipped (apt-get install redis-server redis-tools)"
        exit 0
    fi
done
for bin in "$HEAPD" "$HEAPCTL"; do
    [ -x "$bin" ] || { echo "compare-redis: $bin not found; run make first" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/compare-redis-XXXXXX)
redis_pid=
heapd_pid=
cleanup() {
    for p in $redis_pid $heapd_pid; do kill "$p" 2>/dev/null || true; done
    for p in $redis_pid $heapd_pid; do wait "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

redis_sock=$dir/redis.sock
heapd_sock=$dir/heapd.sock
FSYNC=${BENCH_FSYNC:-}
if [ -n "$FSYNC" ]; then
    redis_aof="--appendonly yes --appendfsync $FSYNC"
    printf '{"persistence": {"log": "%s/heapd.log", "fsync": "%s", "log_max_bytes": 0}}\n' \
        "$dir" "$FSYNC" >"$dir/heapd.json"
else
    redis_aof="--appendonly no"
    echo '{}' >"$dir/heapd.json"
fi
# shellcheck disable=SC2086 # redis_aof is several arguments
(cd "$dir" && exec redis-server --port 0 --unixsocket "$redis_sock" --save '' \
    $redis_aof --daemonize no >"$dir/redis.log" 2>&1) &
redis_pid=$!
"$HEAPD" --socket "$heapd_sock" --config "$dir/heapd.json" >"$dir/heapd.log" 2>&1 &
heapd_pid=$!

wait_up() { # command...: retries for 5 s
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 100 ] || { echo "compare-redis: server did not start: $*" >&2; exit 1; }
        sleep 0.05
    done
}
wait_up redis-cli -s "$redis_sock" ping
wait_up "$HEAPCTL" -s "$heapd_sock" ping

hz=$(getconf CLK_TCK)
# /proc/PID/stat after "(comm) ", which may hold spaces: $12 $13 are utime
# and stime, $14 $15 the CPU of the children waited for.
cpu_ticks() { # pid: the server's utime+stime
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# run PID TEST COMMAND...: runs a benchmark with --csv output; prints
# "rps server_ticks client_ticks". The client runs in a child shell that
# reads its own children's CPU when the client is done.
run() {
    pid=$1 test=$2
    shift 2
    before=$(cpu_ticks "$pid")
    client=$(sh -c '"$@" >"$0" && sed "s/.*) //" /proc/$$/stat | awk "{ print \$14 + \$15 }"' \
        "$dir/out" "$@")
    after=$(cpu_ticks "$pid")
    rps=$(awk -F'","' -v t="$test" '$1 == "\"" t { print $2 }' "$dir/out")
    [ -n "$rps" ] || { echo "compare-redis: no figure for $test in:" >&2; cat "$dir/out" >&2; exit 1; }
    echo "$rps $((after - before)) $client"
}

requests_for() {
    case $1 in
    1) echo "${BENCH_REQUESTS_P1:-500000}" ;;
    16) echo "${BENCH_REQUESTS_P16:-3000000}" ;;
    *) echo "${BENCH_REQUESTS:-1000000}" ;;
    esac
}

# row PAIR P N REDIS_RUN HEAPD_RUN: one line of the table.
row() {
    echo "$4 $5" | awk -v pair="$1" -v p="$2" -v n="$3" -v hz="$hz" '{
        us = 1e6 / hz / n # per tick, per request
        printf "%-16s %3d %8d %10.0f %10.0f %6.2f %9.3f %9.3f %6s %9.3f %9.3f\n",
            pair, p, n, $1, $4, $4 / $1, $2 * us, $5 * us, $2 ? sprintf("%.2f", $5 / $2) : "-",
            $3 * us, $6 * us
    }'
}

echo "heapd $("$HEAPCTL" --version | awk '{ print $2 }') vs Redis" \
    "$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $CLIENTS clients, Unix sockets," \
    "fsync: ${FSYNC:-off (no AOF, no effect log)}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%29s %28s %26s %19s\n' "" "requests per second" "server CPU us/request" \
    "client CPU us/req"
printf '%-16s %3s %8s %10s %10s %6s %9s %9s %6s %9s %9s\n' "Redis / heapd" P requests \
    Redis heapd h/R Redis heapd h/R r-bench heapctl
for P in $PIPELINES; do
    n=$(requests_for "$P")
    for pair in ${BENCH_PAIRS:-SET:set:bind GET:get:get RPUSH:rpush:append HSET:hset:setitem}; do
        rname=${pair%%:*}
        rest=${pair#*:}
        rtest=${rest%%:*}
        htest=${rest#*:}
        r=$(run "$redis_pid" "$rname" redis-benchmark -s "$redis_sock" \
            -c "$CLIENTS" -n "$n" -P "$P" -t "$rtest" --csv)
        h=$(run "$heapd_pid" "$htest" "$HEAPCTL" -s "$heapd_sock" bench \
            -c "$CLIENTS" -n "$n" -P "$P" -t "$htest" --csv -q)
        row "$rname / $htest" "$P" "$n" "$r" "$h"
    done
done
echo "h/R: heapd / Redis. Server CPU is utime+stime from /proc/PID/stat per request;" \
    "client CPU is that of redis-benchmark (r-bench) and heapctl bench."
