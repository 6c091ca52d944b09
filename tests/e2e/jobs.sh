#!/bin/bash
# Jobs and CronJobs with pods that really run, driven with kubectl 1.32:
# completions and parallelism, failures and the back-off limit, the active
# deadline, Indexed Jobs, TTL after finished, suspend and resume, a
# CronJob firing on the minute, `kubectl create job --from=cronjob/...`,
# and bad input refused with 422.  Ports 21900-21999.
#
# Everything is created at the start and checked after, so that the pods
# of the different Jobs (and the wait for the CronJob's minute) overlap.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/node_lib.sh"

pick_port PORT 21900 21999 || exit 1

# Jobs and CronJobs go first, through the API, while the controllers run
# (the pods' tracking finalizers are theirs to remove).
jobs_cleanup() {
	if [ -n "${MKD_PID[jobs]:-}" ] && alive "${MKD_PID[jobs]}"; then
		k delete cronjob,job --all --wait=false >/dev/null 2>&1
		wait_for 30 eval "[ -z \"\$(k get pods -o name 2>/dev/null)\" ]"
	fi
}
trap 'jobs_cleanup; node_cleanup; e2e_cleanup' EXIT
node_setup jobs "$PORT" || exit 1
ok "node with agent and controllers is Ready"

apply() { k apply -f - >/dev/null; }
jj() { k get job "$1" -o "jsonpath=$2" 2>/dev/null; }
# job NAME SPEC-YAML COMMAND: a Job whose one container runs COMMAND.
job() {
	cat <<YAML | apply
apiVersion: batch/v1
kind: Job
metadata: {name: $1}
spec:
$2
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: $IMAGE, imagePullPolicy: Never, command: ["sh", "-c", "$3"]}
YAML
}
cond() { jj "$1" "{.status.conditions[?(@.type==\"$2\")].$3}"; }
pods_of() { k get pods -l "batch.kubernetes.io/job-name=$1" ${2:+--field-selector=status.phase=$2} -o name 2>/dev/null | grep -c .; }
events_of() { k get events --field-selector "involvedObject.kind=$1,involvedObject.name=$2" -o 'jsonpath={.items[*].reason}' 2>/dev/null; }

# ---- everything at once -------------------------------------------------------------

cat <<YAML | apply
apiVersion: batch/v1
kind: CronJob
metadata: {name: every}
spec:
  schedule: "* * * * *"
  timeZone: Europe/Berlin
  jobTemplate:
    metadata: {labels: {cron: every}}
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          terminationGracePeriodSeconds: 1
          containers:
          - {name: main, image: $IMAGE, imagePullPolicy: Never, command: ["sh", "-c", "echo tick"]}
YAML
CRON_AT=$(now_ms)
job three "  completions: 3
  parallelism: 2" "sleep 2; echo done"
job fails "  backoffLimit: 1" "exit 1"
job deadline "  activeDeadlineSeconds: 3" "exec sleep 3600"
job idx "  completions: 3
  parallelism: 3
  completionMode: Indexed" "echo index=\$JOB_COMPLETION_INDEX"
job short "  ttlSecondsAfterFinished: 2" "true"
job paused "  suspend: true" "echo resumed"

# ---- completions and parallelism ------------------------------------------------------

if k wait --for=condition=complete job/three --timeout=60s >/dev/null 2>&1; then
	ok "a Job of 3 completions, 2 at a time, completes (kubectl wait)"
else
	not_ok "a Job of 3 completions completes"; k describe job three | note
fi
check_eq "kubectl get job shows 3/3" "3/3" "$(k get job three --no-headers 2>/dev/null | awk '{print $3}')"
check_eq "status.succeeded 3, nothing failed" "3/" "$(jj three '{.status.succeeded}/{.status.failed}')"
check_eq "3 pods, all Succeeded, kept" "3 3" "$(pods_of three) $(pods_of three Succeeded)"
check_eq "SuccessCriteriaMet then Complete, reason CompletionsReached" "True True CompletionsReached" \
	"$(cond three SuccessCriteriaMet status) $(cond three Complete status) $(cond three Complete reason)"
