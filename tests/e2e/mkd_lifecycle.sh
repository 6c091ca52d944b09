#!/bin/bash
# mkd's life as a process: first start, clean stops on SIGTERM and SIGINT,
# restart on the same data, log levels, where the data directory comes from,
# and every way of starting it wrong (bad flags, a data directory of another
# node, a broken info.yaml, a port that is taken).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# The data directory must come from our flags/env only.
unset MK_DATA SNAP_DATA

pick_port P1 21000 21099 || exit 1
pick_port P2 21000 21099 || exit 1
pick_port P3 21000 21099 || exit 1 # never listened on: a dead seed
A1=127.0.0.1:$P1

# ---- first start ------------------------------------------------------------

start_mkd a "$P1"
if wait_ready a; then ok "first start: ready"; else not_ok "first start: ready"; fi
D=$(data_of a)/dqlite
check "first start creates DATA/dqlite/info.yaml" test -s "$D/info.yaml"
check "first start creates DATA/dqlite/cluster.yaml" test -s "$D/cluster.yaml"
check "info.yaml has this node's address" grep -qx "Address: $A1" "$D/info.yaml"
check "info.yaml has a numeric ID" grep -Eqx 'ID: [0-9]+' "$D/info.yaml"
check "info.yaml has role voter (0)" grep -qx 'Role: 0' "$D/info.yaml"
check "cluster.yaml lists this node" grep -q "Address: $A1" "$D/cluster.yaml"
INFO_BEFORE=$(cat "$D/info.yaml")

check "write before restart" sc "$A1" create /life/a before-restart
REV_A=$(sc "$A1" get /life/a | cut -d' ' -f1)

# ---- clean stops --------------------------------------------------------------

# stopped_cleanly NAME SIG WHEN: SIG makes NAME exit 0 having logged
# "stopped", and frees its port.
stopped_cleanly() {
	local name=$1 sig=$2 what="SIG$2 ($3)"
	if ! stop_mkd "$name" "$sig" 20; then
		not_ok "$what stops mkd within 20 s"
		return
	fi
	check_eq "$what: exit status 0" 0 "${MKD_RC[$name]}"
	if log_has "$name" 'mkd: stopped$'; then
		ok "$what: \"stopped\" logged"
	else
		not_ok "$what: \"stopped\" logged"
	fi
	if wait_for 5 eval "! listening ${MKD_PORTOF[$name]}"; then
		ok "$what: dqlite port released"
	else
		not_ok "$what: dqlite port released"
	fi
}
stopped_cleanly a TERM "first run"

# ---- restart resumes ----------------------------------------------------------

restart_mkd a
if wait_ready a; then ok "restart after SIGTERM: ready"; else not_ok "restart after SIGTERM: ready"; fi
check_eq "data written before the restart is readable" "$REV_A before-restart" \
	"$(sc "$A1" get /life/a 2>&1)"
check_eq "info.yaml unchanged by the restart" "$INFO_BEFORE" "$(cat "$D/info.yaml")"
check "write after restart" sc "$A1" create /life/b after-restart
stopped_cleanly a INT "after a restart"

restart_mkd a
if wait_ready a; then ok "restart after SIGINT: ready"; else not_ok "restart after SIGINT: ready"; fi
check_eq "data written before SIGINT is readable" "after-restart" \
	"$(sc "$A1" get /life/b 2>&1 | cut -d' ' -f2-)"

# ---- clean restart under write load --------------------------------------------

# A client keeps writing through a SIGTERM and a restart: its store retries
# within its 15 s budget, so nothing fails and nothing acknowledged is lost.
load=$TMP/load.acks
acks_in() { grep -c '^ack ' "$1" 2>/dev/null; }
at_least_acks() { [ "$(acks_in "$1")" -ge "$2" ]; }
"$STORECTL" -s "$A1" writeloop /life/load/ 100000 >"$load" 2>&1 &
loader=$!
bg_track "$loader"
wait_for 20 at_least_acks "$load" 100 || not_ok "writer under load: 100 acks within 20 s"
stopped_cleanly a TERM "under write load"
restart_mkd a
if wait_ready a; then ok "restart under write load: ready"; else not_ok "restart under write load: ready"; fi
before=$(acks_in "$load")
if wait_for 20 at_least_acks "$load" $((before + 100)); then
	ok "the writer's writes resume after the restart"
else
	not_ok "the writer's writes resume after the restart (100 more acks within 20 s)"
