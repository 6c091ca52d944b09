#!/bin/bash
# The API server judged by the real kubectl (the machine's kubectl 1.32;
# Debian's kubernetes-client when absent): discovery, tables, CRUD, the
# three patch types, watch, delete and wait, against a real mkd over TLS
# with the admin kubeconfig mkd wrote.  Ports 21100-21199 (API +5000).
. "$(dirname "$0")/lib.sh"

pick_port P 21100 21199 || exit 1
API=$(api_port_for "$P")
start_api_mkd a "$P" || exit 1

KCFG=$(data_of a)/credentials/client.config
# A private HOME: kubectl caches discovery under ~/.kube/cache.
export HOME=$TMP/home
mkdir -p "$HOME"
k() { timeout -k 5 60 kubectl --kubeconfig "$KCFG" "$@"; }

# ---- basics ------------------------------------------------------------------

check "kubeconfig points at the API port" grep -q "server: https://127.0.0.1:$API" "$KCFG"
out=$(k version -o json 2>&1)
check_eq "kubectl version sees the server as 1.32" 32 \
	"$(printf '%s' "$out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["minor"])' 2>/dev/null)"
# The default namespaces exist once the API's background work ran.
wait_for 20 k get namespace kube-system
out=$(k get namespaces 2>&1)
check "get namespaces: a table with STATUS and AGE" grep -Eq '^NAME +STATUS +AGE' <<<"$out"
check "get namespaces: default is Active" grep -Eq '^default +Active ' <<<"$out"
out=$(k api-resources 2>&1)
check "api-resources lists deployments with short name deploy" \
	grep -Eq '^deployments +deploy +apps/v1 +true +Deployment' <<<"$out"
check "api-resources lists customresourcedefinitions" \
	grep -q 'customresourcedefinitions' <<<"$out"

# ---- create generators (protobuf bodies) ----------------------------------------

check "create namespace" k create namespace team-a
check "create configmap --from-literal" \
	k -n team-a create configmap settings --from-literal=color=blue --from-literal=size=3
check_eq "configmap data stored" "blue/3" \
	"$(k -n team-a get configmap settings -o jsonpath='{.data.color}/{.data.size}')"
check "create secret generic" k -n team-a create secret generic creds --from-literal=password=s3cret
check_eq "secret data is base64" "czNjcmV0" \
	"$(k -n team-a get secret creds -o jsonpath='{.data.password}')"
check "create deployment" k -n team-a create deployment web --image=nginx:1.27 --replicas=2
out=$(k -n team-a get deployment web 2>&1)
check "get deployment: READY UP-TO-DATE AVAILABLE columns" \
	grep -Eq '^NAME +READY +UP-TO-DATE +AVAILABLE +AGE' <<<"$out"
out=$(k -n team-a get deploy -o wide 2>&1)
check "get deploy -o wide: CONTAINERS IMAGES SELECTOR" \
	grep -Eq 'CONTAINERS +IMAGES +SELECTOR' <<<"$out"
check "get deploy -o wide: image and selector cells" grep -Eq 'nginx +nginx:1.27 +app=web' <<<"$out"

# ---- apply ----------------------------------------------------------------------

cat >"$TMP/app.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  namespace: team-a
  labels: {tier: backend}
data:
  mode: fast
  retries: "3"
YAML
check "apply -f creates" k apply -f "$TMP/app.yaml"
sed -i 's/mode: fast/mode: safe/; /retries/d' "$TMP/app.yaml"
out=$(k apply -f "$TMP/app.yaml" 2>&1)
check "re-apply a changed manifest: configured" grep -q 'configmap/app configured' <<<"$out"
check_eq "re-apply: changed key updated, removed key gone" "safe/" \
	"$(k -n team-a get cm app -o jsonpath='{.data.mode}/{.data.retries}')"
out=$(k apply -f "$TMP/app.yaml" 2>&1)
check "re-apply unchanged: unchanged" grep -q 'configmap/app unchanged' <<<"$out"

# ---- get variants --------------------------------------------------------------

out=$(k get cm -A 2>&1)
check "get -A has a NAMESPACE column with the namespace" grep -Eq '^team-a +app +1 ' <<<"$out"
out=$(k -n team-a get cm --show-labels 2>&1)
check "get --show-labels" grep -Eq '^app .*tier=backend' <<<"$out"
out=$(k -n team-a get cm app -o yaml 2>&1)
check "get -o yaml has server-set metadata" grep -q 'uid: ' <<<"$out"
check "get -o yaml has a resourceVersion" grep -Eq 'resourceVersion: "[0-9]+"' <<<"$out"
out=$(k -n team-a get cm -l tier=backend -o name 2>&1)
check_eq "label selector" "configmap/app" "$out"
out=$(k -n team-a describe configmap app 2>&1)
check "describe configmap" grep -q '^Name: *app' <<<"$out"
out=$(k -n team-a describe deployment web 2>&1)
check "describe deployment shows the selector" grep -Eq '^Selector: *app=web' <<<"$out"

# ---- label, annotate, scale, patch -----------------------------------------------