check "completionTime is set" test -n "$(jj three '{.status.completionTime}')"
check "no pod keeps the tracking finalizer" eval \
	"! k get pods -l batch.kubernetes.io/job-name=three -o 'jsonpath={.items[*].metadata.finalizers}' | grep -q job-tracking"
check_eq "no uncounted pods left" "{}" "$(jj three '{.status.uncountedTerminatedPods}')"
# At most (and here exactly) 2 ran at once: from the pods' start and end times.
overlap=$(k get pods -l batch.kubernetes.io/job-name=three -o json | $PY -c '
import json, sys
from datetime import datetime
def t(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timestamp()
ev = []
for p in json.load(sys.stdin)["items"]:
    st = p["status"]
    ev.append((t(st["containerStatuses"][0]["state"]["terminated"]["startedAt"]), 1))
    ev.append((t(st["containerStatuses"][0]["state"]["terminated"]["finishedAt"]), -1))
n = best = 0
for _, d in sorted(ev, key=lambda e: (e[0], e[1])):
    n += d
    best = max(best, n)
print(best)' 2>&1)
check_eq "parallelism 2: two pods ran at once, never three" 2 "$overlap"
check "Events: SuccessfulCreate and Completed" eval \
	"events_of Job three | grep -q SuccessfulCreate && events_of Job three | grep -q Completed"
check_eq "generated selector: the controller-uid" "$(jj three '{.metadata.uid}')" \
	"$(jj three '{.spec.selector.matchLabels.batch\.kubernetes\.io/controller-uid}')"
check_eq "the Job's labels are its pods' (job-name)" three "$(jj three '{.metadata.labels.job-name}')"

# ---- failures and the back-off limit ----------------------------------------------------

if k wait --for=condition=failed job/fails --timeout=60s >/dev/null 2>&1; then
	ok "a failing Job with backoffLimit 1 fails"
else
	not_ok "a failing Job fails"; k describe job fails | note
fi
check_eq "reason BackoffLimitExceeded" BackoffLimitExceeded "$(cond fails Failed reason)"
check_eq "FailureTarget came first" BackoffLimitExceeded "$(cond fails FailureTarget reason)"
check_eq "exactly backoffLimit+1 = 2 failed pods" "2 2" "$(pods_of fails Failed) $(jj fails '{.status.failed}')"
check "Event BackoffLimitExceeded" eval "events_of Job fails | grep -q BackoffLimitExceeded"
# The second pod waited the back-off (10 s) after the first failed.
gap=$(k get pods -l batch.kubernetes.io/job-name=fails -o json | $PY -c '
import json, sys
from datetime import datetime
def t(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timestamp()
p = sorted(json.load(sys.stdin)["items"], key=lambda p: p["metadata"]["creationTimestamp"])
print(int(t(p[1]["metadata"]["creationTimestamp"]) - t(p[0]["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"])))' 2>&1)
case "$gap" in [0-9]*) [ "$gap" -ge 9 ] && [ "$gap" -le 20 ] ;; *) false ;; esac
check_eq "the replacement pod waited the 10 s back-off (${gap}s)" 0 "$?"

# ---- active deadline ----------------------------------------------------------------------

if k wait --for=condition=failed job/deadline --timeout=30s >/dev/null 2>&1; then
	ok "activeDeadlineSeconds 3 on a sleeping pod fails the Job"
else
	not_ok "activeDeadlineSeconds fails the Job"; k describe job deadline | note
fi
check_eq "reason DeadlineExceeded" DeadlineExceeded "$(cond deadline Failed reason)"
if wait_for 20 eval "[ \"\$(pods_of deadline)\" = 0 ]"; then ok "its running pod is deleted"; else not_ok "the deadline's pod is deleted"; fi
check "Event DeadlineExceeded" eval "events_of Job deadline | grep -q DeadlineExceeded"

# ---- Indexed -----------------------------------------------------------------------------------

if k wait --for=condition=complete job/idx --timeout=60s >/dev/null 2>&1; then
	ok "an Indexed Job of 3 completes"
else
	not_ok "an Indexed Job completes"; k describe job idx | note
fi
logs=$(for p in $(k get pods -l batch.kubernetes.io/job-name=idx -o name); do k logs "$p"; done | sort | tr '\n' ' ')
check_eq "its pods see JOB_COMPLETION_INDEX 0, 1, 2" "index=0 index=1 index=2 " "$logs"
check_eq "completedIndexes 0-2" 0-2 "$(jj idx '{.status.completedIndexes}')"
check_eq "pods are named and labelled by index" "idx-0 idx-1 idx-2" \
	"$(k get pods -l batch.kubernetes.io/job-name=idx -o 'jsonpath={range .items[*]}{.metadata.labels.batch\.kubernetes\.io/job-completion-index}{" "}{end}' | tr ' ' '\n' | sed '/^$/d;s/^/idx-/' | sort | tr '\n' ' ' | sed 's/ $//')"
check "pod names start with <job>-<index>-" eval \
	"k get pods -l batch.kubernetes.io/job-name=idx -o name | grep -Eq '^pod/idx-[0-2]-[a-z0-9]{5}$'"

# ---- TTL after finished -------------------------------------------------------------------------

if wait_for 40 eval "! k get job short >/dev/null 2>&1"; then
	ok "ttlSecondsAfterFinished 2 deletes the finished Job"
else
	not_ok "ttlSecondsAfterFinished deletes the Job"; k get job short -o yaml | note
fi
if wait_for 30 eval "[ \"\$(pods_of short)\" = 0 ]"; then ok "... and its pods"; else not_ok "the TTL-deleted Job's pods go"; fi

# ---- suspend and resume -------------------------------------------------------------------------

check_eq "a Job created suspended: condition Suspended, no pod" "True JobSuspended 0" \
	"$(cond paused Suspended status) $(cond paused Suspended reason) $(pods_of paused)"
check_eq "... and no startTime" "" "$(jj paused '{.status.startTime}')"
k patch job paused --type=merge -p '{"spec":{"suspend":false}}' >/dev/null
if k wait --for=condition=complete job/paused --timeout=40s >/dev/null 2>&1; then
	ok "resumed, it runs and completes"
else
	not_ok "a resumed Job completes"; k describe job paused | note
fi
check_eq "condition Suspended False, JobResumed" "False JobResumed" \
	"$(cond paused Suspended status) $(cond paused Suspended reason)"
job running "" "exec sleep 3600"
running1() { [ "$(k get pods -l batch.kubernetes.io/job-name=running --field-selector=status.phase=Running -o name | grep -c .)" = 1 ]; }
wait_for 30 running1 || note "the pod of job/running did not start"
k patch job running --type=merge -p '{"spec":{"suspend":true}}' >/dev/null
stopped() { [ "$(pods_of running)" = 0 ] && [ "$(cond running Suspended status)" = True ]; }
if wait_for 30 stopped; then ok "suspending a running Job deletes its pod"; else not_ok "suspend deletes the active pod"; k describe job running | note; fi
check_eq "... not counted as a failure, none active" "/" "$(jj running '{.status.failed}/{.status.active}')"
check "Events: Suspended" eval "events_of Job running | grep -q Suspended"

# ---- bad input ---------------------------------------------------------------------------------------

# bad NAME FIELD MANIFEST: refused with 422 (kubectl's "is invalid"),
# naming FIELD, and nothing stored.
bad() {
	local out
	out=$(printf '%s\n' "$3" | k create -f - 2>&1)
	case "$out" in
	*"is invalid"*"$2"*) ok "$1: 422 naming $2" ;;
	*) not_ok "$1: 422 naming $2"; note "$out" ;;
	esac
}
badjob() {
	printf 'apiVersion: batch/v1\nkind: Job\nmetadata: {name: %s}\nspec:\n%s\n  template:\n    spec:\n      restartPolicy: %s\n      containers: [{name: main, image: %s}]\n' "$1" "$2" "$3" "$IMAGE"
}
bad "restartPolicy Always" 'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"' \
	"$(badjob bad1 "  completions: 1" Always)"
