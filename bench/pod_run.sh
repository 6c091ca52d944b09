#!/bin/bash
# Pod start benchmark: from `create` to Running seen through a watch, on a
# real mkd with its node agent, beside bare `runc run -d` of the same
# container (same layers on overlayfs, same command) measured in the same
# run.  The image is built from Debian's busybox-static and imported, so
# nothing is pulled.  See bench/README.md.
#
#   bash bench/pod_run.sh [BUILD_DIR]        (make bench runs it)
#
# Environment: BENCH_POD_ROUNDS (20), BENCH_POD_BURST (20),
# BENCH_POD_PORT_BASE (31600; uses base+1 for dqlite, base+2 for the API).
set -eu

BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${BENCH_POD_ROUNDS:-20}
BURST=${BENCH_POD_BURST:-20}
BASE=${BENCH_POD_PORT_BASE:-31600}
DQ=$((BASE + 1))
API=$((BASE + 2))
BRIDGE=mkbench0
CIDR=10.214.0.0/24
IMAGE=mk.local/busybox:1.35

if [ "$(id -u)" -ne 0 ]; then
	echo "pod-bench: needs root (runc, CNI, mounts)" >&2
	exit 1
fi
TMP=$(mktemp -d /tmp/mk-pod-bench.XXXXXX)
DATA=$TMP/data
MKD_PID=
cleanup() {
	if [ -n "$MKD_PID" ]; then
		kubectl --kubeconfig "$DATA/credentials/client.config" delete pods --all \
			--grace-period=0 --force >/dev/null 2>&1 || true
		for _ in $(seq 100); do
			[ -z "$(ls -A "$DATA/pods" 2>/dev/null)" ] && break
			sleep 0.1
		done
		kill "$MKD_PID" 2>/dev/null || true
		wait "$MKD_PID" 2>/dev/null || true
	fi
	for id in $(runc --root "$DATA/run/runc" list -q 2>/dev/null); do
		runc --root "$DATA/run/runc" delete --force "$id" >/dev/null 2>&1 || true
	done
	grep " $TMP/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	ip link del "$BRIDGE" 2>/dev/null || true
	nft delete table ip "mk-proxy-$BRIDGE" 2>/dev/null || true # the service proxy outlives mkd
	rm -rf "$TMP"
}
trap cleanup EXIT

bash "$ROOT/tests/e2e/busybox_image.sh" "$TMP/busybox.tar" "$IMAGE" >/dev/null
"$BUILD/mk" --data-dir "$DATA" images import "$TMP/busybox.tar" >/dev/null
"$BUILD/mkd" --data-dir "$DATA" --address 127.0.0.1 --dqlite-port "$DQ" --api-port "$API" \
	--node-name mk-bench --pod-cidr "$CIDR" --cni-bridge "$BRIDGE" --log-level warn \
	>"$TMP/mkd.log" 2>&1 &
MKD_PID=$!
ready=
for _ in $(seq 300); do
	if kubectl --kubeconfig "$DATA/credentials/client.config" get node mk-bench \
		-o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True; then
		ready=1
		break
	fi
	sleep 0.1
done
if [ -z "$ready" ]; then
	echo "pod-bench: the node did not become Ready" >&2
	tail -20 "$TMP/mkd.log" >&2
	exit 1
fi
"$BUILD/pod-bench" --server "https://127.0.0.1:$API" --data-dir "$DATA" --image "$IMAGE" \
	--runtime "$(command -v runc)" --rounds "$ROUNDS" --burst "$BURST"
