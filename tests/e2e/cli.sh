#!/bin/bash
# The mk CLI as a user drives it: help and every kind of bad usage (exit 2,
# one line), status/config/kubectl/version when stopped, then a real mkd
# through `mk start` (status text and YAML, config for real kubectl, kubectl
# pass-through, version) and `mk stop`.  A fake mkd (a few lines of Python
# that only takes the pid-file lock) covers what a real one should never
# do: exit at once, never get ready, ignore SIGTERM, leave a bad pid file.
# Ports 25100-25199 (API +5000).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

unset MK_DATA SNAP_DATA SNAP MK_MKD MK_KUBECTL
export HOME=$TMP/home # kubectl's cache stays in the temp dir
mkdir -p "$HOME"

MK=$BUILD/mk
D=$TMP/node
F=$TMP/fake
m() { timeout -k 5 90 "$MK" --data-dir "$D" "$@"; }
mf() { timeout -k 5 90 "$MK" --data-dir "$F" "$@"; }

# expect_usage DESC ARGS...: exit 2, exactly one line on stderr, none on stdout.
expect_usage() {
	local desc=$1 out rc
	shift
	out=$(timeout 10 "$MK" --data-dir "$D" "$@" 2>"$TMP/err")
	rc=$?
	if [ $rc -eq 2 ] && [ -z "$out" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ]; then
		ok "usage error: $desc"
	else
		not_ok "usage error: $desc (exit $rc)"
		note "stdout: $out" "stderr: $(cat "$TMP/err")"
	fi
}

# one_line_exit DESC WANT_RC CMD...: exit WANT_RC and one line on stderr.
one_line_exit() {
	local desc=$1 want=$2 rc
	shift 2
	"$@" >/dev/null 2>"$TMP/err"
	rc=$?
	if [ $rc -eq "$want" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ]; then
		ok "$desc"
	else
		not_ok "$desc (exit $rc, want $want)"
		note <"$TMP/err"
	fi
}

# yaml_get EXPR: evaluates EXPR on the YAML document on stdin (as d).
yaml_get() {
	$PY -c 'import sys, yaml; d = yaml.safe_load(sys.stdin); print('"$1"')' 2>&1
}

pick_port P 25100 25199 || exit 1
API=$(api_port_for "$P")
long=$(head -c 10000 /dev/zero | tr '\0' x)

# ---- help -------------------------------------------------------------------

help=$("$MK" --help)
check_eq "mk --help exits 0" 0 "$?"
missing=""
for c in status start stop config kubectl version help; do
	grep -q "^  $c " <<<"$help" || missing="$missing $c"
done
check_eq "mk --help lists every command" "" "$missing"
check_eq "mk help is mk --help" "$help" "$("$MK" help)"
for c in status start stop config version; do
	check "mk $c --help" eval "\"$MK\" $c --help | grep -q '^usage: mk $c'"
done
check "mk help kubectl (mk's own text)" eval "\"$MK\" help kubectl | grep -q '^usage: mk kubectl'"
check "every option of status is described" \
	eval "\"$MK\" status --help | grep -q -- --format && \"$MK\" status --help | grep -q -- --wait-ready && \"$MK\" status --help | grep -q -- --timeout"

# ---- bad usage: exit 2, one line ------------------------------------------------

