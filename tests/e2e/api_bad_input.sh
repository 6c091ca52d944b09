#!/bin/bash
# Bad input on the API port: each gets the proper Status (or a closed
# connection), the daemon keeps serving, and stored state is unchanged.
# Ports 21300-21399 (API +5000).
. "$(dirname "$0")/lib.sh"

pick_port P 21300 21399 || exit 1
API=$(api_port_for "$P")
start_api_mkd a "$P" || exit 1
D=$(data_of a)
URL=https://127.0.0.1:$API
CM=$URL/api/v1/namespaces/default/configmaps
# curl with the admin certificate; prints the body, then the HTTP code on its own line.
req() { curl -sS --max-time 20 --cacert "$D/certs/ca.crt" --cert "$D/certs/admin.crt" \
	--key "$D/certs/admin.key" -w '\n%{http_code}' "$@"; }
code_of() { tail -n1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
# expect DESC CODE REASON RESPONSE: the status code and the Status reason.
expect() {
	local desc=$1 code=$2 reason=$3 out=$4 got_reason
	got_reason=$(body_of "$out" | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["kind"], d["reason"])' 2>/dev/null)
	if [ "$(code_of "$out")" = "$code" ] && [ "$got_reason" = "Status $reason" ]; then
		ok "$desc: $code $reason"
	else
		not_ok "$desc: $code $reason"
		note "got: $(code_of "$out") $got_reason" "$(body_of "$out" | head -c 600)"
	fi
}

wait_for 20 eval 'req "$URL/api/v1/namespaces/default" | tail -n1 | grep -qx 200'
out=$(req -X POST -H 'Content-Type: application/json' "$CM" -d '{"metadata":{"name":"keep"},"data":{"a":"1"}}')
check_eq "a valid configmap is created" 201 "$(code_of "$out")"
state() {
	local o
	o=$(req "$CM/keep")
	body_of "$o" | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["metadata"]["resourceVersion"], d["data"])'
}
before=$(state)
rev_before=$(req "$CM" | sed '$d' | $PY -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')

expect "malformed JSON" 400 BadRequest \
	"$(req -X POST -H 'Content-Type: application/json' "$CM" -d '{"metadata": {"name": "x"')"
expect "a JSON array instead of an object" 400 BadRequest \
	"$(req -X POST -H 'Content-Type: application/json' "$CM" -d '[1,2]')"
expect "unknown field under fieldValidation=Strict" 400 BadRequest \
	"$(req -X POST -H 'Content-Type: application/json' "$CM?fieldValidation=Strict" \
		-d '{"metadata":{"name":"x"},"dataa":{}}')"
out=$(req -X POST -H 'Content-Type: application/json' "$CM?fieldValidation=Strict" \
	-d '{"metadata":{"name":"x"},"dataa":{}}')
check "strict error names the field" grep -q 'unknown field \\"dataa\\"' <<<"$out"
expect "wrong field type" 400 BadRequest \
	"$(req -X POST -H 'Content-Type: application/json' "$CM" -d '{"metadata":{"name":"x"},"data":["a"]}')"
expect "invalid name" 422 Invalid \
	"$(req -X POST -H 'Content-Type: application/json' "$CM" -d '{"metadata":{"name":"Not_Valid"}}')"
out=$(req -X POST -H 'Content-Type: application/json' "$CM" -d '{"metadata":{"name":"Not_Valid"}}')
check "invalid name: details.causes names metadata.name" grep -q '"field":"metadata.name"' <<<"$out"
expect "missing name" 422 Invalid \
	"$(req -X POST -H 'Content-Type: application/json' "$CM" -d '{"data":{}}')"
expect "kind that does not match the URL" 400 BadRequest \
	"$(req -X POST -H 'Content-Type: application/json' "$CM" -d '{"kind":"Secret","metadata":{"name":"x"}}')"
expect "namespace that does not match the URL" 400 BadRequest \
	"$(req -X POST -H 'Content-Type: application/json' "$CM" -d '{"metadata":{"name":"x","namespace":"other"}}')"
expect "create in a namespace that does not exist" 404 NotFound \
	"$(req -X POST -H 'Content-Type: application/json' "$URL/api/v1/namespaces/nope/configmaps" -d '{"metadata":{"name":"x"}}')"
expect "wrong resourceVersion on update" 409 Conflict \
	"$(req -X PUT -H 'Content-Type: application/json' "$CM/keep" \
		-d '{"metadata":{"name":"keep","resourceVersion":"1"},"data":{"a":"2"}}')"
expect "malformed resourceVersion on update" 409 Conflict \
	"$(req -X PUT -H 'Content-Type: application/json' "$CM/keep" \
		-d '{"metadata":{"name":"keep","resourceVersion":"abc"},"data":{"a":"2"}}')"
expect "malformed merge patch" 400 BadRequest \
	"$(req -X PATCH -H 'Content-Type: application/merge-patch+json' "$CM/keep" -d '{"data":')"
expect "JSON patch on a missing path" 422 Invalid \
	"$(req -X PATCH -H 'Content-Type: application/json-patch+json' "$CM/keep" \
		-d '[{"op":"remove","path":"/data/nothere"}]')"
expect "unsupported patch type" 415 UnsupportedMediaType \
	"$(req -X PATCH -H 'Content-Type: text/plain' "$CM/keep" -d 'x')"
expect "unknown resource" 404 NotFound "$(req "$URL/api/v1/namespaces/default/widgets")"
expect "bad label selector" 400 BadRequest "$(req "$CM?labelSelector=a%20in%20(")"
expect "unsupported field selector" 400 BadRequest "$(req "$CM?fieldSelector=spec.foo%3Dx")"
expect "bad limit" 400 BadRequest "$(req "$CM?limit=-3")"
expect "bad continue token" 400 BadRequest "$(req "$CM?limit=1&continue=garbage")"
head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$TMP/big.json"
expect "oversize body (4 MiB)" 413 RequestEntityTooLarge \
	"$(req -X POST -H 'Content-Type: application/json' "$CM" --data-binary @"$TMP/big.json")"
expect "protobuf body that is garbage" 400 BadRequest \
	"$(req -X POST -H 'Content-Type: application/vnd.kubernetes.protobuf' "$CM" -d 'k8s garbage')"

# ---- authentication ------------------------------------------------------------

out=$(curl -sS --max-time 10 --cacert "$D/certs/ca.crt" -w '\n%{http_code}' "$CM")
expect "no credentials" 401 Unauthorized "$out"
out=$(curl -sS --max-time 10 --cacert "$D/certs/ca.crt" -H 'Authorization: Bearer wrong' -w '\n%{http_code}' "$CM")
expect "an unknown bearer token" 401 Unauthorized "$out"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-keyout "$TMP/other.key" -out "$TMP/other.crt" -subj "/O=system:masters/CN=admin" \
	-addext extendedKeyUsage=clientAuth 2>/dev/null
out=$(curl -sS --max-time 10 --cacert "$D/certs/ca.crt" --cert "$TMP/other.crt" \
	--key "$TMP/other.key" -w '\n%{http_code}' "$CM")
expect "a client certificate from another CA" 401 Unauthorized "$out"
out=$(curl -sS --max-time 10 --cacert "$D/certs/ca.crt" -w '%{http_code}' -o /dev/null "$URL/readyz")
check_eq "/readyz needs no credentials" 200 "$out"

# ---- transport ------------------------------------------------------------------

out=$(req -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)" "$CM")
check_eq "oversize headers: 431" 431 "$(code_of "$out")"
# A client that never finishes its headers is cut off, and meanwhile others
# are served.
$PY - "$API" >"$TMP/slow.out" 2>&1 <<'PYEOF' &
import socket, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
s.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n")
t = time.time()
s.settimeout(30)
try:
    data = s.recv(100)
except Exception as e:
    data = b"error " + repr(e).encode()
print("closed after %.1f s: %r" % (time.time() - t, data[:40]))
PYEOF
SLOW=$!
bg_track "$SLOW"
out=$(req "$CM/keep")
check_eq "served while a slow client holds a connection" 200 "$(code_of "$out")"
if wait_for 25 eval "! alive $SLOW"; then
	check "slow client: connection closed by the server" grep -Eq "closed after (9|1[0-9])\.[0-9] s: b''" "$TMP/slow.out"
else
	not_ok "slow client: connection closed by the server"
fi
note <"$TMP/slow.out"
# Plain HTTP on the TLS port: the connection ends, never with an HTTP answer.
$PY - "$API" >"$TMP/plain.out" 2>&1 <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(5)
data = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    print("closed", "http" if b"HTTP/" in data else "no-http")
except Exception as e:
    print("open", repr(e))
PYEOF
check_eq "plain HTTP on the TLS port: closed without an HTTP answer" "closed no-http" "$(cat "$TMP/plain.out")"
expect "mk endpoint that does not exist" 404 NotFound "$(req "$URL/mk/v1/nothing")"
expect "mk status with POST" 405 MethodNotAllowed "$(req -X POST -d '{}' "$URL/mk/v1/status")"
out=$(curl -sS --max-time 10 --cacert "$D/certs/ca.crt" -w '\n%{http_code}' "$URL/mk/v1/status")
expect "mk status without credentials" 401 Unauthorized "$out"

# ---- nothing changed -------------------------------------------------------------

check_eq "the stored object is unchanged" "$before" "$(state)"
rev_after=$(req "$CM" | sed '$d' | $PY -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
check_eq "no write happened (list resourceVersion unchanged)" "$rev_before" "$rev_after"
check "mkd is still running" alive "$(pid_of a)"
