#!/bin/bash
# Scheduler benchmark: pods bound per second by mkd's scheduler, beside a
# trivial binder (round-robin, no filtering) doing the same bindings
# through the same API on a fresh mkd started with --no-scheduler, in the
# same run.  Both mkds run without a node agent (controllers on); the
# nodes are fake ones the tool creates.  See bench/README.md.
#
#   bash bench/sched_run.sh [BUILD_DIR]
#
# Environment: BENCH_SCHED_NODES (100), BENCH_SCHED_PODS (3000),
# BENCH_SCHED_THREADS (8, creating pods), BENCH_SCHED_PORT_BASE (31700;
# uses base+1 for dqlite, base+2 for the API).
set -eu

BUILD=$(cd "${1:-build}" && pwd)
NODES=${BENCH_SCHED_NODES:-100}
PODS=${BENCH_SCHED_PODS:-3000}
THREADS=${BENCH_SCHED_THREADS:-8}
BASE=${BENCH_SCHED_PORT_BASE:-31700}
DQ=$((BASE + 1))
API=$((BASE + 2))

TMP=$(mktemp -d /tmp/mk-sched-bench.XXXXXX)
MKD_PID=
stop_mkd() {
	if [ -n "$MKD_PID" ]; then
		kill "$MKD_PID" 2>/dev/null || true
		wait "$MKD_PID" 2>/dev/null || true
		MKD_PID=
	fi
}
cleanup() {
	stop_mkd
	rm -rf "$TMP"
}
trap cleanup EXIT

# run MODE [MKD FLAGS...]: a fresh mkd, the tool against it; prints the
# tool's line.
run() {
	local mode=$1 data=$TMP/$1
	shift
	"$BUILD/mkd" --data-dir "$data" --address 127.0.0.1 --dqlite-port "$DQ" --api-port "$API" \
		--no-node-agent --log-level warn "$@" >"$TMP/$mode.log" 2>&1 &
	MKD_PID=$!
	local ready=
	for _ in $(seq 300); do
		if HOME=$TMP kubectl --kubeconfig "$data/credentials/client.config" get ns default \
			>/dev/null 2>&1; then
			ready=1
			break
		fi
		sleep 0.1
	done
	if [ -z "$ready" ]; then
		echo "sched-bench: mkd ($mode) did not come up" >&2
		tail -20 "$TMP/$mode.log" >&2
		exit 1
	fi
	if ! "$BUILD/sched-bench" --server "https://127.0.0.1:$API" --data-dir "$data" --mode "$mode" \
		--nodes "$NODES" --pods "$PODS" --threads "$THREADS"; then
		tail -20 "$TMP/$mode.log" >&2
		exit 1
	fi
	stop_mkd
}

sched=$(run scheduler)
echo "$sched" >&2
binder=$(run binder --no-scheduler)
echo "$binder" >&2
s=$(echo "$sched" | awk '{print $(NF-1)}')
b=$(echo "$binder" | awk '{print $(NF-1)}')
awk -v s="$s" -v b="$b" 'BEGIN { printf "scheduler: %d pods/s, trivial binder: %d pods/s, ratio %.2f\n", s, b, s / b }'
