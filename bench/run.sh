#!/bin/sh
# Store benchmark: durable 1 KiB puts, mk (mkd + dqlite) beside etcd 3.4,
# both started here, on loopback, one system at a time.
#
#   sh bench/run.sh [BUILD_DIR]        (make bench runs it)
#
# Cases: 1 node and 3 voters, each with 1 and 16 concurrent clients.  The
# whole set runs BENCH_ROUNDS times on fresh servers, the first system of
# each pair alternating between rounds so that drift of the machine (a
# neighbour on the host, the disk's write-back) does not favour one side;
# the figures printed are the medians over the rounds, one line per case:
#   store-bench case=1node-c16 mk_ops=... etcd_ops=... ratio=... mk_p50_ms=...
# then the idle RSS of a fresh single mkd and a fresh single etcd (1 s
# after each answered its first request) and their RSS after the 1-node
# runs, and last "store-bench min_ratio_vs_etcd=X" (smallest mk/etcd ops/s
# ratio over the cases).  Each round's raw figures go to stderr.
#
# Environment: BENCH_ROUNDS (3), BENCH_SECONDS (measured seconds per run,
# 3), BENCH_WARMUP (seconds before measuring, 1), BENCH_PORT_BASE (31000;
# each mkd's API listens on its dqlite port + 200, unused by the bench;
# uses base+1 .. base+133), ETCD (/usr/bin/etcd), ETCDCTL (/usr/bin/etcdctl).
set -eu

BUILD=${1:-build}
BENCH=$BUILD/store-bench
MKD=$BUILD/mkd
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-3}
WARM=${BENCH_WARMUP:-1}
BASE=${BENCH_PORT_BASE:-31000}
ETCD=${ETCD:-/usr/bin/etcd}
ETCDCTL=${ETCDCTL:-/usr/bin/etcdctl}

for f in "$BENCH" "$MKD" "$ETCD" "$ETCDCTL"; do
	if [ ! -x "$f" ]; then
		echo "store-bench: $f is missing (make build/mkd build/store-bench;" \
			"apt-get install etcd-server etcd-client)" >&2
		exit 1
	fi
done

TMP=$(mktemp -d /tmp/mk-store-bench.XXXXXX)
RESULTS=$TMP/results # lines: SYSTEM CASE ops=... p50_ms=... (one per run)
PIDS=""              # servers now running
LAST_PID=""

stop_servers() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	PIDS=""
}

