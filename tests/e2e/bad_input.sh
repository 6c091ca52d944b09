#!/bin/bash
# Bad input never crashes and never corrupts (DESIGN.md decision 11): with a
# running mkd, oversized values, stale revisions, unknown and existing keys,
# writes disguised as queries are refused with a clear one-line error and
# leave the data as it was; a client pointed at something that is not a
# healthy dqlite node (nobody, a silent listener, a server talking garbage)
# fails cleanly within a bounded time.  Afterwards mkd is alive and serving.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pick_port P 25000 25099 || exit 1
A=127.0.0.1:$P
LIMIT=$((1536 * 1024)) # STORE_MAX_VALUE

start_mkd n1 "$P"
if wait_ready n1; then ok "mkd ready on $A"; else not_ok "mkd ready on $A"; exit 1; fi

# refused DESC REGEX CMD...: CMD exits 1 (a handled failure, not a crash:
# a signal would give >= 128), printing one line on stderr matching REGEX.
refused() {
	local desc=$1 re=$2 rc
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -Eq -- "$re" "$TMP/err"; then
		ok "$desc: $(cat "$TMP/err")"
	else
		not_ok "$desc: exit 1 with one line matching /$re/ (exit $rc)"
		note "stderr: $(cat "$TMP/err")" "stdout: $(head -c 300 "$TMP/out")"
	fi
}

get_value() { sc "$A" get "$1" 2>&1; }

# ---- values over the cap --------------------------------------------------------

# A value near the cap is larger than one command-line argument may be
# (Linux: 128 KiB), so storectl reads it from standard input ("-").
bv() { # create|update KEY SIZE [REV]
	op=$1 key=$2 size=$3
	shift 3
	head -c "$size" /dev/zero | tr '\0' a |
		timeout -k 5 40 "$BUILD/storectl" -s "$A" "$op" "$key" - "$@"
}

refused "create with a 1600000-byte value" "exceeds the $LIMIT-byte limit" bv create /bad/big 1600000
check_eq "the oversized key does not exist afterwards" 'storectl: get: key "/bad/big" not found (not found)' \
	"$(get_value /bad/big)"
refused "create with the cap + 1 byte" "exceeds the $LIMIT-byte limit" bv create /bad/big $((LIMIT + 1))
check "create with exactly the cap ($LIMIT bytes) is accepted" bv create /bad/at-cap $LIMIT
check_eq "and reads back whole" "$LIMIT" "$(sc "$A" get /bad/at-cap | cut -d' ' -f2- | tr -d '\n' | wc -c)"

check "create /bad/keep" sc "$A" create /bad/keep original
KEEP_REV=$(sc "$A" get /bad/keep | cut -d' ' -f1)
refused "update with a 1600000-byte value" "exceeds the $LIMIT-byte limit" bv update /bad/keep 1600000 "$KEEP_REV"
check_eq "the value is unchanged after the refused update" "$KEEP_REV original" "$(get_value /bad/keep)"

# The largest value one argument can carry goes through storectl itself.
V120K=$(head -c 122880 /dev/zero | tr '\0' c)
check "storectl create with a 120 KiB value" sc "$A" create /bad/120k "$V120K"
check_eq "and reads back whole" 122880 "$(sc "$A" get /bad/120k | cut -d' ' -f2- | tr -d '\n' | wc -c)"

# ---- conflicts, unknown and existing keys -------------------------------------------

refused "update with a wrong revision" "conflict" sc "$A" update /bad/keep changed $((KEEP_REV + 100))
refused "delete with a wrong revision" "conflict" sc "$A" delete /bad/keep $((KEEP_REV + 100))
check_eq "the value is unchanged after the conflicts" "$KEEP_REV original" "$(get_value /bad/keep)"
refused "get of an unknown key" "not found" sc "$A" get /bad/nope
refused "update of an unknown key" "not found" sc "$A" update /bad/nope x
refused "update of an unknown key with a revision" "not found" sc "$A" update /bad/nope x 5
refused "delete of an unknown key" "not found" sc "$A" delete /bad/nope
refused "create of an existing key" "already exists" sc "$A" create /bad/keep other
check_eq "the value is unchanged after the refused create" "$KEEP_REV original" "$(get_value /bad/keep)"
refused "create with an empty key" "empty key" sc "$A" create "" v
refused "create with a 1025-byte key" "exceeds the 1024-byte limit" \
	sc "$A" create "/$(head -c 1024 /dev/zero | tr '\0' k)" v
