#!/bin/sh
# API benchmark: mk's Kubernetes API beside etcd 3.4's JSON gateway, both
# HTTPS/1.1 with keep-alive and client certificates, one system at a time
# on loopback, same client (build/api-bench, libcurl).  See bench/README.md.
#
#   sh bench/api_run.sh [BUILD_DIR]        (make bench runs it)
#
# Per round and system, on a fresh server: 10k 1 KiB objects created by
# 16 clients, 2 s idle, the server's VmRSS ("rss-10k"); the 10k listed
# whole and in pages of 500; creates with 1 and 16 clients; GETs of one
# object on 16 connections; write -> delivery latency to 100 watchers;
# 2 s idle and VmRSS again ("rss-end").  One line per figure:
#   api-bench case=create-c1 mk_ops=... etcd_ops=... ratio=... mk_p50_ms=...
# with medians over BENCH_ROUNDS rounds (the first system alternating
# between rounds), then "api-bench min_ratio_vs_etcd=X" where every ratio
# is written so that > 1 favours mk.  Each round's raw lines go to stderr.
#
# Environment: BENCH_ROUNDS (3), BENCH_SECONDS (per create/get run, 3),
# BENCH_API_PORT_BASE (31500; uses base+1 .. base+4: mkd's dqlite and API
# ports, etcd's client and peer ports), ETCD (/usr/bin/etcd).
set -eu

BUILD=${1:-build}
BENCH=$BUILD/api-bench
MKD=$BUILD/mkd
ETCD=${ETCD:-/usr/bin/etcd}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-3}
BASE=${BENCH_API_PORT_BASE:-31500}
OBJECTS=10000

for f in "$BENCH" "$MKD" "$ETCD"; do
	if [ ! -x "$f" ]; then
		echo "api-bench: $f is missing (make build/mkd build/api-bench;" \
			"apt-get install etcd-server)" >&2
		exit 1
	fi
done
for tool in openssl curl python3; do
	command -v "$tool" >/dev/null || { echo "api-bench: needs $tool" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/mk-api-bench.XXXXXX)
RAW=$TMP/raw # lines: round=R CASE system=S key=value ...
PID=""       # the server now running

stop_server() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	PID=""
}

