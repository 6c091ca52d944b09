#!/bin/bash
# Workload controllers with pods that really run: Deployments (rolling
# update, Recreate, history, undo, restart, pause, scale, progress
# deadline), driven with kubectl 1.32 the way a user does.  Ports
# 22200-22299.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/node_lib.sh"

pick_port PORT 22200 22299 || exit 1
trap 'node_cleanup; e2e_cleanup' EXIT
node_setup wl "$PORT" || exit 1
ok "node with agent and controllers is Ready"

# A second tag of the same busybox: an image change to roll out.
IMAGE2=mk.local/busybox:v2
bash "$ROOT/tests/e2e/busybox_image.sh" "$TMP/busybox2.tar" "$IMAGE2" >/dev/null 2>&1
check "second image tag imported" "$MK" --data-dir "$DATA" images import "$TMP/busybox2.tar"

apply() { k apply -f - >/dev/null; }
dj() { k get deploy "$1" -o "jsonpath=$2" 2>/dev/null; }
images_of() { k get pods -l "app=$1" -o 'jsonpath={range .items[*]}{.spec.containers[0].image}{"\n"}{end}' 2>/dev/null | sort -u; }
# only_image APP IMAGE: every pod of APP runs IMAGE, once the old ones
# have finished terminating.
only_image() { [ "$(images_of "$1")" = "$2" ]; }

# ---- Deployment: create, available ----------------------------------------------

cat <<YAML | apply
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, annotations: {kubernetes.io/change-cause: first}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: $IMAGE
        imagePullPolicy: Never
        command: ["sh", "-c", "exec sleep 3600"]
YAML
if k rollout status deploy/web --timeout=60s >/dev/null 2>&1; then
	ok "a Deployment of 3 replicas becomes available (rollout status)"
else
	not_ok "a Deployment of 3 replicas becomes available"; k get deploy,rs,pods -o wide | note
fi
check_eq "3 available replicas" 3 "$(dj web '{.status.availableReplicas}')"
check_eq "condition Available=True" True "$(dj web '{.status.conditions[?(@.type=="Available")].status}')"
check_eq "condition Progressing: NewReplicaSetAvailable" NewReplicaSetAvailable \
	"$(dj web '{.status.conditions[?(@.type=="Progressing")].reason}')"
check_eq "revision 1" 1 "$(dj web '{.metadata.annotations.deployment\.kubernetes\.io/revision}')"
rs1=$(k get rs -l app=web -o 'jsonpath={.items[0].metadata.name}')
hash=$(k get rs "$rs1" -o 'jsonpath={.metadata.labels.pod-template-hash}')
check_eq "ReplicaSet named after the template hash" "web-$hash" "$rs1"
check_eq "pods carry the pod-template-hash" 3 \
	"$(k get pods -l "app=web,pod-template-hash=$hash" -o name | grep -c .)"

# ---- a deleted pod is replaced ------------------------------------------------------

victim=$(k get pods -l app=web -o 'jsonpath={.items[0].metadata.name}')
k delete pod "$victim" --wait=false >/dev/null
replaced() { [ "$(k get pods -l app=web -o 'jsonpath={.items[*].status.phase}' | tr ' ' '\n' | grep -c Running)" -ge 3 ] && ! k get pods -l app=web -o name | grep -q "/$victim$"; }
if wait_for 30 replaced; then ok "a deleted pod gets a replacement"; else not_ok "a deleted pod gets a replacement"; k get pods -o wide | note; fi

# ---- image change rolls out, history, undo --------------------------------------------

k set image deploy/web main="$IMAGE2" >/dev/null
k annotate deploy/web kubernetes.io/change-cause=second --overwrite >/dev/null
if k rollout status deploy/web --timeout=60s >/dev/null 2>&1; then ok "an image change rolls out"; else not_ok "an image change rolls out"; k get deploy,rs,pods -o wide | note; fi
if wait_for 20 only_image web "$IMAGE2"; then ok "every pod runs the new image"; else not_ok "every pod runs the new image"; images_of web | note; fi
check_eq "revision 2" 2 "$(dj web '{.metadata.annotations.deployment\.kubernetes\.io/revision}')"
check_eq "old ReplicaSet scaled to 0" 0 "$(k get rs "$rs1" -o 'jsonpath={.spec.replicas}')"
check_eq "two ReplicaSets kept as history" 2 "$(k get rs -l app=web -o name | grep -c .)"
hist=$(k rollout history deploy/web 2>&1)
case "$hist" in *"1 "*first*"2 "*second*) ok "rollout history lists both revisions with their change-cause" ;; *) not_ok "rollout history"; note "$hist" ;; esac
k rollout history deploy/web --revision=1 2>/dev/null | grep -q "$IMAGE" &&
	ok "rollout history --revision=1 shows the first template" || not_ok "rollout history --revision=1"