refused "create with a negative TTL" "negative TTL" sc "$A" create /bad/ttl v -5
refused "update with a negative revision" "negative revision" sc "$A" update /bad/keep v -1
check_eq "a deleted key stays gone" 'storectl: get: key "/bad/del" not found (not found)' \
	"$(sc "$A" create /bad/del x >/dev/null && sc "$A" delete /bad/del >/dev/null && get_value /bad/del)"

# ---- only SELECTs go as QUERY (reference/dqlite.md §5 item 1) -----------------------

N_LIVE=$(sc "$A" query "SELECT count(*) FROM live" 2>&1)
refused "query \"DELETE FROM live\" is refused" "only a SELECT" sc "$A" query "DELETE FROM live"
refused "query \"SELECT 1; DELETE FROM live\" is refused" "only a SELECT" \
	sc "$A" query "SELECT 1; DELETE FROM live"
refused "query \"WITH x AS (SELECT 1) DELETE FROM live\" is refused" "only a SELECT" \
	sc "$A" query "WITH x AS (SELECT 1) DELETE FROM live"
refused "query \"INSERT ... RETURNING\" is refused" "only a SELECT" \
	sc "$A" query "INSERT INTO meta VALUES ('x', 1) RETURNING name"
check_eq "the data is still there after the refused queries" "$N_LIVE" \
	"$(sc "$A" query "SELECT count(*) FROM live" 2>&1)"
check_eq "nothing was inserted by the refused RETURNING" 0 \
	"$(sc "$A" query "SELECT count(*) FROM meta WHERE name = 'x'" 2>&1)"
refused "bad SQL gives the SQLite error" "syntax error|no such table" sc "$A" query "SELECT * FROM no_such_table"

# Malformed node ids are usage errors (exit 2) and never reach the cluster.
CLUSTER_BEFORE=$(sc "$A" cluster 2>&1)
for args in "remove abc" "remove 0" "transfer -3" "assign x voter" "assign 5 leader"; do
	# shellcheck disable=SC2086 # the words are the arguments
	sc "$A" $args >/dev/null 2>&1
	check_eq "storectl $args: usage error (exit 2)" 2 "$?"
done
check_eq "the membership is unchanged" "$CLUSTER_BEFORE" "$(sc "$A" cluster 2>&1)"

# ---- storectl usage ---------------------------------------------------------------

usage2() {
	local desc=$1 rc
	shift
	timeout -k 5 20 "$STORECTL" "$@" >/dev/null 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ]; then
		ok "storectl bad usage ($desc): exit 2"
	else
		not_ok "storectl bad usage ($desc): exit 2 with one line (exit $rc)"
		note "$(cat "$TMP/err")"
	fi
}
usage2 "no command" -s "$A"
usage2 "unknown command" -s "$A" frobnicate
usage2 "revision not a number" -s "$A" update /bad/keep v abc
usage2 "assign to an unknown role" -s "$A" assign 2 boss

# ---- members that are not healthy dqlite nodes ------------------------------------------

# Fake servers (fake_dqlite.py), one per misbehaviour, on our own ports.
MODES="silent close random huge truncated badtype badserver fakeleader"
declare -A FPORT=()
for m in $MODES; do
	pick_port "FPORT[$m]" 25000 25099 || exit 1
	"$PY" "$ROOT/tests/e2e/fake_dqlite.py" "$m" "${FPORT[$m]}" >"$TMP/fake.$m" 2>&1 &
	bg_track $!
done
for m in $MODES; do
	if ! wait_for 10 grep -q listening "$TMP/fake.$m"; then
		not_ok "fake server $m listens"
		note "$(cat "$TMP/fake.$m")"
	fi
done

# Each client call waits out discovery (10-15 s) before giving up, so they
# all run at once; each records "EXIT_STATUS MS".
# probe NAME ADDR ARGS...
declare -a PROBES=()
probe() {
	local name=$1
	shift
	PROBES+=("$name")
	(
		t0=$(now_ms)
		timeout -k 5 40 "$STORECTL" -s "$@" >"$TMP/p.$name.out" 2>"$TMP/p.$name.err"
		echo "$? $(($(now_ms) - t0))" >"$TMP/p.$name.rc"
	) &
	bg_track $!
}
probe refused-get 127.0.0.1:1 get /k
probe refused-query 127.0.0.1:1 query "SELECT 1"
for m in $MODES; do
	probe "$m-get" "127.0.0.1:${FPORT[$m]}" get /k
	probe "$m-query" "127.0.0.1:${FPORT[$m]}" query "SELECT 1"
done
probe fakeleader-cluster "127.0.0.1:${FPORT[fakeleader]}" cluster
probe fakeleader-dumpcount "127.0.0.1:${FPORT[fakeleader]}" dumpcount mk "SELECT 1"

# ---- garbage sent to mkd's own dqlite port ---------------------------------------------