fi
stop_bg "$loader"
check_eq "no write failed across the restart" 0 "$(grep -c '^err ' "$load")"
out=$(sc "$A1" verify /life/load/ "$load" 2>&1)
check_eq "every acknowledged write survived the clean restart" \
	"$(acks_in "$load") acknowledged, 0 missing or wrong" "$out"
stop_mkd a TERM

# ---- log levels ---------------------------------------------------------------

# The store logs a DEBUG line when it opens its database.
spawn_mkd a --data-dir "$TMP/a" --address 127.0.0.1 --dqlite-port "$P1" --log-level debug
if wait_ready a && wait_log a ' DEBUG ' 10; then
	ok "--log-level debug shows DEBUG lines"
else
	not_ok "--log-level debug shows DEBUG lines"
fi
stop_mkd a TERM
check_eq "--log-level debug: clean exit" 0 "${MKD_RC[a]}"

spawn_mkd a --data-dir "$TMP/a" --address 127.0.0.1 --dqlite-port "$P1" --log-level error
# "ready" is an INFO line, so readiness is seen through the store itself.
if wait_for 20 sc "$A1" get /life/a; then
	ok "--log-level error: store serves"
else
	not_ok "--log-level error: store serves"
fi
stop_mkd a TERM
check_eq "--log-level error: clean exit" 0 "${MKD_RC[a]}"
if run_log a | grep -Eq ' (INFO|DEBUG|WARN) '; then
	not_ok "--log-level error shows no INFO/DEBUG/WARN lines"
	run_log a | note
else
	ok "--log-level error shows no INFO/DEBUG/WARN lines"
fi

# ---- where the data directory comes from ---------------------------------------

MK_DATA=$TMP/from-env spawn_mkd env --address 127.0.0.1 --dqlite-port "$P2"
if wait_ready env; then ok "no --data-dir: starts with \$MK_DATA"; else not_ok "no --data-dir: starts with \$MK_DATA"; fi
check "no --data-dir: \$MK_DATA/dqlite/info.yaml written" \
	grep -qx "Address: 127.0.0.1:$P2" "$TMP/from-env/dqlite/info.yaml"
stop_mkd env TERM

MK_DATA=$TMP/env-loses spawn_mkd flag --data-dir "$TMP/flag-wins" --dqlite-port "$P2"
if wait_ready flag; then ok "--data-dir given with \$MK_DATA set: starts"; else not_ok "--data-dir given with \$MK_DATA set: starts"; fi
check "--data-dir wins over \$MK_DATA" test -s "$TMP/flag-wins/dqlite/info.yaml"
check "\$MK_DATA untouched when --data-dir is given" test ! -e "$TMP/env-loses"
stop_mkd flag TERM

SNAP_DATA=$TMP/from-snap spawn_mkd snap --dqlite-port "$P2"
if wait_ready snap; then ok "no --data-dir, no \$MK_DATA: starts with \$SNAP_DATA"; else not_ok "no --data-dir, no \$MK_DATA: starts with \$SNAP_DATA"; fi
check "\$SNAP_DATA/dqlite/info.yaml written" test -s "$TMP/from-snap/dqlite/info.yaml"
stop_mkd snap TERM

# ---- bad usage: exit 2, one line on stderr, nothing started --------------------

