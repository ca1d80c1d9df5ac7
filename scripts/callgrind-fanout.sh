#!/usr/bin/env bash
# callgrind-fanout.sh [BUILD_DIR]: petrel's instructions per delivered message, 1 publisher ->
# SUBSCRIBERS subscribers on one filter, QoS 0/1 x MQTT 3.1.1/5, counted by callgrind.
#
# BUILD_DIR (default: build) must be a configured Release tree with the benchmarks on:
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
# The script builds only petrel and bench_fanout there. For each case it runs petrel under
# valgrind --tool=callgrind twice, with the same connects, subscribes and disconnects, once
# publishing 0 and once MESSAGES messages (tests/bench/fanout_load.cpp says what the load
# does), takes callgrind's whole-program total of each (the `totals:` line of the out file),
# and prints (loaded - baseline) / (MESSAGES * SUBSCRIBERS), the median over REPEATS rounds.
#
# Environment: MESSAGES (2000), SUBSCRIBERS (100), PAYLOAD (64), WINDOW (20), THREADS (1:
# callgrind runs one thread at a time anyway, and with 2 workers the cross-thread hand-offs
# batch by valgrind's scheduling, which adds noise), REPEATS (3 rounds of every case; the
# table gives the median and the range), CASES ("q0-v311 q0-v5 q1-v311 q1-v5"), TOP (20
# functions by inclusive and by self cost from the last case's first loaded run; 0: none),
# JOBS (2, for the build), OUT (a new temporary directory; the callgrind out files and logs
# stay there for callgrind_annotate). Every run is bounded: RUN_TIMEOUT (900) seconds for
# the load, then SIGTERM, then SIGKILL after 120 s. Loopback only.
set -euo pipefail

build=${1:-build}
messages=${MESSAGES:-2000}
subscribers=${SUBSCRIBERS:-100}
payload=${PAYLOAD:-64}
threads=${THREADS:-1}
window=${WINDOW:-20}
repeats=${REPEATS:-3}
cases=${CASES:-"q0-v311 q0-v5 q1-v311 q1-v5"}
run_timeout=${RUN_TIMEOUT:-900}
out=${OUT:-$(mktemp -d /tmp/callgrind-fanout.XXXXXX)}
mkdir -p "$out"

if [[ ! -f $build/CMakeCache.txt ]]; then
    echo "callgrind-fanout.sh: $build is not a configured build tree" >&2
    exit 2
fi
if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt"; then
    echo "callgrind-fanout.sh: warning: $build is not a Release build" >&2
fi
cmake --build "$build" -j "${JOBS:-2}" --target petrel bench_fanout >"$out/build.log" ||
    { tail -30 "$out/build.log" >&2; exit 2; }
petrel=$build/petrel
load=$build/tests/bench/bench_fanout

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# run_one NAME QOS PROTOCOL COUNT: prints callgrind's instruction total for one broker run.
run_one() {
    local name=$1 qos=$2 protocol=$3 count=$4
    local port conf=$out/$name.conf cg=$out/callgrind.out.$name pid rc=0
    port=$(free_port)
    printf 'listener %s 127.0.0.1\npersistence false\nthreads %s\nlog_level warning\n' \
        "$port" "$threads" >"$conf"
    # The load keeps at most WINDOW messages ahead of the slowest subscriber, so the
    # default queue and output limits never drop a message.
    valgrind --tool=callgrind --callgrind-out-file="$cg" "$petrel" -c "$conf" \
        >"$out/$name.broker.log" 2>&1 &
    pid=$!
    timeout "$run_timeout" "$load" --port "$port" --subscribers "$subscribers" \
        --messages "$count" --payload "$payload" --qos "$qos" --protocol "$protocol" \
        --window "$window" --timeout "$run_timeout" >"$out/$name.load.log" 2>&1 || rc=$?
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        echo "callgrind-fanout.sh: $name: broker did not stop on SIGTERM" >&2
        rc=1
    fi
    wait "$pid" 2>/dev/null || true
    if [[ $rc -ne 0 ]]; then
        echo "callgrind-fanout.sh: $name: load failed (status $rc):" >&2
        cat "$out/$name.load.log" >&2
        tail -5 "$out/$name.broker.log" >&2
        return 1
    fi
    awk '/^totals:/ { print $2 }' "$cg"
}

echo "petrel $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?'):" \
    "1 publisher -> $subscribers subscribers, $messages messages of $payload bytes," \
    "threads $threads, $repeats rounds; out files in $out"
# Rounds outside, cases inside; each run is timing-dependent in how many packets one read
# or one epoll wake-up carries, so the counts differ by a few per cent from run to run.
declare -A per_delivery
for round in $(seq "$repeats"); do
    for c in $cases; do
        qos=${c%%-*}; qos=${qos#q}
        case ${c#*-} in
            v311) protocol=4 ;;
            v5) protocol=5 ;;
            *) echo "callgrind-fanout.sh: unknown case $c" >&2; exit 2 ;;
        esac
        base=$(run_one "$c-base-$round" "$qos" "$protocol" 0)
        loaded=$(run_one "$c-load-$round" "$qos" "$protocol" "$messages")
        per=$(awk -v l="$loaded" -v b="$base" -v d="$((messages * subscribers))" \
            'BEGIN { printf "%.0f", (l - b) / d }')
        echo "round $round $c: baseline $base Ir, loaded $loaded Ir, $per Ir/delivery" >&2
        per_delivery[$c]+="$per "
    done
done

echo
printf '%-8s %12s %22s  %s\n' case 'Ir/delivery' 'min-max' 'rounds'
for c in $cases; do
    read -r -a values <<<"${per_delivery[$c]}"
    sorted=$(printf '%s\n' "${values[@]}" | sort -n)
    median=$(awk '{ v[NR] = $1 }
        END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2 + 0.5) }' \
        <<<"$sorted")
    printf '%-8s %12s %22s  %s\n' "$c" "$median" "$(head -1 <<<"$sorted")-$(tail -1 <<<"$sorted")" \
        "${per_delivery[$c]}"
done

# top_functions FILE [--inclusive=yes]: the TOP costliest functions, names without arguments.
top_functions() {
    callgrind_annotate "$@" 2>/dev/null | sed -n '/file:function/,$p' | sed -n "3,$((top + 2))p" |
        sed -E 's/\(anonymous namespace\)/{anon}/g; s/ \[[^]]*\]$//; s/\?\?\?://;
                s/^( *[0-9,]+) \(([ 0-9.]+%)\)  /\1 \2  /; s/^([^(]*)\(.*$/\1/' | cut -c1-140
}

top=${TOP:-20}
if [[ $top -gt 0 ]]; then
    echo
    echo "$c round 1, $messages messages: top $top functions by inclusive cost"
    echo "(callgrind_annotate --inclusive=yes $out/callgrind.out.$c-load-1)"
    top_functions --inclusive=yes "$out/callgrind.out.$c-load-1"
    echo
    echo "$c round 1, $messages messages: top $top functions by self cost"
    top_functions "$out/callgrind.out.$c-load-1"
fi