if k rollout undo deploy/web >/dev/null 2>&1 && k rollout status deploy/web --timeout=60s >/dev/null 2>&1; then
	ok "rollout undo rolls back"
else
	not_ok "rollout undo rolls back"; k get deploy,rs,pods -o wide | note
fi
if wait_for 20 only_image web "$IMAGE"; then ok "after undo every pod runs the first image"; else not_ok "after undo every pod runs the first image"; images_of web | note; fi
check_eq "the first ReplicaSet is back, as revision 3" "3 3" \
	"$(k get rs "$rs1" -o 'jsonpath={.metadata.annotations.deployment\.kubernetes\.io/revision} {.spec.replicas}')"
check_eq "the Deployment is at revision 3" 3 "$(dj web '{.metadata.annotations.deployment\.kubernetes\.io/revision}')"

# ---- scale ----------------------------------------------------------------------------------

k scale deploy/web --replicas=5 >/dev/null
five() { [ "$(dj web '{.status.availableReplicas}')" = 5 ]; }
if wait_for 30 five; then ok "kubectl scale up to 5"; else not_ok "kubectl scale up to 5"; k get deploy,rs -o wide | note; fi
k scale deploy/web --replicas=1 >/dev/null
one() { [ "$(dj web '{.status.replicas}')" = 1 ] && [ "$(k get rs "$rs1" -o 'jsonpath={.spec.replicas}')" = 1 ]; }
if wait_for 30 one; then ok "kubectl scale down to 1"; else not_ok "kubectl scale down to 1"; k get deploy,rs -o wide | note; fi

# ---- pause, resume, restart ----------------------------------------------------------------

k rollout pause deploy/web >/dev/null
k set image deploy/web main="$IMAGE2" >/dev/null
paused_reason() { [ "$(dj web '{.status.conditions[?(@.type=="Progressing")].reason}')" = DeploymentPaused ]; }
if wait_for 15 paused_reason; then ok "a paused Deployment reports DeploymentPaused"; else not_ok "paused Deployment reports DeploymentPaused"; k get deploy web -o yaml | note; fi
check_eq "nothing rolls while paused" "$IMAGE" "$(images_of web)"
k rollout resume deploy/web >/dev/null
if k rollout status deploy/web --timeout=60s >/dev/null 2>&1; then ok "rollout resume rolls the change out"; else not_ok "rollout resume"; k get deploy,rs,pods -o wide | note; fi
if wait_for 20 only_image web "$IMAGE2"; then ok "resumed: the pod runs the new image"; else not_ok "resumed: the pod runs the new image"; images_of web | note; fi
before=$(k get rs -l app=web -o name | grep -c .)
k rollout restart deploy/web >/dev/null
if k rollout status deploy/web --timeout=60s >/dev/null 2>&1; then ok "rollout restart"; else not_ok "rollout restart"; fi
check_eq "restart made a new ReplicaSet" $((before + 1)) "$(k get rs -l app=web -o name | grep -c .)"
check "restartedAt is in the pods' template" eval \
	"k get pods -l app=web -o yaml | grep -q kubectl.kubernetes.io/restartedAt"

# ---- Recreate -----------------------------------------------------------------------------------

cat <<YAML | apply
apiVersion: apps/v1
kind: Deployment
metadata: {name: rec}
spec:
  replicas: 2
  selector: {matchLabels: {app: rec}}
  strategy: {type: Recreate}
  template:
    metadata: {labels: {app: rec}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: $IMAGE, imagePullPolicy: Never, command: ["sh", "-c", "exec sleep 3600"]}
YAML
k rollout status deploy/rec --timeout=60s >/dev/null 2>&1
old_uids=$(k get pods -l app=rec -o 'jsonpath={.items[*].metadata.uid}')
k set image deploy/rec main="$IMAGE2" >/dev/null
# Recreate: no pod of the new template exists while an old one still runs.
overlap=0
for _ in $(seq 1 80); do
	phases=$(k get pods -l app=rec -o 'jsonpath={range .items[*]}{.spec.containers[0].image}={.status.phase}{"\n"}{end}' 2>/dev/null)
	if echo "$phases" | grep -q "^$IMAGE2=" && echo "$phases" | grep -q "^$IMAGE=Running"; then overlap=1; fi
	[ "$(dj rec '{.status.updatedReplicas}/{.status.availableReplicas}/{.status.replicas}')" = 2/2/2 ] && break
	sleep 0.25