bad "negative parallelism" "spec.parallelism: Invalid value: -1: must be greater than or equal to 0" \
	"$(badjob bad2 "  parallelism: -1" Never)"
bad "Indexed without completions" "spec.completions: Required value: when completion mode is Indexed" \
	"$(badjob bad3 "  completionMode: Indexed
  parallelism: 2" Never)"
cronjob() {
	printf 'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: %s}\nspec:\n%s\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: main, image: %s}]\n' "$1" "$2" "$IMAGE"
}
bad "bad schedule" 'spec.schedule: Invalid value: "bad": expected exactly 5 fields, found 1: [bad]' \
	"$(cronjob bad4 '  schedule: "bad"')"
bad "unknown time zone" 'spec.timeZone: Invalid value: "Mars/Base": unknown time zone Mars/Base' \
	"$(cronjob bad5 '  schedule: "0 * * * *"
  timeZone: Mars/Base')"
bad "TZ= in the schedule" "cannot use TZ or CRON_TZ in schedule" \
	"$(cronjob bad6 '  schedule: "TZ=UTC 0 * * * *"')"
check_eq "nothing stored" "" "$(k get jobs,cronjobs -o name | grep bad)"
out=$(k patch job three --type=merge -p '{"spec":{"selector":{"matchLabels":{"a":"b"}}}}' 2>&1)
case "$out" in *"spec.selector"*"field is immutable"*) ok "a Job's selector cannot change" ;; *) not_ok "a Job's selector is immutable"; note "$out" ;; esac

