#!/bin/sh
# API benchmark: mk's Kubernetes API beside etcd 3.4's JSON gateway, both
# HTTPS/1.1 with keep-alive and client certificates, one system at a time,
# same client (build/api-bench, libcurl).  See bench/README.md.
#
#   sh bench/api_run.sh [BUILD_DIR]        (make bench runs it)
#
# Per round and system: create with 1 and 16 clients (1 KiB values),
# GET with 16 connections, 10k objects filled then listed whole and in
# pages of 500, watch latency to 100 watchers, and the server's RSS with
# the 10k objects stored after 2 s idle.  Figures are medians over
# BENCH_ROUNDS (3) rounds; the first system alternates between rounds.
# Ports: BENCH_API_PORT_BASE (31500) + 1..4, loopback only.
set -eu

BUILD=${1:-build}
BENCH=$BUILD/api-bench
MKD=$BUILD/mkd
ETCD=${ETCD:-/usr/bin/etcd}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-3}
BASE=${BENCH_API_PORT_BASE:-31500}
PY=/usr/bin/python3
for f in "$BENCH" "$MKD" "$ETCD"; do
	[ -x "$f" ] || { echo "api-bench: $f is missing" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/mk-api-bench.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

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
) >/dev/null 2>&1

wait_url() { # URL CA CERT KEY
	i=0
	while ! curl -s -o /dev/null --max-time 1 --cacert "$2" --cert "$3" --key "$4" "$1"; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "api-bench: $1 did not come up" >&2; exit 1; }
		sleep 0.1
	done
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

run_system() { # SYSTEM ROUND
	sys=$1
	round=$2
	rm -rf "$TMP/data"
	if [ "$sys" = mk ]; then
		"$MKD" --data-dir "$TMP/data" --address 127.0.0.1 --dqlite-port $((BASE + 1)) \
			--api-port $((BASE + 2)) >"$TMP/mkd.log" 2>&1 &
		pid=$!
		D=$TMP/data
		set -- "https://127.0.0.1:$((BASE + 2))" "$D/certs/ca.crt" "$D/certs/admin.crt" \
			"$D/certs/admin.key"
		i=0
		until [ -s "$D/certs/admin.key" ]; do i=$((i + 1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done
		wait_url "$1/readyz" "$2" "$3" "$4"
		i=0 # the default namespace comes from the API's background work
		until curl -sf -o /dev/null --cacert "$2" --cert "$3" --key "$4" \
			"$1/api/v1/namespaces/default"; do i=$((i + 1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done
	else
		"$ETCD" --data-dir "$TMP/data" --name bench \
			--listen-client-urls "https://127.0.0.1:$((BASE + 3))" \
			--advertise-client-urls "https://127.0.0.1:$((BASE + 3))" \
			--listen-peer-urls "http://127.0.0.1:$((BASE + 4))" \
			--initial-advertise-peer-urls "http://127.0.0.1:$((BASE + 4))" \
			--initial-cluster "bench=http://127.0.0.1:$((BASE + 4))" \
			--cert-file "$C/server.crt" --key-file "$C/server.key" \
			--trusted-ca-file "$C/ca.crt" --client-cert-auth >"$TMP/etcd.log" 2>&1 &
		pid=$!
		set -- "https://127.0.0.1:$((BASE + 3))" "$C/ca.crt" "$C/client.crt" "$C/client.key"
		wait_url "$1/version" "$2" "$3" "$4"
	fi
	PIDS="$PIDS $pid"
	b() { "$BENCH" "$sys" "$@"; }
	{
		b "$1" "$2" "$3" "$4" create 1 "$SECS"
		b "$1" "$2" "$3" "$4" create 16 "$SECS"
		b "$1" "$2" "$3" "$4" get 16 "$SECS"
		b "$1" "$2" "$3" "$4" fill 10000
		b "$1" "$2" "$3" "$4" list 0
		b "$1" "$2" "$3" "$4" list 500
		b "$1" "$2" "$3" "$4" watch 100 100
		sleep 2 # idle before reading the resident set
		echo "rss system=$sys kib=$(rss_kib "$pid")"
	} | sed "s/^/round=$round /" | tee -a "$TMP/raw" >&2
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

r=1
while [ $r -le "$ROUNDS" ]; do
	if [ $((r % 2)) -eq 1 ]; then order="mk etcd"; else order="etcd mk"; fi
	for s in $order; do run_system "$s" "$r"; done
	r=$((r + 1))
done

$PY - "$TMP/raw" <<'PYEOF'
import sys, statistics
rows = []
for line in open(sys.argv[1]):
    f = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    f["case"] = line.split()[1]
    rows.append(f)
def med(case, sys_, key, extra=None):
    v = [float(r[key]) for r in rows if r["case"] == case and r["system"] == sys_
         and (extra is None or all(r.get(k) == x for k, x in extra.items())) and key in r]
    return statistics.median(v) if v else float("nan")
ratios = []
for case in ("create-c1", "create-c16", "get-c16"):
    mk, et = med(case, "mk", "ops"), med(case, "etcd", "ops")
    ratios.append(mk / et)
    print("api-bench case=%s mk_ops=%.0f etcd_ops=%.0f ratio=%.2f mk_p50_ms=%.2f mk_p99_ms=%.2f "
          "etcd_p50_ms=%.2f etcd_p99_ms=%.2f" % (case, mk, et, mk / et, med(case, "mk", "p50_ms"),
          med(case, "mk", "p99_ms"), med(case, "etcd", "p50_ms"), med(case, "etcd", "p99_ms")))
for page in ("0", "500"):
    mk, et = med("list", "mk", "ms", {"page": page}), med("list", "etcd", "ms", {"page": page})
    ratios.append(et / mk)
    print("api-bench case=list-10k-page%s mk_ms=%.1f etcd_ms=%.1f ratio=%.2f (etcd/mk time)" % (page, mk, et, et / mk))
mk50, mk99 = med("watch", "mk", "p50_ms"), med("watch", "mk", "p99_ms")
et50, et99 = med("watch", "etcd", "p50_ms"), med("watch", "etcd", "p99_ms")
ratios.append(et99 / mk99)
print("api-bench case=watch-100 mk_p50_ms=%.2f mk_p99_ms=%.2f etcd_p50_ms=%.2f etcd_p99_ms=%.2f ratio=%.2f (etcd/mk p99)" % (mk50, mk99, et50, et99, et99 / mk99))
mkr, etr = med("rss", "mk", "kib") / 1024, med("rss", "etcd", "kib") / 1024
print("api-bench case=rss-10k mk_mib=%.1f etcd_mib=%.1f ratio=%.2f (etcd/mk)" % (mkr, etr, etr / mkr))
print("api-bench min_ratio_vs_etcd=%.2f (higher is better for mk in every ratio)" % min(ratios))
PYEOF