done
check_eq "Recreate: old pods are gone before new ones start" 0 "$overlap"
if k rollout status deploy/rec --timeout=60s >/dev/null 2>&1; then ok "Recreate rollout completes"; else not_ok "Recreate rollout completes"; k get deploy,rs,pods | note; fi

# ---- progress deadline -----------------------------------------------------------------------

cat <<YAML | apply
apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck}
spec:
  replicas: 1
  progressDeadlineSeconds: 3
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      containers:
      - {name: main, image: mk.local/missing:1, imagePullPolicy: Never}
YAML
out=$(k rollout status deploy/stuck --timeout=30s 2>&1)
case "$out" in *"exceeded its progress deadline"*) ok "rollout status reports an exceeded progress deadline" ;; *) not_ok "progress deadline"; note "$out"; k get deploy stuck -o yaml | note ;; esac

# ---- bad input ------------------------------------------------------------------------------------

out=$(cat <<YAML | k apply -f - 2>&1
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  selector: {matchLabels: {app: one}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: c, image: $IMAGE}]}
YAML
)
case "$out" in *'selector` does not match template `labels`'*) ok "a selector that does not match its template is refused" ;; *) not_ok "selector mismatch refused"; note "$out" ;; esac
check "nothing stored for the refused Deployment" eval "! k get deploy bad >/dev/null 2>&1"
out=$(k scale deploy/web --replicas=-1 2>&1)
case "$out" in *"must be greater than or equal to 0"*) ok "scale to -1 is refused" ;; *) not_ok "scale to -1 refused"; note "$out" ;; esac
check_eq "web still has 1 replica" 1 "$(dj web '{.spec.replicas}')"

# ---- deletion takes the ReplicaSets and pods --------------------------------------------------------

k delete deploy web >/dev/null
gone() { [ -z "$(k get rs,pods -l app=web -o name 2>/dev/null)" ]; }
if wait_for 30 gone; then ok "deleting a Deployment removes its ReplicaSets and pods"; else not_ok "Deployment deletion cascades"; k get rs,pods | note; fi

# ---- StatefulSet ------------------------------------------------------------------------------------

cat <<YAML | apply
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 3
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: $IMAGE
        imagePullPolicy: Never
        command: ["sh", "-c", "exec sleep 3600"]
        readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}
YAML
# OrderedReady: db-1 is created only once db-0 is Ready, db-2 after db-1.
order_ok=1
for _ in $(seq 1 120); do
	# One snapshot of all three: "R" ready, "c" created, "-" not yet.
	snap=$(k get pods -l app=db -o 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}' 2>/dev/null)
	st=""
	for i in 0 1 2; do
		case " $snap" in *" db-$i=True "*) st="${st}R" ;; *" db-$i="*) st="${st}c" ;; *) st="${st}-" ;; esac
	done
	case "$st" in c?[!-] | ?c[!-] | c[!-]?) order_ok=0; note "out of order: $snap" ;; esac
	[ "$st" = RRR ] && break
	sleep 0.25
done
check_eq "StatefulSet pods start in order, each after the previous is Ready" "1 RRR" "$order_ok $st"
if k rollout status sts/db --timeout=60s >/dev/null 2>&1; then ok "rollout status of the StatefulSet"; else not_ok "rollout status sts"; k get sts db -o yaml | note; fi
check_eq "stable identity: hostname and subdomain" "db-1 db" "$(jp db-1 '{.spec.hostname} {.spec.subdomain}')"
check_eq "pod-name label" db-2 "$(jp db-2 '{.metadata.labels.statefulset\.kubernetes\.io/pod-name}')"
uid0=$(jp db-0 '{.metadata.uid}')
k delete pod db-0 --wait=false >/dev/null
back() { [ "$(jp db-0 '{.metadata.uid}')" != "$uid0" ] && [ -n "$(jp db-0 '{.metadata.uid}')" ] && [ "$(jp db-0 '{.status.phase}')" = Running ]; }
if wait_for 30 back; then ok "a deleted replica comes back under the same name"; else not_ok "deleted replica comes back"; k get pods -l app=db | note; fi
k set image sts/db main="$IMAGE2" >/dev/null
if k rollout status sts/db --timeout=90s >/dev/null 2>&1; then ok "StatefulSet rolling update"; else not_ok "StatefulSet rolling update"; k get sts db -o yaml | note; fi
if wait_for 20 only_image db "$IMAGE2"; then ok "every replica runs the new image"; else not_ok "every replica updated"; images_of db | note; fi
check "rollout history of the StatefulSet has 2 revisions" eval \
	"[ \"\$(k rollout history sts/db | grep -c '^[0-9]')\" = 2 ]"
