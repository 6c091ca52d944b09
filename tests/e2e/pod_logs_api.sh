#!/bin/bash
# `kubectl logs` (pods/log) and graceful pod deletion, judged by kubectl
# 1.32 against a real mkd without its node agent: the script plays the
# agent, setting pod status with `kubectl patch --subresource=status` and
# writing CRI log files where the agent writes them
# (DATA/logs/pods/<ns>_<pod>_<uid>/<container>/<restartCount>.log).  Pods
# are bound to a node named "elsewhere", which nothing runs.
# Ports 21500-21599 (API +5000).
. "$(dirname "$0")/lib.sh"

pick_port P 21500 21599 || exit 1
start_api_mkd a "$P" || exit 1
DATA=$(data_of a)
KCFG=$DATA/credentials/client.config
API=$(api_port_for "$P")
export HOME=$TMP/home
mkdir -p "$HOME"
k() { timeout -k 5 30 kubectl --kubeconfig "$KCFG" "$@"; }
NSP=/api/v1/namespaces/default

# fails_with DESC MESSAGE CMD...: CMD exits 1 and its stderr is MESSAGE.
fails_with() {
	local desc=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 1 ] && [ "$out" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		note "exit $rc" "expected: $want" "actual:   $out"
	fi
}

# ts SECONDS: a log timestamp SECONDS from now, as the agent writes them.
ts() { date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%S.123456789Z; }
# status POD JSON: what the agent would report.
status() { k patch pod "$1" --subresource=status --type=merge -p "{\"status\":$2}" >/dev/null; }
uid_of() { k get pod "$1" -o jsonpath='{.metadata.uid}'; }
# pod NAME NODE CONTAINER...: a pod bound to NODE ("": unscheduled); "two"
# also has an init container.
pod() {
	local name=$1 node=$2 c
	shift 2
	{
		echo "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$name\"},\"spec\":{"
		[ -n "$node" ] && echo "\"nodeName\":\"$node\","
		[ "$name" = two ] && echo '"initContainers":[{"name":"setup","image":"busybox"}],'
		echo '"containers":['
		local sep=""
		for c in "$@"; do
			echo "$sep{\"name\":\"$c\",\"image\":\"busybox\"}"
			sep=","
		done
		echo ']}}'
	} | k create -f - >/dev/null
}
# running NAME RESTARTS [,MORE]: a running container's status entry.
running() { echo "{\"name\":\"$1\",\"image\":\"busybox\",\"imageID\":\"\",\"ready\":true,\"restartCount\":$2,\"state\":{\"running\":{\"startedAt\":\"2026-01-01T00:00:00Z\"}}${3:-}}"; }
crashed='"lastState":{"terminated":{"exitCode":1,"reason":"Error"}}'

# ---- a pod with two containers (and an init one) --------------------------

pod two elsewhere a b
fails_with "log without container, several containers: 400 naming them all" \
	'Error from server (BadRequest): a container name must be specified for pod two, choose one of: [setup a b]' \
	k get --raw "$NSP/pods/two/log"
fails_with "log of a container without status: kubelet's 'not available'" \
	'Error from server (BadRequest): container "a" in pod "two" is not available' \
	k logs two -c a
