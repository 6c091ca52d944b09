#!/bin/bash
# Three mkd on 127.0.0.1 form a three-voter cluster; kill -9 of the leader in
# the middle of a stream of writes: writes resume through the survivors
# within seconds, nothing acknowledged is lost, and the killed node, restarted
# on its own data, catches up with the leader.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

MAX_GAP_MS=10000
pick_port P1 24000 24099 || exit 1
pick_port P2 24000 24099 || exit 1
pick_port P3 24000 24099 || exit 1
A1=127.0.0.1:$P1
A2=127.0.0.1:$P2
A3=127.0.0.1:$P3
ALL=$A1,$A2,$A3

# ---- form the cluster ------------------------------------------------------------

start_mkd n1 "$P1"
if wait_ready n1; then ok "n1 ready (bootstraps)"; else not_ok "n1 ready (bootstraps)"; exit 1; fi
start_mkd n2 "$P2" --join "$A1"
start_mkd n3 "$P3" --join "$A1"
for n in n2 n3; do
	if wait_ready $n 30 && log_has $n 'joined the cluster'; then
		ok "$n joined and is ready"
	else
		not_ok "$n joined and is ready"
		exit 1
	fi
done

id_of() { sed -n 's/^ID: //p' "$(data_of "$1")/dqlite/info.yaml"; }
ID1=$(id_of n1) ID2=$(id_of n2) ID3=$(id_of n3)
check_eq "joiners arrive as spares" "$ID2 $A2 spare
$ID3 $A3 spare" "$(sc "$A1" cluster 2>&1 | grep -v "^$ID1 " | sort -k2)"

