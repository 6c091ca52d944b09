#!/bin/bash
# Services in the API: cluster IPs and node ports allocated (and refused,
# and given back), the `kubernetes` Service and its endpoints, and the
# Endpoints and EndpointSlice controllers following real pods (runc, CNI
# bridge) as they become ready, terminate and go.  Driven with kubectl
# 1.32, curl and python3-kubernetes.  Ports 21800-21899 (API +5000).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/node_lib.sh"
trap 'node_cleanup; e2e_cleanup' EXIT

pick_port PORT 21800 21899 || exit 1
API=$(api_port_for "$PORT")
NODE=svc-node
node_setup "$NODE" "$PORT" || exit 1
ok "node $NODE runs pods and controllers"

D=$(data_of "$NODE")
URL=https://127.0.0.1:$API
# curl with the admin certificate: the body, then the HTTP code on its own line.
req() { curl -sS --max-time 20 --cacert "$D/certs/ca.crt" --cert "$D/certs/admin.crt" \
	--key "$D/certs/admin.key" -w '\n%{http_code}' "$@"; }
post_svc() { req -X POST -H 'Content-Type: application/json' -d "$1" "$URL/api/v1/namespaces/default/services"; }
svc() { printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s"},"spec":{%s}}' "$1" "$2"; }
sget() { k get svc "$1" -o "jsonpath=$2" 2>/dev/null; }
in_range() { case "$1" in 10.152.183.*) [ "${1##*.}" -ge 1 ] && [ "${1##*.}" -le 254 ] ;; *) false ;; esac; }
# records PREFIX: the allocation records the store holds.
records() { sc "127.0.0.1:$PORT" list "/registry/ranges/$1/" 2>/dev/null | awk '{print $1}' | sed 's|.*/||' | sort; }

# ---- the kubernetes Service --------------------------------------------------------

kube_ep() { k get endpoints kubernetes -o 'jsonpath={.subsets[0].addresses[*].ip}:{.subsets[0].ports[0].port}' 2>/dev/null; }
wait_for 20 eval '[ "$(kube_ep)" = "127.0.0.1:$API" ]'
check_eq "the kubernetes Service has the range's first address" 10.152.183.1 "$(sget kubernetes '{.spec.clusterIP}')"
check_eq "the kubernetes Service: port 443 named https, targetPort the API port" "https/443/TCP/$API" \
	"$(sget kubernetes '{.spec.ports[0].name}/{.spec.ports[0].port}/{.spec.ports[0].protocol}/{.spec.ports[0].targetPort}')"
check_eq "its Endpoints list this API server" "127.0.0.1:$API" "$(kube_ep)"
check_eq "its EndpointSlice too, labelled, with no managed-by" "127.0.0.1:$API:kubernetes:" \
	"$(k get endpointslice kubernetes -o 'jsonpath={.endpoints[0].addresses[0]}:{.ports[0].port}:{.metadata.labels.kubernetes\.io/service-name}:{.metadata.labels.endpointslice\.kubernetes\.io/managed-by}')"

# ---- cluster IPs -------------------------------------------------------------------------

k create service clusterip one --tcp=80:8080 >/dev/null
k create deployment two --image="$IMAGE" --replicas=0 >/dev/null
k expose deployment two --port=80 --target-port=8080 >/dev/null
ip1=$(sget one '{.spec.clusterIP}') ip2=$(sget two '{.spec.clusterIP}')
check "kubectl create service: an address in 10.152.183.0/24 ($ip1)" in_range "$ip1"
check "kubectl expose deployment: another address ($ip2)" eval "in_range '$ip2' && [ '$ip1' != '$ip2' ]"
check_eq "clusterIPs, ipFamilies, ipFamilyPolicy, internalTrafficPolicy filled" "$ip1 IPv4 SingleStack Cluster" \
	"$(sget one '{.spec.clusterIPs[0]} {.spec.ipFamilies[0]} {.spec.ipFamilyPolicy} {.spec.internalTrafficPolicy}')"
