#!/usr/bin/python3
"""Generates mk's Kubernetes type tables (core/schema) from kubectl.

    gen_schema.py OUTPUT.c

Every kubectl binary embeds the protobuf schema of the Kubernetes API types:
gogo-protobuf registers each generated.proto as a gzipped FileDescriptorProto.
This script finds those gzip streams in the kubectl on PATH (or $KUBECTL),
parses the descriptors (protobuf wire format, by hand: standard library
only), and writes C tables for core/schema/schema_internal.h.  It also reads
the Go struct tags kubectl carries, to learn which fields are `json:",inline"`
(the descriptors cannot say).  Nothing is fetched or vendored.

On any problem it prints one line starting with "gen_schema:" and exits 1.
"""
import os
import re
import shutil
import sys
import zlib

# The API groups mk serves: descriptor file -> (group, version).  Only these
# files (and the apimachinery files they import) become tables.
SERVED = {
    "core/v1": "", "apps/v1": "apps", "batch/v1": "batch",
    "coordination/v1": "coordination.k8s.io", "storage/v1": "storage.k8s.io",
    "rbac/v1": "rbac.authorization.k8s.io", "policy/v1": "policy",
    "autoscaling/v1": "autoscaling", "networking/v1": "networking.k8s.io",
    "discovery/v1": "discovery.k8s.io", "events/v1": "events.k8s.io",
    "authentication/v1": "authentication.k8s.io",
    "authorization/v1": "authorization.k8s.io",
    "scheduling/v1": "scheduling.k8s.io", "node/v1": "node.k8s.io",
    "certificates/v1": "certificates.k8s.io",
    "admissionregistration/v1": "admissionregistration.k8s.io",
    "flowcontrol/v1": "flowcontrol.apiserver.k8s.io",
}
META = "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto"
MACHINERY = [
    META,
    "k8s.io/apimachinery/pkg/runtime/generated.proto",
    "k8s.io/apimachinery/pkg/runtime/schema/generated.proto",
    "k8s.io/apimachinery/pkg/util/intstr/generated.proto",
    "k8s.io/apimachinery/pkg/api/resource/generated.proto",
]

# Kinds are the top-level messages with an ObjectMeta/ListMeta `metadata`
# (that is how every k8s.io/api kind looks), except these, which have
# metadata but no TypeMeta in Go.
NOT_KINDS = {
    "k8s.io.api.core.v1.PodTemplateSpec",
    "k8s.io.api.core.v1.PersistentVolumeClaimTemplate",
    "k8s.io.api.batch.v1.JobTemplateSpec",
}
# meta/v1 kinds: registered in every group version (served as meta.k8s.io/v1
# here; schema_kind() falls back to them).
META_KINDS = [
    "Status", "DeleteOptions", "CreateOptions", "UpdateOptions",
    "PatchOptions", "GetOptions", "ListOptions", "WatchEvent", "List",
    "PartialObjectMetadata", "PartialObjectMetadataList", "APIGroup",
    "APIGroupList", "APIResourceList", "APIVersions",
]

# Messages whose JSON form is not an object (custom MarshalJSON in Go).
# Values match enum schema_special in schema_internal.h; the shapes are
# checked below because schema_proto.c relies on the field numbers.
MACH = "k8s.io.apimachinery.pkg."
SPECIAL = {
    MACH + "apis.meta.v1.Time": ("SCHEMA_TIME", [(1, "seconds", 3), (2, "nanos", 5)]),
    MACH + "apis.meta.v1.MicroTime": ("SCHEMA_MICROTIME", [(1, "seconds", 3), (2, "nanos", 5)]),
    MACH + "apis.meta.v1.Duration": ("SCHEMA_DURATION", [(1, "duration", 3)]),
    MACH + "util.intstr.IntOrString": ("SCHEMA_INTORSTRING",
                                       [(1, "type", 3), (2, "intVal", 5), (3, "strVal", 9)]),
    MACH + "api.resource.Quantity": ("SCHEMA_QUANTITY", [(1, "string", 9)]),
    MACH + "api.resource.QuantityValue": ("SCHEMA_QUANTITY", [(1, "string", 9)]),
    MACH + "runtime.RawExtension": ("SCHEMA_RAWEXT", [(1, "raw", 12)]),
    MACH + "apis.meta.v1.FieldsV1": ("SCHEMA_RAWEXT", [(1, "Raw", 12)]),
}

