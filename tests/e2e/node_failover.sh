#!/bin/bash
# A node that stops sending heartbeats: it becomes Unknown and tainted
# unreachable, its pods are evicted after their tolerationSeconds, and
# their controllers replace them on a node that works.  The lost node is
# a Node object with no agent behind it, kept alive by this script
# renewing its Lease, until it stops.  Ports 22300-22399.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/node_lib.sh"

pick_port PORT 22300 22399 || exit 1
trap 'stop_bg_all; node_cleanup; e2e_cleanup' EXIT
HB_PID=""
stop_bg_all() { [ -n "$HB_PID" ] && stop_bg "$HB_PID"; return 0; }
# Short timings so the test takes seconds, not minutes.
# The grace period stays above the real node's 10 s lease renewals.
node_setup real "$PORT" --node-monitor-grace-period 12 --default-toleration-seconds 3 || exit 1
ok "node with agent and controllers is Ready"

check_eq "new pods tolerate unreachable nodes for the configured time" 3 "$(
	k run probe --image="$IMAGE" --image-pull-policy=Never --restart=Never --command -- sleep 1 >/dev/null 2>&1
	k get pod probe -o 'jsonpath={.spec.tolerations[?(@.key=="node.kubernetes.io/unreachable")].tolerationSeconds}')"
k delete pod probe --grace-period=0 --force >/dev/null 2>&1

# ---- the node that will be lost ---------------------------------------------------------

cat <<YAML | k apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata: {name: ghost, labels: {kubernetes.io/hostname: ghost}}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: ghost, namespace: kube-node-lease}
spec: {holderIdentity: ghost, leaseDurationSeconds: 40}
YAML
heartbeat() {
	while :; do
		fake_node_heartbeat ghost 2>/dev/null
		k -n kube-node-lease patch lease ghost --type=merge -p \
			'{"spec":{"renewTime":"'"$(date -u +%FT%T.000000Z)"'"}}' >/dev/null 2>&1
		sleep 1
	done
}
heartbeat &
HB_PID=$!
bg_track "$HB_PID"
ghost_ready() { [ "$(k get node ghost -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
if wait_for 15 ghost_ready; then ok "the fake node is Ready while its heartbeats come"; else not_ok "fake node Ready"; fi

# Two replicas that prefer different nodes: one lands on the ghost.
cat <<YAML | k apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: spread}
spec:
  replicas: 2
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      terminationGracePeriodSeconds: 1
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector: {matchLabels: {app: spread}}
              topologyKey: kubernetes.io/hostname
      containers:
      - {name: main, image: $IMAGE, imagePullPolicy: Never, command: ["sleep", "3600"]}
YAML
nodes_of() { k get pods -l app=spread -o 'jsonpath={range .items[*]}{.spec.nodeName}{"\n"}{end}' 2>/dev/null | sort | tr '\n' ' '; }
spread() { [ "$(nodes_of)" = "ghost real " ]; }
if wait_for 30 spread; then ok "one replica on each node"; else not_ok "one replica on each node"; note "$(nodes_of)"; k get pods -o wide | note; fi
check "still Ready after longer than the grace period while heartbeats come" eval "sleep 13; ghost_ready"
ghost_pod=$(k get pods -l app=spread --field-selector spec.nodeName=ghost -o 'jsonpath={.items[0].metadata.name}')

# ---- heartbeats stop ------------------------------------------------------------------------

stop_bg "$HB_PID"
HB_PID=""
t0=$(now_ms)
unknown() { [ "$(k get node ghost -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = Unknown ]; }
if wait_for 30 unknown; then ok "a node whose heartbeats stop becomes Unknown"; else not_ok "node Unknown"; k get node ghost -o yaml | note; fi
check_eq "with upstream's reason" NodeStatusUnknown \
	"$(k get node ghost -o 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}')"
tainted() { k get node ghost -o 'jsonpath={range .spec.taints[*]}{.key}:{.effect}{" "}{end}' | grep -q "node.kubernetes.io/unreachable:NoExecute"; }
if wait_for 10 tainted; then ok "it gets the unreachable NoExecute taint"; else not_ok "unreachable taint"; k get node ghost -o yaml | note; fi
evicted() { [ -n "$(k get pod "$ghost_pod" -o 'jsonpath={.metadata.deletionTimestamp}' 2>/dev/null)" ]; }
if wait_for 20 evicted; then ok "its pod is evicted after tolerationSeconds"; else not_ok "pod evicted"; k get pod "$ghost_pod" -o yaml | note; fi
check "not before tolerationSeconds (3 s after the taint)" [ $(($(now_ms) - t0)) -ge 3000 ]
check "the eviction is an Event" eval "k get events --field-selector involvedObject.name=$ghost_pod -o jsonpath='{.items[*].reason}' | grep -q TaintManagerEviction"
# The replacement goes to the node that works (the lost one is tainted
# NoSchedule too), and runs.
both_real() { [ "$(k get pods -l app=spread --field-selector=status.phase=Running -o 'jsonpath={range .items[*]}{.spec.nodeName}{" "}{end}')" = "real real " ] && [ "$(k get deploy spread -o 'jsonpath={.status.availableReplicas}')" = 2 ]; }
if wait_for 60 both_real; then ok "its replicas are replaced on the node that works"; else not_ok "replicas replaced on the working node"; k get pods -o wide | note; fi
check_eq "the evicted pod stays Terminating: its node cannot confirm" Terminating \
	"$(k get pod "$ghost_pod" -o 'jsonpath={.metadata.deletionTimestamp}' >/dev/null 2>&1 && echo Terminating)"

# ---- a node deleted takes its pods with it ---------------------------------------------------

k delete node ghost >/dev/null
gone() { [ -z "$(k get pods -A --field-selector spec.nodeName=ghost -o name 2>/dev/null)" ]; }
if wait_for 20 gone; then ok "pods of a deleted node are removed"; else not_ok "pods of a deleted node removed"; k get pods -A -o wide | note; fi