cleanup() {
	stop_servers
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "store-bench: $*" >&2
	for log in "$TMP"/*.log; do
		[ -f "$log" ] || continue
		echo "--- last lines of $log" >&2
		tail -n 5 "$log" >&2
	done
	exit 1
}

# spawn LOG CMD...: starts a server in the background, its PID in LAST_PID.
spawn() {
	log=$1
	shift
	"$@" >"$log" 2>&1 &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
}

# wait_log PID LOG PATTERN: until the log matches (30 s).
wait_log() {
	i=0
	while ! grep -q "$3" "$2" 2>/dev/null; do
		kill -0 "$1" 2>/dev/null || fail "process $1 died before \"$3\" in $2"
		i=$((i + 1))
		[ "$i" -le 300 ] || fail "no \"$3\" in $2 after 30 s"
		sleep 0.1
	done
}

# wait_etcd URLS: until every endpoint is healthy (30 s).
wait_etcd() {
	i=0
	while ! "$ETCDCTL" --endpoints="$1" --dial-timeout=1s endpoint health \
		>/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le 150 ] || fail "etcd at $1 not healthy after 30 s"
		sleep 0.2
	done
}

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# put SYSTEM CASE ENDPOINTS CLIENTS: one measured run, into RESULTS.
put() {
	out=$("$BENCH" put "--$1" "$3" --clients "$4" --seconds "$SECS" \
		--warmup "$WARM") || fail "$1 $2 failed"
	echo "store-bench: round $round $1 $2 $out" >&2
	echo "$1 $2 $out" >>"$RESULTS"
}

start_mk1() {
	spawn "$TMP/mk1.log" "$MKD" --data-dir "$TMP/mk1" --address 127.0.0.1 \
		--dqlite-port $((BASE + 1)) --api-port $((BASE + 201))
	wait_log "$LAST_PID" "$TMP/mk1.log" "ready"
	MK_ENDPOINTS=127.0.0.1:$((BASE + 1))
}

start_mk3() {
	p1=$((BASE + 11))
	spawn "$TMP/mk3-1.log" "$MKD" --data-dir "$TMP/mk3-1" --address 127.0.0.1 \
		--dqlite-port "$p1" --api-port $((BASE + 211))
	wait_log "$LAST_PID" "$TMP/mk3-1.log" "ready"
	for n in 2 3; do
		spawn "$TMP/mk3-$n.log" "$MKD" --data-dir "$TMP/mk3-$n" --address 127.0.0.1 \
			--dqlite-port $((BASE + 10 + n)) --api-port $((BASE + 210 + n)) \
			--join "127.0.0.1:$p1"
		wait_log "$LAST_PID" "$TMP/mk3-$n.log" "joined the cluster"
	done
	MK_ENDPOINTS=127.0.0.1:$p1,127.0.0.1:$((BASE + 12)),127.0.0.1:$((BASE + 13))
	# Joiners are spares until somebody assigns them a role.
	"$BENCH" assign 127.0.0.1:$p1 127.0.0.1:$((BASE + 12)) 127.0.0.1:$((BASE + 13)) ||
		fail "could not make the three mkd nodes voters"
}

# start_etcd N: N members; client ports from base+101 (1) or base+111 (3),
# peer ports 20 above.
start_etcd() {
	if [ "$1" = 1 ]; then first=$((BASE + 101)); else first=$((BASE + 111)); fi
	cluster=""
	ETCD_ENDPOINTS=""
	i=0
	while [ "$i" -lt "$1" ]; do
		cluster="$cluster${cluster:+,}e$i=http://127.0.0.1:$((first + 20 + i))"
		ETCD_ENDPOINTS="$ETCD_ENDPOINTS${ETCD_ENDPOINTS:+,}http://127.0.0.1:$((first + i))"
		i=$((i + 1))
	done
	i=0
	while [ "$i" -lt "$1" ]; do
		client=http://127.0.0.1:$((first + i))
		peer=http://127.0.0.1:$((first + 20 + i))
		spawn "$TMP/etcd$1-$i.log" "$ETCD" --name "e$i" --data-dir "$TMP/etcd$1-$i" \
			--listen-client-urls "$client" --advertise-client-urls "$client" \
			--listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
			--initial-cluster "$cluster" --initial-cluster-state new \
			--initial-cluster-token "mk-bench-$1"
		i=$((i + 1))
	done
	wait_etcd "$ETCD_ENDPOINTS"
}

# topology SYSTEM NODES: fresh servers, the 1- and 16-client runs, stop.
topology() {
	if [ "$1" = mk ]; then
		if [ "$2" = 1 ]; then start_mk1; else start_mk3; fi
		endpoints=$MK_ENDPOINTS
	else
		start_etcd "$2"
		endpoints=$ETCD_ENDPOINTS
	fi
	pid=$LAST_PID
	if [ "$2" = 1 ]; then
		sleep 1 # the same settling time for both before the idle reading
		echo "$1 idle_rss rss_kib=$(rss_kib "$pid")" >>"$RESULTS"
	fi
	put "$1" "${2}node-c1" "$endpoints" 1
	put "$1" "${2}node-c16" "$endpoints" 16
	if [ "$2" = 1 ]; then
		echo "$1 loaded_rss rss_kib=$(rss_kib "$pid")" >>"$RESULTS"
	fi
	stop_servers
	rm -rf "$TMP"/mk1 "$TMP"/mk3-* "$TMP"/etcd1-* "$TMP"/etcd3-* "$TMP"/*.log
	sync
}

echo "store-bench: $ROUNDS rounds of ${SECS}s measured after ${WARM}s warm-up per run;" \
	"$(nproc) CPUs; $("$ETCD" --version | head -n 1)" >&2

: >"$RESULTS"
round=1
while [ "$round" -le "$ROUNDS" ]; do
	for nodes in 1 3; do
		if [ $((round % 2)) = 1 ]; then
			topology mk "$nodes"
			topology etcd "$nodes"
		else
			topology etcd "$nodes"
			topology mk "$nodes"
		fi
	done
	round=$((round + 1))
done

# Medians over the rounds, each figure on its own.
awk '
function median(key,   n, i, j, t, v) {
	n = cnt[key]
	for (i = 1; i <= n; i++)
		v[i] = val[key, i]
	for (i = 2; i <= n; i++)            # insertion sort; n is tiny
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{
	for (f = 3; f <= NF; f++) {
		split($f, kv, "=")
		key = $1 SUBSEP $2 SUBSEP kv[1]
		if (kv[1] == "errors") { errs[$1, $2] += kv[2]; continue }
		val[key, ++cnt[key]] = kv[2]
	}
}
END {
	printf "store-bench mkd_idle_rss_kib=%d etcd_idle_rss_kib=%d\n",
		median("mk" SUBSEP "idle_rss" SUBSEP "rss_kib"),
		median("etcd" SUBSEP "idle_rss" SUBSEP "rss_kib")
	printf "store-bench mkd_rss_after_1node_runs_kib=%d etcd_rss_after_1node_runs_kib=%d\n",
		median("mk" SUBSEP "loaded_rss" SUBSEP "rss_kib"),
		median("etcd" SUBSEP "loaded_rss" SUBSEP "rss_kib")
	split("1node-c1 1node-c16 3node-c1 3node-c16", cases, " ")
	min = -1
	for (c = 1; c <= 4; c++) {
		k = cases[c]
		mo = median("mk" SUBSEP k SUBSEP "ops")
		eo = median("etcd" SUBSEP k SUBSEP "ops")
		ratio = eo > 0 ? mo / eo : 0
		if (min < 0 || ratio < min)
			min = ratio
		extra = ""
		if (errs["mk", k]) extra = extra " mk_errors=" errs["mk", k]
		if (errs["etcd", k]) extra = extra " etcd_errors=" errs["etcd", k]
		printf "store-bench case=%s mk_ops=%.0f etcd_ops=%.0f ratio=%.2f" \
		       " mk_p50_ms=%.2f mk_p99_ms=%.2f etcd_p50_ms=%.2f etcd_p99_ms=%.2f%s\n",
			k, mo, eo, ratio,
			median("mk" SUBSEP k SUBSEP "p50_ms"), median("mk" SUBSEP k SUBSEP "p99_ms"),
			median("etcd" SUBSEP k SUBSEP "p50_ms"), median("etcd" SUBSEP k SUBSEP "p99_ms"),
			extra
	}
	printf "store-bench min_ratio_vs_etcd=%.2f\n", min
}' "$RESULTS"