expect_usage "no command"
expect_usage "unknown command" frobnicate
expect_usage "empty command name" ""
expect_usage "very long command name" "$long"
expect_usage "a newline in the command name" $'status\nstart'
expect_usage "control bytes in an argument" status $'\x1b[31m\xff'
expect_usage "unknown global option" --bogus status
expect_usage "unknown status flag" status --bogus
expect_usage "status --format without a value" status --format
expect_usage "bad --format" status --format xml
expect_usage "--wait-ready takes no value" status --wait-ready=yes
expect_usage "--timeout without --wait-ready" status --timeout 5
expect_usage "--timeout not a number" start --timeout soon
expect_usage "--timeout negative" stop --timeout -1
expect_usage "--timeout zero for stop" stop --timeout 0
expect_usage "--timeout huge" start --timeout 99999999999999999999
expect_usage "extra argument to config" config extra
expect_usage "extra argument to version" version --short
expect_usage "--data-dir given to mkd after --" start -- --data-dir /elsewhere
expect_usage "help for an unknown command" help nosuch
expect_usage "help with two commands" help status start
expect_usage "--data-dir after the command, no value" status --data-dir
expect_usage "--data-dir empty" status --data-dir=
expect_usage "--data-dir of 10000 bytes" status --data-dir "$long"
out=$(timeout 10 "$MK" --data-dir 2>"$TMP/err")
check_eq "--data-dir alone: exit 2, one line" "2 1" "$? $(wc -l <"$TMP/err")"
out=$(timeout 10 "$MK" "$(head -c 100000 /dev/zero | tr '\0' -)" 2>&1)
check_eq "a 100 kB option: exit 2" 2 "$?"

# ---- not running --------------------------------------------------------------

m status >"$TMP/out" 2>&1
check_eq "status when not running exits 1" 1 "$?"
check_eq "status when not running: one line with a hint at mk start" "1 1" \
	"$(wc -l <"$TMP/out") $(grep -c "mk is not running.*'mk start'" "$TMP/out")"
check_eq "status --format yaml when not running" "False False" \
	"$(m status --format yaml | yaml_get 'd["mk"]["running"], d["mk"]["ready"]')"
t0=$(now_ms)
m status --wait-ready --timeout 1 >/dev/null 2>&1
rc=$?
t=$(($(now_ms) - t0))
check_eq "status --wait-ready --timeout 1, not running: exit 1 after ~1 s" "1 yes" \
	"$rc $([ $t -ge 1000 ] && [ $t -lt 5000 ] && echo yes || echo "no ($t ms)")"
one_line_exit "config before any start: exit 1" 1 m config
one_line_exit "kubectl before any start: exit 1" 1 m kubectl get pods
check_eq "version when not running: mk's only" "mk 0.1.0" "$(m version 2>/dev/null)"
check_eq "stop when not running" "mk is not running" "$(m stop 2>/dev/null)"

# ---- a real mkd: start, status, config, kubectl, version ---------------------------

if m start -- --address 127.0.0.1 --dqlite-port "$P" --api-port "$API" 2>"$TMP/start.err"; then
	ok "mk start returns once ready"
else
	not_ok "mk start returns once ready"
	note <"$TMP/start.err"
	tail -20 "$D/mkd.log" 2>/dev/null | note
	exit 1
fi
MKD_PID[node]=$(cat "$D/mkd.pid") # killed on exit if a check below fails
check "mk start showed progress" \
	eval "head -1 \"$TMP/start.err\" | grep -qx 'Starting mkd...' && tail -1 \"$TMP/start.err\" | grep -qx 'mk is ready'"
check "mkd.log has mkd's output" grep -q "pki: created the cluster CA" "$D/mkd.log"
check_eq "start again: already running, exit 0" "0 mk is already running (mkd pid ${MKD_PID[node]})" \
	"$(out=$(m start 2>/dev/null); echo "$? $out")"

out=$(m status)
check_eq "status exits 0 when running" 0 "$?"
check_eq "status: the MicroK8s-like text" \
	"mk is running|high-availability: no|  datastore master nodes: 127.0.0.1:$P|  datastore standby nodes: none|addons:|  enabled:|  disabled:" \
	"$(tr '\n' '|' <<<"$out" | sed 's/|$//')"
check_eq "status with --data-dir after the command" "$out" \
	"$(timeout 30 "$MK" status --data-dir "$D")"
check_eq "MK_DATA names the data directory" "$out" "$(MK_DATA=$D timeout 30 "$MK" status)"
check_eq "status --format yaml parses: running, ready, voter, HA, addons" \
	"True True ['127.0.0.1:$P'] False [] 127.0.0.1" \
	"$(m status --format yaml | yaml_get 'd["mk"]["running"], d["mk"]["ready"], d["datastore"]["voters"], d["high-availability"]["enabled"], d["addons"]["enabled"], d["node"]["address"]')"
