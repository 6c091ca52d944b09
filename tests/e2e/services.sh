#!/bin/bash
# Services reach pods: mkd's service proxy (core/proxy) keeps an nftables
# table from Services and EndpointSlices, and real pods (runc, CNI bridge)
# talk through it.
#
# Two busybox httpd pods each serve their own name; a third pod is the
# client.  The Service has no selector and its EndpointSlices are written
# here by hand, so the test decides exactly which endpoints exist.  Its
# ClusterIP is explicit and, like the bridge, the pod CIDR and the table
# (mk-proxy-<bridge>), this run's own.  Ports 21700-21799; traffic stays
# on this host (loopback, the test's bridge and pod namespaces).
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/node_lib.sh"

NODE=mk-e2e-svc
BRIDGE=$NODE_BRIDGE
CIDR=$NODE_CIDR
TABLE=mk-proxy-$BRIDGE
CIP=10.152.183.$(($$ % 100 + 100))
NODEPORT=$((31700 + $$ % 100))

pick_port PORT 21700 21749 || exit 1

jp() { k get "$1" "$2" -o "jsonpath=$3" 2>/dev/null; }
apply() { k apply -f - >/dev/null; }
tbl() { nft list table ip "$TABLE" 2>/dev/null; }
tbl_has() { tbl | grep -qF -- "$1"; }
web_mod() {
	tbl | awk '/chain svc-default\/web\/tcp\/http \{/,/^\t}/' | grep -qF "numgen random mod $1 "
}

trap 'node_cleanup; e2e_cleanup' EXIT
LOCALNET_ALL=$(cat /proc/sys/net/ipv4/conf/all/route_localnet)
NODE_NAME=$NODE node_setup node "$PORT" --log-level debug || exit 1
ok "node $NODE is Ready"
if wait_log node "proxy: table ip $TABLE in place" 20; then
	ok "the service proxy puts its table in place"
else
	not_ok "the service proxy puts its table in place"
fi

# ---- pods -----------------------------------------------------------------------

for name in web-a web-b; do
	cat <<EOF | apply
