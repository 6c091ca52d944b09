#!/bin/bash
# Pods really run: mkd's node agent with runc, CNI, volumes, probes, logs
# and exec, driven the way a user does, with kubectl 1.32.
#
# The image is built here from Debian's busybox-static (busybox_image.sh),
# imported with `mk images import`, and also pushed to a local
# docker-registry and pulled from there.  Ports 21400-21499; the pod
# network is a bridge and a /24 of this test's own, so nothing it does
# reaches beyond the namespaces it creates.
. "$(dirname "$0")/lib.sh"

MK=$BUILD/mk
NODE=mk-e2e-node
# This mkd runs pods and the controllers (lib.sh turns both off otherwise).
export MK_E2E_AGENT=1 MK_E2E_CONTROLLERS=1
BRIDGE=mke2e$(($$ % 1000))
CIDR=10.213.$(($$ % 200 + 10)).0/24
export HOME=$TMP/home
mkdir -p "$HOME"

pick_port PORT 21400 21449 || exit 1
pick_port REG_PORT 21450 21489 || exit 1
pick_port HOST_PORT 21490 21499 || exit 1
DATA=$(data_of node)
KCFG=$DATA/credentials/client.config

k() { timeout -k 5 60 kubectl --kubeconfig "$KCFG" "$@"; }
jp() { k get pod "$1" -o "jsonpath=$2" 2>/dev/null; }

# Whatever the test leaves running is stopped: pods through the API (so
# the agent releases addresses and rules), then anything still there.
pods_cleanup() {
	if [ -n "${MKD_PID[node]:-}" ] && alive "${MKD_PID[node]}"; then
		k delete pods --all --grace-period=0 --force >/dev/null 2>&1
		wait_for 30 eval "[ -z \"\$(ls -A '$DATA/pods' 2>/dev/null)\" ]"
		stop_mkd node TERM 20 >/dev/null 2>&1
	fi
	local id
	for id in $(runc --root "$DATA/run/runc" list -q 2>/dev/null); do
		runc --root "$DATA/run/runc" delete --force "$id" >/dev/null 2>&1
	done
	pkill -9 -f "mk-shim.*$DATA" 2>/dev/null
	grep " $TMP/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	ip link del "$BRIDGE" 2>/dev/null
	nft delete table ip "mk-proxy-$BRIDGE" 2>/dev/null # the service proxy's (it outlives mkd)
	iptables-save 2>/dev/null | grep -q "$CIDR" && {
		iptables-save | grep -v -- "$CIDR" | iptables-restore 2>/dev/null
	}
	[ -n "${REG_PID:-}" ] && stop_bg "$REG_PID"
}
trap 'pods_cleanup; e2e_cleanup' EXIT

if [ "$(id -u)" -ne 0 ]; then
	not_ok "pods: must run as root (runc, CNI, mounts)"
	exit 1
fi

# ---- image ------------------------------------------------------------------

IMAGE=mk.local/busybox:1.35
bash "$ROOT/tests/e2e/busybox_image.sh" "$TMP/busybox.tar" "$IMAGE" >/dev/null 2>&1
check "busybox image built from busybox-static" test -s "$TMP/busybox.tar"
check "mk images import" "$MK" --data-dir "$DATA" images import "$TMP/busybox.tar"

# ---- the node -----------------------------------------------------------------

