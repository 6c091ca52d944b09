#!/bin/bash
# `mk images` against real archives and real registries: a docker-save
# tarball of busybox (busybox_image.sh), the oci-archive skopeo makes of
# it, gzip from stdin, archives that are no image or are cut short; then
# Debian's docker-registry on loopback (plain HTTP, as Docker allows for
# loopback) with the image pushed by skopeo: pull, pull again (nothing to
# download), missing tag, dead port; and a registry with bearer-token auth
# (docker-registry's `auth: token`, a token server written here in Python
# signing ES256 JWTs): anonymous token flow, a private repository that
# needs Basic credentials at the token endpoint, wrong credentials.
# Ports 25200-25299.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

MK=$BUILD/mk
D=$TMP/node
BB=$TMP/busybox.tar
REF=mk.local/busybox:1.35
m() { timeout -k 5 60 "$MK" --data-dir "$D" "$@"; }
md() { # md DIR ARGS...: mk on another data directory
	local dir=$1
	shift
	timeout -k 5 60 "$MK" --data-dir "$dir" "$@"
}

# fails_one_line DESC PATTERN CMD...: exit 1, exactly one line on stderr,
# matching PATTERN (grep -E).
fails_one_line() {
	local desc=$1 pat=$2 rc
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -Eq -- "$pat" "$TMP/err"; then
		ok "$desc"
	else
		not_ok "$desc (exit $rc)"
		note <"$TMP/err"
	fi
}

layer_count() { find "$1/images/layers" -mindepth 1 -maxdepth 1 | wc -l; }
leftovers() { find "$1/images/tmp" "$1/images/leases" "$1/images/trash" -mindepth 1 | wc -l; }

# ---- archives ---------------------------------------------------------------

ID=$(bash "$ROOT/tests/e2e/busybox_image.sh" "$BB" "$REF" 2>"$TMP/err")
check_eq "busybox_image.sh builds a docker-save tarball" 0 "$?" || note <"$TMP/err"
ID2=$(bash "$ROOT/tests/e2e/busybox_image.sh" "$TMP/again.tar" "$REF")
check_eq "busybox_image.sh is deterministic" "$(sha256sum <"$BB")" "$(sha256sum <"$TMP/again.tar")"
check_eq "busybox_image.sh prints the image id" "$ID" "$ID2"

out=$(m images import "$BB" 2>"$TMP/err")
check_eq "import docker-save prints the reference" "$REF" "$out" || note <"$TMP/err"
check_eq "import progress names the layer" 1 "$(grep -c 'layer: done' "$TMP/err")"
list=$(m images ls)
check_eq "list: header, then REF ID SIZE" "REF ID SIZE|$REF ${ID:7:12} SIZE" \
	"$(echo "$list" | awk '{print $1, $2, ($3 ~ /^[0-9.]+MB$/ ? "SIZE" : $3)}' | paste -sd'|')"
check_eq "list -q prints the full id" "$ID" "$(m images list -q)"

if skopeo copy -q docker-archive:"$BB" oci-archive:"$TMP/oci.tar":mk.local/busybox:oci >"$TMP/sk" 2>&1; then
	out=$(m images import "$TMP/oci.tar" 2>"$TMP/err")
	check_eq "import oci-archive takes the ref.name annotation" "mk.local/busybox:oci" "$out"
	check_eq "the oci image shares the unpacked layer" 1 "$(layer_count "$D")"
	grep -q 'layer: already present' "$TMP/err"
	check_eq "import reports the layer as present" 0 $?
	m images rm mk.local/busybox:oci >/dev/null
	check_eq "remove by reference" "" "$(m images ls | grep ':oci')"
	check_eq "the shared layer stays for the other image" 1 "$(layer_count "$D")"
else
	not_ok "skopeo makes an oci-archive"
	note <"$TMP/sk"
fi

m images rm "${ID:7:12}" >/dev/null
check_eq "remove by id prefix empties the store" "0 0" "$(m images ls -q | wc -l) $(layer_count "$D")"
out=$(gzip -c "$BB" | m images import - 2>/dev/null)
check_eq "import gzip from stdin" "$REF" "$out"
before=$(m images ls)

mkdir -p "$TMP/junk"
echo hello >"$TMP/junk/hello.txt"
tar -C "$TMP/junk" -cf "$TMP/junk.tar" hello.txt
fails_one_line "a tarball that is no image: one line, exit 1" \
	"junk.tar is not an image archive: no manifest.json or index.json" m images import "$TMP/junk.tar"