if k rollout undo sts/db >/dev/null 2>&1 && k rollout status sts/db --timeout=90s >/dev/null 2>&1 &&
	wait_for 20 only_image db "$IMAGE"; then
	ok "rollout undo of the StatefulSet"
else
	not_ok "rollout undo of the StatefulSet"; k get sts db -o yaml | note
fi
k scale sts/db --replicas=1 >/dev/null
down() { [ "$(k get pods -l app=db -o name | grep -c .)" = 1 ] && k get pod db-0 >/dev/null 2>&1; }
if wait_for 30 down; then ok "scale down removes the highest ordinals"; else not_ok "sts scale down"; k get pods -l app=db | note; fi

# volumeClaimTemplates: one claim per replica, bound to pre-made volumes,
# kept when the replica goes.
mkdir -p "$TMP/pv-a" "$TMP/pv-b" "$TMP/pv-big"
cat <<YAML | apply
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-a}
spec: {storageClassName: manual, capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: $TMP/pv-a, type: Directory}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-b}
spec: {storageClassName: manual, capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: $TMP/pv-b, type: Directory}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-big}
spec: {storageClassName: manual, capacity: {storage: 5Gi}, accessModes: [ReadWriteOnce], hostPath: {path: $TMP/pv-big, type: Directory}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: vol}
spec:
  replicas: 2
  podManagementPolicy: Parallel
  serviceName: vol
  selector: {matchLabels: {app: vol}}
  template:
    metadata: {labels: {app: vol}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: $IMAGE, imagePullPolicy: Never, command: ["sh", "-c", "hostname > /data/owner; exec sleep 3600"], volumeMounts: [{name: data, mountPath: /data}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {storageClassName: manual, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}
YAML
claims() { [ "$(k get pvc -l app=vol -o name 2>/dev/null | sort | tr '\n' ' ')" = "persistentvolumeclaim/data-vol-0 persistentvolumeclaim/data-vol-1 " ]; }
if wait_for 20 claims; then ok "a claim per replica from volumeClaimTemplates"; else not_ok "claims from volumeClaimTemplates"; k get pvc | note; fi
check_eq "the pod mounts its own claim" data-vol-1 \
	"$(jp vol-1 '{.spec.volumes[?(@.name=="data")].persistentVolumeClaim.claimName}')"
bound() { [ "$(k get pvc data-vol-0 data-vol-1 -o 'jsonpath={.items[*].status.phase}')" = "Bound Bound" ]; }
if wait_for 20 bound; then ok "the claims are bound to volumes"; else not_ok "claims bound"; k get pv,pvc | note; fi
check_eq "the smallest fitting volumes are chosen, one per claim" "pv-a pv-b" \
	"$(k get pvc data-vol-0 data-vol-1 -o 'jsonpath={.items[*].spec.volumeName}' | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
owners() { [ "$(cat "$TMP/pv-a/owner" "$TMP/pv-b/owner" 2>/dev/null | sort | tr '\n' ' ')" = "vol-0 vol-1 " ]; }
if wait_for 30 owners; then ok "each replica writes to its own volume"; else not_ok "replicas write to their volumes"; k get pods -l app=vol -o wide | note; fi
check_eq "the spare volume stays Available" Available "$(k get pv pv-big -o 'jsonpath={.status.phase}')"
k delete sts vol >/dev/null
check "claims outlive the StatefulSet (retention Retain)" k get pvc data-vol-0
k delete pvc data-vol-0 >/dev/null
released() { [ "$(k get pv "$(cat "$TMP/pv-a/owner" >/dev/null 2>&1; k get pv -o 'jsonpath={range .items[?(@.spec.claimRef.name=="data-vol-0")]}{.metadata.name}{end}')" -o 'jsonpath={.status.phase}' 2>/dev/null)" = Released ]; }
if wait_for 20 released; then ok "a volume whose claim is deleted is Released, data kept"; else not_ok "volume Released"; k get pv | note; fi

# ---- DaemonSet ----------------------------------------------------------------------------------------

# A Node object with no agent behind it (fake_node NAME LABEL=VALUE).
fake_node() {
	cat <<YAML | k apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata: {name: $1, labels: {$2}}
YAML
	fake_node_heartbeat "$1"
}
fake_node edge-1 "role: edge"
cat <<YAML | apply
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      nodeSelector: {kubernetes.io/hostname: wl}
      containers:
      - {name: main, image: $IMAGE, imagePullPolicy: Never, command: ["sleep", "3600"]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: edge}
spec:
  selector: {matchLabels: {app: edge}}
  template:
    metadata: {labels: {app: edge}}
    spec:
      nodeSelector: {role: edge}
      containers:
      - {name: main, image: $IMAGE, imagePullPolicy: Never, command: ["sleep", "3600"]}
YAML
if k rollout status ds/agent --timeout=60s >/dev/null 2>&1; then ok "a DaemonSet runs its pod on the matching node (rollout status)"; else not_ok "DaemonSet on the real node"; k get ds,pods -o wide | note; k get ds agent -o yaml | note; k rollout status ds/agent --timeout=1s 2>&1 | note; fi
# The nodes a DaemonSet's live pods are for (pods bound to a fake node
# stay Terminating when deleted: no agent confirms; they are not counted).
ds_pods() {
	k get pods -l "app=$1" -o json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
names = []
for p in json.load(sys.stdin)["items"]:
    if p["metadata"].get("deletionTimestamp"):
        continue
    terms = p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    names.append(terms[0]["matchFields"][0]["values"][0])
print("".join(n + " " for n in sorted(names)), end="")'
}
edge_only() { [ "$(ds_pods edge)" = "edge-1 " ]; }
if wait_for 20 edge_only; then ok "a DaemonSet with a nodeSelector has one pod, for the labelled node only"; else not_ok "DaemonSet nodeSelector"; note "$(ds_pods edge)"; k get nodes -o yaml | note; k get ds edge -o yaml | note; fi
check_eq "DaemonSet status counts the matching node" 1 "$(k get ds edge -o 'jsonpath={.status.desiredNumberScheduled}')"
check "DaemonSet pods tolerate unreachable nodes" eval \
	"k get pods -l app=edge -o yaml | grep -q node.kubernetes.io/unreachable"
fake_node edge-2 "role: edge"
both() { [ "$(ds_pods edge)" = "edge-1 edge-2 " ]; }
if wait_for 20 both; then ok "a new matching node gets its pod"; else not_ok "new node gets a DaemonSet pod"; note "$(ds_pods edge)"; fi
# Upstream's rule: an untolerated NoSchedule taint keeps new pods off but
# lets a running one stay; an untolerated NoExecute taint removes it.
k taint node edge-2 dedicated=db:NoSchedule >/dev/null
sleep 2 # nothing may happen: give the controller time to get it wrong
check_eq "a NoSchedule taint leaves the running DaemonSet pod" "edge-1 edge-2 " "$(ds_pods edge)"
k taint node edge-2 dedicated=db:NoExecute >/dev/null
if wait_for 20 edge_only; then ok "a NoExecute taint the DaemonSet does not tolerate removes its pod"; else not_ok "untolerated NoExecute taint removes the DaemonSet pod"; note "$(ds_pods edge)"; fi
k label node edge-1 role- >/dev/null
none() { [ -z "$(ds_pods edge)" ]; }
if wait_for 20 none; then ok "a node losing the label loses the pod"; else not_ok "label removal removes the DaemonSet pod"; note "$(ds_pods edge)"; fi
k set image ds/agent main="$IMAGE2" >/dev/null
if k rollout status ds/agent --timeout=60s >/dev/null 2>&1 && wait_for 20 only_image agent "$IMAGE2"; then
	ok "a DaemonSet rolling update"
else
	not_ok "a DaemonSet rolling update"; k get ds agent -o yaml | note
fi
check "rollout history of the DaemonSet" eval "[ \"\$(k rollout history ds/agent | grep -c '^[0-9]')\" = 2 ]"
k delete node edge-1 edge-2 >/dev/null

# ---- namespaces and their default ServiceAccount ----------------------------------------------------

k create namespace team-a >/dev/null
sa_there() { k -n team-a get serviceaccount default >/dev/null 2>&1; }
if wait_for 10 sa_there; then ok "a new namespace gets its default ServiceAccount"; else not_ok "default ServiceAccount in a new namespace"; fi
old_sa=$(k -n team-a get sa default -o 'jsonpath={.metadata.uid}')
k -n team-a delete sa default >/dev/null
sa_back() { [ -n "$(k -n team-a get sa default -o 'jsonpath={.metadata.uid}' 2>/dev/null)" ] && [ "$(k -n team-a get sa default -o 'jsonpath={.metadata.uid}')" != "$old_sa" ]; }
if wait_for 10 sa_back; then ok "a deleted default ServiceAccount comes back"; else not_ok "default ServiceAccount recreated"; fi
check "kube-system has one too" k -n kube-system get sa default

# ---- a namespace deleted stops its pods gracefully ----------------------------------------------------

k create namespace gone >/dev/null
cat <<YAML | k -n gone apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: polite}
spec:
  terminationGracePeriodSeconds: 20
  containers:
  - {name: main, image: $IMAGE, imagePullPolicy: Never, command: ["sh", "-c", "trap 'sleep 3; exit 0' TERM; while :; do sleep 0.2; done"]}
YAML
polite_running() { [ "$(k -n gone get pod polite -o 'jsonpath={.status.phase}' 2>/dev/null)" = Running ]; }
check "a pod runs in the namespace" wait_for 30 polite_running
k delete namespace gone --wait=false >/dev/null
marked() { [ "$(k -n gone get pod polite -o 'jsonpath={.metadata.deletionGracePeriodSeconds}' 2>/dev/null)" = 20 ]; }
if wait_for 10 marked; then ok "its pods get their grace period, not an immediate delete"; else not_ok "namespace deletion: graceful pods"; k -n gone get pod polite -o yaml | note; fi
t0=$(now_ms)
ns_gone() { ! k get namespace gone >/dev/null 2>&1; }
if wait_for 30 ns_gone; then ok "the namespace goes once its pods have stopped"; else not_ok "namespace deleted"; k get ns gone -o yaml | note; fi
check "the pod stopped on SIGTERM, well within its 20 s" [ $(($(now_ms) - t0)) -lt 15000 ]

# ---- a Service in front of a Deployment, end to end ------------------------------------------------
# ClusterIP allocated by the API, EndpointSlices by the controller from
# ready pods, rules by the node's service proxy.

cat <<YAML | apply
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: $IMAGE
        imagePullPolicy: Never
        command: ["sh", "-c", "mkdir -p /www; hostname > /www/index.html; exec httpd -f -p 8080 -h /www"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: main, image: $IMAGE, imagePullPolicy: Never, command: ["sleep", "3600"]}
YAML
k rollout status deploy/echo --timeout=60s >/dev/null 2>&1
k expose deploy/echo --port=80 --target-port=8080 --type=NodePort >/dev/null
cip=$(k get svc echo -o 'jsonpath={.spec.clusterIP}')
case "$cip" in 10.152.183.*) ok "the Service gets a ClusterIP from 10.152.183.0/24 ($cip)" ;; *) not_ok "ClusterIP allocated: '$cip'" ;; esac
slice_ready() { [ "$(k get endpointslices -l kubernetes.io/service-name=echo -o 'jsonpath={.items[*].endpoints[*].conditions.ready}')" = "true true" ]; }
if wait_for 20 slice_ready; then ok "its EndpointSlice lists both ready pods"; else not_ok "EndpointSlice of the Service"; k get endpointslices -o yaml | note; fi
answers() { k exec client -- timeout 3 wget -qO- "http://$cip/" 2>/dev/null; }
reached() { case "$(answers)" in echo-*) return 0 ;; esac; return 1; }
if wait_for 20 reached; then ok "another pod reaches the Deployment through the ClusterIP"; else not_ok "ClusterIP from a pod"; fi
seen=$(for _ in $(seq 1 16); do answers; done | sort -u | grep -c '^echo-')
check_eq "requests are balanced over both replicas" 2 "$seen"
np=$(k get svc echo -o 'jsonpath={.spec.ports[0].nodePort}')
from_host() { case "$(timeout 3 curl -s "http://127.0.0.1:$np/")" in echo-*) return 0 ;; esac; return 1; }
if wait_for 20 from_host; then ok "the NodePort ($np) answers from the host"; else not_ok "NodePort from the host"; fi
