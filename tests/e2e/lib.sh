# Shared helpers for the process-level tests (sourced, not run).
#
# The runner (tests/run.sh) sets BUILD (absolute build dir) and ROOT (repo
# root) and counts the TAP lines each script prints: "ok - ..." and
# "not ok - ...".  Everything else a script prints is commentary; keep it
# prefixed with "# " so it can never be mistaken for a result.
#
# Rules every script follows, enforced by these helpers:
#   - every wait polls a condition with a deadline (wait_for), never a bare
#     sleep standing in for a condition;
#   - every process a script starts is recorded and killed on exit, and the
#     temporary directory is removed (the EXIT trap installed below);
#   - only 127.0.0.1, and ports from the script's own range (pick_port):
#     mkd_lifecycle 21000-21099, interop_go_dqlite 22000-22099,
#     crash_safety 23000-23099, cluster_failover 24000-24099,
#     bad_input 25000-25099, kubectl_api 21100-21199, python_api 21200-21299,
#     api_bad_input 21300-21399, pods 21400-21499, pod_logs_api 21500-21599,
#     cli 25100-25199, images 25200-25299, scheduler 21600-21699,
#     services 21700-21799, service_api 21800-21899, jobs 21900-21999,
#     workloads 22200-22299, node_failover 22300-22399; each mkd's API
#     port is its dqlite port + 5000 (api_port_for).

# Variables set here are used by the scripts that source this file.
# shellcheck disable=SC2034

set -u

: "${BUILD:?BUILD (absolute build directory) must be set; use tests/run.sh}"
: "${ROOT:?ROOT (repository root) must be set; use tests/run.sh}"
MKD=$BUILD/mkd
STORECTL=$BUILD/storectl
PY=/usr/bin/python3

E2E_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "/tmp/mk-e2e-$E2E_NAME.XXXXXX")
N_OK=0
N_FAIL=0

# Per-mkd bookkeeping, keyed by the name given to start_mkd / spawn_mkd.
declare -A MKD_PID=()      # pid of the running process ("" once reaped)
declare -A MKD_RC=()       # exit status of the last run, once reaped
declare -A MKD_LOGSTART=() # line of NAME.log where the current run begins
declare -A MKD_ARGV=()     # the run's arguments, shell-quoted, for restart
declare -A MKD_PORTOF=()   # dqlite port given to start_mkd
BG_PIDS=()                 # other background helpers (writers, fake servers)

# ---- results ---------------------------------------------------------------

ok() {
	N_OK=$((N_OK + 1))
	echo "ok - $*"
}

not_ok() {
	N_FAIL=$((N_FAIL + 1))
	echo "not ok - $*"
}

# note TEXT... (or lines on stdin): commentary the runner does not count.
note() {
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@" | sed 's/^/# /'
	else
		sed 's/^/# /'
	fi
}

# check DESC CMD [ARGS...]: ok when CMD succeeds; on failure shows its output.
check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$desc"
	else
		not_ok "$desc (exit $rc)"
		note "command: $*" "$out"
	fi
	return $rc
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		note "expected: $2" "actual:   $3"
		return 1
	fi
}