# Fields that are `json:",inline"` in Go: their message's fields appear in
# the parent's JSON object.  Derived from kubectl's struct tags below; this
# list is the expected result, so that a kubectl whose types changed fails
# the build loudly instead of producing different JSON.
EXPECTED_INLINE = {
    "k8s.io.api.core.v1.ConfigMapEnvSource.localObjectReference",
    "k8s.io.api.core.v1.ConfigMapKeySelector.localObjectReference",
    "k8s.io.api.core.v1.ConfigMapProjection.localObjectReference",
    "k8s.io.api.core.v1.ConfigMapVolumeSource.localObjectReference",
    "k8s.io.api.core.v1.SecretEnvSource.localObjectReference",
    "k8s.io.api.core.v1.SecretKeySelector.localObjectReference",
    "k8s.io.api.core.v1.SecretProjection.localObjectReference",
    "k8s.io.api.core.v1.EphemeralContainer.ephemeralContainerCommon",
    "k8s.io.api.core.v1.PersistentVolumeSpec.persistentVolumeSource",
    "k8s.io.api.core.v1.Probe.handler",
    "k8s.io.api.core.v1.Volume.volumeSource",
    "k8s.io.api.networking.v1.IngressRule.ingressRuleValue",
    "k8s.io.api.admissionregistration.v1.NamedRuleWithOperations.ruleWithOperations",
    "k8s.io.api.admissionregistration.v1.RuleWithOperations.rule",
    "k8s.io.apimachinery.pkg.runtime.Unknown.typeMeta",
}

# FieldDescriptorProto.Type values the C side understands (all but group).
SCALAR_TYPES = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18}
TYPE_MESSAGE = 11
GOGO_NULLABLE = 65001
GOGO_CUSTOMNAME = 65004
GOGO_STRINGER = 64003


def die(msg):
    sys.stderr.write("gen_schema: %s\n" % msg)
    sys.exit(1)


def varint(b, p):
    r = s = 0
    while True:
        if p >= len(b) or s > 63:
            raise ValueError("truncated varint")
        c = b[p]
        p += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, p


def fields(b):
    """Yields (number, value) of a serialized message; value is an int for
    varint/fixed fields and bytes for length-delimited ones."""
    p = 0
    while p < len(b):
        key, p = varint(b, p)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, p = varint(b, p)
        elif wt == 1:
            v, p = int.from_bytes(b[p:p + 8], "little"), p + 8
        elif wt == 5:
            v, p = int.from_bytes(b[p:p + 4], "little"), p + 4
        elif wt == 2:
            n, p = varint(b, p)
            if p + n > len(b):
                raise ValueError("truncated field")
            v, p = b[p:p + n], p + n
        else:
            raise ValueError("wire type %d" % wt)
        yield num, v


def find_kubectl():
    path = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not path:
        die("no kubectl on PATH (set KUBECTL=/path/to/kubectl): the API schema is read from it")
    return os.path.realpath(path)


def embedded_descriptors(binary):
    """Every gzip stream that decompresses to a k8s.io generated.proto
    descriptor, by file name."""
    found = {}
    magic = b"\x1f\x8b\x08\x00\x00\x00\x00\x00"
    i = binary.find(magic)
    while i >= 0:
        try:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            # Descriptors are < 100 KB compressed; cap the window we inflate.
            out = d.decompress(binary[i:i + (1 << 20)], 1 << 22)
            name = next((v for n, v in fields(out) if n == 1), b"")
            if name.startswith(b"k8s.io/") and name.endswith(b"/generated.proto"):
                found.setdefault(name.decode(), out)
        except (zlib.error, ValueError, StopIteration):
            pass
        i = binary.find(magic, i + 1)
    return found


def inline_tags(binary):
    """(field number, proto name or None) of every Go struct field tagged
    json:",inline" in kubectl."""
    out = set()
    for m in re.finditer(rb'json:",inline" protobuf:"bytes,(\d+),(?:opt|req)(?:,name=(\w+))?', binary):
        out.add((int(m.group(1)), m.group(2).decode() if m.group(2) else None))
    return out


class Msg:
    def __init__(self, full):
        self.full = full
        self.fields = []  # dicts: name number label type type_name nullable customname
        self.map_entry = False
        self.stringer_off = False
        self.special = "SCHEMA_PLAIN"
        self.kind = False


