#!/bin/bash
# The scheduler: where pods go and why not, driven with kubectl 1.32.
#
# One mkd with its node agent and controllers (its own node really runs
# pods) and three fake Nodes created through the API with no agent behind
# them (a background loop keeps their heartbeat fresh, so the node
# lifecycle controller leaves them Ready).  Pods bound to a fake node stay
# Pending: that is expected; the checks read spec.nodeName.  Also the
# eviction API behind `kubectl drain`, with a PodDisruptionBudget.
# Ports 21600-21699.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/node_lib.sh"

NODE=mk-e2e-sched
pick_port PORT 21600 21699 || exit 1
FAKES="fake-1 fake-2 fake-3"

node_of() { k get pod "$1" -o 'jsonpath={.spec.nodeName}' 2>/dev/null; }
placed_on() { [ "$(node_of "$1")" = "$2" ]; }
placed() { [ -n "$(node_of "$1")" ]; }
sched_cond() { k get pod "$1" -o "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].$2}" 2>/dev/null; }

trap '[ -n "${HB_PID:-}" ] && stop_bg "$HB_PID"; node_cleanup; e2e_cleanup' EXIT
NODE_NAME=$NODE node_setup node "$PORT" || exit 1
ok "node $NODE is Ready"
node_ready() { [ "$(k get node "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
check "mkd runs the scheduler" wait_log node 'scheduler ready' 20

# ---- fake nodes -------------------------------------------------------------------

# fake_status NAME CPU: allocatable and a fresh Ready heartbeat.
fake_status() {
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	k patch node "$1" --subresource=status --type=merge -p "{\"status\": {
		\"capacity\": {\"cpu\": \"$2\", \"memory\": \"8Gi\", \"pods\": \"20\"},
		\"allocatable\": {\"cpu\": \"$2\", \"memory\": \"8Gi\", \"pods\": \"20\"},
		\"conditions\": [{\"type\": \"Ready\", \"status\": \"True\", \"reason\": \"KubeletReady\",
			\"message\": \"a fake node\", \"lastHeartbeatTime\": \"$now\",
			\"lastTransitionTime\": \"2026-01-01T00:00:00Z\"}]}}" >/dev/null
}
# make_fake NAME ZONE CPU
make_fake() {
	k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $1
  labels: {kubernetes.io/hostname: $1, topology.kubernetes.io/zone: $2, pool: fake}
EOF
	fake_status "$1" "$3"
}
zone=0
for n in $FAKES; do
	zone=$((zone + 1))
	make_fake "$n" "zone-$zone" 4
done
heartbeat() {
	while :; do
		for n in $FAKES; do
			k get node "$n" >/dev/null 2>&1 && fake_status "$n" "$(k get node "$n" -o 'jsonpath={.status.allocatable.cpu}')"
		done
		sleep 5
	done
}
heartbeat >/dev/null 2>&1 &
HB_PID=$!
bg_track "$HB_PID"
all_ready() { for n in $FAKES; do node_ready "$n" || return 1; done; }
check "three fake nodes are Ready" wait_for 20 all_ready

# pod NAME [SPEC YAML lines, indented 2]: a busybox pod (its own
# "containers:" line replaces the default), with no grace period: no agent
# stops the pods of a fake node.
pod() {
	local name=$1 ctr="  containers: [{name: main, image: $IMAGE, imagePullPolicy: Never, command: [sleep, '3600']}]"
	shift
	case "$*" in *"containers:"*) ctr= ;; esac
	k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $name, labels: {test: sched}}
spec:
  terminationGracePeriodSeconds: 0
$ctr
$(printf '%s\n' "$@")
EOF
}

# ---- where pods go -------------------------------------------------------------------

pod real "  nodeSelector: {kubernetes.io/hostname: $NODE}"
running() { [ "$(k get pod "$1" -o 'jsonpath={.status.phase}')" = Running ]; }
if wait_for 60 running real; then ok "a pod placed on the real node runs there"; else not_ok "a pod placed on the real node runs there"; k describe pod real | note; fi
check "its Scheduled Event names the node" eval "k get events --field-selector involvedObject.name=real,reason=Scheduled -o jsonpath='{.items[*].message}' | grep -q 'Successfully assigned default/real to $NODE'"
check_eq "... reported by default-scheduler" default-scheduler \
	"$(k get events --field-selector involvedObject.name=real,reason=Scheduled -o 'jsonpath={.items[0].source.component}')"