head -c 1500000 "$BB" >"$TMP/cut.tar"
fails_one_line "a truncated tarball: one line, exit 1" "cut.tar" m images import "$TMP/cut.tar"
gzip -c "$BB" | head -c 600000 >"$TMP/cut.tar.gz"
fails_one_line "truncated gzip: one line, exit 1" "cut.tar.gz" m images import "$TMP/cut.tar.gz"
check_eq "failed imports leave the list unchanged" "$before" "$(m images ls)"
check_eq "failed imports leave no scratch files" 0 "$(leftovers "$D")"
fails_one_line "remove of a missing image" 'image "nosuch" not found' m images rm nosuch
m images rm nosuch "$REF" >"$TMP/out" 2>"$TMP/err"
rc=$?
check_eq "remove: one line per failure, the others done" "1 1 removed \"$REF\"" \
	"$rc $(wc -l <"$TMP/err") $(cat "$TMP/out")"
m images import "$BB" >/dev/null 2>&1

# ---- a plain registry on loopback --------------------------------------------

pick_port RP 25200 25299 || exit 1
mkdir -p "$TMP/reg"
cat >"$TMP/reg/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $TMP/reg/data
http:
  addr: 127.0.0.1:$RP
EOF
/usr/bin/docker-registry serve "$TMP/reg/config.yml" >"$TMP/reg/log" 2>&1 &
bg_track $!
if ! wait_for 15 listening "$RP"; then
	not_ok "docker-registry listens on $RP"
	note <"$TMP/reg/log"
	exit 1
fi
skopeo copy -q --dest-tls-verify=false docker-archive:"$BB" docker://127.0.0.1:"$RP"/busybox:1.35 >"$TMP/sk" 2>&1
check_eq "skopeo pushes the image to the registry" 0 $? || note <"$TMP/sk"

P=$TMP/pulled
out=$(md "$P" images pull 127.0.0.1:"$RP"/busybox:1.35 2>"$TMP/err")
check_eq "pull from a loopback registry: same config digest as the import" \
	"127.0.0.1:$RP/busybox:1.35 $ID" "$out" || note <"$TMP/err"
check_eq "pull progress: a line per blob" 2 "$(grep -c ': done' "$TMP/err")"
la=$(find "$D/images/layers" -mindepth 1 -maxdepth 1)
lb=$(find "$P/images/layers" -mindepth 1 -maxdepth 1)
check_eq "the pulled layer has the imported layer's diff_id" "$(basename "$la")" "$(basename "$lb")"
check "the pulled layer is byte-identical to the imported one" diff -r --no-dereference "$la/fs" "$lb/fs"
md "$P" images pull 127.0.0.1:"$RP"/busybox:1.35 >/dev/null 2>"$TMP/err"
check_eq "a second pull downloads nothing" "2 0" \
	"$(grep -c 'already present' "$TMP/err") $(grep -c ': done' "$TMP/err")"
fails_one_line "pull of a missing tag" \
	"pull 127.0.0.1:$RP/busybox:nosuch: manifest unknown \(404\)" \
	md "$P" images pull 127.0.0.1:"$RP"/busybox:nosuch
pick_port DEAD 25200 25299 || exit 1
t0=$(now_ms)
fails_one_line "pull from a port nothing listens on" "connection refused" \
	md "$P" images pull 127.0.0.1:"$DEAD"/busybox:1.35
check "... fails within 5 s" test $(($(now_ms) - t0)) -lt 5000
fails_one_line "pull of a malformed reference" "invalid reference" md "$P" images pull 'UPPER/Case'

# ---- a registry with bearer-token auth ----------------------------------------

pick_port AP 25200 25299 || exit 1
pick_port TP 25200 25299 || exit 1
cat >"$TMP/token_server.py" <<'EOF'
# A token server as docker-registry's `auth: token` expects: ES256 JWTs
# with the signing certificate in x5c.  Anonymous callers get pull on
# public repositories; alice:secret gets everything; wrong credentials 401.
import base64, datetime, http.server, json, sys, time, urllib.parse, uuid
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

port, certfile, logfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mk-test-token")])
now = datetime.datetime.utcnow()
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

