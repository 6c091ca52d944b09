#!/bin/bash
# kill -9 of mkd in the middle of a stream of writes loses nothing that was
# acknowledged, invents at most the one write that was in flight, keeps the
# database intact, and the store accepts writes again after the restart.
# Three crash/restart cycles; every cycle re-checks all earlier cycles' acks.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pick_port P 23000 23099 || exit 1
A=127.0.0.1:$P
MIN_ACKS=300
CYCLES=3

start_mkd n1 "$P"
if wait_ready n1; then ok "mkd ready on $A"; else not_ok "mkd ready on $A"; exit 1; fi

acks_in() { grep -c '^ack ' "$1" 2>/dev/null; }
at_least_acks() { [ "$(acks_in "$1")" -ge "$2" ]; }

# count_live PREFIX: live keys under PREFIX (a key range, like LIST).
count_live() {
	sc "$A" query "SELECT count(*) FROM live WHERE key >= '$1' AND key < '${1%/}0'"
}

for cycle in $(seq 1 $CYCLES); do
	prefix=/crash/$cycle/
	acks=$TMP/acks.$cycle
	# Not through sc/timeout: the pid must be the writer's own.
	"$STORECTL" -s "$A" writeloop "$prefix" 100000 >"$acks" 2>"$TMP/writer.$cycle.err" &
	writer=$!
	bg_track "$writer"

	if ! wait_for 30 at_least_acks "$acks" $MIN_ACKS; then
		not_ok "cycle $cycle: $MIN_ACKS acks within 30 s (got $(acks_in "$acks"))"
		stop_bg "$writer"
		break
	fi
	# The writer must still be writing when the node dies: a real mid-loop crash.
	if alive "$writer"; then
		ok "cycle $cycle: writer running at the crash ($(acks_in "$acks") acks so far)"
	else
		not_ok "cycle $cycle: writer running at the crash"
	fi
	stop_mkd n1 KILL 10
	check_eq "cycle $cycle: mkd died of SIGKILL (wait status 137)" 137 "${MKD_RC[n1]}"
	stop_bg "$writer"
	n_acks=$(acks_in "$acks")
	last_rev=$(grep '^ack ' "$acks" | tail -n 1 | cut -d' ' -f3)
	n_errs=$(grep -c '^err ' "$acks")
	note "cycle $cycle: $n_acks acks (last revision $last_rev), $n_errs errs"

	# Kill it once more while it recovers (before it is ready): recovery
	# itself must be crash safe.  Only on the last cycle, to keep it short.
	if [ "$cycle" -eq $CYCLES ]; then
		restart_mkd n1
		if wait_log n1 'dqlite: node .* serving as' 10; then
			ok "cycle $cycle: restarted node is recovering"
		else
			not_ok "cycle $cycle: restarted node logs that its dqlite node serves"
		fi
		stop_mkd n1 KILL 10
	fi

	restart_mkd n1
	if wait_ready n1; then
		ok "cycle $cycle: restart after kill -9: ready"
	else
		not_ok "cycle $cycle: restart after kill -9: ready"
		break
	fi

	# Every acknowledged write of this and every earlier cycle is intact.
	for c in $(seq 1 "$cycle"); do
		out=$(sc "$A" verify "/crash/$c/" "$TMP/acks.$c" 2>&1)
		rc=$?
		n=$(acks_in "$TMP/acks.$c")
		if [ $rc -eq 0 ] && [ "$out" = "$n acknowledged, 0 missing or wrong" ] && [ "$n" -ge $MIN_ACKS ]; then
			ok "cycle $cycle: verify cycle $c's writes: $out"
		else
			not_ok "cycle $cycle: verify cycle $c's writes: 0 missing or wrong of >= $MIN_ACKS (exit $rc)"
			note "$out"
		fi
	done

	check_eq "cycle $cycle: integrity_check" ok \
		"$(sc "$A" query "SELECT * FROM pragma_integrity_check" 2>&1)"

	# Acknowledged <= stored <= acknowledged + the one write in flight (and
	# any write that reported an error: those may have committed too).
	live=$(count_live "$prefix" 2>&1)
	if [ "$live" -ge "$n_acks" ] 2>/dev/null && [ "$live" -le $((n_acks + n_errs + 1)) ]; then
		ok "cycle $cycle: $live keys stored for $n_acks acks (+$n_errs errs, +1 in flight)"
	else
		not_ok "cycle $cycle: keys stored ($live) between acks ($n_acks) and acks+errs+1"
	fi
	# The stored keys are exactly the acknowledged ones plus at most the
	# next in order: the writer is sequential.
	max_ack=$(grep '^ack ' "$acks" | tail -n 1 | cut -d' ' -f2)
	extra=$(sc "$A" query "SELECT key FROM live WHERE key >= '$prefix' AND key < '${prefix%/}0' AND CAST(substr(key, length('$prefix') + 1) AS INTEGER) > $max_ack" 2>&1)
	if [ -z "$extra" ] || [ "$extra" = "$prefix$((max_ack + 1))" ]; then
		ok "cycle $cycle: no key beyond the in-flight one (${extra:-none landed})"
	else
		not_ok "cycle $cycle: no key beyond the in-flight one"
		note "$extra"
	fi

	rev=$(sc "$A" rev 2>&1 | cut -d' ' -f1)
	if [ "$rev" -ge "$last_rev" ] 2>/dev/null; then
		ok "cycle $cycle: revision $rev >= last acknowledged $last_rev"
	else
		not_ok "cycle $cycle: revision ($rev) >= last acknowledged ($last_rev)"
	fi

	check "cycle $cycle: the store accepts writes after the restart" \
		sc "$A" create "/crash/after-$cycle" fine
	check_eq "cycle $cycle: and reads them back" fine \
		"$(sc "$A" get "/crash/after-$cycle" 2>&1 | cut -d' ' -f2-)"
done

stop_mkd n1 TERM
check_eq "clean stop at the end" 0 "${MKD_RC[n1]}"