start_mkd node "$PORT" --node-name "$NODE" --pod-cidr "$CIDR" --cni-bridge "$BRIDGE"
wait_ready node 30 && wait_for 20 listening "$(api_port_for "$PORT")"
node_ready() { [ "$(k get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
if wait_for 30 node_ready; then ok "node $NODE registers and is Ready"; else not_ok "node $NODE registers and is Ready"; exit 1; fi
check_eq "node reports runc as its runtime" runc \
	"$(k get node "$NODE" -o 'jsonpath={.status.nodeInfo.containerRuntimeVersion}' | cut -d: -f1)"
check "node lease renewed in kube-node-lease" wait_for 10 k -n kube-node-lease get lease "$NODE"

# ---- pods ---------------------------------------------------------------------

# pod NAME [extra YAML for the container] [extra YAML for the pod spec]
apply() { k apply -f - >/dev/null; }

cat <<EOF | apply
apiVersion: v1
kind: Pod
metadata: {name: hello}
spec:
  containers:
  - name: main
    image: $IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "echo hello from \$(hostname); echo to-stderr >&2; exec sleep 3600"]
EOF
running() { [ "$(jp "$1" '{.status.phase}')" = Running ]; }
ready() { [ "$(jp "$1" '{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
if wait_for 30 ready hello; then ok "pod runs and becomes Ready"; else not_ok "pod runs and becomes Ready"; k describe pod hello | note; fi
check_eq "kubectl logs shows the output" "hello from hello
to-stderr" "$(k logs hello)"
ip=$(jp hello '{.status.podIP}')
case "$ip" in 10.213.*) ok "pod has an address from the node's podCIDR ($ip)" ;; *) not_ok "pod address in $CIDR: got '$ip'" ;; esac
check_eq "kubectl exec returns the command's output" hello "$(k exec hello -- cat /etc/hostname)"
k exec hello -- sh -c 'exit 3' >/dev/null 2>&1
check_eq "kubectl exec returns the command's exit code" 3 "$?"
check_eq "kubectl exec with stdin" "piped" "$(echo piped | k exec -i hello -- cat)"
# Interactive: kubectl exec -it under a pseudo-terminal (script(1)).
tty_out=$(printf 'echo in-a-tty; tty; exit 7\n' | timeout 30 script -qec "kubectl --kubeconfig $KCFG exec -it hello -- sh" /dev/null 2>&1)
tty_rc=$?
case "$tty_out" in
*in-a-tty*/dev/pts/*) ok "kubectl exec -it gives the command a terminal" ;;
*) not_ok "kubectl exec -it gives the command a terminal"; note "$tty_out" ;;
esac
check_eq "kubectl exec -it returns the exit code" 7 "$tty_rc"
check "Events tell Pulled, Created, Started" eval \
	"k get events --field-selector involvedObject.name=hello -o jsonpath='{.items[*].reason}' | grep -q Started"

# A container killed from outside is restarted.
uid=$(jp hello '{.metadata.uid}')
pid=$(runc --root "$DATA/run/runc" state "$uid-main-0" 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
kill -9 "$pid" 2>/dev/null
restarted() { [ "$(jp hello '{.status.containerStatuses[0].restartCount}')" -ge 1 ] && running hello; }
if wait_for 30 restarted; then ok "a container killed from outside is restarted (restartCount grows)"; else not_ok "a killed container is restarted"; k get pod hello -o yaml | note; fi
check_eq "lastState tells how the killed container ended" 137 \
	"$(jp hello '{.status.containerStatuses[0].lastState.terminated.exitCode}')"
check_eq "kubectl logs --previous shows the first run" "hello from hello
to-stderr" "$(k logs hello --previous)"

# Probes: liveness restarts, readiness flips Ready.
cat <<EOF | apply
apiVersion: v1
kind: Pod
metadata: {name: probes}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: live
    image: $IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "touch /tmp/alive; exec sleep 3600"]
    livenessProbe:
      exec: {command: ["test", "-f", "/tmp/alive"]}
      periodSeconds: 1
      failureThreshold: 2
  - name: ready
    image: $IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www; echo ok > /www/index.html; exec httpd -f -p 8080 -h /www"]
    ports: [{containerPort: 8080, hostPort: $HOST_PORT}]
    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
EOF
if wait_for 30 ready probes; then ok "httpGet readiness makes the pod Ready"; else not_ok "httpGet readiness makes the pod Ready"; k describe pod probes | note; fi
k exec probes -c ready -- rm /www/index.html
unready() { [ "$(jp probes '{.status.conditions[?(@.type=="Ready")].status}')" = False ]; }
if wait_for 20 unready; then ok "a failing readiness probe turns Ready False"; else not_ok "a failing readiness probe turns Ready False"; fi
k exec probes -c live -- rm /tmp/alive
live_restarted() { [ "$(jp probes '{.status.containerStatuses[?(@.name=="live")].restartCount}')" -ge 1 ]; }
if wait_for 30 live_restarted; then ok "a failing liveness probe restarts the container"; else not_ok "a failing liveness probe restarts the container"; k describe pod probes | note; fi
check "the liveness failure is an Unhealthy event" eval \
	"k get events --field-selector involvedObject.name=probes,reason=Unhealthy -o name | grep -q ."

# Volumes: a hostPath shared by two pods, a configMap that updates.
SHARED=$TMP/shared
cat <<EOF | apply
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: first}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  volumes:
  - {name: shared, hostPath: {path: $SHARED, type: DirectoryOrCreate}}
  - {name: cfg, configMap: {name: settings}}
  containers:
  - name: main
    image: $IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "echo written-by-writer > /shared/note; exec sleep 3600"]
    volumeMounts:
    - {name: shared, mountPath: /shared}
    - {name: cfg, mountPath: /etc/cfg}
---
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  volumes:
  - {name: shared, hostPath: {path: $SHARED, type: DirectoryOrCreate}}
  containers:
  - name: main
    image: $IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "exec sleep 3600"]
    volumeMounts:
    - {name: shared, mountPath: /data}
EOF
wait_for 30 ready writer && wait_for 30 ready reader
note_seen() { [ "$(k exec reader -- cat /data/note 2>/dev/null)" = written-by-writer ]; }
if wait_for 10 note_seen; then ok "two pods share a hostPath directory"; else not_ok "two pods share a hostPath directory"; fi
check_eq "configMap volume has the value" first "$(k exec writer -- cat /etc/cfg/greeting)"
k patch configmap settings --type merge -p '{"data":{"greeting":"second"}}' >/dev/null
updated() { [ "$(k exec writer -- cat /etc/cfg/greeting 2>/dev/null)" = second ]; }
if wait_for 20 updated; then ok "a configMap update reaches the mounted file"; else not_ok "a configMap update reaches the mounted file"; fi

# Pod to pod.
pip=$(jp probes '{.status.podIP}')
k exec probes -c ready -- sh -c 'echo pong > /www/index.html'
check_eq "pod-to-pod traffic works (wget from one pod to another's httpd)" pong \
	"$(k exec hello -- wget -qO- "http://$pip:8080/index.html" 2>&1)"
check_eq "a hostPort reaches the pod from the host (portmap)" pong \
	"$(curl -s --max-time 5 "http://127.0.0.1:$HOST_PORT/index.html")"
hostip=$(ip -4 addr show "$BRIDGE" | awk '/inet /{print $2}' | cut -d/ -f1)
check "pod reaches the host (its bridge address $hostip)" k exec hello -- ping -c1 -W2 "$hostip"

# The pod spec, feature by feature: init containers, securityContext,
# resources as cgroup limits, env and envFrom, secret/downwardAPI/memory
# volumes.
cat <<EOF | apply
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cret, token: abc}
---
apiVersion: v1
kind: Pod
metadata: {name: features, labels: {app: feat, tier: test}}
spec:
  volumes:
  - {name: work, emptyDir: {}}
  - {name: mem, emptyDir: {medium: Memory}}
  - {name: sec, secret: {secretName: creds, items: [{key: password, path: pw, mode: 0444}]}}
  - name: info
    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}, {path: name, fieldRef: {fieldPath: metadata.name}}]}
  initContainers:
  - name: init
    image: $IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "echo from-init > /work/from-init"]
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: main
    image: $IMAGE
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    securityContext: {runAsUser: 1000, runAsGroup: 3000, readOnlyRootFilesystem: true}
    resources: {limits: {memory: 64Mi, cpu: 500m}}
    env:
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: MY_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: COMBINED, value: "\$(MY_NAME)-x"}
    envFrom: [{prefix: CFG_, configMapRef: {name: settings}}]
    volumeMounts:
    - {name: work, mountPath: /work}
    - {name: mem, mountPath: /mem}
    - {name: sec, mountPath: /sec}
    - {name: info, mountPath: /info}
EOF
if wait_for 30 ready features; then ok "a pod with an init container, volumes and securityContext runs"; else not_ok "features pod runs"; k describe pod features | note; fi
check_eq "the init container ran first (emptyDir shared)" from-init "$(k exec features -- cat /work/from-init)"
check_eq "runAsUser/runAsGroup" "1000 3000" "$(k exec features -- sh -c 'echo $(id -u) $(id -g)')"
check "readOnlyRootFilesystem refuses writes" eval "! k exec features -- touch /newfile"
check_eq "memory limit is the cgroup's" 67108864 "$(k exec features -- cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
check_eq "cpu limit is the cgroup's quota" 50000 "$(k exec features -- cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"
check_eq "env from configMap, secret, fieldRef, \$(VAR), envFrom prefix" \
	"second s3cret features features-x second" \
	"$(k exec features -- sh -c 'echo $GREETING $PASSWORD $MY_NAME $COMBINED $CFG_greeting')"
check_eq "env status.podIP" "$(jp features '{.status.podIP}')" "$(k exec features -- sh -c 'echo $MY_IP')"
check_eq "secret item with its mode" "s3cret 444" "$(k exec features -- sh -c 'cat /sec/pw; echo " $(stat -L -c %a /sec/pw)"' | tr -d '\n')"
check_eq "downwardAPI labels" 'app="feat"
tier="test"' "$(k exec features -- cat /info/labels)"
check "emptyDir medium Memory is a tmpfs" eval "k exec features -- grep -q ' /mem tmpfs ' /proc/mounts"

# A claim bound to a hostPath PersistentVolume; tcpSocket and startup probes;
# capabilities dropped.
mkdir -p "$TMP/pv"
echo from-the-pv >"$TMP/pv/hello"
cat <<EOF | apply
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-e2e}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: $TMP/pv, type: Directory}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  volumeName: pv-e2e
  storageClassName: ""
---
apiVersion: v1
kind: Pod
metadata: {name: storage}
spec:
  volumes: [{name: data, persistentVolumeClaim: {claimName: claim}}]
  containers:
  - name: main
    image: $IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "sleep 1; exec nc -ll -p 9000 -e cat"]
    securityContext: {capabilities: {drop: [ALL]}}
    volumeMounts: [{name: data, mountPath: /data}]
    startupProbe:
      exec: {command: ["test", "-f", "/data/hello"]}
      periodSeconds: 1
    readinessProbe:
      tcpSocket: {port: 9000}
      periodSeconds: 1
EOF
if wait_for 30 ready storage; then ok "startup then tcpSocket readiness make the pod Ready"; else not_ok "startup/tcpSocket probes"; k describe pod storage | note; fi
check_eq "a PVC bound to a hostPath PV is mounted" from-the-pv "$(k exec storage -- cat /data/hello)"
check_eq "capabilities drop ALL leaves none" 0000000000000000 \
	"$(k exec storage -- awk '/^CapEff/ {print $2}' /proc/1/status)"
check "the default capability set is not empty" eval \
	"[ \"\$(k exec hello -- awk '/^CapEff/ {print \$2}' /proc/1/status)\" != 0000000000000000 ]"

# restartPolicy decides the phase of pods whose containers end.
for case in "once-ok Never 0" "once-fail Never 1" "onfailure OnFailure 0"; do
	set -- $case
	cat <<EOF | apply
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  restartPolicy: $2
  containers: [{name: main, image: $IMAGE, imagePullPolicy: Never, command: ["sh", "-c", "exit $3"]}]
EOF
done
phase_is() { [ "$(jp "$1" '{.status.phase}')" = "$2" ]; }
for case in "once-ok Succeeded" "once-fail Failed" "onfailure Succeeded"; do
	set -- $case
	if wait_for 30 phase_is "$1" "$2"; then ok "pod $1 ends $2"; else not_ok "pod $1 ends $2 (got $(jp "$1" '{.status.phase}'))"; fi
done
check_eq "a failed container reports its exit code" 1 "$(jp once-fail '{.status.containerStatuses[0].state.terminated.exitCode}')"

# ---- bad input ----------------------------------------------------------------

cat <<EOF | apply
apiVersion: v1
kind: Pod
metadata: {name: noimage}
spec:
  containers:
  - {name: main, image: "127.0.0.1:$REG_PORT/nosuch:1", command: ["true"]}
---
apiVersion: v1
kind: Pod
metadata: {name: nocommand}
spec:
  containers:
  - {name: main, image: $IMAGE, imagePullPolicy: Never, command: ["/no/such/command"]}
---
apiVersion: v1
kind: Pod
metadata: {name: badhostpath}
spec:
  volumes:
  - {name: v, hostPath: {path: $TMP/not-a-dir-file, type: Directory}}
  containers:
  - name: main
    image: $IMAGE
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    volumeMounts: [{name: v, mountPath: /v}]
EOF
touch "$TMP/not-a-dir-file"
waiting_reason() { jp "$1" '{.status.containerStatuses[0].state.waiting.reason}'; }
pull_failed() { case "$(waiting_reason noimage)" in ErrImagePull | ImagePullBackOff) return 0 ;; esac; return 1; }
if wait_for 30 pull_failed; then ok "an image that does not exist: ErrImagePull/ImagePullBackOff ($(waiting_reason noimage))"; else not_ok "missing image shows ErrImagePull (got '$(waiting_reason noimage)')"; fi
check "the failed pull is a Failed event" eval \
	"k get events --field-selector involvedObject.name=noimage,reason=Failed -o name | grep -q ."
start_failed() { [ "$(jp nocommand '{.status.containerStatuses[0].lastState.terminated.reason}')" = StartError ]; }
if wait_for 30 start_failed; then ok "a command that is not there: StartError, then CrashLoopBackOff"; else not_ok "missing command shows StartError"; k get pod nocommand -o yaml | note; fi
check "the start failure names the command" eval \
	"k get pod nocommand -o jsonpath='{.status.containerStatuses[0].lastState.terminated.message}' | grep -q /no/such/command"
mount_failed() { k get events --field-selector involvedObject.name=badhostpath,reason=FailedMount -o jsonpath='{.items[*].message}' | grep -q 'not a directory'; }
if wait_for 30 mount_failed; then ok "a hostPath of the wrong type: FailedMount event"; else not_ok "wrong hostPath type gives FailedMount"; fi
check_eq "... and the pod waits in ContainerCreating" ContainerCreating "$(waiting_reason badhostpath)"
check "the agent keeps serving the other pods" k exec hello -- true

# ---- pulling from a registry -------------------------------------------------------

mkdir -p "$TMP/registry"
cat >"$TMP/registry.yml" <<EOF
version: 0.1
storage: {filesystem: {rootdirectory: $TMP/registry}}
http: {addr: 127.0.0.1:$REG_PORT}
log: {level: error}
EOF
docker-registry serve "$TMP/registry.yml" >"$TMP/registry.log" 2>&1 &
REG_PID=$!
bg_track "$REG_PID"
wait_for 20 listening "$REG_PORT"
check "image pushed to a local docker-registry with skopeo" timeout 60 skopeo copy -q \
	--dest-tls-verify=false "docker-archive:$TMP/busybox.tar" "docker://127.0.0.1:$REG_PORT/busybox:1.35"
cat <<EOF | apply
apiVersion: v1
kind: Pod
metadata: {name: pulled}
spec:
  containers:
  - {name: main, image: "127.0.0.1:$REG_PORT/busybox:1.35", command: ["sh", "-c", "echo pulled-ok; sleep 3600"]}
EOF
if wait_for 60 ready pulled; then ok "a pod whose image is pulled from the registry runs"; else not_ok "pod with a pulled image runs"; k describe pod pulled | note; fi
check "the pull is a Pulled event" eval \
	"k get events --field-selector involvedObject.name=pulled,reason=Pulled -o jsonpath='{.items[*].message}' | grep -q 'Successfully pulled'"

# ---- a ReplicaSet (the controllers run in this mkd too) ---------------------------

cat <<EOF | apply
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{name: main, image: $IMAGE, imagePullPolicy: Never, command: ["sleep", "3600"]}]
EOF
rs_ready() { [ "$(k get rs web -o 'jsonpath={.status.readyReplicas}')" = "$1" ] && [ "$(k get pods -l app=web --no-headers 2>/dev/null | grep -c Running)" = "$1" ]; }
if wait_for 60 rs_ready 3; then ok "a ReplicaSet of 3 gets 3 Running pods and readyReplicas 3"; else not_ok "ReplicaSet of 3 runs"; k get rs,pods | note; fi
check_eq "its pods name it as their controller" "ReplicaSet web true" \
	"$(k get pods -l app=web -o 'jsonpath={.items[0].metadata.ownerReferences[0].kind} {.items[0].metadata.ownerReferences[0].name} {.items[0].metadata.ownerReferences[0].controller}')"
victim=$(k get pods -l app=web -o 'jsonpath={.items[0].metadata.name}')
k delete pod "$victim" --wait=false >/dev/null
replaced() { rs_ready 3 && ! k get pods -l app=web -o name | grep -q "/$victim\$"; }
if wait_for 60 replaced; then ok "a deleted pod is replaced"; else not_ok "a deleted pod is replaced"; k get pods -l app=web | note; fi
k scale rs web --replicas=1 >/dev/null
scaled_down() { [ "$(k get pods -l app=web --no-headers 2>/dev/null | wc -l)" = 1 ]; }
if wait_for 60 scaled_down; then ok "scaling to 1 removes two pods"; else not_ok "scaling to 1 removes two pods"; k get pods -l app=web | note; fi
out=$(k apply -f - 2>&1 <<EOF
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: mismatch}
spec:
  selector: {matchLabels: {app: one}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: main, image: $IMAGE}]}
EOF
)
case "$out" in *"selector\` does not match template \`labels\`"*) ok "a selector that does not match the template is refused" ;; *) not_ok "mismatched selector refused"; note "$out" ;; esac
k delete rs web --wait=false >/dev/null
gone() { [ "$(k get pods -l app=web --no-headers 2>/dev/null | wc -l)" = 0 ]; }
if wait_for 60 gone; then ok "deleting the ReplicaSet deletes its pods (ownerReferences)"; else not_ok "ReplicaSet deletion takes its pods"; fi

# ---- mkd restarts, pods keep running --------------------------------------------------

before=$(jp hello '{.status.containerStatuses[0].restartCount}')
pid=$(runc --root "$DATA/run/runc" state "$uid-main-$before" 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
stop_mkd node TERM 30
check "mkd stops with pods running (exit 0)" test "${MKD_RC[node]}" = 0
check "the container outlives mkd" alive "$pid"
restart_mkd node
wait_ready node 30 && wait_for 20 listening "$(api_port_for "$PORT")"
wait_for 30 node_ready
wait_log node 'adopted container main' 30
check "restarted mkd adopts the running container" log_has node "adopted container main \\($uid-main-$before\\)"
check_eq "... same restartCount" "$before" "$(jp hello '{.status.containerStatuses[0].restartCount}')"
check "... and exec still works" k exec hello -- true

# ---- graceful deletion ----------------------------------------------------------

check "kubectl delete pod waits for the agent to stop it" k delete pod hello --timeout=60s
# The API forgets the pod once the agent has stopped it; the agent then
# removes what is left on disk.
if wait_for 10 eval "! alive $pid"; then ok "its container is gone"; else not_ok "its container is gone"; fi
if wait_for 10 test ! -e "$DATA/pods/$uid"; then ok "its directory is gone"; else not_ok "its directory is gone"; fi