# 10.152.183.9 is in the static band: never handed out dynamically.
check "an explicit free address is honoured" k create service clusterip fixed --tcp=80 --clusterip=10.152.183.9
check_eq "... and kept" 10.152.183.9 "$(sget fixed '{.spec.clusterIP}')"
out=$(post_svc "$(svc dup '"clusterIP":"10.152.183.9","ports":[{"port":80}]')")
check_eq "a taken address: 422" 422 "$(tail -n1 <<<"$out")"
check "... saying it is allocated" grep -q 'spec.clusterIPs\[0\]: Invalid value: \\"10.152.183.9\\": failed to allocate IP 10.152.183.9: provided IP is already allocated' <<<"$out"
out=$(post_svc "$(svc far '"clusterIP":"10.0.0.1","ports":[{"port":80}]')")
check_eq "an address out of range: 422" 422 "$(tail -n1 <<<"$out")"
check "... with upstream's wording" grep -q 'the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.152.183.0/24' <<<"$out"
check_eq "refused services are not stored" "" "$(k get svc dup far -o name 2>/dev/null)"
for bad in 0 70000; do
	out=$(post_svc "$(svc badport "\"ports\":[{\"port\":$bad}]")")
	check_eq "port $bad: 422" 422 "$(tail -n1 <<<"$out")"
	check "port $bad: must be between 1 and 65535, inclusive" \
		grep -q "spec.ports\[0\].port: Invalid value: $bad: must be between 1 and 65535, inclusive" <<<"$out"
done
k create service clusterip hl --clusterip=None >/dev/null
check_eq "headless: clusterIP None" "None None" "$(sget hl '{.spec.clusterIP} {.spec.clusterIPs[0]}')"

out=$(k patch svc one -p '{"spec":{"clusterIP":"10.152.183.99"}}' 2>&1)
check "clusterIP may not change once set" grep -q 'spec.clusterIPs\[0\]: Invalid value: \[\]string{"10.152.183.99"}: may not change once set' <<<"$out"
check_eq "... and did not" "$ip1" "$(sget one '{.spec.clusterIP}')"
cat >"$TMP/applied.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: applied, labels: {v: "1"}}
spec:
  selector: {app: nothing}
  ports: [{name: http, port: 80, targetPort: 8080}]
EOF
k apply -f "$TMP/applied.yaml" >/dev/null
ipa=$(sget applied '{.spec.clusterIP}')
check "kubectl apply of the same manifest twice" k apply -f "$TMP/applied.yaml"
sed -i 's/v: "1"/v: "2"/' "$TMP/applied.yaml"
check "kubectl apply of a changed manifest without clusterIP" k apply -f "$TMP/applied.yaml"
check "kubectl replace of it" k replace -f "$TMP/applied.yaml"
check_eq "the address stays through apply and replace" "$ipa/2" "$(sget applied '{.spec.clusterIP}/{.metadata.labels.v}')"

check "delete a service" k delete svc fixed
check "its address can be taken again at once" k create service clusterip again --tcp=80 --clusterip=10.152.183.9

# ---- node ports -------------------------------------------------------------------------

k create service nodeport np --tcp=80:8080 >/dev/null
np=$(sget np '{.spec.ports[0].nodePort}')
check "NodePort: a node port in 30000-32767 ($np)" eval "[ '$np' -ge 30000 ] && [ '$np' -le 32767 ]"
check_eq "NodePort: externalTrafficPolicy defaults to Cluster" Cluster "$(sget np '{.spec.externalTrafficPolicy}')"
out=$(k create service nodeport np2 --tcp=80:8080 --node-port="$np" 2>&1)
check "an explicit node port in use is refused" grep -q "spec.ports\[0\].nodePort: Invalid value: $np: provided port is already allocated" <<<"$out"
check "NodePort -> ClusterIP" k patch svc np -p '{"spec":{"type":"ClusterIP"}}'
check_eq "... drops the node port" "" "$(sget np '{.spec.ports[0].nodePort}')"
check "... and gives it back" k create service nodeport np3 --tcp=80:8080 --node-port="$np"

# ---- 20 at once ------------------------------------------------------------------------------

pids=()
for i in $(seq 1 20); do
	post_svc "$(svc "par$i" '"ports":[{"port":80}]')" >"$TMP/par$i.out" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