check "label" k -n team-a label cm app owner=ops
check_eq "label stored" ops "$(k -n team-a get cm app -o jsonpath='{.metadata.labels.owner}')"
check "label removal" k -n team-a label cm app owner-
check_eq "label removed" "" "$(k -n team-a get cm app -o jsonpath='{.metadata.labels.owner}')"
check "annotate" k -n team-a annotate cm app note=hello
check_eq "annotation stored" hello "$(k -n team-a get cm app -o jsonpath='{.metadata.annotations.note}')"
check "scale" k -n team-a scale deployment web --replicas=5
check_eq "scale stored in spec.replicas" 5 "$(k -n team-a get deploy web -o jsonpath='{.spec.replicas}')"
gen=$(k -n team-a get deploy web -o jsonpath='{.metadata.generation}')
check_eq "spec change bumped generation" 2 "$gen"
check "patch (strategic, default)" k -n team-a patch deployment web \
	-p '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}'
check_eq "strategic patch merged the container by name" "nginx:1.28" \
	"$(k -n team-a get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')"
check "patch --type=merge" k -n team-a patch cm app --type=merge -p '{"data":{"extra":"1"}}'
check_eq "merge patch stored" 1 "$(k -n team-a get cm app -o jsonpath='{.data.extra}')"
check "patch --type=json" k -n team-a patch cm app --type=json \
	-p '[{"op":"remove","path":"/data/extra"},{"op":"add","path":"/data/j","value":"2"}]'
check_eq "json patch applied" "/2" "$(k -n team-a get cm app -o jsonpath='{.data.extra}/{.data.j}')"

# ---- pods (stored; they run once the node agent lands) -------------------------

check "run a pod" k -n team-a run box --image=busybox:1.36 --labels=app=box -- sleep 3600
out=$(k -n team-a get pods -o wide 2>&1)
check "get pods -o wide: the usual columns" \
	grep -Eq '^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES' <<<"$out"
check "get pods -o wide: a pending pod's row" grep -Eq '^box +0/1 +Pending +0 ' <<<"$out"
out=$(k -n team-a get all 2>&1)
check_eq "get all lists pods and deployments" "1 1" \
	"$(grep -c '^pod/box ' <<<"$out") $(grep -c '^deployment.apps/web ' <<<"$out")"
out=$(k -n team-a describe pod box 2>&1)
check "describe pod" grep -Eq '^Image: +busybox:1.36|^ +Image: +busybox:1.36' <<<"$out"

# ---- watch ------------------------------------------------------------------------

k -n team-a get cm -w >"$TMP/watch.out" 2>&1 &
WPID=$!
bg_track "$WPID"
wait_for 10 grep -q '^app ' "$TMP/watch.out"
k -n team-a create configmap late --from-literal=a=b >/dev/null 2>&1
if wait_for 10 grep -q '^late ' "$TMP/watch.out"; then
	ok "get -w shows an object created after it started"
else
	not_ok "get -w shows an object created after it started"
	note <"$TMP/watch.out"
fi
stop_bg "$WPID"

# ---- delete and wait ---------------------------------------------------------------

check "delete waits for the object to go" k -n team-a delete configmap late
check "deleted object is gone" eval "! k -n team-a get cm late >/dev/null 2>&1"
# A finalizer holds the object after its delete, so `kubectl wait` is
# certainly waiting when the object really goes: removing the finalizer.
check "add a finalizer" k -n team-a patch cm app --type=merge \
	-p '{"metadata":{"finalizers":["example.com/hold"]}}'
check "delete with a finalizer returns at once" k -n team-a delete cm app --wait=false
check "held object has a deletionTimestamp" \
	eval "[ -n \"\$(k -n team-a get cm app -o jsonpath='{.metadata.deletionTimestamp}')\" ]"
k -n team-a wait --for=delete configmap/app --timeout=30s >"$TMP/wait.out" 2>&1 &
WAITPID=$!
bg_track "$WAITPID"
check "removing the last finalizer deletes it" k -n team-a patch cm app --type=json \
	-p '[{"op":"remove","path":"/metadata/finalizers"}]'
if wait "$WAITPID"; then ok "wait --for=delete returns once deleted"; else not_ok "wait --for=delete returns once deleted"; note <"$TMP/wait.out"; fi
check "the object is gone" eval "! k -n team-a get cm app >/dev/null 2>&1"
check "delete namespace empties and removes it" k delete namespace team-a --timeout=60s
check "namespace gone" eval "! k get namespace team-a >/dev/null 2>&1"

# ---- custom resources ---------------------------------------------------------------

cat >"$TMP/crd.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
YAML
check "apply a CRD" k apply -f "$TMP/crd.yaml"
check "wait --for condition=established" \
	k wait --for condition=established crd/widgets.example.com --timeout=30s
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n' >"$TMP/w1.yaml"
check "apply a custom resource" k apply -f "$TMP/w1.yaml"
out=$(k get wd 2>&1)
check "get by short name shows the printer column" grep -Eq '^w1 +[0-9a-z]+ +3$' <<<"$out"
sed -i 's/size: 3/size: 4/' "$TMP/w1.yaml"
check "re-apply a custom resource (merge patch)" k apply -f "$TMP/w1.yaml"
check_eq "custom resource updated, generation bumped" "4 2" \
	"$(k get widget w1 -o jsonpath='{.spec.size} {.metadata.generation}')"
check "delete the custom resource" k delete wd w1
check "delete the CRD" k delete crd widgets.example.com
check "the resource is gone from discovery" eval "! k get widgets >/dev/null 2>&1"