# bad_usage DESC ARGS...: ARGS (plus a private data dir and port, unless the
# case is about those) must exit 2 at once, print exactly one line on stderr
# and nothing on stdout, and neither create the data dir nor listen.
N_USAGE=0
bad_usage() {
	local desc=$1 dir rc errlines outlines
	shift
	N_USAGE=$((N_USAGE + 1))
	dir=$TMP/usage-$N_USAGE
	timeout -k 2 10 "$MKD" --data-dir "$dir" "$@" >"$TMP/usage.out" 2>"$TMP/usage.err"
	rc=$?
	errlines=$(wc -l <"$TMP/usage.err")
	outlines=$(wc -c <"$TMP/usage.out")
	if [ $rc -eq 2 ] && [ "$errlines" -eq 1 ] && [ "$outlines" -eq 0 ] && [ ! -e "$dir" ] &&
		! listening "$P3"; then
		ok "bad usage ($desc): exit 2, one line: $(cat "$TMP/usage.err")"
	else
		not_ok "bad usage ($desc): exit 2 with one line on stderr and nothing started"
		note "exit $rc, $errlines stderr lines, $outlines stdout bytes, data dir $([ -e "$dir" ] && echo created || echo absent)"
		sed 's/^/# stderr: /' "$TMP/usage.err"
	fi
}
bad_usage "unknown option" --dqlite-port "$P3" --bogus
bad_usage "--dqlite-port 0" --dqlite-port 0
bad_usage "--dqlite-port abc" --dqlite-port abc
bad_usage "--dqlite-port 65536" --dqlite-port 65536
bad_usage "--log-level loud" --dqlite-port "$P3" --log-level loud
bad_usage "--address not-an-ip" --dqlite-port "$P3" --address not-an-ip
bad_usage "stray positional argument" --dqlite-port "$P3" stray
bad_usage "--api-port 0" --dqlite-port "$P3" --api-port 0
bad_usage "--api-port abc" --dqlite-port "$P3" --api-port abc
bad_usage "--api-bind not-an-ip" --dqlite-port "$P3" --api-bind not-an-ip
bad_usage "option missing its value" --dqlite-port "$P3" --log-level
bad_usage "--join without a port" --dqlite-port "$P3" --join 127.0.0.1
bad_usage "--join with port 0" --dqlite-port "$P3" --join 127.0.0.1:0
bad_usage "--join with a bad second member" --dqlite-port "$P3" --join 127.0.0.1:9,junk:1
bad_usage "unknown short option" --dqlite-port "$P3" -x
bad_usage "value given to --help" --dqlite-port "$P3" --help=x
bad_usage "--node-name with capitals" --dqlite-port "$P3" --node-name Node-1
bad_usage "--node-name ending in a dash" --dqlite-port "$P3" --node-name node-
bad_usage "--pod-cidr without a prefix" --dqlite-port "$P3" --pod-cidr 10.1.0.0
bad_usage "--pod-cidr with prefix /31" --dqlite-port "$P3" --pod-cidr 10.1.0.0/31
bad_usage "--pod-cidr not an address" --dqlite-port "$P3" --pod-cidr ten/16
bad_usage "--cni-bridge longer than 15" --dqlite-port "$P3" --cni-bridge abcdefghijklmnop
bad_usage "--cni-bridge with a slash" --dqlite-port "$P3" --cni-bridge a/b
bad_usage "--runtime relative" --dqlite-port "$P3" --runtime runc
bad_usage "--no-node-agent given a value" --dqlite-port "$P3" --no-node-agent=yes
bad_usage "--no-scheduler given a value" --dqlite-port "$P3" --no-scheduler=yes
bad_usage "--no-scheduler misspelt" --dqlite-port "$P3" --no-schedulers
bad_usage "--service-cidr too small" --dqlite-port "$P3" --service-cidr 10.152.183.0/31
bad_usage "--service-cidr with host bits" --dqlite-port "$P3" --service-cidr 10.152.183.7/24
bad_usage "--service-node-port-range reversed" --dqlite-port "$P3" --service-node-port-range 32767-30000
bad_usage "--service-node-port-range not a range" --dqlite-port "$P3" --service-node-port-range 30000-x
bad_usage "--node-monitor-grace-period of 0" --dqlite-port "$P3" --node-monitor-grace-period 0
bad_usage "--default-toleration-seconds not a number" --dqlite-port "$P3" --default-toleration-seconds 5m
# The one line says what is wrong, not that a value is missing.
"$MKD" --data-dir "$TMP/never" -x >/dev/null 2>"$TMP/usage.err"
check "an unknown short option is called unknown" grep -q "unknown option -x" "$TMP/usage.err"

# ---- a data directory that belongs to another address ----------------------------

# data dir of a (127.0.0.1:P1), started as another address: refused before
# anything binds, naming both addresses.
# wrong_owner DESC WANT_ADDR ARGS...
wrong_owner() {
	local desc=$1 want=$2 rc
	shift 2
	timeout -k 2 10 "$MKD" --data-dir "$TMP/a" "$@" >"$TMP/owner.out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -qF "$A1" "$TMP/owner.out" && grep -qF "$want" "$TMP/owner.out"; then
		ok "data dir of $A1 started as $want ($desc): exit 1 naming both"
	else
		not_ok "data dir of $A1 started as $want ($desc): exit 1 naming both (exit $rc)"
		note "$(cat "$TMP/owner.out")"
	fi
}
wrong_owner "other port" "127.0.0.1:$P3" --address 127.0.0.1 --dqlite-port "$P3"
# Refused before binding, so 127.0.0.2 is never actually used.
wrong_owner "other IP" "127.0.0.2:$P1" --address 127.0.0.2 --dqlite-port "$P1"
check_eq "info.yaml unchanged by the refused starts" "$INFO_BEFORE" "$(cat "$D/info.yaml")"

# ---- malformed info.yaml ----------------------------------------------------------

