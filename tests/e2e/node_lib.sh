# Helpers for end-to-end tests whose pods really run (sourced after
# lib.sh; a helper, not a test: run.sh skips it).
#
#   node_setup NAME PORT [mkd args...]
#       builds and imports the busybox image ($IMAGE), starts mkd NAME (its
#       Node is named $NODE_NAME if set, else NAME) with
#       the node agent and the controllers on a bridge and pod CIDR of this
#       test's own, waits until its Node is Ready, sets $KCFG and $DATA.
#       Returns non-zero (after a not_ok) when the node does not come up.
#   node_cleanup
#       deletes the pods through the API (so the agent releases addresses
#       and rules), stops mkd, then removes whatever is left: containers,
#       shims, mounts, the bridge, NAT rules, the service table.
#   fake_node_heartbeat NAME
#       writes a Ready condition with a fresh heartbeat, and allocatable
#       room, into the status of Node NAME (a Node with no agent behind it)
#   k ARGS...      kubectl against the node, with a deadline
#   jp POD PATH    a jsonpath of a pod
export MK_E2E_AGENT=1 MK_E2E_CONTROLLERS=1
export HOME=$TMP/home
mkdir -p "$HOME"
MK=$BUILD/mk
IMAGE=mk.local/busybox:1.35
NODE_BRIDGE=mke2e$(($$ % 1000))
NODE_CIDR=10.214.$(($$ % 200 + 10)).0/24
NODE_MKD=""

k() { timeout -k 5 60 kubectl --kubeconfig "$KCFG" "$@"; }
jp() { k get pod "$1" -o "jsonpath=$2" 2>/dev/null; }

fake_node_heartbeat() {
	k patch node "$1" --subresource=status --type=merge -p \
		'{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"fake","lastHeartbeatTime":"'"$(date -u +%FT%TZ)"'"}],"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},"capacity":{"cpu":"4","memory":"8Gi","pods":"110"}}}' >/dev/null
}

node_cleanup() {
	local data
	[ -n "$NODE_MKD" ] || return 0
	data=$(data_of "$NODE_MKD")
	if [ -n "${MKD_PID[$NODE_MKD]:-}" ] && alive "${MKD_PID[$NODE_MKD]}"; then
		k delete deploy,rs,ds,sts,job,cronjob --all --cascade=orphan >/dev/null 2>&1
		k delete pods --all --grace-period=0 --force >/dev/null 2>&1
		wait_for 30 eval "[ -z \"\$(ls -A '$data/pods' 2>/dev/null)\" ]"
		stop_mkd "$NODE_MKD" TERM 20 >/dev/null 2>&1
	fi
	local id
	for id in $(runc --root "$data/run/runc" list -q 2>/dev/null); do
		runc --root "$data/run/runc" delete --force "$id" >/dev/null 2>&1
	done
	pkill -9 -f "mk-shim.*$data" 2>/dev/null
	grep " $TMP/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	ip link del "$NODE_BRIDGE" 2>/dev/null
	iptables-save 2>/dev/null | grep -q "$NODE_CIDR" && {
		iptables-save | grep -v -- "$NODE_CIDR" | iptables-restore 2>/dev/null
	}
	nft delete table ip "mk-proxy-$NODE_BRIDGE" 2>/dev/null
	return 0
}

node_setup() {
	local name=$1 port=$2
	shift 2
	if [ "$(id -u)" -ne 0 ]; then
		not_ok "$(basename "$0" .sh): must run as root (runc, CNI, mounts)"
		return 1
	fi
	NODE_MKD=$name
	DATA=$(data_of "$name")
	KCFG=$DATA/credentials/client.config
	bash "$ROOT/tests/e2e/busybox_image.sh" "$TMP/busybox.tar" "$IMAGE" >/dev/null 2>&1 &&
		"$MK" --data-dir "$DATA" images import "$TMP/busybox.tar" >/dev/null 2>&1 || {
		not_ok "busybox image built and imported"
		return 1
	}
	local node=${NODE_NAME:-$name}
	start_mkd "$name" "$port" --node-name "$node" --pod-cidr "$NODE_CIDR" \
		--cni-bridge "$NODE_BRIDGE" "$@"
	wait_ready "$name" 30 && wait_for 20 listening "$(api_port_for "$port")"
	ready() { [ "$(k get node "$node" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
	if ! wait_for 30 ready; then
		not_ok "node $node registers and is Ready"
		return 1
	fi
	return 0
}
