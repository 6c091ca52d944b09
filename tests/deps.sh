#!/bin/sh
# Installs the Debian 12 packages mk needs to build, test and benchmark.
# Idempotent: installs only what is missing.  Needs root (or sudo).
set -eu

BUILD_PKGS="gcc make pkg-config libdqlite-dev libraft-dev libuv1-dev libsqlite3-dev libyaml-dev libcurl4-openssl-dev libjansson-dev libhttp-parser-dev libssl-dev libarchive-dev libnftables-dev"
TEST_PKGS="libcmocka-dev go-dqlite iproute2 procps python3 python3-kubernetes python3-yaml clang libclang-rt-14-dev openssl runc containernetworking-plugins iptables nftables busybox-static docker-registry skopeo python3-jwt python3-cryptography python3-websocket curl util-linux bsdutils tzdata"
# The API tests are judged by kubectl 1.32 where the machine has it; Debian's
# (older) kubectl is the fallback.
command -v kubectl >/dev/null 2>&1 || TEST_PKGS="$TEST_PKGS kubernetes-client"
BENCH_PKGS="etcd-server etcd-client"
PKGS="$BUILD_PKGS $TEST_PKGS $BENCH_PKGS"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all $(echo $PKGS | wc -w) packages present"
	exit 0
fi
echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "deps: missing packages:$missing; run 'make deps' as root" >&2
		exit 1
	fi
else
	SUDO=
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