pod sel "  nodeSelector: {topology.kubernetes.io/zone: zone-2}"
check "nodeSelector: the pod lands on the labelled node" wait_for 20 placed_on sel fake-2

pod aff "  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - {key: topology.kubernetes.io/zone, operator: In, values: [zone-3]}
          - {key: pool, operator: Exists}"
check "required node affinity: the pod lands on the matching node" wait_for 20 placed_on aff fake-3

# ---- taints ------------------------------------------------------------------------------

check "kubectl taint" k taint node fake-1 dedicated=infra:NoSchedule
pod untolerated "  nodeSelector: {kubernetes.io/hostname: fake-1}"
pod tolerant "  nodeSelector: {kubernetes.io/hostname: fake-1}" \
	"  tolerations: [{key: dedicated, operator: Equal, value: infra, effect: NoSchedule}]"
check "a pod that tolerates the taint goes there" wait_for 20 placed_on tolerant fake-1
unschedulable() { [ "$(sched_cond "$1" status)" = False ] && [ "$(sched_cond "$1" reason)" = Unschedulable ]; }
check "a pod that does not stays Pending, PodScheduled=False" wait_for 20 unschedulable untolerated
msg=$(sched_cond untolerated message)
case "$msg" in
"0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: infra}, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")
	ok "... with upstream's message" ;;
*) not_ok "... with upstream's message"; note "$msg" ;;
esac
check_eq "... not placed" "" "$(node_of untolerated)"
check "kubectl taint ... - removes it" k taint node fake-1 dedicated=infra:NoSchedule-
check "... and the waiting pod is placed at once" wait_for 5 placed_on untolerated fake-1

# ---- cordon ------------------------------------------------------------------------------

check "kubectl cordon fake-2" k cordon fake-2
two_or_three="  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [fake-2, fake-3]}]"
for i in 1 2 3; do pod "c$i" "$two_or_three"; done
avoided() { for i in 1 2 3; do placed_on "c$i" fake-3 || return 1; done; }
check "new pods avoid the cordoned node" wait_for 20 avoided
pod pinned2 "  nodeSelector: {kubernetes.io/hostname: fake-2}"
check "a pod for the cordoned node only waits" wait_for 20 unschedulable pinned2
case "$(sched_cond pinned2 message)" in
*"1 node(s) were unschedulable"*) ok "... because the node is unschedulable" ;;
*) not_ok "... because the node is unschedulable"; note "$(sched_cond pinned2 message)" ;;
esac
check "kubectl uncordon fake-2" k uncordon fake-2
check "... and it is placed" wait_for 10 placed_on pinned2 fake-2

# ---- resources ---------------------------------------------------------------------------

pod huge "  containers: [{name: main, image: $IMAGE, imagePullPolicy: Never, command: [sleep, '3600'], resources: {requests: {cpu: '48'}}}]"
check "a pod too large for every node stays Pending" wait_for 20 unschedulable huge
case "$(sched_cond huge message)" in
"0/4 nodes are available: 4 Insufficient cpu. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod.")
	ok "... its PodScheduled condition says Insufficient cpu" ;;
*) not_ok "... its PodScheduled condition says Insufficient cpu"; note "$(sched_cond huge message)" ;;
esac
failed_event() { k get events --field-selector involvedObject.name=huge,reason=FailedScheduling -o 'jsonpath={.items[*].message}' | grep -q 'Insufficient cpu'; }
check "... and a FailedScheduling Event names the reason" wait_for 20 failed_event
pod small "  nodeSelector: {pool: fake}"
check "an unschedulable pod does not stop others being placed" wait_for 20 placed small
# Retries (back-off up to 10 s) reuse one Event and count.
counted() { [ "$(k get events --field-selector involvedObject.name=huge,reason=FailedScheduling -o 'jsonpath={.items[0].count}')" -ge 2 ]; }
check "retries count on one FailedScheduling Event" wait_for 30 counted
check_eq "... not one Event per retry" 1 "$(k get events --field-selector involvedObject.name=huge,reason=FailedScheduling --no-headers | wc -l)"
make_fake fake-big zone-9 64
check "the pod is placed once a node with room appears" wait_for 15 placed_on huge fake-big
k delete node fake-big >/dev/null