check "assign n2 voter" sc "$A1" assign "$ID2" voter
check "assign n3 voter" sc "$A1" assign "$ID3" voter
three_voters() {
	[ "$(sc "$ALL" cluster 2>/dev/null | sort -k2)" = "$ID1 $A1 voter
$ID2 $A2 voter
$ID3 $A3 voter" ]
}
if wait_for 10 three_voters; then
	ok "storectl cluster shows 3 voters"
else
	not_ok "storectl cluster shows 3 voters"
	sc "$ALL" cluster 2>&1 | note
fi

# Every node keeps cluster.yaml current (it seeds discovery on restart).
yaml_lists_all() {
	local f
	f=$(data_of "$1")/dqlite/cluster.yaml
	grep -q "Address: $A1" "$f" && grep -q "Address: $A2" "$f" && grep -q "Address: $A3" "$f"
}
for n in n1 n2 n3; do
	if wait_for 15 yaml_lists_all $n; then
		ok "$n's cluster.yaml lists all three nodes"
	else
		not_ok "$n's cluster.yaml lists all three nodes"
	fi
done

# ---- kill the leader under load ------------------------------------------------------

acks=$TMP/acks
acks_in() { grep -c '^ack ' "$acks" 2>/dev/null; }
at_least_acks() { [ "$(acks_in)" -ge "$1" ]; }

"$STORECTL" -s "$ALL" writeloop /failover/ 100000 >"$acks" 2>"$TMP/writer.err" &
writer=$!
bg_track "$writer"
if wait_for 30 at_least_acks 200; then
	ok "writes flow through the cluster ($(acks_in) acks)"
else
	not_ok "writes flow through the cluster (200 acks within 30 s, got $(acks_in))"
fi

leader_addr=$(sc "$ALL" leader 2>&1 | cut -d' ' -f2)
LN=""
for n in n1 n2 n3; do
	[ "$(addr_of $n)" = "$leader_addr" ] && LN=$n
done
if [ -z "$LN" ]; then
	not_ok "the leader is one of the three nodes (got \"$leader_addr\")"
	exit 1
fi
ok "leader is $LN ($leader_addr)"
SURV=""
for n in n1 n2 n3; do
	[ $n != "$LN" ] && SURV=$SURV,$(addr_of $n)
done
SURV=${SURV#,}

at_kill=$(acks_in)
stop_mkd "$LN" KILL 10
note "killed $LN after $at_kill acks"

if wait_for 30 at_least_acks $((at_kill + 100)); then
	ok "writes resume after the leader's death ($(acks_in) acks)"
else
	not_ok "writes resume after the leader's death (100 more acks within 30 s; at $(acks_in))"
fi
stop_bg "$writer"

# ack <i> <rev> <ms since start>: the longest silence between two acks.
gap=$(awk '$1 == "ack" { if (seen && $4 - prev > max) { max = $4 - prev; at = $2 } prev = $4; seen = 1 }
	END { printf "%d %d\n", max, at }' "$acks")
gap_ms=${gap% *}
if [ "$gap_ms" -lt $MAX_GAP_MS ]; then
	ok "failover: largest gap between acks ${gap_ms} ms (< $MAX_GAP_MS ms), before write ${gap#* }"
else
	not_ok "failover: largest gap between acks ${gap_ms} ms (>= $MAX_GAP_MS ms), before write ${gap#* }"
fi
errs=$(grep -c '^err ' "$acks")
check_eq "no write failed during the failover" 0 "$errs"
[ "$errs" -eq 0 ] || grep '^err ' "$acks" | head -5 | note

if out=$(sc "$SURV" verify /failover/ "$acks" 2>&1) && [ "$out" = "$(acks_in) acknowledged, 0 missing or wrong" ]; then
	ok "verify through the survivors: $out"
else
	not_ok "verify through the survivors: 0 missing or wrong"
	note "$out"
fi

new_leader=$(sc "$SURV" leader 2>&1 | cut -d' ' -f2)
case ",$SURV," in
*",$new_leader,"*) ok "new leader is a survivor ($new_leader)" ;;
*) not_ok "new leader is a survivor (got \"$new_leader\")" ;;
esac

# ---- the killed node comes back and catches up ------------------------------------------

restart_mkd "$LN"
if wait_ready "$LN" 30; then ok "$LN restarts on its data (no --join)"; else not_ok "$LN restarts on its data (no --join)"; fi
KA=$(addr_of "$LN")
# The leader's count, read through the leader (QUERY runs a barrier there).
want=$(sc "$SURV" query "SELECT count(*) FROM log" 2>&1)
# Its own copy (DUMP from it, any role) must reach the leader's count.
caught_up() { [ "$(sc "$KA" dumpcount mk "SELECT count(*) FROM log" 2>/dev/null)" = "$want" ]; }
t0=$(now_ms)
if wait_for 30 caught_up; then
	ok "$LN caught up: $want log rows, like the leader ($(($(now_ms) - t0)) ms)"
else
	not_ok "$LN caught up with the leader's $want log rows within 30 s (has $(sc "$KA" dumpcount mk "SELECT count(*) FROM log" 2>&1))"
fi

# Through the restarted node alone, the store finds the leader and sees all.
if out=$(sc "$KA" verify /failover/ "$acks" 2>&1) && [ "$out" = "$(acks_in) acknowledged, 0 missing or wrong" ]; then
	ok "verify through the restarted node alone: $out"
else
	not_ok "verify through the restarted node alone: 0 missing or wrong"
	note "$out"
fi
check "a write through the restarted node's address" sc "$KA" create /failover/after ok
check_eq "the write is visible through every address" "ok ok ok" \
	"$(for a in "$A1" "$A2" "$A3"; do sc "$a" get /failover/after 2>&1 | cut -d' ' -f2-; done | xargs)"
check_eq "the cluster still has three members" 3 "$(sc "$ALL" cluster 2>/dev/null | wc -l)"

# ---- orderly shutdown ---------------------------------------------------------------

# Each exits 0, including the last one, which stops without a quorum.
for n in n1 n2 n3; do
	if stop_mkd $n TERM 20; then
		check_eq "$n: SIGTERM exits 0" 0 "${MKD_RC[$n]}"
	else
		not_ok "$n: SIGTERM stops it within 20 s"
	fi
done
