#!/bin/sh
# Runs every test and ends with one line "N passed, N failed".
#
#   tests/run.sh BUILD_DIR [FILTER]
#
# Unit tests are cmocka binaries (BUILD_DIR/tests/test_*); each test case
# counts.  Process tests are tests/e2e/*.sh; they print TAP-style lines
# "ok - NAME" / "not ok - NAME", and each line counts.  Each libFuzzer
# target (BUILD_DIR/fuzz/fuzz_*) runs for MK_FUZZ_SECONDS (20) and counts one.  A process test that
# exits non-zero without reporting a failure counts one failure more.
set -u
BUILD=${1:-build}
FILTER=${2:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"
passed=0
failed=0

count() { # file: adds its ok / not ok lines
	p=$(grep -c '^ok ' "$1" || true)
	f=$(grep -c '^not ok ' "$1" || true)
	passed=$((passed + p))
	failed=$((failed + f))
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	case "$name" in *"$FILTER"*) ;; *) continue ;; esac
	log=$LOGDIR/$name.log
	CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log" 2>&1
	rc=$?
	count "$log"
	if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log"; then
		failed=$((failed + 1))
		echo "not ok - $name exited $rc"
	fi
	grep '^not ok ' "$log" | sed "s/^/$name: /"
	echo "$name: $(grep -c '^ok ' "$log") passed, $(grep -c '^not ok ' "$log") failed"
done

# Fuzz targets: a bounded run each from an empty corpus; any crash fails.
for t in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	case "$name" in *"$FILTER"*) ;; *) continue ;; esac
	log=$LOGDIR/$name.log
	corpus=$(mktemp -d)
	(cd "$corpus" && "$t" -max_total_time="${MK_FUZZ_SECONDS:-20}" -print_final_stats=1 . >"$log" 2>&1)
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "$name: ok (${runs:-?} inputs)"
	else
		failed=$((failed + 1))
		cp "$corpus"/crash-* "$LOGDIR"/ 2>/dev/null
		echo "not ok - $name found a crash (log: $log)"
		grep -A8 ERROR "$log" | head -20
	fi
	rm -rf "$corpus"
done

for t in "$ROOT"/tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	case "$name" in lib | node_lib | busybox_image) continue ;; esac # helpers, not tests
	case "$name" in *"$FILTER"*) ;; *) continue ;; esac
	log=$LOGDIR/e2e-$name.log
	start=$(date +%s)
	BUILD="$BUILD" ROOT="$ROOT" timeout 600 bash "$t" >"$log" 2>&1
	rc=$?
	count "$log"
	if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log"; then
		failed=$((failed + 1))
		echo "not ok - e2e/$name exited $rc (log: $log)"
		tail -20 "$log"
	fi
	grep '^not ok ' "$log" | sed "s/^/e2e\/$name: /"
	echo "e2e/$name: $(grep -c '^ok ' "$log") passed, $(grep -c '^not ok ' "$log") failed ($(( $(date +%s) - start ))s)"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