created=$(for i in $(seq 1 20); do tail -n1 "$TMP/par$i.out"; echo; done | grep -c '^201$')
check_eq "20 services created in parallel" 20 "$created"
ips=$(k get svc -o jsonpath='{range .items[*]}{.metadata.name} {.spec.clusterIP}{"\n"}{end}' | awk '$1 ~ /^par/ {print $2}')
check_eq "... with 20 distinct addresses in range" 20 "$(sort -u <<<"$ips" | while read -r a; do in_range "$a" && echo "$a"; done | wc -l)"
want=$(k get svc -A -o jsonpath='{range .items[*]}{.spec.clusterIP}{"\n"}{end}' | grep -v '^None$' | grep . | sort)
check_eq "one allocation record per service address, no more" "$want" "$(records serviceips)"
check_eq "one node port record per node port" "$(k get svc -A -o jsonpath='{range .items[*]}{.spec.ports[*].nodePort}{"\n"}{end}' | grep . | sort)" "$(records servicenodeports)"

# ---- endpoints follow pods -------------------------------------------------------------------

pod() { # NAME COMMAND
	cat <<EOF | k apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 20
  containers:
  - name: web
    image: $IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "$2"]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
EOF
}
cat <<EOF | k apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata: {name: web, labels: {tier: front}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: nosel}
spec:
  ports: [{port: 80}]
EOF
pod web-a "mkdir -p /www; exec httpd -f -p 8080 -h /www"
# web-b ignores SIGTERM (so it stays terminating for its grace period).
pod web-b "trap '' TERM; mkdir -p /www; httpd -p 8080 -h /www; exec sleep 3600"
running() { [ "$(jp "$1" '{.status.phase}')" = Running ] && [ -n "$(jp "$1" '{.status.podIP}')" ]; }
wait_for 40 running web-a && wait_for 20 running web-b
ipa=$(jp web-a '{.status.podIP}') ipb=$(jp web-b '{.status.podIP}')
ep() { k get endpoints web -o "jsonpath=$1" 2>/dev/null; }
sl() { k get endpointslice -l kubernetes.io/service-name=web -o "jsonpath=$1" 2>/dev/null; }
sorted() { tr ' ' '\n' | grep . | sort | tr '\n' ' '; }
both=$(printf '%s\n%s\n' "$ipa" "$ipb" | sort | tr '\n' ' ')
wait_for 20 eval '[ "$(ep "{.subsets[0].notReadyAddresses[*].ip}" | sorted)" = "$both" ]'
check_eq "not-ready pods are in notReadyAddresses" "$both" "$(ep '{.subsets[0].notReadyAddresses[*].ip}' | sorted)"
check_eq "the named targetPort resolves to the container port" "http/8080/TCP" "$(ep '{.subsets[0].ports[0].name}/{.subsets[0].ports[0].port}/{.subsets[0].ports[0].protocol}')"
check_eq "Endpoints carry the Service's labels and a trigger time" "front:yes" \
	"$(ep '{.metadata.labels.tier}'):$([ -n "$(ep '{.metadata.annotations.endpoints\.kubernetes\.io/last-change-trigger-time}')" ] && echo yes)"
check_eq "targetRef and nodeName" "Pod/$NODE" "$(ep '{.subsets[0].notReadyAddresses[0].targetRef.kind}/{.subsets[0].notReadyAddresses[0].nodeName}')"
check_eq "the EndpointSlice lists both, not ready" "false false" "$(sl '{.items[0].endpoints[*].conditions.ready}')"
check_eq "slice: IPv4, generateName web-, managed by the controller, owned by the Service" \
	"IPv4 web- endpointslice-controller.k8s.io Service/web/true" \
	"$(sl '{.items[0].addressType} {.items[0].metadata.generateName} {.items[0].metadata.labels.endpointslice\.kubernetes\.io/managed-by} {.items[0].metadata.ownerReferences[0].kind}/{.items[0].metadata.ownerReferences[0].name}/{.items[0].metadata.ownerReferences[0].controller}')"
check_eq "slice ports: name, port, protocol" "http 8080 TCP" "$(sl '{.items[0].ports[0].name} {.items[0].ports[0].port} {.items[0].ports[0].protocol}')"
check_eq "slice endpoints name their node and pod" "$NODE Pod" "$(sl '{.items[0].endpoints[0].nodeName} {.items[0].endpoints[0].targetRef.kind}')"