cleanup() {
	stop_server
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "api-bench: $*" >&2
	for log in "$TMP"/*.log; do
		[ -f "$log" ] || continue
		echo "--- last lines of $log" >&2
		tail -n 5 "$log" >&2
	done
	exit 1
}

# etcd's certificates (mk makes its own on first start).  The server
# certificate is also a client one: etcd's JSON gateway dials etcd with it.
C=$TMP/etcd-certs
mkdir -p "$C"
(
	cd "$C"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout ca.key -out ca.crt -subj /CN=bench-ca
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
		-out s.csr -subj /CN=etcd
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >s.ext
	openssl x509 -req -in s.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-out server.crt -extfile s.ext
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key \
		-out c.csr -subj /CN=bench
	printf 'extendedKeyUsage=clientAuth\n' >c.ext
	openssl x509 -req -in c.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-out client.crt -extfile c.ext
) >"$TMP/openssl.log" 2>&1 || fail "could not make etcd's certificates"

# until_ok WHAT CMD...: retries CMD for 30 s while the server lives.
until_ok() {
	what=$1
	shift
	i=0
	until "$@" >/dev/null 2>&1; do
		kill -0 "$PID" 2>/dev/null || fail "the server died before $what"
		i=$((i + 1))
		[ "$i" -le 300 ] || fail "no $what after 30 s"
		sleep 0.1
	done
}

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# start_mk / start_etcd: a fresh server in PID, its URL and credentials in
# URL CA CERT KEY.
start_mk() {
	"$MKD" --data-dir "$TMP/data" --address 127.0.0.1 --dqlite-port $((BASE + 1)) \
		--api-port $((BASE + 2)) >"$TMP/mkd.log" 2>&1 &
	PID=$!
	URL=https://127.0.0.1:$((BASE + 2))
	CA=$TMP/data/certs/ca.crt
	CERT=$TMP/data/certs/admin.crt
	KEY=$TMP/data/certs/admin.key
	until_ok "admin certificate" test -s "$KEY"
	# The default namespace comes from the API's background work.
	until_ok "default namespace" curl -sf --max-time 2 --cacert "$CA" --cert "$CERT" \
		--key "$KEY" "$URL/api/v1/namespaces/default"
}

start_etcd() {
	client=https://127.0.0.1:$((BASE + 3))
	peer=http://127.0.0.1:$((BASE + 4))
	"$ETCD" --data-dir "$TMP/data" --name bench \
		--listen-client-urls "$client" --advertise-client-urls "$client" \
		--listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
		--initial-cluster "bench=$peer" \
		--cert-file "$C/server.crt" --key-file "$C/server.key" \
		--trusted-ca-file "$C/ca.crt" --client-cert-auth >"$TMP/etcd.log" 2>&1 &
	PID=$!
	URL=$client
	CA=$C/ca.crt
	CERT=$C/client.crt
	KEY=$C/client.key
	until_ok "etcd health" curl -sf --max-time 2 --cacert "$CA" --cert "$CERT" \
		--key "$KEY" "$URL/health"
}

# bench CASE ARGS...: one measured run, its line into RAW.
bench() {
	out=$("$BENCH" "$sys" "$URL" "$CA" "$CERT" "$KEY" "$@") ||
		fail "$sys $* failed: $out"
	echo "round=$round $out" | tee -a "$RAW" >&2
}

rss() { # NAME: the server's resident set after 2 s idle
	sleep 2
	echo "round=$round $1 system=$sys kib=$(rss_kib "$PID")" | tee -a "$RAW" >&2
}

# system SYS: one round of every case on a fresh server.
system() {
	sys=$1
	rm -rf "$TMP/data"
	"start_$sys"
	bench fill "$OBJECTS"
	rss rss-10k
	bench list 0 "$OBJECTS"
	bench list 500 "$OBJECTS"
	bench create 1 "$SECS"
	bench create 16 "$SECS"
	bench get 16 "$SECS"
	bench watch 100 100
	rss rss-end
	stop_server
	rm -rf "$TMP/data" "$TMP"/*.log
	sync
}

echo "api-bench: $ROUNDS rounds, ${SECS}s per create/get run; $(nproc) CPUs;" \
	"$("$ETCD" --version | head -n 1)" >&2
: >"$RAW"
round=1
while [ "$round" -le "$ROUNDS" ]; do
	if [ $((round % 2)) = 1 ]; then
		system mk
		system etcd
	else
		system etcd
		system mk
	fi
	round=$((round + 1))
done

python3 - "$RAW" <<'EOF'
import statistics, sys

rows = []
for line in open(sys.argv[1]):
    words = line.split()
    row = dict(w.split("=", 1) for w in words if "=" in w)
    row["case"] = words[1]
    rows.append(row)

def med(case, system, key, **match):
    v = [float(r[key]) for r in rows if r["case"] == case and r["system"] == system
         and key in r and all(r.get(k) == x for k, x in match.items())]
    return statistics.median(v) if v else float("nan")

ratios = []
for case in ("create-c1", "create-c16", "get-c16"):
    mk, etcd = med(case, "mk", "ops"), med(case, "etcd", "ops")
    ratios.append(mk / etcd)
    # Failed requests are left out of the figures; say so when there were any.
    errs = "".join(" %s_errors=%d" % (s, e) for s in ("mk", "etcd")
                   for e in [sum(int(r.get("errors", 0)) for r in rows
                                 if r["case"] == case and r["system"] == s)] if e)
    print("api-bench case=%s mk_ops=%.0f etcd_ops=%.0f ratio=%.2f mk_p50_ms=%.2f "
          "mk_p99_ms=%.2f etcd_p50_ms=%.2f etcd_p99_ms=%.2f%s" % (
              case, mk, etcd, mk / etcd, med(case, "mk", "p50_ms"), med(case, "mk", "p99_ms"),
              med(case, "etcd", "p50_ms"), med(case, "etcd", "p99_ms"), errs))
for page in ("0", "500"):
    mk, etcd = med("list", "mk", "ms", page=page), med("list", "etcd", "ms", page=page)
    ratios.append(etcd / mk)
    print("api-bench case=list-10k-page%s mk_ms=%.1f etcd_ms=%.1f ratio=%.2f mk_items=%.0f "
          "etcd_items=%.0f (ratio: etcd/mk time)" % (
              page, mk, etcd, etcd / mk, med("list", "mk", "items", page=page),
              med("list", "etcd", "items", page=page)))
mk50, mk99 = med("watch", "mk", "p50_ms"), med("watch", "mk", "p99_ms")
et50, et99 = med("watch", "etcd", "p50_ms"), med("watch", "etcd", "p99_ms")
ratios.append(et99 / mk99)
print("api-bench case=watch-100 mk_p50_ms=%.2f mk_p99_ms=%.2f etcd_p50_ms=%.2f "
      "etcd_p99_ms=%.2f ratio=%.2f (ratio: etcd/mk p99)" % (mk50, mk99, et50, et99, et99 / mk99))
for case in ("rss-10k", "rss-end"):
    mk, etcd = med(case, "mk", "kib") / 1024, med(case, "etcd", "kib") / 1024
    if case == "rss-10k":
        ratios.append(etcd / mk)
    print("api-bench case=%s mk_mib=%.1f etcd_mib=%.1f ratio=%.2f (ratio: etcd/mk)" % (
        case, mk, etcd, etcd / mk))
print("api-bench min_ratio_vs_etcd=%.2f" % min(ratios))
EOF