# ---- host ports ------------------------------------------------------------------------------

port_pod() {
	pod "$1" "  nodeSelector: {kubernetes.io/hostname: fake-3}" \
		"  containers: [{name: main, image: $IMAGE, imagePullPolicy: Never, command: [sleep, '3600'], ports: [{containerPort: 80, hostPort: 30080}]}]"
}
port_pod port-a
check "a pod with a host port is placed" wait_for 20 placed_on port-a fake-3
port_pod port-b
check "a second pod with the same host port on that node is not" wait_for 20 unschedulable port-b
case "$(sched_cond port-b message)" in
*"1 node(s) didn't have free ports for the requested pod ports"*) ok "... for want of free ports" ;;
*) not_ok "... for want of free ports"; note "$(sched_cond port-b message)" ;;
esac
k delete pod port-a port-b --wait=false >/dev/null 2>&1

# ---- pod anti-affinity: one replica per node ---------------------------------------------------

k apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: spread}
spec:
  replicas: 3
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      terminationGracePeriodSeconds: 0
      nodeSelector: {pool: fake}
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: spread}}
            topologyKey: kubernetes.io/hostname
      containers: [{name: main, image: $IMAGE, imagePullPolicy: Never, command: [sleep, '3600']}]
EOF
spread_nodes() { k get pods -l app=spread -o 'jsonpath={range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort; }
three_placed() { [ "$(spread_nodes | grep -c .)" = 3 ]; }
check "a ReplicaSet of 3 with required anti-affinity is placed" wait_for 30 three_placed
check_eq "... one replica per node" "fake-1 fake-2 fake-3" "$(spread_nodes | xargs)"
k scale rs spread --replicas=4 >/dev/null
fourth_waits() { [ "$(k get pods -l app=spread -o 'jsonpath={.items[*].status.conditions[?(@.reason=="Unschedulable")].message}' | grep -c "didn't match pod anti-affinity rules")" = 1 ]; }
check "a fourth replica finds no node" wait_for 30 fourth_waits
k scale rs spread --replicas=3 >/dev/null

# ---- drain and the eviction API ----------------------------------------------------------------

on_fake1() { k get pods -A --field-selector spec.nodeName=fake-1 --no-headers 2>/dev/null | grep -c .; }
check "fake-1 has pods before the drain" test "$(on_fake1)" -gt 0
if out=$(k drain fake-1 --ignore-daemonsets --delete-emptydir-data --force --timeout=60s 2>&1); then
	ok "kubectl drain fake-1 evicts its pods"
else
	not_ok "kubectl drain fake-1 evicts its pods"
	note "$out"
fi
check_eq "... none is left there" 0 "$(on_fake1)"
check_eq "... and the node is cordoned" true "$(k get node fake-1 -o 'jsonpath={.spec.unschedulable}')"
check "kubectl uncordon fake-1" k uncordon fake-1

# A budget that allows no disruption: two running pods, minAvailable 2.
k apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: guarded}
spec:
  replicas: 2
  selector: {matchLabels: {app: guarded}}
  template:
    metadata: {labels: {app: guarded}}
    spec:
      terminationGracePeriodSeconds: 2
      nodeSelector: {kubernetes.io/hostname: $NODE}
      containers: [{name: main, image: $IMAGE, imagePullPolicy: Never, command: [sleep, '3600']}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: guarded}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: guarded}}