def parse_message(raw, prefix, out):
    name = next(v for n, v in fields(raw) if n == 1).decode()
    m = Msg(prefix + "." + name)
    for n, v in fields(raw):
        if n == 2:
            f = {"nullable": True, "customname": None, "type_name": None, "label": 1}
            for fn, fv in fields(v):
                if fn == 1:
                    f["name"] = fv.decode()
                elif fn == 3:
                    f["number"] = fv
                elif fn == 4:
                    f["label"] = fv
                elif fn == 5:
                    f["type"] = fv
                elif fn == 6:
                    f["type_name"] = fv.decode().lstrip(".")
                elif fn == 8:
                    for on, ov in fields(fv):
                        if on == GOGO_NULLABLE:
                            f["nullable"] = ov != 0
                        elif on == GOGO_CUSTOMNAME:
                            f["customname"] = ov.decode()
                elif fn == 9:
                    die("%s.%s is in a oneof: not supported" % (m.full, f.get("name")))
            m.fields.append(f)
        elif n == 3:
            parse_message(v, m.full, out)
        elif n == 7:
            for on, ov in fields(v):
                if on == 7:
                    m.map_entry = ov != 0
                elif on == GOGO_STRINGER:
                    m.stringer_off = ov == 0
    out[m.full] = m
    return m


def main():
    if len(sys.argv) != 2:
        die("usage: gen_schema.py OUTPUT.c")
    kubectl = find_kubectl()
    try:
        with open(kubectl, "rb") as fh:
            binary = fh.read()
    except OSError as e:
        die("cannot read %s: %s" % (kubectl, e.strerror))
    descs = embedded_descriptors(binary)
    wanted = ["k8s.io/api/%s/generated.proto" % gv for gv in SERVED] + MACHINERY
    missing = [w for w in wanted if w not in descs]
    if missing:
        die("%s carries no Kubernetes API descriptors for %s (found %d): "
            "not a kubectl built from k8s.io/api?" % (kubectl, ", ".join(missing[:3]), len(descs)))

    msgs = {}       # full name -> Msg, in file order
    file_of = {}    # full name -> descriptor file
    top_level = set()
    for fname in wanted:
        pkg = None
        try:
            for n, v in fields(descs[fname]):
                if n == 2:
                    pkg = v.decode()
                elif n == 5:
                    die("%s has enums: not supported" % fname)
            for n, v in fields(descs[fname]):
                if n == 4:
                    before = set(msgs)
                    top_level.add(parse_message(v, pkg, msgs).full)
                    for k in set(msgs) - before:
                        file_of[k] = fname
        except ValueError as e:
            die("%s: malformed descriptor (%s)" % (fname, e))

    # Types, specials, wrappers.
    for m in msgs.values():
        for f in m.fields:
            if f["type"] == TYPE_MESSAGE:
                if f["type_name"] not in msgs:
                    die("%s.%s refers to %s, outside the served packages"
                        % (m.full, f["name"], f["type_name"]))
            elif f["type"] not in SCALAR_TYPES:
                die("%s.%s has proto type %d: not supported" % (m.full, f["name"], f["type"]))
        if m.full in SPECIAL:
            m.special, shape = SPECIAL[m.full]
            got = [(f["number"], f["name"], f["type"]) for f in m.fields]
            if got != shape:
                die("%s changed shape: %r" % (m.full, got))
        elif (m.stringer_off and len(m.fields) == 1 and m.fields[0]["name"] == "items"
              and m.fields[0]["label"] == 3 and m.fields[0]["type"] == 9):
            # A Go named slice such as `type Verbs []string`: JSON is the array.
            m.special = "SCHEMA_WRAPPER"
    for full in SPECIAL:
        if full not in msgs:
            die("%s not found in the descriptors" % full)

    # Inline fields: a Go embedded struct (customname == its type's name,
    # not a pointer) whose tag kubectl carries as json:",inline".
    tags = inline_tags(binary)
    inline = set()
    for m in msgs.values():
        for f in m.fields:
            key = m.full + "." + f["name"]
            if (f["type"] != TYPE_MESSAGE or f["nullable"] or f["label"] == 3
                    or f["customname"] != f["type_name"].rsplit(".", 1)[1]):
                continue
            # A tag without a name (`bytes,1,req`) says only the number, which
            # several embedded fields share: it confirms expected ones only.
            if (f["number"], f["name"]) in tags or \
                    ((f["number"], None) in tags and key in EXPECTED_INLINE):
                inline.add(key)
    if inline != EXPECTED_INLINE:
        die("json inline fields changed: new %s, gone %s; update EXPECTED_INLINE and check the JSON mapping"
            % (sorted(inline - EXPECTED_INLINE), sorted(EXPECTED_INLINE - inline)))

    # Kinds.
    kinds = []  # (group, version, kind, full)
    for gv, group in SERVED.items():
        fname = "k8s.io/api/%s/generated.proto" % gv
        version = gv.split("/")[1]
        for m in msgs.values():
            if file_of[m.full] != fname or m.full not in top_level or m.full in NOT_KINDS:
                continue
            meta = next((f for f in m.fields if f["name"] == "metadata"), None)
            if meta and meta["type_name"] in (MACH + "apis.meta.v1.ObjectMeta",
                                              MACH + "apis.meta.v1.ListMeta"):
                kinds.append((group, version, m.full.rsplit(".", 1)[1], m.full))
    for k in META_KINDS:
        full = MACH + "apis.meta.v1." + k
        if full not in msgs:
            die("meta/v1 kind %s not found" % k)
        kinds.append(("meta.k8s.io", "v1", k, full))
    for full in NOT_KINDS:
        if full not in msgs:
            die("%s not found (NOT_KINDS is stale)" % full)
    for k in kinds:
        msgs[k[3]].kind = True
    kinds.sort(key=lambda k: (k[0].encode(), k[1].encode(), k[2].encode()))

    write(sys.argv[1], kubectl, msgs, inline, kinds)


