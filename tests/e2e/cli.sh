#!/bin/bash
# The mk CLI driving a real mkd: usage errors, status when stopped and
# running (text and YAML), start/stop, config with real kubectl, kubectl
# pass-through, version.  Ports 25100-25199 (API +5000).
. "$(dirname "$0")/lib.sh"

MK=$BUILD/mk
D=$TMP/node
m() { timeout -k 5 90 "$MK" --data-dir "$D" "$@"; }
# expect_usage DESC ARGS...: exit 2 and exactly one line on stderr, none on stdout.
expect_usage() {
	local desc=$1 out err rc
	shift
	out=$(timeout 10 "$MK" --data-dir "$D" "$@" 2>"$TMP/err")
	rc=$?
	err=$(cat "$TMP/err")
	if [ $rc -eq 2 ] && [ -z "$out" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ]; then
		ok "usage error: $desc"
	else
		not_ok "usage error: $desc (exit $rc)"
		note "stdout: $out" "stderr: $err"
	fi
}

pick_port P 25100 25199 || exit 1
API=$(api_port_for "$P")

# ---- help and bad usage -----------------------------------------------------

help=$("$MK" --help)
missing=""
for c in status start stop config kubectl version; do
	grep -q "^  $c " <<<"$help" || missing="$missing $c"
done
check_eq "mk --help lists every command" "" "$missing"
for c in status start stop config version; do
	check "mk $c --help" eval "\"$MK\" $c --help | grep -q '^usage: mk $c'"
done
check "mk help status" eval "\"$MK\" help status | grep -q '^usage: mk status'"
expect_usage "unknown command" frobnicate
expect_usage "unknown global option" --bogus status
expect_usage "unknown status flag" status --bogus
expect_usage "bad --format" status --format xml
expect_usage "--timeout not a number" start --timeout soon
expect_usage "empty command name" ""
expect_usage "very long argument" "$(head -c 10000 /dev/zero | tr '\0' x)"
out=$(timeout 10 "$MK" --data-dir 2>&1)
check_eq "--data-dir without a value: exit 2" 2 "$?"
out=$(timeout 10 "$MK" 2>&1)
check_eq "no command: exit 2" 2 "$?"

# ---- stopped -------------------------------------------------------------------

out=$(m status 2>&1)
rc=$?
check_eq "status when not running exits 1" 1 "$rc"
check "status when not running hints at mk start" grep -q "mk start" <<<"$out"
out=$(m config 2>&1)
check_eq "config before any start exits 1" 1 "$?"
check_eq "stop when not running" "mk is not running" "$(m stop 2>/dev/null)"

# ---- start, status, config, kubectl, version ----------------------------------------

if m start -- --address 127.0.0.1 --dqlite-port "$P" --api-port "$API" 2>"$TMP/start.err"; then
	ok "mk start returns once ready"
else
	not_ok "mk start returns once ready"
	note <"$TMP/start.err"
	cat "$D/mkd.log" 2>/dev/null | tail -20 | note
	exit 1
fi
check "mk start showed progress" grep -q "mk is ready" "$TMP/start.err"
MKD_PID[node]=$(cat "$D/mkd.pid")
check "mkd.log written" test -s "$D/mkd.log"
check_eq "start again: already running" 0 "$(m start >/dev/null 2>&1; echo $?)"
out=$(m status)
check_eq "status exits 0 when running" 0 "$?"
check "status: running" grep -qx "mk is running" <<<"$out"
check "status: the datastore address" grep -q "datastore master nodes: 127.0.0.1:$P" <<<"$out"
out=$(m status --format yaml)
check_eq "status --format yaml parses, shows running and the voter" "True 127.0.0.1:$P" \
	"$(printf '%s' "$out" | $PY -c 'import sys,yaml; d=yaml.safe_load(sys.stdin); print(d["mk"]["running"], d["datastore"]["voters"][0])' 2>&1)"
m config >"$TMP/kubeconfig"
check "mk config: real kubectl uses it" \
	timeout 30 kubectl --kubeconfig "$TMP/kubeconfig" get --raw /version
export HOME=$TMP/home
mkdir -p "$HOME"
out=$(m kubectl version -o json 2>&1)
check "mk kubectl version: the server's version" grep -q '"minor": "32"' <<<"$out"
out=$(m kubectl get namespaces 2>&1)
check "mk kubectl get namespaces" grep -Eq '^default +Active' <<<"$out"
out=$(MK_KUBECTL=/nonexistent/kubectl m kubectl get ns 2>&1)
rc=$?
check_eq "kubectl missing: exit 127" 127 "$rc"
check_eq "kubectl missing: one line naming MK_KUBECTL" "1 1" \
	"$(wc -l <<<"$out") $(grep -c MK_KUBECTL <<<"$out")"
out=$(m version)
check_eq "version: mk and Kubernetes" "1 1" "$(grep -c '^mk ' <<<"$out") $(grep -c '^Kubernetes v1.32' <<<"$out")"

# ---- stop -------------------------------------------------------------------------

pid=$(cat "$D/mkd.pid")
check "mk stop" m stop
check "mkd exited" wait_for 10 eval "! alive $pid"
MKD_PID[node]=""
out=$(m status 2>&1)
check_eq "status after stop exits 1" 1 "$?"