status two "{\"phase\":\"Running\",\"containerStatuses\":[$(running a 1 ",$crashed"),
	{\"name\":\"b\",\"image\":\"busybox\",\"imageID\":\"\",\"ready\":false,\"restartCount\":0,
	 \"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}"

LOGS=$DATA/logs/pods/default_two_$(uid_of two)
mkdir -p "$LOGS/a"
T_OLD=$(ts -7200)
T_MID=$(ts -5400)
T_NEW=$(ts -60)
T_LAST=$(ts -30)
# The current instance (restartCount 1): two rotated files and N.log.
printf '%s stdout F old 1\n%s stdout F old 2\n' "$T_OLD" "$T_OLD" >"$LOGS/a/1.log.2"
printf '%s stdout P mid \n%s stderr F mid err\n%s stdout F joined\n' "$T_MID" "$T_MID" "$T_MID" \
	>"$LOGS/a/1.log.1"
printf '%s stdout F new 1\nnot a record\n%s stdout F new 2\n' "$T_NEW" "$T_LAST" >"$LOGS/a/1.log"
# The previous instance.
printf '%s stdout F previous\n' "$T_OLD" >"$LOGS/a/0.log"
ALL=$'old 1\nold 2\nmid err\nmid joined\nnew 1\nnew 2'

check_eq "logs -c a: every rotated file in order, partial records joined, bad records skipped" \
	"$ALL" "$(k logs two -c a)"
check_eq "logs without -c: kubectl defaults to the first container" "$ALL" "$(k logs two 2>/dev/null)"
check_eq "logs --tail=2" $'new 1\nnew 2' "$(k logs two -c a --tail=2)"
check_eq "logs --tail=4 reaches into the rotated files" $'mid err\nmid joined\nnew 1\nnew 2' \
	"$(k logs two -c a --tail=4)"
check_eq "logs --tail=-1 is everything" "$ALL" "$(k logs two -c a --tail=-1)"
check_eq "logs --since=1h" $'new 1\nnew 2' "$(k logs two -c a --since=1h)"
check_eq "logs --since-time" $'mid err\nmid joined\nnew 1\nnew 2' \
	"$(k logs two -c a --since-time="$(ts -6000 | cut -c1-19)Z")"
check_eq "logs --timestamps: kubelet's RFC3339Nano prefix" "$T_NEW new 1"$'\n'"$T_LAST new 2" \
	"$(k logs two -c a --timestamps --tail=2)"
check_eq "logs --previous: the last instance" "previous" "$(k logs two -c a --previous)"
check_eq "logs --limit-bytes=8" $'old 1\nol' "$(k logs two -c a --limit-bytes=8)"
fails_with "logs of a waiting container: kubelet's reason" \
	'Error from server (BadRequest): container "b" in pod "two" is waiting to start: ContainerCreating' \
	k logs two -c b
fails_with "logs --previous without a previous instance" \
	'Error from server (BadRequest): previous terminated container "b" in pod "two" not found' \
	k logs two -c b --previous
fails_with "log of a missing pod: 404" 'Error from server (NotFound): pods "nosuch" not found' \
	k get --raw "$NSP/pods/nosuch/log"
fails_with "negative tailLines: 422 as PodLogOptions validation words it" \
	'The PodLogOptions "two" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0' \
	k get --raw "$NSP/pods/two/log?container=a&tailLines=-1"
fails_with "tailLines that is not a number: 400" \
	'Error from server (BadRequest): invalid tailLines "x": must be an integer' \
	k get --raw "$NSP/pods/two/log?container=a&tailLines=x"
fails_with "sinceTime that is not RFC 3339: 400" \
	'Error from server (BadRequest): invalid sinceTime "noon": must be an RFC 3339 time such as 2006-01-02T15:04:05Z' \
	k get --raw "$NSP/pods/two/log?container=a&sinceTime=noon"
pod lonely "" c
check_eq "log of a pod no node runs: empty, as upstream" "" "$(k logs lonely 2>&1)"

# ---- follow ---------------------------------------------------------------------

k logs -f two -c a --tail=1 >"$TMP/follow.out" 2>"$TMP/follow.err" &
FPID=$!
bg_track $FPID
check "logs -f prints the log so far" wait_for 10 grep -q "new 2" "$TMP/follow.out"
printf '%s stdout F appended\n' "$(ts 0)" >>"$LOGS/a/1.log"
check "logs -f streams a record appended to N.log" wait_for 10 grep -q appended "$TMP/follow.out"
# The writer's rotation: N.log.k -> N.log.k+1, N.log -> N.log.1, a new N.log.
mv "$LOGS/a/1.log.2" "$LOGS/a/1.log.3"
mv "$LOGS/a/1.log.1" "$LOGS/a/1.log.2"
printf '%s stdout F last before rotation\n' "$(ts 0)" >>"$LOGS/a/1.log"
mv "$LOGS/a/1.log" "$LOGS/a/1.log.1"
printf '%s stdout F after rotation\n' "$(ts 0)" >"$LOGS/a/1.log"
check "logs -f follows the new N.log after a rotation" \
	wait_for 10 grep -q "after rotation" "$TMP/follow.out"
check "logs -f keeps running while the container runs" alive $FPID
status two "{\"containerStatuses\":[{\"name\":\"a\",\"image\":\"busybox\",\"imageID\":\"\",
	\"ready\":false,\"restartCount\":1,\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}},$crashed}]}"
check "logs -f ends by itself once the container stopped" wait_for 10 eval "! alive $FPID"
wait $FPID
check_eq "logs -f exit status" 0 $?
check_eq "logs -f printed every record once, in order" \
	$'new 2\nappended\nlast before rotation\nafter rotation' "$(cat "$TMP/follow.out")"

pod solo elsewhere c
status solo "{\"phase\":\"Running\",\"containerStatuses\":[$(running c 0)]}"
mkdir -p "$DATA/logs/pods/default_solo_$(uid_of solo)/c"
printf '%s stdout F solo\n' "$(ts 0)" >"$DATA/logs/pods/default_solo_$(uid_of solo)/c/0.log"
k logs -f solo >"$TMP/solo.out" 2>&1 &
SPID=$!
bg_track $SPID
check "logs -f of a second pod" wait_for 10 grep -q solo "$TMP/solo.out"
k delete pod solo --grace-period=0 --force >/dev/null 2>&1
check "logs -f ends once the pod is deleted" wait_for 10 eval "! alive $SPID"

# ---- a big log for a client that does not read for a while ------------------------

pod big elsewhere c
status big "{\"phase\":\"Succeeded\",\"containerStatuses\":[{\"name\":\"c\",\"image\":\"busybox\",
	\"imageID\":\"\",\"ready\":false,\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":0}}}]}"