def c_string_pool(strings):
    """One char array holding every string once, NUL-separated; returns
    (C text, offset by string)."""
    offs, pool = {}, []
    size = 0
    for s in strings:
        if s not in offs:
            offs[s] = size
            pool.append(s)
            size += len(s.encode()) + 1
    lines, cur = [], ""
    for s in pool:
        # \000 is always three octal digits, so a following digit can never
        # extend the escape.
        cur += s.replace("\\", "\\\\").replace('"', '\\"') + "\\000"
        if len(cur) > 90:
            lines.append('\t"%s"' % cur)
            cur = ""
    if cur:
        lines.append('\t"%s"' % cur)
    return "const char schema_strings[] =\n%s;\n" % "\n".join(lines), offs


def write(path, kubectl, msgs, inline, kinds):
    order = list(msgs)
    index = {full: i for i, full in enumerate(order)}
    if len(order) > 0xFFFF:
        die("too many messages")
    strings = []
    for full in order:
        strings.append(full)
        strings += [f["name"] for f in msgs[full].fields]
    for g, v, k, _ in kinds:
        strings += [g, v, k]
    pool, off = c_string_pool(strings)

    out = []
    out.append("/* Generated by core/schema/gen_schema.py from %s. Do not edit. */\n" % kubectl)
    out.append('#include "schema_internal.h"\n\n')
    out.append(pool)
    msg_rows, field_rows, name_rows = [], [], []
    for full in order:
        m = msgs[full]
        fs = sorted(m.fields, key=lambda f: f["number"])
        if len(fs) > 0xFF:
            die("%s has too many fields" % full)
        flags = []
        if m.map_entry:
            flags.append("SCHEMA_M_MAP_ENTRY")
        if m.kind:
            flags.append("SCHEMA_M_TYPEMETA")
        msg_rows.append("\t{%d, %d, %d, %s, %s}, /* %s */" % (
            off[full], len(field_rows), len(fs), m.special, "|".join(flags) or "0",
            full.rsplit(".", 1)[1]))
        for f in fs:
            ff = []
            if f["label"] == 3:
                ff.append("SCHEMA_F_REPEATED")
            elif f["nullable"]:
                ff.append("SCHEMA_F_NULLABLE")
            if full + "." + f["name"] in inline:
                ff.append("SCHEMA_F_INLINE")
            sub = index[f["type_name"]] if f["type"] == TYPE_MESSAGE else 0
            field_rows.append("\t{%d, %d, %d, %d, %s}," % (
                off[f["name"]], f["number"], sub, f["type"], "|".join(ff) or "0"))
        by_name = sorted(range(len(fs)), key=lambda i: fs[i]["name"].encode())
        name_rows.append("\t" + ", ".join(str(i) for i in by_name) + "," if by_name else "")
    if len(field_rows) > 0xFFFF:
        die("too many fields")
    out.append("\nconst struct schema_msg schema_msgs[] = {\n%s\n};\n" % "\n".join(msg_rows))
    out.append("const size_t schema_n_msgs = %d;\n" % len(msg_rows))
    out.append("\nconst struct schema_field schema_fields[] = {\n%s\n};\n" % "\n".join(field_rows))
    out.append("\n/* Per message, its fields' positions in name order. */\n")
    out.append("const uint8_t schema_by_name[] = {\n%s\n};\n"
               % "\n".join(r for r in name_rows if r))
    out.append("\nconst struct schema_kind schema_kinds[] = {\n%s\n};\n" % "\n".join(
        "\t{%d, %d, %d, %d}," % (off[g], off[v], off[k], index[full]) for g, v, k, full in kinds))
    out.append("const size_t schema_n_kinds = %d;\n" % len(kinds))
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("".join(out))
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