EOF
guarded_ready() { [ "$(k get pods -l app=guarded -o 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}')" = "True True" ]; }
check "two guarded pods run on the real node" wait_for 60 guarded_ready
k delete pod real --grace-period=0 --force >/dev/null 2>&1
out=$(k drain "$NODE" --ignore-daemonsets --delete-emptydir-data --force --timeout=8s 2>&1)
rc=$?
case "$rc:$out" in
[1-9]*"Cannot evict pod as it would violate the pod's disruption budget."*)
	ok "kubectl drain is refused by the PodDisruptionBudget (429)" ;;
*) not_ok "kubectl drain is refused by the PodDisruptionBudget (429)"; note "exit $rc" "$out" ;;
esac
check_eq "... both guarded pods are still there" 2 "$(k get pods -l app=guarded --no-headers | grep -c Running)"
check "kubectl uncordon $NODE" k uncordon "$NODE"

# The eviction API directly: a Status for each outcome.
guarded1=$(k get pods -l app=guarded -o 'jsonpath={.items[0].metadata.name}')
evict() { # evict POD BODY -> the Status as JSON (kubectl prints the error body with -v=0)
	printf '%s' "$2" >"$TMP/eviction.json"
	k create --raw "/api/v1/namespaces/default/pods/$1/eviction" -f "$TMP/eviction.json" 2>&1
}
out=$(evict "$guarded1" "{\"apiVersion\": \"policy/v1\", \"kind\": \"Eviction\", \"metadata\": {\"name\": \"$guarded1\"}}")
case "$out" in *"TooManyRequests"*"Cannot evict pod as it would violate the pod's disruption budget."*) ok "POST pods/eviction: 429 TooManyRequests" ;; *) not_ok "POST pods/eviction: 429"; note "$out" ;; esac
status_of() { # the Status of a raw POST, with its code
	printf '%s' "$2" >"$TMP/eviction.json"
	curl -sk --cert "$DATA/certs/admin.crt" --key "$DATA/certs/admin.key" -H 'Content-Type: application/json' \
		--data-binary @"$TMP/eviction.json" "https://127.0.0.1:$(api_port_for "$PORT")/api/v1/namespaces/default/pods/$1/eviction"
}
json_field() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
budget=$(status_of "$guarded1" "{\"apiVersion\": \"policy/v1\", \"kind\": \"Eviction\", \"metadata\": {\"name\": \"$guarded1\"}}")
check_eq "... with a DisruptionBudget cause" "DisruptionBudget 429" \
	"$(printf '%s' "$budget" | json_field '["details"]["causes"][0]["reason"], d["code"]' 2>&1 | tr -d "()',")"
bad=$(status_of "$guarded1" '{"apiVersion": "policy/v1", "kind": "Eviction", "metadata": ')
check_eq "a malformed Eviction body: 400 Status" "Status 400" "$(printf '%s' "$bad" | json_field '["kind"], d["code"]' 2>&1 | tr -d "()',")"
missing=$(status_of nope '{"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "nope"}}')
check_eq "eviction of a missing pod: 404 NotFound" "NotFound 404" "$(printf '%s' "$missing" | json_field '["reason"], d["code"]' 2>&1 | tr -d "()',")"
check_eq "... nothing was deleted" 2 "$(k get pods -l app=guarded --no-headers | grep -c Running)"
# Room in the budget: the eviction goes through and the ReplicaSet replaces the pod.
k patch pdb guarded --type=merge -p '{"spec": {"minAvailable": 1}}' >/dev/null
out=$(evict "$guarded1" "{\"apiVersion\": \"policy/v1\", \"kind\": \"Eviction\", \"metadata\": {\"name\": \"$guarded1\"}}")
case "$out" in *'"status":"Success"'*) ok "with room in the budget the eviction succeeds" ;; *) not_ok "with room in the budget the eviction succeeds"; note "$out" ;; esac
evicted() { ! k get pod "$guarded1" >/dev/null 2>&1; }
check "... and the pod goes" wait_for 60 evicted
check_eq "the budget records the disruption" 0 "$(k get pdb guarded -o 'jsonpath={.status.disruptionsAllowed}')"

k delete rs spread guarded --wait=false >/dev/null 2>&1
k delete pdb guarded >/dev/null 2>&1