k exec web-a -- touch /tmp/ready
wait_for 20 eval '[ "$(ep "{.subsets[0].addresses[*].ip}")" = "$ipa" ]'
check_eq "a pod turning ready moves to addresses" "$ipa|$ipb" "$(ep '{.subsets[0].addresses[*].ip}|{.subsets[0].notReadyAddresses[*].ip}')"
ready_in_slice() { sl "{.items[0].endpoints[?(@.addresses[0]==\"$ipa\")].conditions.ready}"; }
wait_for 20 eval '[ "$(ready_in_slice)" = true ]'
check_eq "... and is ready (and serving) in the slice" "true true" \
	"$(sl "{.items[0].endpoints[?(@.addresses[0]==\"$ipa\")].conditions.ready} {.items[0].endpoints[?(@.addresses[0]==\"$ipa\")].conditions.serving}")"
check_eq "the headless Service gets endpoints too, labelled headless" "$ipa:" \
	"$(k get endpoints web-headless -o 'jsonpath={.subsets[0].addresses[*].ip}:{.metadata.labels.service\.kubernetes\.io/headless}')"
check "... and a slice" eval "[ -n \"\$(k get endpointslice -l kubernetes.io/service-name=web-headless -o name)\" ]"
check "a Service without a selector gets no Endpoints" eval "! k get endpoints nosel >/dev/null 2>&1"
slice_name=$(sl '{.items[0].metadata.name}') slice_rv=$(sl '{.items[0].metadata.resourceVersion}')

k delete pod web-b --wait=false >/dev/null
term() { sl "{.items[0].endpoints[?(@.addresses[0]==\"$ipb\")].conditions.terminating}"; }
wait_for 20 eval '[ "$(term)" = true ]'
check_eq "a terminating pod: terminating, not ready in the slice" "true false" \
	"$(sl "{.items[0].endpoints[?(@.addresses[0]==\"$ipb\")].conditions.terminating} {.items[0].endpoints[?(@.addresses[0]==\"$ipb\")].conditions.ready}")"
check_eq "... and gone from the Endpoints" "$ipa|" "$(ep '{.subsets[0].addresses[*].ip}|{.subsets[0].notReadyAddresses[*].ip}')"
k delete pod web-b --grace-period=0 --force >/dev/null 2>&1
wait_for 20 eval '[ "$(sl "{.items[0].endpoints[*].addresses[0]}")" = "$ipa" ]'
check_eq "a deleted pod leaves the slice" "$ipa" "$(sl '{.items[0].endpoints[*].addresses[0]}')"
check_eq "the slice was updated in place" "$slice_name 1" "$(sl '{.items[0].metadata.name}') $(sl '{.items[*].metadata.name}' | wc -w)"
rv_now=$(sl '{.items[0].metadata.resourceVersion}')
check "... with new resourceVersions ($slice_rv -> $rv_now)" [ "$rv_now" -gt "$slice_rv" ]
# A pod event that changes nothing the slice says: nothing is written.
k annotate pod web-a touched=yes >/dev/null
sleep_until=$(($(now_ms) + 1500))
while [ "$(now_ms)" -lt "$sleep_until" ]; do sleep 0.2; done
check_eq "no churn when nothing changed" "$rv_now" "$(sl '{.items[0].metadata.resourceVersion}')"

out=$(timeout -k 5 60 $PY - "$KCFG" <<'EOF' 2>&1
import sys
from kubernetes import client, config
config.load_kube_config(sys.argv[1])
slices = client.DiscoveryV1Api().list_endpoint_slice_for_all_namespaces().items
print(sorted(s.metadata.labels.get("kubernetes.io/service-name", "") for s in slices))
EOF
)
check "python3-kubernetes lists the EndpointSlices" grep -q "'kubernetes'.*'web'" <<<"$out" || note "$out"

k delete svc web >/dev/null
gone() { ! k get endpoints web >/dev/null 2>&1 && [ -z "$(k get endpointslice -l kubernetes.io/service-name=web -o name 2>/dev/null)" ]; }
check "a deleted Service takes its Endpoints and slices with it" wait_for 20 gone