# ---- time and waiting ------------------------------------------------------

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_for TIMEOUT_S CMD [ARGS...]: polls CMD every 0.1 s until it succeeds
# (0) or the deadline passes (1).
wait_for() {
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# ---- ports -----------------------------------------------------------------

# listening PORT: something accepts TCP connections on 127.0.0.1:PORT.
listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# port_busy PORT: some TCP socket (listening or not) has PORT as its local
# port, so a bind to it could fail.
port_busy() {
	listening "$1" && return 0
	# Field 2 of /proc/net/tcp{,6} is the local address, "HEXADDR:HEXPORT".
	awk -v want="$(printf '%04X' "$1")" \
		'NR > 1 { n = split($2, a, ":"); if (a[n] == want) found = 1 } END { exit !found }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# pick_port VAR FIRST LAST: sets VAR to the first port of the range that no
# socket uses and that this script has not picked yet, so that a stray
# process (or a concurrent run) does not make us flaky.  (Sets a variable
# rather than printing: the picked list must outlive the call.)
#
# Scripts use ranges in 21000-25999, below Linux's ephemeral port range
# (32768-60999 by default): a port in that range can be taken at any moment
# as the local end of some outgoing connection, and then mkd cannot bind it.
PICKED_PORTS=" "
pick_port() {
	local p
	for ((p = $2; p <= $3; p++)); do
		case "$PICKED_PORTS" in *" $p "*) continue ;; esac
		# The API port mkd derives from it must be free too.
		if ! port_busy "$p" && ! port_busy "$((p + 5000))"; then
			PICKED_PORTS="$PICKED_PORTS$p "
			printf -v "$1" '%s' "$p"
			return 0
		fi
	done
	echo "pick_port: no free port in $2-$3" >&2
	return 1
}

# ---- processes -------------------------------------------------------------

# alive PID: the process exists and is not a zombie awaiting wait.
alive() {
	local st
	[ -n "$1" ] || return 1
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# api_port_for DQLITE_PORT: the API port a test mkd gets unless its
# arguments name one: 5000 above its dqlite port (21000-25999 -> 26000-30999,
# still below the ephemeral range), so that no test ever uses 16443.
api_port_for() { echo $(($1 + 5000)); }

# spawn_mkd NAME ARGS...: starts mkd with ARGS, logging (stdout and stderr)
# to $TMP/NAME.log, appended so that a restart keeps the history.  Without
# --api-port in ARGS, one is derived from --dqlite-port (api_port_for).
# Without MK_E2E_AGENT=1 the node agent is off, without MK_E2E_CONTROLLERS=1
# the controllers, and without either MK_E2E_AGENT=1 or MK_E2E_SCHEDULER=1
# the scheduler: a test of the store or the API must not have the objects
# it creates acted upon (pods placed on nodes and run, ReplicaSets scaled).
spawn_mkd() {
	local name=$1 a prev="" dport=""
	shift
	[ "${MK_E2E_AGENT:-0}" = 1 ] || set -- "$@" --no-node-agent
	[ "${MK_E2E_CONTROLLERS:-0}" = 1 ] || set -- "$@" --no-controllers
	[ "${MK_E2E_AGENT:-0}" = 1 ] || [ "${MK_E2E_SCHEDULER:-0}" = 1 ] ||
		set -- "$@" --no-scheduler
	for a in "$@"; do
		[ "$prev" = --dqlite-port ] && dport=$a
		[ "$a" = --api-port ] && dport=""
		prev=$a
	done
	case " $* " in *" --api-port "*) ;; *) [ -n "$dport" ] && set -- "$@" --api-port "$(api_port_for "$dport")" ;; esac
	local log=$TMP/$name.log
	touch "$log"
	MKD_LOGSTART[$name]=$(($(wc -l <"$log") + 1))
	MKD_ARGV[$name]=$(printf '%q ' "$@")
	echo "=== start: mkd $* ===" >>"$log"
	MKD_LOGSTART[$name]=$((MKD_LOGSTART[$name] + 1))
	"$MKD" "$@" >>"$log" 2>&1 &
	MKD_PID[$name]=$!
	MKD_RC[$name]=""
}

# start_mkd NAME PORT [EXTRA ARGS...]: mkd with data in $TMP/NAME, serving on
# 127.0.0.1:PORT.
start_mkd() {
	local name=$1 port=$2
	shift 2
	MKD_PORTOF[$name]=$port
	spawn_mkd "$name" --data-dir "$TMP/$name" --address 127.0.0.1 \
		--dqlite-port "$port" "$@"
}

# restart_mkd NAME: same arguments as the previous run.
restart_mkd() {
	local name=$1
	eval "spawn_mkd \"\$name\" ${MKD_ARGV[$name]}"
}

# start_api_mkd NAME PORT: start_mkd, then wait until its store is ready
# and its API port (api_port_for PORT) accepts connections; prints the
# result line "ok|not ok - mkd serves the API on N".  Returns 1 on failure.
start_api_mkd() {
	local api
	api=$(api_port_for "$2")
	start_mkd "$1" "$2"
	if wait_ready "$1" 30 && wait_for 20 listening "$api"; then
		ok "mkd serves the API on $api"
		return 0
	fi
	not_ok "mkd serves the API on $api"
	return 1
}

addr_of() { echo "127.0.0.1:${MKD_PORTOF[$1]}"; }
data_of() { echo "$TMP/$1"; }
pid_of() { echo "${MKD_PID[$1]}"; }