check "status --wait-ready when ready" m status --wait-ready --timeout 5

m config >"$TMP/kubeconfig"
check_eq "mk config exits 0" 0 "$?"
check "mk config prints credentials/client.config" cmp "$TMP/kubeconfig" "$D/credentials/client.config"
check "mk config: real kubectl uses it (get --raw /version)" \
	timeout 30 kubectl --kubeconfig "$TMP/kubeconfig" get --raw /version
out=$(m kubectl version -o json 2>&1)
check "mk kubectl version -o json: the server's version" grep -q '"minor": "32"' <<<"$out"
out=$(m kubectl get namespaces 2>&1)
check "mk kubectl get namespaces" grep -Eq '^default +Active' <<<"$out"
m kubectl get pod no-such-pod >/dev/null 2>&1
check_eq "mk kubectl passes kubectl's exit status" 1 "$?"

printf '#!/bin/sh\nprintf "%%s\\n" "$@"\nexit 7\n' >"$TMP/fake-kubectl"
chmod +x "$TMP/fake-kubectl"
out=$(MK_KUBECTL=$TMP/fake-kubectl m kubectl --help get "a b" --data-dir x -- '' y 2>&1)
rc=$?
check_eq "mk kubectl: --kubeconfig first, every argument untouched" \
	"--kubeconfig|$D/credentials/client.config|--help|get|a b|--data-dir|x|--||y" \
	"$(tr '\n' '|' <<<"$out" | sed 's/|$//')"
check_eq "mk kubectl: kubectl's exit status" 7 "$rc"
out=$(MK_KUBECTL=/nonexistent/kubectl m kubectl get ns 2>&1)
rc=$?
check_eq "MK_KUBECTL missing: exit 127" 127 "$rc"
check_eq "MK_KUBECTL missing: one line naming MK_KUBECTL" "1 1" \
	"$(wc -l <<<"$out") $(grep -c MK_KUBECTL <<<"$out")"
out=$(timeout 30 env PATH=/nonexistent "$MK" --data-dir "$D" kubectl get ns 2>&1)
check_eq "kubectl not on PATH: exit 127, the install hint" "127 1" \
	"$? $(grep -c 'kubectl not found on PATH; install it (apt install kubernetes-client) or set MK_KUBECTL' <<<"$out")"

check_eq "version: mk and Kubernetes" "mk 0.1.0|Kubernetes v1.32.0+mk.0.1.0" \
	"$(m version | tr '\n' '|' | sed 's/|$//')"

# ---- stop -------------------------------------------------------------------------

pid=${MKD_PID[node]}
out=$(m stop 2>"$TMP/stop.err")
check_eq "mk stop" "0 mk is stopped" "$? $out"
check "mkd's process is gone" wait_for 10 eval "! alive $pid"
MKD_PID[node]=""
check "mkd stopped cleanly (its log says so)" grep -q "mkd: stopped$" "$D/mkd.log"
check_eq "second stop: not running" "0 mk is not running" "$(out=$(m stop 2>/dev/null); echo "$? $out")"
out=$(m status 2>&1)
check_eq "status after stop exits 1" 1 "$?"

# ---- a stand-in API on the node's certificates: answers mkd never gives ------------

# It holds the node's pid-file lock (so mk sees mkd running) and serves
# HTTPS on the node's API port with the node's server certificate; each
# request answers as $TMP/api-mode says.
cat >"$TMP/fake-api" <<'EOF'
#!/usr/bin/python3
import fcntl, http.server, json, os, signal, ssl, sys
d, port, modefile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = open(os.path.join(d, "mkd.pid"), "a+")
fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
lock.truncate(0)
lock.write("%d\n" % os.getpid())
lock.flush()
NASTY = {"version": "0.1.0\n", "ready": True,
         "node": {"name": "yes", "address": "a\nb: c"},
         "highAvailability": "true",
         "datastore": {"voters": ["10.0.0.1:19001", 5, None, "\"q\" #x\n\x1b[31m"],
                       "standbys": "none", "spares": {}},
         "revision": "12", "addons": {"enabled": ["dns", {"x": 1}], "disabled": []}}
