#!/bin/bash
# The API server judged by Debian's python3-kubernetes (22.6): list, create,
# watch, patch and delete on core and apps objects, with the admin
# kubeconfig (client certificate) and with a bearer token.
# Ports 21200-21299 (API +5000).
. "$(dirname "$0")/lib.sh"

pick_port P 21200 21299 || exit 1
API=$(api_port_for "$P")
start_api_mkd a "$P" || exit 1
KCFG=$(data_of a)/credentials/client.config
TOKEN=$(head -n1 "$(data_of a)/credentials/known_tokens.csv" | cut -d, -f1)

# The Python program prints TAP lines; they are counted here.
cat >"$TMP/client.py" <<'PYEOF'
import sys, threading, time
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

kcfg, port, token, ca = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
failures = 0

def result(ok, desc, detail=""):
    global failures
    print(("ok - " if ok else "not ok - ") + "python: " + desc, flush=True)
    if not ok:
        failures += 1
        for line in str(detail).splitlines()[:20]:
            print("# " + line)

def check(desc, fn):
    try:
        v = fn()
        result(v is not False, desc, "" if v is not False else "returned False")
        return v
    except Exception as e:
        result(False, desc, repr(e))
        return None

config.load_kube_config(config_file=kcfg)
core = client.CoreV1Api()
apps = client.AppsV1Api()
ns = "py"

check("create namespace", lambda: core.create_namespace(
    client.V1Namespace(metadata=client.V1ObjectMeta(name=ns))).metadata.name == ns)
check("list namespaces includes it",
      lambda: ns in [n.metadata.name for n in core.list_namespace().items])

# Watch in a thread from the revision of a listing taken before the writes,
# so that it sees every one of them whenever the thread gets going.
start_rv = core.list_namespaced_config_map(ns).metadata.resource_version
seen, done = [], threading.Event()
def watcher():
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, namespace=ns, timeout_seconds=20,
                       resource_version=start_rv):
        seen.append((ev["type"], ev["object"].metadata.name))
        if ("DELETED", "c1") in seen:
            w.stop()
            break
    done.set()
t = threading.Thread(target=watcher, daemon=True)
t.start()

cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c1", labels={"app": "py"}),
                        data={"k": "v"})
created = check("create configmap (body without apiVersion/kind)",
                lambda: core.create_namespaced_config_map(ns, cm))
check("created object has uid and resourceVersion",
      lambda: bool(created.metadata.uid) and int(created.metadata.resource_version) > 0)
check("read configmap", lambda: core.read_namespaced_config_map("c1", ns).data == {"k": "v"})
check("list with labelSelector",
      lambda: [c.metadata.name for c in
               core.list_namespaced_config_map(ns, label_selector="app=py").items] == ["c1"])
check("strategic merge patch (dict body)",
      lambda: core.patch_namespaced_config_map("c1", ns, {"data": {"k2": "v2"}}).data ==
      {"k": "v", "k2": "v2"})
check("json patch (list body)",
      lambda: core.patch_namespaced_config_map(
          "c1", ns, [{"op": "replace", "path": "/data/k", "value": "w"}]).data["k"] == "w")
try:
    core.create_namespaced_config_map(ns, cm)
    result(False, "duplicate create is refused")
except ApiException as e:
    result(e.status == 409 and "AlreadyExists" in e.body, "duplicate create gives 409 AlreadyExists", e.body)
stale = core.read_namespaced_config_map("c1", ns)
stale.metadata.resource_version = "1"
try:
    core.replace_namespaced_config_map("c1", ns, stale)
    result(False, "update with a stale resourceVersion is refused")
except ApiException as e:
    result(e.status == 409 and "Conflict" in e.body, "update with a stale resourceVersion gives 409", e.body)
check("delete configmap", lambda: core.delete_namespaced_config_map("c1", ns) is not None)
done.wait(15)
check("watch saw ADDED, MODIFIED and DELETED",
      lambda: ("ADDED", "c1") in seen and ("MODIFIED", "c1") in seen and ("DELETED", "c1") in seen
      or print("# seen:", seen) or False)

dep = client.V1Deployment(
    metadata=client.V1ObjectMeta(name="web"),
    spec=client.V1DeploymentSpec(
        replicas=1,
        selector=client.V1LabelSelector(match_labels={"app": "web"}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "web"}),
            spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="nginx")]))))
check("create deployment", lambda: apps.create_namespaced_deployment(ns, dep).metadata.generation == 1)
check("list deployments", lambda: [d.metadata.name for d in apps.list_namespaced_deployment(ns).items] == ["web"])
check("patch deployment scale subresource",
      lambda: apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}}).spec.replicas == 3)
check("read deployment after scale",
      lambda: apps.read_namespaced_deployment("web", ns).spec.replicas == 3)
check("delete deployment with Foreground propagation",
      lambda: apps.delete_namespaced_deployment(
          "web", ns, body=client.V1DeleteOptions(propagation_policy="Foreground")) is not None)

# A bearer token from known_tokens.csv works too.
tc = client.Configuration()
tc.host = "https://127.0.0.1:%s" % port
tc.ssl_ca_cert = ca
tc.api_key = {"authorization": "Bearer " + token}
tapi = client.CoreV1Api(client.ApiClient(tc))
check("bearer token: list namespaces", lambda: len(tapi.list_namespace().items) > 0)
tc2 = client.Configuration()
tc2.host = tc.host
tc2.ssl_ca_cert = ca
tc2.api_key = {"authorization": "Bearer not-a-token"}
try:
    client.CoreV1Api(client.ApiClient(tc2)).list_namespace()
    result(False, "a wrong token is refused")
except ApiException as e:
    result(e.status == 401, "a wrong token gives 401", e.status)

check("delete namespace", lambda: core.delete_namespace(ns) is not None)
sys.exit(0)
PYEOF
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	"exit 0") ok "python: the client program ran to the end" ;;
	"exit "*) not_ok "python: the client program ran to the end ($line)" ;;
	*) echo "# $line" ;;
	esac
done < <(timeout -k 5 120 $PY "$TMP/client.py" "$KCFG" "$API" "$TOKEN" "$(data_of a)/certs/ca.crt" 2>&1
	echo "exit $?")