# run_log NAME: the log of the current (or last) run only.
run_log() {
	tail -n +"${MKD_LOGSTART[$1]}" "$TMP/$1.log"
}

# log_has NAME REGEX: the current run logged a line matching REGEX.
log_has() {
	run_log "$1" | grep -Eq -- "$2"
}

# wait_log NAME REGEX [TIMEOUT_S]
wait_log() {
	wait_for "${3:-20}" log_has "$1" "$2"
}

# wait_ready NAME [TIMEOUT_S]: the store of NAME is usable.  Fails early if
# the process died.
wait_ready() {
	local name=$1 deadline=$(($(now_ms) + ${2:-20} * 1000))
	while :; do
		log_has "$name" 'mkd: ready: store at revision [0-9]+' && return 0
		if ! alive "${MKD_PID[$name]}"; then
			note "mkd $name died before becoming ready"
			return 1
		fi
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# reap NAME [TIMEOUT_S]: waits (bounded) for NAME to exit; records its exit
# status in MKD_RC[NAME].  Returns 1 if it is still running at the deadline.
reap() {
	local name=$1 pid=${MKD_PID[$1]}
	[ -n "$pid" ] || return 0
	wait_for "${2:-20}" eval "! alive $pid" || return 1
	wait "$pid" 2>/dev/null
	MKD_RC[$name]=$?
	MKD_PID[$name]=""
	return 0
}

# stop_mkd NAME [SIGNAL] [TIMEOUT_S]: signals NAME (TERM by default) and
# reaps it; on timeout, kills it hard and returns 1.  Exit status in MKD_RC.
stop_mkd() {
	local name=$1 sig=${2:-TERM} pid=${MKD_PID[$1]}
	[ -n "$pid" ] || return 0
	kill -s "$sig" "$pid" 2>/dev/null
	if ! reap "$name" "${3:-20}"; then
		note "mkd $name ignored SIG$sig; killing it"
		kill -9 "$pid" 2>/dev/null
		reap "$name" 5
		return 1
	fi
	return 0
}

# bg_track PID: kill this helper on exit too.
bg_track() { BG_PIDS+=("$1"); }

# stop_bg PID: ends a helper we started, bounded.
stop_bg() {
	kill "$1" 2>/dev/null
	wait_for 5 eval "! alive $1" || kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# ---- clients ---------------------------------------------------------------

# sc ADDRS ARGS...: storectl, never longer than 40 s.  The -k makes sure a
# wedged client cannot hang the script either.
sc() {
	local addrs=$1
	shift
	timeout -k 5 40 "$STORECTL" -s "$addrs" "$@"
}

# dq ADDR ARGS...: Debian's go-dqlite shell, bounded.
dq() {
	local addr=$1
	shift
	timeout -k 5 30 dqlite -s "$addr" "$@"
}

# ---- cleanup ---------------------------------------------------------------

# kill_tree PID: PID and its descendants (a background subshell's timeout
# and storectl, say), by process id.
kill_tree() {
	local child
	for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		kill_tree "$child"
	done
	kill -9 "$1" 2>/dev/null
}

e2e_cleanup() {
	local name pid
	for pid in "${BG_PIDS[@]}"; do
		kill_tree "$pid"
	done
	for name in "${!MKD_PID[@]}"; do
		pid=${MKD_PID[$name]}
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	done
	for pid in "${BG_PIDS[@]}" "${MKD_PID[@]}"; do
		[ -n "$pid" ] && wait "$pid" 2>/dev/null
	done
	# On failure, leave the daemons' logs in the script's output.
	if [ "$N_FAIL" -gt 0 ]; then
		for name in "${!MKD_LOGSTART[@]}"; do
			note "---- log of mkd $name (last 40 lines) ----"
			tail -n 40 "$TMP/$name.log" | sed 's/^/# /'
		done
	fi
	rm -rf "$TMP"
	echo "# $E2E_NAME: $N_OK ok, $N_FAIL not ok"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ ! -x "$MKD" ] || [ ! -x "$STORECTL" ]; then
	not_ok "$E2E_NAME: $MKD and $STORECTL must be built (make build/mkd build/storectl)"
	exit 1
fi
