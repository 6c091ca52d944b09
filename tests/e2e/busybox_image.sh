#!/bin/bash
# Builds a busybox container image from Debian's busybox-static, without
# network, as a `docker save` tarball (a helper for tests and benchmarks,
# not a test itself: it prints no TAP lines).
#
#   busybox_image.sh OUT.tar [REF]      (REF defaults to mk.local/busybox:1.35)
#
# Root filesystem: /bin/busybox and a symlink to it for every applet of
# `busybox --list` (so /bin/sh), /etc/passwd and /etc/group with root and
# nobody, /tmp (1777), /root, and empty /proc, /sys, /dev for the runtime to
# mount over.  Config: Cmd ["sh"], Env PATH=...  Every file gets owner 0:0
# and mtime 0, entries are sorted: the same busybox gives the same digests
# on every run.  Prints the image id (sha256:<config digest>) on stdout.
#
# The layout is Docker's classic `docker save`: manifest.json,
# repositories, <config hex>.json and <layer id>/layer.tar.
set -eu

if [ $# -eq 0 ] || [ $# -gt 2 ]; then
	echo "usage: busybox_image.sh OUT.tar [REF]" >&2
	exit 2
fi
out=$1
ref=${2:-mk.local/busybox:1.35}
busybox=${BUSYBOX:-/bin/busybox}
py=/usr/bin/python3

[ -x "$busybox" ] || { echo "busybox_image.sh: $busybox not found (apt-get install busybox-static)" >&2; exit 1; }
case "$ref" in *:*) ;; *) ref=$ref:latest ;; esac
repo=${ref%:*}
tag=${ref##*:}

work=$(mktemp -d "${TMPDIR:-/tmp}/busybox-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cp "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
chmod 0644 "$root/etc/passwd" "$root/etc/group"

# Deterministic tar: sorted names, fixed owner and times, GNU format (no
# pax headers carrying atimes).
dtar() {
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu "$@"
}
dtar -C "$root" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)

img=$work/image
mkdir -p "$img/$diff_id"
mv "$work/layer.tar" "$img/$diff_id/layer.tar"
echo 1.0 >"$img/$diff_id/VERSION"

arch=$(uname -m)
case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; armv7l | armv6l) arch=arm ;; i?86) arch=386 ;; esac

"$py" - "$img" "$diff_id" "$repo" "$tag" "$arch" <<'EOF'
import hashlib, json, os, sys
img, diff_id, repo, tag, arch = sys.argv[1:]
config = {
    "architecture": arch,
    "os": "linux",
    "created": "1970-01-01T00:00:00Z",
    "config": {
        "Cmd": ["sh"],
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
    "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "busybox_image.sh"}],
}
data = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
cid = hashlib.sha256(data).hexdigest()
with open(os.path.join(img, cid + ".json"), "wb") as f:
    f.write(data)
with open(os.path.join(img, diff_id, "json"), "w") as f:
    json.dump({"id": diff_id, "created": "1970-01-01T00:00:00Z", "os": "linux"}, f, sort_keys=True)
with open(os.path.join(img, "manifest.json"), "w") as f:
    json.dump([{"Config": cid + ".json", "RepoTags": [repo + ":" + tag],
                "Layers": [diff_id + "/layer.tar"]}], f, sort_keys=True)
with open(os.path.join(img, "repositories"), "w") as f:
    json.dump({repo: {tag: diff_id}}, f, sort_keys=True)
print("sha256:" + cid)
EOF
find "$img" -exec touch -h -d @0 {} +
dtar -C "$img" -cf "$out.tmp.$$" .
mv "$out.tmp.$$" "$out"