BIG=$DATA/logs/pods/default_big_$(uid_of big)/c
mkdir -p "$BIG"
# 40 MiB of output: more than the HTTP layer lets a client fall behind.
$PY -c '
import sys
line = "2026-11-28T10:00:00.000000000Z stdout F " + "x" * 99 + "\n"
sys.stdout.write(line * 400000)' >"$BIG/0.log"
out=$($PY - "$API" "$DATA/certs" <<'PYEOF' 2>&1
import http.client, ssl, sys, time
port, certs = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=certs + "/ca.crt")
ctx.load_cert_chain(certs + "/admin.crt", certs + "/admin.key")
ctx.check_hostname = False
c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=60)
c.request("GET", "/api/v1/namespaces/default/pods/big/log")
r = c.getresponse()
time.sleep(3)  # read nothing for a while
n = 0
while True:
    b = r.read(1 << 20)
    if not b:
        break
    n += len(b)
print(r.status, r.getheader("Content-Type"), n)
PYEOF
)
check_eq "a 40 MiB log reaches a client that paused reading (output waits for it)" \
	"200 text/plain 40000000" "$out"

# ---- graceful deletion ---------------------------------------------------------------

pod g1 elsewhere c
status g1 "{\"phase\":\"Running\",\"containerStatuses\":[$(running c 0)]}"
k get pod g1 --watch-only --output-watch-events >"$TMP/watch.out" 2>&1 &
bg_track $!
# The watch is live once it reports a change (until then, make some).
ping_watch() {
	status g1 "{\"message\":\"ping $(date +%N)\"}"
	grep -q '^MODIFIED' "$TMP/watch.out"
}
wait_for 10 ping_watch
now=$(date +%s)
check_eq "delete of a running pod bound to a node: kubectl reports it deleted" 'pod "g1" deleted' \
	"$(k delete pod g1 --wait=false 2>&1)"
check_eq "... but it stays, with the default grace period" 30 \
	"$(k get pod g1 -o jsonpath='{.metadata.deletionGracePeriodSeconds}')"
del=$(date -u -d "$(k get pod g1 -o jsonpath='{.metadata.deletionTimestamp}')" +%s)
check "... and deletionTimestamp = now + 30 s" test $((del - now)) -ge 28 -a $((del - now)) -le 33
check_eq "get pods shows it Terminating" "g1 1/1 Terminating" \
	"$(k get pods g1 --no-headers | awk '{print $1, $2, $3}')"
status g1 '{"message":"stopping"}'
check "a status update during the grace period keeps it" k get pod g1
check "watchers see it MODIFIED as Terminating" \
	wait_for 10 grep -Eq '^MODIFIED +g1 .*Terminating' "$TMP/watch.out"