ANSWERS = {
    "nasty": (200, json.dumps(NASTY)),
    "html": (200, "<html>not json</html>"),
    "array": (200, "[]"),
    "huge": (200, " " * (2 << 20) + "{}"),
    "unavailable": (503, '{"kind":"Status"}'),
    "unauthorized": (401, '{"kind":"Status"}'),
    "notready": (200, json.dumps({"ready": False, "version": "0.1.0"})),
    "badversion": (200, json.dumps({"gitVersion": "v1.32.0\nKubernetes v9"})),
}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(modefile) as f:
            code, body = ANSWERS[f.read().strip()]
        body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # mk hung up on an answer too big: that is the point
    def log_message(self, *args):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(d, "certs/server.crt"), os.path.join(d, "certs/server.key"))
srv = http.server.HTTPServer(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
signal.alarm(120)  # never outlives a broken test run
srv.serve_forever()
EOF
chmod +x "$TMP/fake-api"
"$TMP/fake-api" "$D" "$API" "$TMP/api-mode" >"$TMP/fake-api.log" 2>&1 &
FAKE_API=$!
bg_track "$FAKE_API"
# api MODE ARGS...: mk against the stand-in answering MODE; stdout in
# $TMP/out, stderr in $TMP/err; returns mk's exit status.
api() {
	echo "$1" >"$TMP/api-mode"
	shift
	m "$@" >"$TMP/out" 2>"$TMP/err"
}
if wait_for 10 listening "$API"; then
	api nasty status
	check_eq "odd field types and strings: status exits 0" 0 "$?"
	check_eq "... text: strings only, one line each, no control bytes" \
		'mk is running|high-availability: no|  datastore master nodes: 10.0.0.1:19001 "q" #x??[31m|  datastore standby nodes: none|addons:|  enabled:|    dns|  disabled:' \
		"$(tr '\n' '|' <"$TMP/out" | sed 's/|$//')"
	api nasty status --format yaml
	check_eq "... YAML reads back every string as the same string" \
		"['yes', 'a\\nb: c', '0.1.0\\n', ['10.0.0.1:19001', '\"q\" #x\\n\\x1b[31m'], [], False, 0]" \
		"$(yaml_get '[d["node"]["name"], d["node"]["address"], d["mk"]["version"], d["datastore"]["voters"], d["datastore"]["standbys"], d["high-availability"]["enabled"], d["revision"]]' <"$TMP/out")"
	for mode in html array huge unavailable unauthorized notready; do
		api $mode status
		rc=$?
		check_eq "status, answer '$mode': exit 1, one line on stderr, nothing on stdout" \
			"1 1 0" "$rc $(wc -l <"$TMP/err") $(wc -c <"$TMP/out")"
	done
	api huge status
	check "... the huge answer is refused as too large" grep -q "larger than" "$TMP/err"
	api unauthorized status
	check "... the 401 names the admin certificate" grep -q "refused the admin certificate" "$TMP/err"
	api notready status --format yaml
	check_eq "status --format yaml, not ready: exit 1, parses" "1 True False" \
		"$? $(yaml_get 'd["mk"]["running"], d["mk"]["ready"]' <"$TMP/out")"
	api badversion version
	check_eq "version, a gitVersion with a newline: not printed, exit 0" "0 mk 0.1.0" \
		"$? $(cat "$TMP/out")"
	api html version
	check_eq "version, a non-JSON answer: exit 0, one line on stderr" "0 1" \
		"$? $(wc -l <"$TMP/err")"
	out=$(m stop 2>/dev/null)
	check_eq "mk stop stops the stand-in too" "0 mk is stopped" "$? $out"
else
	not_ok "the stand-in API listens on $API"
	note <"$TMP/fake-api.log"
fi
stop_bg "$FAKE_API"

# ---- a fake mkd: what a real one should not do ------------------------------------

cat >"$TMP/fake-mkd" <<'EOF'
#!/usr/bin/python3
# Takes mkd's pid-file lock like mkd, serves nothing.  FAKE_MODE: exit
# (fail at once), hang (ignore SIGTERM), term (exit on SIGTERM).
import fcntl, os, signal, sys
d = sys.argv[sys.argv.index("--data-dir") + 1]
mode = os.environ.get("FAKE_MODE", "term")
print("fake mkd:", " ".join(sys.argv[1:]), flush=True)
if mode == "exit":
    print("fake mkd: boom", flush=True)
    sys.exit(3)
with open(os.path.join(d, "fake.pid"), "w") as p:
    p.write(str(os.getpid()))
f = open(os.path.join(d, "mkd.pid"), "a+")
fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
f.truncate(0)
f.write(os.environ.get("FAKE_PID", str(os.getpid())) + "\n")
f.flush()
if mode == "hang":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.alarm(120)  # never outlives a broken test run
while True:
    signal.pause()
EOF
chmod +x "$TMP/fake-mkd"
# fake_started: the fake's pid, killed on exit whatever happens.
fake_started() {
	wait_for 5 test -s "$F/fake.pid" || return 1
	FAKE=$(cat "$F/fake.pid")
	bg_track "$FAKE"
	rm -f "$F/fake.pid"
}

one_line_exit "MK_MKD not executable: exit 1, one line" 1 env MK_MKD=/nonexistent/mkd "$MK" --data-dir "$F" start

FAKE_MODE=exit MK_MKD=$TMP/fake-mkd mf start --timeout 20 2>"$TMP/err"
check_eq "mkd exiting at once: start exits 1" 1 "$?"
check "... saying how it exited and showing its log" \
	eval "grep -q 'exited with status 3' \"$TMP/err\" && grep -q 'fake mkd: boom' \"$TMP/err\""
FAKE_MODE=exit MK_MKD=$TMP/fake-mkd mf start -- --api-port 1 >/dev/null 2>"$TMP/err"
check "mkd gets --data-dir (absolute) and the arguments after --" \
	grep -q "fake mkd: --data-dir $F --api-port 1$" "$TMP/err"

t0=$(now_ms)
FAKE_MODE=hang MK_MKD=$TMP/fake-mkd mf start --timeout 1 2>"$TMP/err"
rc=$?
t=$(($(now_ms) - t0))
fake_started || not_ok "the fake mkd started"
check_eq "never ready: start exits 1 after its timeout" "1 yes" \
	"$rc $([ $t -ge 1000 ] && [ $t -lt 6000 ] && echo yes || echo "no ($t ms)")"
check "... saying so and that it goes on in the background" grep -q "not ready after 1 s.*background" "$TMP/err"
check "... and mkd goes on running" alive "$FAKE"
mf status >"$TMP/out" 2>&1
check_eq "status, running but not ready: exit 1" 1 "$?"
check_eq "status, running but not ready: one line saying so" "1 1" \
	"$(wc -l <"$TMP/out") $(grep -c "mk is running (mkd pid $FAKE) but not ready" "$TMP/out")"
check_eq "status --format yaml, running but not ready" "True False" \
	"$(mf status --format yaml 2>/dev/null | yaml_get 'd["mk"]["running"], d["mk"]["ready"]')"
check_eq "version, mkd not answering: mk's only, exit 0" "0 mk 0.1.0" \
	"$(out=$(mf version 2>/dev/null); echo "$? $out")"
out=$(mf stop --timeout 1 2>"$TMP/err")
check_eq "stop, mkd ignoring SIGTERM: killed, exit 0" "0 mk is stopped" "$? $out"
check "... with a warning" grep -q "warning: mkd (pid $FAKE) did not stop within 1 s; killing it" "$TMP/err"
check "... and it is gone" wait_for 5 eval "! alive $FAKE"

FAKE_PID=1 MK_MKD=$TMP/fake-mkd mf start --timeout 1 >/dev/null 2>&1
fake_started || not_ok "the fake mkd started"
one_line_exit "stop, pid file naming another process (1): refused, exit 1" 1 mf stop --timeout 1
check "... and nothing was signalled" alive "$FAKE"
stop_bg "$FAKE"