# bad_info DESC CONTENT: exit 1 with a message naming info.yaml, no crash.
N_INFO=0
bad_info() {
	local desc=$1 dir rc
	N_INFO=$((N_INFO + 1))
	dir=$TMP/badinfo-$N_INFO
	mkdir -p "$dir/dqlite"
	printf '%s' "$2" >"$dir/dqlite/info.yaml"
	timeout -k 2 10 "$MKD" --data-dir "$dir" --address 127.0.0.1 --dqlite-port "$P3" \
		>"$TMP/info.out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -q 'ERROR .*info.yaml' "$TMP/info.out"; then
		ok "malformed info.yaml ($desc): exit 1: $(grep -o 'info.yaml.*' "$TMP/info.out" | head -1)"
	else
		not_ok "malformed info.yaml ($desc): exit 1 with a message naming info.yaml (exit $rc)"
		note "$(cat "$TMP/info.out")"
	fi
}
bad_info "not YAML" '{{{ : ['
bad_info "empty" ''
bad_info "no ID" "Address: 127.0.0.1:$P3"
bad_info "ID not a number" "$(printf 'Address: 127.0.0.1:%s\nID: abc\nRole: 0\n' "$P3")"
bad_info "a list, not a mapping" "$(printf -- '- Address: 127.0.0.1:%s\n  ID: 1\n' "$P3")"
bad_info "binary junk" "$(printf '\001\002\377\376garbage')"
bad_info "ID 0" "$(printf 'Address: 127.0.0.1:%s\nID: 0\nRole: 0\n' "$P3")"
bad_info "negative ID" "$(printf 'Address: 127.0.0.1:%s\nID: -5\nRole: 0\n' "$P3")"
bad_info "role out of range" "$(printf 'Address: 127.0.0.1:%s\nID: 7\nRole: 9\n' "$P3")"

# ---- stop while still joining -----------------------------------------------------

# A joiner whose seed never answers keeps retrying; a SIGTERM must still end
# it promptly and cleanly.
start_mkd joiner "$P2" --join "127.0.0.1:$P3"
if wait_log joiner 'joining:' 20; then ok "joiner with a dead seed keeps retrying"; else not_ok "joiner with a dead seed keeps retrying"; fi
if stop_mkd joiner TERM 15; then
	check_eq "SIGTERM while joining: exit 0 within 15 s" 0 "${MKD_RC[joiner]}"
else
	not_ok "SIGTERM while joining: exit 0 within 15 s"
fi

# ---- the dqlite port is taken by another mkd ---------------------------------------

start_mkd a "$P1" # plain arguments again (the last run had --log-level error)
if wait_ready a; then ok "a serves again on $A1"; else not_ok "a serves again on $A1"; fi
start_mkd thief "$P1"
if reap thief 20; then
	rc=${MKD_RC[thief]}
	if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && log_has thief "ERROR .*(bind|in use).*127\.0\.0\.1:$P1|127\.0\.0\.1:$P1.*(bind|in use)"; then
		ok "port taken by another mkd: exit $rc: $(run_log thief | grep ERROR | head -1 | cut -d' ' -f3-)"
	else
		not_ok "port taken by another mkd: non-zero exit (no crash) naming the address (exit $rc)"
		run_log thief | note
	fi
else
	not_ok "port taken by another mkd: exits within 20 s"
	stop_mkd thief KILL
fi
check "the bind error gives the kernel's reason" log_has thief "Address already in use"
# A start that failed leaves no identity behind: the same data dir then
# starts fine on a free port.
check "the failed start wrote no info.yaml" test ! -e "$TMP/thief/dqlite/info.yaml"
check "the first mkd is still alive" alive "$(pid_of a)"
check "the first mkd still serves writes" sc "$A1" create /life/c still-serving
check_eq "the first mkd still serves reads" "before-restart" "$(sc "$A1" get /life/a | cut -d' ' -f2-)"
stopped_cleanly a TERM "after the port fight"

# ---- a node whose agent cannot run still serves ---------------------------------

# No OCI runtime where --runtime says: one clear line, and the API, the store
# and a clean stop are unaffected (the node just runs no pods).
MK_E2E_AGENT=1 start_mkd noruntime "$P2" --runtime /nonexistent/runc
if wait_ready noruntime && wait_log noruntime "node agent cannot run: the OCI runtime /nonexistent/runc is not installed" 10; then
	ok "a missing runtime is one ERROR line naming it"
else
	not_ok "a missing runtime is one ERROR line naming it"
	run_log noruntime | note
fi
check "... and the API still answers" wait_for 10 listening "$(api_port_for "$P2")"
stopped_cleanly noruntime TERM "without a node agent"