k delete pod g1 --wait=false --grace-period=5 >/dev/null 2>&1
check_eq "a second delete may shorten the grace period" 5 \
	"$(k get pod g1 -o jsonpath='{.metadata.deletionGracePeriodSeconds}')"
del5=$(date -u -d "$(k get pod g1 -o jsonpath='{.metadata.deletionTimestamp}')" +%s)
check_eq "... moving deletionTimestamp 25 s earlier" $((del - 25)) "$del5"
k delete pod g1 --wait=false --grace-period=60 >/dev/null 2>&1
check_eq "... but not lengthen it" 5 "$(k get pod g1 -o jsonpath='{.metadata.deletionGracePeriodSeconds}')"
echo '{"gracePeriodSeconds":0,"preconditions":{"uid":"not-its-uid"}}' >"$TMP/del.json"
fails_with "the agent's final delete with another uid: 409" \
	"Error from server (Conflict): Operation cannot be fulfilled on pods \"g1\": Precondition failed: UID in precondition: not-its-uid, UID in object meta: $(uid_of g1)" \
	k delete --raw "$NSP/pods/g1" -f "$TMP/del.json"
echo "{\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"$(uid_of g1)\"}}" >"$TMP/del.json"
check "the agent's final delete (grace 0, its uid)" k delete --raw "$NSP/pods/g1" -f "$TMP/del.json"
fails_with "... removes it" 'Error from server (NotFound): pods "g1" not found' k get pod g1
check "watchers see it DELETED" wait_for 10 grep -Eq '^DELETED +g1 ' "$TMP/watch.out"

pod g2 elsewhere c
status g2 "{\"phase\":\"Running\",\"containerStatuses\":[$(running c 0)]}"
check "delete --grace-period=0 --force" k delete pod g2 --grace-period=0 --force
fails_with "... removes a bound pod at once" 'Error from server (NotFound): pods "g2" not found' \
	k get pod g2
k delete pod lonely --wait=false >/dev/null 2>&1
fails_with "a pod no node runs is removed at once" 'Error from server (NotFound): pods "lonely" not found' \
	k get pod lonely
k delete pod big --wait=false >/dev/null 2>&1
fails_with "a pod that finished is removed at once" 'Error from server (NotFound): pods "big" not found' \
	k get pod big

# kubectl delete waits until the agent's delete.
pod g3 elsewhere c
status g3 "{\"phase\":\"Running\",\"containerStatuses\":[$(running c 0)]}"
k delete pod g3 --timeout=30s >"$TMP/g3.out" 2>&1 &
G3=$!
bg_track $G3
wait_for 10 eval "[ -n \"\$(k get pod g3 -o jsonpath='{.metadata.deletionTimestamp}')\" ]"
check "kubectl delete waits while the pod terminates" alive $G3
echo "{\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"$(uid_of g3)\"}}" >"$TMP/del.json"
k delete --raw "$NSP/pods/g3" -f "$TMP/del.json" >/dev/null
check "... and returns once the agent deleted it" wait_for 15 eval "! alive $G3"
wait $G3
check_eq "... with success" '0 pod "g3" deleted' "$? $(cat "$TMP/g3.out")"

# A namespace whose pods are bound goes away once their node has stopped
# them: deleting it gives them their grace period, as any DELETE does (no
# agent runs here: the test confirms the stop as an agent would).
k create namespace doomed >/dev/null
k -n doomed create -f - >/dev/null <<'EOF'
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"nodeName":"elsewhere","terminationGracePeriodSeconds":45,"containers":[{"name":"c","image":"busybox"}]}}
EOF
k delete namespace doomed --wait=false >/dev/null
graceful() { [ "$(k -n doomed get pod p -o 'jsonpath={.metadata.deletionGracePeriodSeconds}' 2>/dev/null)" = 45 ]; }
check "deleting a namespace gives its bound pods their grace period" wait_for 10 graceful
check "the namespace waits for them" k get namespace doomed
k -n doomed delete pod p --grace-period=0 --force >/dev/null 2>&1
check "and goes once they are stopped" wait_for 30 eval "! k get namespace doomed >/dev/null 2>&1"
