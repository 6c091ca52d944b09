#!/bin/bash
# Our dqlite client and Debian's go-dqlite shell (`dqlite`) against the same
# mkd: what one writes, the other reads, value types included (DESIGN.md
# decision 4: the client must interoperate with the go-dqlite shell).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v dqlite >/dev/null || {
	not_ok "the go-dqlite shell (dqlite) is installed"
	exit 1
}

pick_port P 22000 22099 || exit 1
A=127.0.0.1:$P
start_mkd n1 "$P"
if wait_ready n1; then ok "mkd ready on $A"; else not_ok "mkd ready on $A"; exit 1; fi

# ---- our client writes, the go shell reads ------------------------------------

check "ours: CREATE TABLE interop" sc "$A" exec \
	"CREATE TABLE interop (id INTEGER PRIMARY KEY, t TEXT, i INTEGER, r REAL, n TEXT, b BLOB)"
check "ours: INSERT ASCII text, integer, real, NULL, blob" sc "$A" exec \
	"INSERT INTO interop VALUES (1, 'hello world', 42, 3.5, NULL, X'6869')"
check "ours: INSERT UTF-8 text, INT64_MIN, negative real, binary blob" sc "$A" exec \
	"INSERT INTO interop VALUES (2, 'ünïcödé ☃ | pipe', -9223372036854775808, -0.001, NULL, X'00FF10')"
check "ours: INSERT with a quote, INT64_MAX, zero-length blob" sc "$A" exec \
	"INSERT INTO interop VALUES (3, 'it''s', 9223372036854775807, 0.0, NULL, X'')"

check_eq "go reads our rows (text, integer, real, NULL, blob)" \
	"1|hello world|42|3.5|<nil>|[104 105]
2|ünïcödé ☃ | pipe|-9223372036854775808|-0.001|<nil>|[0 255 16]
3|it's|9223372036854775807|0|<nil>|[]" \
	"$(dq "$A" mk "SELECT * FROM interop ORDER BY id" 2>&1)"
# The storage classes, as SQLite itself sees them.
check_eq "go sees the storage classes we wrote" \
	"1|text|integer|real|null|blob|6869
2|text|integer|real|null|blob|00FF10
3|text|integer|real|null|blob|" \
	"$(dq "$A" mk "SELECT id, typeof(t), typeof(i), typeof(r), typeof(n), typeof(b), hex(b) FROM interop ORDER BY id" 2>&1)"

# Store keys written by our store are plain rows for the go shell.
check "ours: store create /interop/k1" sc "$A" create /interop/k1 value-one
check "ours: store create /interop/k2" sc "$A" create /interop/k2 "value two"
check_eq "go reads our store keys (SELECT key FROM live)" "/interop/k1
/interop/k2" "$(dq "$A" mk "SELECT key FROM live WHERE key LIKE '/interop/%' ORDER BY key" 2>&1)"
check_eq "go reads our store values from the log" "/interop/k1|value-one
/interop/k2|value two" \
	"$(dq "$A" mk "SELECT l.key, CAST(l.value AS TEXT) FROM live JOIN log l ON l.rev = live.rev WHERE live.key LIKE '/interop/%' ORDER BY l.key" 2>&1)"

# A 64 KiB text value crosses many protocol words and buffer boundaries.
BIG=$(head -c 65536 /dev/zero | tr '\0' x)
check "ours: INSERT a 64 KiB text" sc "$A" exec "INSERT INTO interop (id, t) VALUES (4, '$BIG')"
check_eq "go reads the 64 KiB text intact" "65536|1" \
	"$(dq "$A" mk "SELECT length(t), t = printf('%.*c', 65536, 'x') FROM interop WHERE id = 4" 2>&1)"

# ---- the go shell writes, our client reads --------------------------------------

check "go: INSERT text, integer, real, NULL, blob" dq "$A" mk \
	"INSERT INTO interop VALUES (10, 'from go', 7, 2.25, NULL, X'414243')"
check "go: INSERT UTF-8 text, negative integer" dq "$A" mk \
	"INSERT INTO interop VALUES (11, 'grüße ☃', -12345, -1.5, NULL, X'7A')"
# Our print format: columns joined by '|', NULL empty, blobs raw.
check_eq "ours reads go's rows (text, integer, real, NULL, blob)" \
	"10|from go|7|2.25||ABC
11|grüße ☃|-12345|-1.5||z" \
	"$(sc "$A" query "SELECT * FROM interop WHERE id >= 10 ORDER BY id" 2>&1)"
check_eq "ours sees go's storage classes and NULL" \
	"10|text|integer|real|1|blob
11|text|integer|real|1|blob" \
	"$(sc "$A" query "SELECT id, typeof(t), typeof(i), typeof(r), n IS NULL, typeof(b) FROM interop WHERE id >= 10 ORDER BY id" 2>&1)"
check_eq "ours reads a zero-length blob and INT64 extremes" \
	"-9223372036854775808|9223372036854775807|0" \
	"$(sc "$A" query "SELECT (SELECT i FROM interop WHERE id = 2), (SELECT i FROM interop WHERE id = 3), (SELECT length(b) FROM interop WHERE id = 3)" 2>&1)"

# A result far bigger than one response buffer: dqlite sends it in parts.
check "go: CREATE and fill a 3000-row table" dq "$A" mk \
	"CREATE TABLE many (id INTEGER PRIMARY KEY, t TEXT)"
check "go: INSERT 3000 rows in one statement" dq "$A" mk \
	"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) INSERT INTO many SELECT x, printf('row-%05d-', x) || hex(randomblob(40)) FROM c"
sc "$A" query "SELECT id, t FROM many ORDER BY id" >"$TMP/ours.txt" 2>&1
dq "$A" mk "SELECT id, t FROM many ORDER BY id" >"$TMP/go.txt" 2>&1
check_eq "ours reads all 3000 rows" 3000 "$(wc -l <"$TMP/ours.txt")"
check "ours and go return the same 3000 rows byte for byte" cmp "$TMP/ours.txt" "$TMP/go.txt"

# A store row written by the go shell is a normal key for our store: the
# trigger that keeps `live` runs whoever inserts.
check "go: INSERT a log row (a store create)" dq "$A" mk \
	"INSERT INTO log (key, op, create_rev, prev_rev, expires, nonce, value) VALUES ('/interop/from-go', 1, 0, 0, 0, 4242424242, CAST('written by go' AS BLOB))"
check_eq "our store gets the key the go shell wrote" "written by go" \
	"$(sc "$A" get /interop/from-go 2>&1 | cut -d' ' -f2-)"
check_eq "our store lists all three keys" "/interop/from-go
/interop/k1
/interop/k2" "$(sc "$A" list /interop/ 2>&1 | cut -d' ' -f1)"

# ---- membership as both see it ---------------------------------------------------

ID=$(sed -n 's/^ID: //p' "$(data_of n1)/dqlite/info.yaml")
GO_CLUSTER=$(dq "$A" mk .cluster 2>&1)
check_eq "go .cluster lists the node as voter" "$(printf '%x' "$ID")|$A|voter" "$GO_CLUSTER"
check_eq "ours: cluster lists the node as voter" "$ID $A voter" "$(sc "$A" cluster 2>&1)"
check_eq "go .leader is the node" "$A" "$(dq "$A" mk .leader 2>&1)"
check_eq "ours: leader is the node" "$ID $A" "$(sc "$A" leader 2>&1)"

# Both clients done, the node is unharmed.
check "mkd still alive after both clients" alive "$(pid_of n1)"
stop_mkd n1 TERM
check_eq "clean stop" 0 "${MKD_RC[n1]}"