apiVersion: v1
kind: Pod
metadata: {name: $name, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: $IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
    readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
EOF
done
cat <<EOF | apply
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 0
  containers: [{name: main, image: $IMAGE, imagePullPolicy: Never, command: ["sleep", "3600"]}]
EOF
ready() { [ "$(jp pod "$1" '{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
all_ready() { ready web-a && ready web-b && ready client; }
if wait_for 60 all_ready; then ok "two httpd pods and a client run"; else not_ok "pods run"; k get pods -o wide | note; exit 1; fi
IP_A=$(jp pod web-a '{.status.podIP}')
IP_B=$(jp pod web-b '{.status.podIP}')
CLIENT_NS=$DATA/run/netns/$(jp pod client '{.metadata.uid}')

# slice NAME ENDPOINT-IPS...: the hand-made EndpointSlice of Service web.
slice() {
	local name=$1 ip eps=""
	shift
	for ip in "$@"; do
		eps="$eps
- addresses: [\"$ip\"]
  conditions: {ready: true}"
	done
	[ -n "$eps" ] || eps=" []"
	cat <<EOF | apply
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $name, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:$eps
EOF
}
# fetch N [FROM-POD]: N requests to the ClusterIP from a pod, one answer a
# line.  (Debian's busybox-static wget crashes on -T: timeout(1) instead.)
fetch() {
	k exec "${2:-client}" -- sh -c \
		"for i in \$(seq $1); do timeout 3 wget -qO- http://$CIP/ 2>&1 || echo FAIL; done"
}

cat <<EOF | apply
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: $CIP
  ports: [{name: http, port: 80, targetPort: http}]
EOF
slice web-1 "$IP_A" "$IP_B"
if wait_for 20 web_mod 2; then
	ok "the Service and its slice become rules (numgen random mod 2)"
else
	not_ok "the Service and its slice become rules"
	tbl | note
fi
check_eq "the rules DNAT to the slice's port for the port name" 2 \
	"$(tbl | grep -cE "dnat to ($IP_A|$IP_B):8080")"

# ---- ClusterIP ----------------------------------------------------------------------

out=$(fetch 1)
case "$out" in web-a | web-b) ok "a pod reaches the ClusterIP ($out answers)" ;; *) not_ok "a pod reaches the ClusterIP"; note "$out" ;; esac
out=$(fetch 20)
if echo "$out" | grep -qx web-a && echo "$out" | grep -qx web-b && ! echo "$out" | grep -q FAIL; then
	ok "20 requests reach both backends"
else
	not_ok "20 requests reach both backends"
	note "$out"
fi
check_eq "the host reaches the ClusterIP (nat output)" 1 \
	"$(curl -s --max-time 3 "http://$CIP/" | grep -cxE 'web-a|web-b')"

# ---- NodePort --------------------------------------------------------------------------

k patch service web --type merge \
	-p "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\",\"nodePort\":$NODEPORT}]}}" >/dev/null
if wait_for 20 tbl_has "tcp . $NODEPORT : goto ext-default/web/tcp/http"; then ok "NodePort $NODEPORT in the table"; else not_ok "NodePort in the table"; tbl | note; fi
nodeip=$(jp node "$NODE" '{.status.addresses[?(@.type=="InternalIP")].address}')
check_eq "NodePort answers on the node's InternalIP ($nodeip) from the host" 1 \
	"$(curl -s --max-time 3 "http://$nodeip:$NODEPORT/" | grep -cxE 'web-a|web-b')"
check_eq "NodePort answers on 127.0.0.1 from the host (route_localnet)" 1 \
	"$(curl -s --max-time 3 "http://127.0.0.1:$NODEPORT/" | grep -cxE 'web-a|web-b')"
check_eq "route_localnet is set on the pod bridge, \"all\" is left alone" "1 $LOCALNET_ALL" \
	"$(cat "/proc/sys/net/ipv4/conf/$BRIDGE/route_localnet") $(cat /proc/sys/net/ipv4/conf/all/route_localnet)"
gw=$(ip -4 addr show "$BRIDGE" | awk '/inet /{print $2}' | cut -d/ -f1)
check_eq "NodePort answers on the bridge address $gw, from a pod" 1 \
	"$(k exec client -- timeout 3 wget -qO- "http://$gw:$NODEPORT/" 2>&1 | grep -cxE 'web-a|web-b')"

# ---- session affinity ----------------------------------------------------------------------

k patch service web --type merge -p '{"spec":{"sessionAffinity":"ClientIP"}}' >/dev/null
if wait_for 20 tbl_has "update @affinity-default/web/tcp/http__"; then ok "ClientIP affinity sets in the table"; else not_ok "ClientIP affinity in the table"; fi
out=$(fetch 10)
if [ "$(echo "$out" | sort -u | wc -l)" = 1 ] && echo "$out" | grep -qxE 'web-a|web-b'; then
	ok "with sessionAffinity ClientIP 10 requests hit one backend ($(echo "$out" | head -1))"
else
	not_ok "with sessionAffinity ClientIP 10 requests hit one backend"
	note "$out"
fi
k patch service web --type merge \
	-p '{"spec":{"sessionAffinity":"None","sessionAffinityConfig":null}}' >/dev/null
wait_for 20 eval "! tbl_has affinity-"

# ---- hairpin, bad input -------------------------------------------------------------------

slice web-1 "$IP_A"
wait_for 20 web_mod 1
check_eq "a pod reaches itself through its Service (hairpin)" web-a "$(fetch 1 web-a)"

# An address that is not one: the API may refuse it; if it takes it, the
# proxy leaves that slice out, says so once, and keeps the rest.
bad_out=$(cat <<EOF | k apply -f - 2>&1
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-bad, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints: [{addresses: ["10.215.0.300"]}]
EOF
)
if k get endpointslice web-bad >/dev/null 2>&1; then
	if wait_log node 'EndpointSlice default/web-bad: .*10\.215\.0\.300.* ignored' 20; then
		ok "a slice with a malformed address is logged and left out"
	else
		not_ok "a slice with a malformed address is logged and left out"
	fi
	check_eq "... and the Service keeps its good endpoints" web-a "$(fetch 1)"
	slice web-1 "$IP_A" "$IP_B" # a change: re-rendered, the bad slice not logged again
	wait_for 20 web_mod 2
	check_eq "... logged once, not on every change" 1 \
		"$(run_log node | grep -c 'EndpointSlice default/web-bad:')"
	k delete endpointslice web-bad >/dev/null
else
	ok "the API refuses a slice with a malformed address"
	note "$bad_out"
	slice web-1 "$IP_A" "$IP_B"
fi
if tbl | grep -q '10.215.0.300'; then not_ok "the malformed address reached the table"; else ok "the malformed address never reaches the table"; fi

# ---- no endpoints: fail fast ---------------------------------------------------------------

slice web-1
if wait_for 20 tbl_has "$CIP . tcp . 80 : goto reject-chain"; then ok "no endpoints: the ClusterIP port is in no-endpoint-services"; else not_ok "no endpoints become a reject"; tbl | note; fi
# From the client pod's network namespace: a timeout would take 5 s.
t0=$(now_ms)
nsenter --net="$CLIENT_NS" curl -s --max-time 5 "http://$CIP/" >/dev/null 2>&1
rc=$? dt=$(($(now_ms) - t0))
if [ "$rc" = 7 ] && [ "$dt" -lt 2000 ]; then
	ok "a pod's connection to a Service without endpoints is refused at once (${dt} ms)"
else
	not_ok "a Service without endpoints refuses at once (curl exit $rc after $dt ms)"
fi
case "$(k exec client -- timeout 5 wget -qO- "http://$CIP/" 2>&1)" in
*refused*) ok "... wget in the pod says: connection refused" ;;
*) not_ok "wget in the pod says connection refused" ;;
esac
t0=$(now_ms)
curl -s --max-time 5 "http://127.0.0.1:$NODEPORT/" >/dev/null 2>&1
rc=$? dt=$(($(now_ms) - t0))
if [ "$rc" = 7 ] && [ "$dt" -lt 2000 ]; then ok "the NodePort refuses at once too (${dt} ms)"; else not_ok "NodePort without endpoints refuses (curl exit $rc after $dt ms)"; fi