# ---- CronJob ------------------------------------------------------------------------------------------

cron_done() { [ -n "$(k get cronjob every -o 'jsonpath={.status.lastSuccessfulTime}' 2>/dev/null)" ]; }
left=$((75 - ($(now_ms) - CRON_AT) / 1000))
[ "$left" -lt 5 ] && left=5
if wait_for "$left" cron_done; then
	ok "a CronJob on * * * * * runs a Job that completes within its minute"
else
	not_ok "the CronJob ran a Job"; k get cronjob,jobs -o wide | note; k describe cronjob every | note
fi
cj=$(k get jobs -l cron=every -o 'jsonpath={.items[0].metadata.name}')
sched=$(k get cronjob every -o 'jsonpath={.status.lastScheduleTime}')
minutes=$(( $(date -u -d "$sched" +%s) / 60 ))
check_eq "its Job is named <cronjob>-<minutes since the epoch>" "every-$minutes" "$cj"
check_eq "... with the scheduled-timestamp annotation, in the CronJob's time zone" \
	"$(TZ=Europe/Berlin date -d "$sched" +%Y-%m-%dT%H:%M:%S%:z)" \
	"$(k get job "$cj" -o 'jsonpath={.metadata.annotations.batch\.kubernetes\.io/cronjob-scheduled-timestamp}')"
check_eq "... controlled by the CronJob" CronJob "$(k get job "$cj" -o 'jsonpath={.metadata.ownerReferences[0].kind}')"
gone_from_active() { [ -z "$(k get cronjob every -o 'jsonpath={.status.active}')" ]; }
if wait_for 10 gone_from_active; then ok "status.active is empty once it completed"; else not_ok "status.active empties"; fi
check "Events: SuccessfulCreate, SawCompletedJob" eval \
	"events_of CronJob every | grep -q SuccessfulCreate && events_of CronJob every | grep -q SawCompletedJob"
# The schedule has spaces: count the columns from the end.
cjcol() { k get cronjob every --no-headers 2>/dev/null | awk -v n="$1" '{print $(NF - n)}'; }
check "kubectl get cronjob shows LAST SCHEDULE" eval "[ \"\$(cjcol 1)\" != '<none>' ]"
check "kubectl create job --from=cronjob/every" k create job manual --from=cronjob/every
if k wait --for=condition=complete job/manual --timeout=40s >/dev/null 2>&1; then
	ok "... and that Job completes"
else
	not_ok "the Job made from the CronJob completes"; k describe job manual | note
fi
k patch cronjob every --type=merge -p '{"spec":{"suspend":true}}' >/dev/null
check_eq "kubectl get cronjob shows SUSPEND True and the time zone" "True Europe/Berlin" "$(cjcol 3) $(cjcol 4)"

# ---- the tracking finalizer outlives nothing -----------------------------------------------------------

k delete job three --wait=false >/dev/null 2>&1
if wait_for 30 eval "[ \"\$(pods_of three)\" = 0 ]"; then ok "deleting a Job deletes its pods (finalizers released)"; else not_ok "a deleted Job's pods go"; k get pods -o yaml | note; fi