# Anyone who can reach the port can send these; each must leave mkd alive.
# (Runs while the probes above wait out their timeouts.)
GARBAGE="random badversion truncated shortbody unknowntype badopen execnodb claim2g churn"
# claim4g and claimmax kill a bare libdqlite 1.11.1 node (abort or
# segfault on a header announcing >= 4 GiB); mkd's proxy refuses them.
GARBAGE="$GARBAGE claim4g claimmax"
for g in $GARBAGE; do
	out=$(timeout -k 2 15 "$PY" "$ROOT/tests/e2e/garbage_client.py" "$P" "$g" 2>&1)
	# A crash shows within moments; give it a chance to happen before looking.
	if wait_for 1 eval "! alive $(pid_of n1)"; then
		reap n1 5
		not_ok "mkd survives garbage \"$g\" on its dqlite port (it died: exit ${MKD_RC[n1]})"
		note "client: $out"
		run_log n1 | tail -n 3 | note
		restart_mkd n1
		wait_ready n1 || exit 1
	elif sc "$A" get /bad/keep >/dev/null 2>&1; then
		ok "mkd survives garbage \"$g\" on its dqlite port and serves ($out)"
	else
		not_ok "mkd serves after garbage \"$g\" on its dqlite port"
	fi
done

all_done() {
	local n
	for n in "${PROBES[@]}"; do [ -s "$TMP/p.$n.rc" ] || return 1; done
}
wait_for 50 all_done || note "some probes did not finish within 50 s"

# expect NAME DESC REGEX: the probe failed with exit 1 (no crash, no hang)
# within 30 s, with one line on stderr matching REGEX.
expect() {
	local name=$1 desc=$2 re=$3 rc ms
	read -r rc ms <"$TMP/p.$name.rc" 2>/dev/null || { rc=none ms=none; }
	if [ "$rc" = 1 ] && [ "$ms" -lt 30000 ] && [ "$(wc -l <"$TMP/p.$name.err")" -eq 1 ] &&
		grep -Eq -- "$re" "$TMP/p.$name.err"; then
		ok "$desc: exit 1 after $ms ms: $(cat "$TMP/p.$name.err")"
	else
		not_ok "$desc: exit 1 within 30 s with one line matching /$re/ (exit $rc after $ms ms)"
		note "stderr: $(cat "$TMP/p.$name.err" 2>/dev/null)"
	fi
}
expect refused-get "store get from 127.0.0.1:1 (nobody)" "Connection refused"
expect refused-query "query to 127.0.0.1:1 (nobody)" "Connection refused"
expect silent-get "store get from a silent listener" "no answer within"
expect silent-query "query to a silent listener" "no answer within"
# A peer that hangs up shows as a reset or EOF on receive, or as EPIPE when
# our request is still being sent: which one is a matter of timing.
expect close-get "store get from a server that hangs up" "Connection reset|closed|Broken pipe"
expect close-query "query to a server that hangs up" "Connection reset|closed|Broken pipe"
expect random-get "store get from a server sending random bytes" "refused|malformed|response type"
expect random-query "query to a server sending random bytes" "refused|malformed|response type"
expect huge-get "store get, header claiming a 32 GiB body" "response of [0-9]+ bytes refused"
expect huge-query "query, header claiming a 32 GiB body" "response of [0-9]+ bytes refused"
expect truncated-get "store get, truncated message" "receive: |truncated"
expect truncated-query "query, truncated message" "receive: |truncated"
expect badtype-get "store get, message of unknown type" "response type 238"
expect badtype-query "query, message of unknown type" "response type 238"
expect badserver-get "store get, SERVER without NUL" "malformed SERVER response"
expect badserver-query "query, SERVER without NUL" "malformed SERVER response"
# A server that claims leadership, then answers with impossible counts.
expect fakeleader-get "store get from a lying leader" "."
expect fakeleader-query "query to a lying leader" "malformed ROWS response"
expect fakeleader-cluster "cluster from a lying leader" "malformed SERVERS response"
expect fakeleader-dumpcount "dumpcount from a lying leader" "malformed|refused"

# ---- and mkd took none of it badly ----------------------------------------------------

check "mkd is still alive" alive "$(pid_of n1)"
check "mkd still serves writes" sc "$A" create /bad/final fine
check_eq "mkd still serves reads" fine "$(sc "$A" get /bad/final 2>&1 | cut -d' ' -f2-)"
check_eq "integrity_check" ok "$(sc "$A" query "SELECT * FROM pragma_integrity_check" 2>&1)"
stop_mkd n1 TERM
check_eq "clean stop" 0 "${MKD_RC[n1]}"