# ---- a burst of changes: coalesced ----------------------------------------------------------

# 100 slices of one endpoint each, created one after the other by one
# kubectl apply: the proxy rewrites its table at most every 200 ms, not
# once per slice.
CIP2=10.152.183.$((${CIP##*.} - 90))
{
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: burst}\n'
	printf 'spec: {clusterIP: %s, ports: [{port: 80}]}\n' "$CIP2"
	for i in $(seq 1 100); do
		printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n'
		printf 'metadata: {name: burst-%d, labels: {kubernetes.io/service-name: burst}}\n' "$i"
		printf 'addressType: IPv4\nports: [{port: 8080}]\n'
		printf 'endpoints: [{addresses: ["10.215.250.%d"]}]\n' "$i"
	done
} >"$TMP/burst.yaml"
mark=$(run_log node | wc -l)
t0=$(now_ms)
k apply -f "$TMP/burst.yaml" >/dev/null
if wait_for 20 tbl_has "numgen random mod 100"; then ok "100 endpoints, one slice each, all in the table"; else not_ok "100 endpoints in the table"; fi
dt=$(($(now_ms) - t0))
applies=$(run_log node | tail -n +"$((mark + 1))" | grep -c "proxy: table ip $TABLE updated")
if [ "$applies" -ge 1 ] && [ "$applies" -le $((dt / 200 + 2)) ] && [ "$applies" -lt 50 ]; then
	ok "101 changes over $dt ms made $applies table updates (at most one per 200 ms)"
else
	not_ok "101 changes over $dt ms made $applies table updates"
fi
k delete service burst >/dev/null

# ---- mkd restarts: the rules stay ------------------------------------------------------------

slice web-1 "$IP_A" "$IP_B"
wait_for 20 web_mod 2
stop_mkd node TERM 30
check "mkd stops (exit 0)" test "${MKD_RC[node]}" = 0
check "its table stays" tbl_has "$CIP . tcp . 80 : goto svc-default/web/tcp/http"
check_eq "while mkd is down the ClusterIP still answers the pod" 1 \
	"$(nsenter --net="$CLIENT_NS" curl -s --max-time 3 "http://$CIP/" | grep -cxE 'web-a|web-b')"
restart_mkd node
wait_ready node 30 && wait_for 20 listening "$(api_port_for "$PORT")"
# (The API may have made the "kubernetes" Service too.)
if wait_log node "proxy: table ip $TABLE in place: [0-9]+ services, [0-9]+ endpoints" 30; then
	ok "restarted mkd takes the table over ($(run_log node | grep -o '[0-9]* services, [0-9]* endpoints'))"
else
	not_ok "restarted mkd takes the table over"
fi
check_eq "... and the ClusterIP answers" 1 "$(fetch 1 | grep -cxE 'web-a|web-b')"

# ---- deleting the Service ------------------------------------------------------------------------

k delete service web >/dev/null
gone() { ! tbl_has "$CIP" && ! tbl_has "default/web/"; }
if wait_for 20 gone; then ok "deleting the Service removes its rules"; else not_ok "deleting the Service removes its rules"; tbl | note; fi
check "the table itself stays" tbl_has "chain services"

# ---- someone else's flush ------------------------------------------------------------------------

nft delete table ip "$TABLE"
if wait_for 40 tbl_has "chain services"; then
	ok "a table deleted behind mkd's back is back within the 30 s resync"
else
	not_ok "a deleted table comes back with the resync"
fi