def log(line):
    with open(logfile, "a") as f:
        f.write(line + "\n")

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                user, pw = base64.b64decode(auth[6:]).decode().split(":", 1)
            except Exception:
                user, pw = "?", None
            if (user, pw) != ("alice", "secret"):
                log("denied %s" % user)
                return self.reply(401, {"details": "bad credentials"})
        access = []
        for scope in q.get("scope", []):
            typ, rname, actions = scope.split(":", 2)
            acts = actions.split(",")
            if user is None:
                acts = [] if rname.startswith("private/") else [a for a in acts if a == "pull"]
            access.append({"type": typ, "name": rname, "actions": acts})
            log("%s %s" % (user or "-", scope))
        t = int(time.time())
        claims = {"iss": "mk-test-issuer", "sub": user or "", "aud": q.get("service", [""])[0],
                  "exp": t + 300, "nbf": t - 10, "iat": t - 10, "jti": uuid.uuid4().hex,
                  "access": access}
        tok = jwt.encode(claims, key, algorithm="ES256", headers={"x5c": [x5c]})
        # Docker Hub answers both names; this one only access_token, so
        # that the client's fallback is what is tested.
        self.reply(200, {"access_token": tok, "expires_in": 300})

srv = http.server.HTTPServer(("127.0.0.1", port), Handler)
with open(certfile + ".tmp", "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
import os
os.rename(certfile + ".tmp", certfile)
srv.serve_forever()
EOF
$PY "$TMP/token_server.py" "$TP" "$TMP/token.pem" "$TMP/token.log" >"$TMP/token.out" 2>&1 &
bg_track $!
if ! wait_for 15 test -s "$TMP/token.pem" || ! wait_for 10 listening "$TP"; then
	not_ok "the token server starts"
	note <"$TMP/token.out"
	exit 1
fi
mkdir -p "$TMP/areg"
cat >"$TMP/areg/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $TMP/areg/data
http:
  addr: 127.0.0.1:$AP
auth:
  token:
    realm: http://127.0.0.1:$TP/token
    service: mk-test-registry
    issuer: mk-test-issuer
    rootcertbundle: $TMP/token.pem
EOF
/usr/bin/docker-registry serve "$TMP/areg/config.yml" >"$TMP/areg/log" 2>&1 &
bg_track $!
if ! wait_for 15 listening "$AP"; then
	not_ok "docker-registry with token auth listens on $AP"
	note <"$TMP/areg/log"
	exit 1
fi
for repo in busybox private/busybox; do
	skopeo copy -q --dest-creds alice:secret --dest-tls-verify=false \
		docker-archive:"$BB" docker://127.0.0.1:"$AP"/$repo:1.35 >"$TMP/sk" 2>&1
	check_eq "skopeo pushes $repo with a token" 0 $? || note <"$TMP/sk"
done
: >"$TMP/token.log"

A=$TMP/auth
out=$(md "$A" images pull 127.0.0.1:"$AP"/busybox:1.35 2>"$TMP/err")
check_eq "anonymous pull through the bearer token flow" "127.0.0.1:$AP/busybox:1.35 $ID" "$out" ||
	note <"$TMP/err"
check_eq "... asked the token server for pull, anonymously" "- repository:busybox:pull" \
	"$(sort -u "$TMP/token.log")"
fails_one_line "anonymous pull of a private repository: unauthorized" \
	"pull 127.0.0.1:$AP/private/busybox:1.35: unauthorized" \
	md "$A" images pull 127.0.0.1:"$AP"/private/busybox:1.35
: >"$TMP/token.log"
rm -rf "$A"
out=$(md "$A" images pull --creds alice:secret 127.0.0.1:"$AP"/private/busybox:1.35 2>"$TMP/err")
check_eq "pull with Basic credentials at the token endpoint" \
	"127.0.0.1:$AP/private/busybox:1.35 $ID" "$out" || note <"$TMP/err"
check_eq "... the token server saw alice" "alice repository:private/busybox:pull" \
	"$(sort -u "$TMP/token.log")"
fails_one_line "wrong credentials: unauthorized" \
	"pull 127.0.0.1:$AP/private/busybox:1.35: unauthorized" \
	md "$TMP/auth2" images pull --creds alice:wrong 127.0.0.1:"$AP"/private/busybox:1.35

# ---- usage ---------------------------------------------------------------------

for args in "images" "images frob" "images import" "images import a b" "images rm" \
	"images pull" "images pull --creds nocolon x" "images ls extra"; do
	# shellcheck disable=SC2086
	timeout 10 "$MK" --data-dir "$D" $args >/dev/null 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ]; then
		ok "usage error: mk $args"
	else
		not_ok "usage error: mk $args (exit $rc)"
		note <"$TMP/err"
	fi
done
exit 0
