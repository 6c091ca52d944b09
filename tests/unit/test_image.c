/*
 * The image store (core/image): archives built here with libarchive's
 * write API (docker save and OCI layouts; whiteouts, opaque directories,
 * symlinks, hard links, devices, xattrs; hostile entries), pulls from a
 * fake registry served by a thread of this process on loopback (bearer
 * token flow, Basic credentials, indexes, corrupt blobs), and the store's
 * bookkeeping: resolve, list, remove, holds, garbage collection, leases
 * of dead operations, several threads and handles at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "../../core/base/buf.h"
#include "../../core/base/err.h"
#include "../../core/image/image.h"
#include "../../core/image/image_internal.h"
#include "../../core/image/manifest.h"
#include "../../core/image/registry.h"

/* ---- building archives ----------------------------------------------------- */

struct tent {
	const char *name;
	mode_t type;       /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFIFO; 0: hard link */
	mode_t perm;
	const char *data;  /* regular file content */
	size_t len;        /* 0: strlen(data) */
	const char *link;  /* symlink or hard link target */
	int uid, gid;
	dev_t rdev;
	const char *xname, *xval;
};

static la_ssize_t buf_write(struct archive *a, void *arg, const void *p, size_t n)
{
	(void)a;
	assert_int_equal(mk_buf_append(arg, p, n), 0);
	return (la_ssize_t)n;
}

static void tar_build(const struct tent *v, size_t n, struct mk_buf *out)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open(a, out, NULL, buf_write, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = v[i].data ? (v[i].len ? v[i].len : strlen(v[i].data)) : 0;
		archive_entry_set_pathname(e, v[i].name);
		archive_entry_set_filetype(e, v[i].type ? v[i].type : AE_IFREG);
		archive_entry_set_perm(e, v[i].perm ? v[i].perm : 0644);
		archive_entry_set_uid(e, v[i].uid);
		archive_entry_set_gid(e, v[i].gid);
		archive_entry_set_mtime(e, 1700000000, 0);
		if (v[i].type == 0 && v[i].link)
			archive_entry_set_hardlink(e, v[i].link);
		if (v[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, v[i].link);
		if (v[i].type == AE_IFCHR)
			archive_entry_set_rdev(e, v[i].rdev);
		if (v[i].xname)
			archive_entry_xattr_add_entry(e, v[i].xname, v[i].xval, strlen(v[i].xval));
		archive_entry_set_size(e, (la_int64_t)len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (len)
			assert_int_equal(archive_write_data(a, v[i].data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void gzip_buf(const struct mk_buf *in, struct mk_buf *out)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_raw(a);
	archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open(a, out, NULL, buf_write, NULL), ARCHIVE_OK);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "data");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)in->len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, in->data, in->len), (la_ssize_t)in->len);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

static void sha_hex(const void *p, size_t n, char *hex)
{
	img_sha_of(p, n, hex);
}

/* A growable list of outer-archive entries whose names and data it owns. */
struct outer {
	struct tent v[64];
	char *names[64], *datas[64];
	size_t n;
};

static void outer_add(struct outer *o, const char *name, const void *data, size_t len)
{
	assert_true(o->n < 64);
	o->names[o->n] = strdup(name);
	o->datas[o->n] = malloc(len + 1);
	memcpy(o->datas[o->n], data, len);
	o->v[o->n] = (struct tent){ .name = o->names[o->n], .data = o->datas[o->n], .len = len };
	if (len == 0)
		o->v[o->n].data = NULL;
	o->n++;
}

static void outer_done(struct outer *o, struct mk_buf *out)
{
	tar_build(o->v, o->n, out);
	for (size_t i = 0; i < o->n; i++) {
		free(o->names[i]);
		free(o->datas[i]);
	}
	o->n = 0;
}

static const char CONFIG_FMT[] =
	"{\"architecture\":\"%s\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\","
	"\"config\":{\"Entrypoint\":[\"/bin/ep\"],\"Cmd\":[\"arg1\",\"arg2\"],"
	"\"Env\":[\"A=1\",\"PATH=/bin\"],\"WorkingDir\":\"/work\",\"User\":\"1000:100\",\"Labels\":{\"n\":\"%d\"}},"
	"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}";

/* The config for layers (uncompressed tars); *len and hex set. */
static char *make_config(const struct mk_buf *layers, size_t n, int salt, bool bad_diff,
			 char *hex)
{
	char ids[4096] = "", h[65], *cfg;
	for (size_t i = 0; i < n; i++) {
		sha_hex(layers[i].data, layers[i].len, h);
		if (bad_diff && i == n - 1)
			h[0] = h[0] == '0' ? '1' : '0';
		snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s\"sha256:%s\"", i ? "," : "",
			 h);
	}
	assert_true(asprintf(&cfg, CONFIG_FMT, mf_host_arch(), salt, ids) > 0);
	sha_hex(cfg, strlen(cfg), hex);
	return cfg;
}

/* A `docker save` tarball of one image; id gets "sha256:<config>". */
static void docker_archive(const char *ref, const struct mk_buf *layers, size_t n, int salt,
			   bool bad_diff, struct mk_buf *out, char *id)
{
	struct outer o = { .n = 0 };
	char hex[65], name[128], manifest[4096], lnames[2048] = "";
	char *cfg = make_config(layers, n, salt, bad_diff, hex);
	snprintf(name, sizeof name, "%s.json", hex);
	outer_add(&o, name, cfg, strlen(cfg));
	for (size_t i = 0; i < n; i++) {
		char lh[65];
		sha_hex(layers[i].data, layers[i].len, lh);
		snprintf(name, sizeof name, "%.16s%zu/layer.tar", lh, i);
		outer_add(&o, name, layers[i].data, layers[i].len);
		snprintf(lnames + strlen(lnames), sizeof lnames - strlen(lnames), "%s\"%s\"",
			 i ? "," : "", name);
	}
	snprintf(manifest, sizeof manifest,
		 "[{\"Config\":\"%s.json\",\"RepoTags\":[%s%s%s],\"Layers\":[%s]}]", hex,
		 ref ? "\"" : "", ref ? ref : "", ref ? "\"" : "", lnames);
	/* docker save writes manifest.json last: a stream must be spooled. */
	outer_add(&o, "manifest.json", manifest, strlen(manifest));
	outer_done(&o, out);
	sprintf(id, "sha256:%s", hex);
	free(cfg);
}

static void desc(char *out, size_t len, const char *mt, const void *data, size_t n)
{
	char h[65];
	sha_hex(data, n, h);
	snprintf(out, len, "{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\",\"size\":%zu}", mt, h, n);
}

/* An OCI image (gzip layers) as blobs: the manifest's JSON into *manifest. */
static char *oci_blobs(struct outer *o, const struct mk_buf *layers, size_t n, char *id)
{
	char hex[65], name[128], d[512], ls[4096] = "", *man;
	char *cfg = make_config(layers, n, 7, false, hex);
	sprintf(id, "sha256:%s", hex);
	snprintf(name, sizeof name, "blobs/sha256/%s", hex);
	outer_add(o, name, cfg, strlen(cfg));
	for (size_t i = 0; i < n; i++) {
		struct mk_buf gz = MK_BUF_INIT;
		char h[65];
		gzip_buf(&layers[i], &gz);
		sha_hex(gz.data, gz.len, h);
		snprintf(name, sizeof name, "blobs/sha256/%s", h);
		outer_add(o, name, gz.data, gz.len);
		desc(d, sizeof d, "application/vnd.oci.image.layer.v1.tar+gzip", gz.data, gz.len);
		snprintf(ls + strlen(ls), sizeof ls - strlen(ls), "%s%s", i ? "," : "", d);
		mk_buf_free(&gz);
	}
	desc(d, sizeof d, "application/vnd.oci.image.config.v1+json", cfg, strlen(cfg));
	assert_true(asprintf(&man, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":%s,"
				   "\"layers\":[%s]}", MT_OCI_MANIFEST, d, ls) > 0);
	sha_hex(man, strlen(man), hex);
	snprintf(name, sizeof name, "blobs/sha256/%s", hex);
	outer_add(o, name, man, strlen(man));
	free(cfg);
	return man;
}

/* An oci-archive; with `multi`, index.json points at an index of two
 * platforms (the other one's manifest is not even in the archive). */
static void oci_archive(const char *refname, const struct mk_buf *layers, size_t n, bool multi,
			struct mk_buf *out, char *id)
{
	struct outer o = { .n = 0 };
	char d[1024], top[2048], name[128], hex[65];
	char *man = oci_blobs(&o, layers, n, id);
	desc(d, sizeof d, MT_OCI_MANIFEST, man, strlen(man));
	if (multi) {
		char *ix, other[80];
		d[strlen(d) - 1] = '\0';
		memset(other, 'e', 64);
		other[64] = '\0';
		assert_true(asprintf(&ix, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
					  "{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\",\"size\":9,"
					  "\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}},"
					  "%s,\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}}]}",
				     MT_OCI_INDEX, MT_OCI_MANIFEST, other,
				     strcmp(mf_host_arch(), "s390x") ? "s390x" : "amd64", d,
				     mf_host_arch()) > 0);
		sha_hex(ix, strlen(ix), hex);
		snprintf(name, sizeof name, "blobs/sha256/%s", hex);
		outer_add(&o, name, ix, strlen(ix));
		desc(d, sizeof d, MT_OCI_INDEX, ix, strlen(ix));
		free(ix);
	}
	d[strlen(d) - 1] = '\0';
	snprintf(top, sizeof top,
		 "{\"schemaVersion\":2,\"manifests\":[%s,\"annotations\":"
		 "{\"org.opencontainers.image.ref.name\":\"%s\"}}]}",
		 d, refname);
	outer_add(&o, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	outer_add(&o, "index.json", top, strlen(top));
	outer_done(&o, out);
	free(man);
}

/* ---- fixture ----------------------------------------------------------------- */

struct fx {
	char dir[64];
	struct image_store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[512];
	snprintf(f->dir, sizeof f->dir, "/tmp/mk-test-image.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(image_store_open(f->dir, &f->s, err, sizeof err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	image_store_close(f->s);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int import_buf(struct image_store *s, const struct mk_buf *b, char ***refs, size_t *n,
		      char *err, size_t len)
{
	int fd = memfd_create("image", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b->data, b->len), (ssize_t)b->len);
	lseek(fd, 0, SEEK_SET);
	char **r = NULL;
	size_t k = 0;
	int rv = image_import_named(s, fd, "test.tar", NULL, NULL, refs ? refs : &r, n ? n : &k,
				    err, len);
	if (refs == NULL)
		image_refs_free(r, k);
	close(fd);
	return rv;
}

static int count_dir(const struct fx *f, const char *sub)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "find '%s/images/%s' -mindepth 1 -maxdepth 1 | wc -l", f->dir, sub);
	FILE *p = popen(cmd, "r");
	int n = -1;
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static size_t n_images(const struct fx *f)
{
	struct image_summary *v;
	size_t n;
	char err[256];
	assert_int_equal(image_list(f->s, &v, &n, err, sizeof err), 0);
	image_summaries_free(v, n);
	return n;
}

/* The store holds nothing and no operation left anything behind. */
static void assert_empty_store(const struct fx *f)
{
	assert_int_equal(n_images(f), 0);
	assert_int_equal(count_dir(f, "layers"), 0);
	assert_int_equal(count_dir(f, "blobs/sha256"), 0);
	assert_int_equal(count_dir(f, "tmp"), 0);
	assert_int_equal(count_dir(f, "leases"), 0);
}

static void one_layer(struct mk_buf *b, const char *name, const char *content)
{
	struct tent t[] = { { .name = name, .type = AE_IFREG, .data = content } };
	tar_build(t, 1, b);
}

/* ---- references ---------------------------------------------------------------- */

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_ref_normalize(void **state)
{
	static const struct { const char *in, *out; } good[] = {
		{ "nginx", "docker.io/library/nginx:latest" },
		{ "foo/bar", "docker.io/foo/bar:latest" },
		{ "host:5000/x", "host:5000/x:latest" },
		{ "localhost/x:1", "localhost/x:1" },
		{ "docker.io/nginx", "docker.io/library/nginx:latest" },
		{ "index.docker.io/library/nginx:1.25", "docker.io/library/nginx:1.25" },
		{ "quay.io/a/b/c:v1.0-rc_1", "quay.io/a/b/c:v1.0-rc_1" },
		{ "busybox@sha256:" H64, "docker.io/library/busybox@sha256:" H64 },
		{ "busybox:1.36@sha256:" H64, "docker.io/library/busybox:1.36@sha256:" H64 },
		{ "127.0.0.1:5000/a__b/c-d:t", "127.0.0.1:5000/a__b/c-d:t" },
		{ "[::1]:5000/x", "[::1]:5000/x:latest" },
		{ "Example.com/x", "Example.com/x:latest" },
		{ "a.b-c/d.e", "a.b-c/d.e:latest" },
		{ "x:5000", "docker.io/library/x:5000" },
	};
	static const char *const bad[] = {
		"", "UPPER", "foo/Bar", "a b", "x:", "x:-tag", "x@sha256:abc", "x@md5:" H64,
		"-x", "x//y", "x/", ":tag", H64, "host:99x/x", "a..b", "x\n", "x@sha256:" H64 "0",
		"bad_host!/x", "x:" "0123456789012345678901234567890123456789012345678901234567890123456789"
		"01234567890123456789012345678901234567890123456789012345678901234567890",
	};
	char out[512], err[512];
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int rv = image_ref_normalize(good[i].in, out, sizeof out, err, sizeof err);
		if (rv != 0)
			fail_msg("%s: %s", good[i].in, err);
		assert_string_equal(out, good[i].out);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		if (image_ref_normalize(bad[i], out, sizeof out, err, sizeof err) != MK_EINVAL)
			fail_msg("accepted \"%s\" as %s", bad[i], out);
		assert_non_null(strstr(err, "invalid reference"));
		assert_null(strchr(err, '\n'));
	}
	struct img_ref r;
	static const struct { const char *ref; bool insecure; } loop[] = {
		{ "localhost:5000/x", true }, { "127.0.0.2:1/x", true }, { "[::1]:5000/x", true },
		{ "128.0.0.1/x", false }, { "example.com/x", false }, { "x", false },
	};
	for (size_t i = 0; i < sizeof loop / sizeof loop[0]; i++) {
		assert_int_equal(img_ref_parse(loop[i].ref, &r, err, sizeof err), 0);
		assert_int_equal(img_ref_insecure(&r), loop[i].insecure);
	}
	img_ref_parse("nginx", &r, err, sizeof err);
	assert_string_equal(img_ref_api_host(&r), "registry-1.docker.io");
}

static void test_challenge(void **state)
{
	char scheme[64], realm[256], service[256], scope[256];
	(void)state;
	reg_parse_challenge("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
			    "scope=\"repository:library/busybox:pull,push\"",
			    scheme, realm, service, scope, sizeof realm);
	assert_string_equal(scheme, "bearer");
	assert_string_equal(realm, "https://auth.docker.io/token");
	assert_string_equal(service, "registry.docker.io");
	assert_string_equal(scope, "repository:library/busybox:pull,push");
	reg_parse_challenge("Basic realm=\"x\\\"y\"", scheme, realm, service, scope, sizeof realm);
	assert_string_equal(scheme, "basic");
	assert_string_equal(realm, "x\"y");
	assert_string_equal(service, "");
}

/* ---- layers -------------------------------------------------------------------- */

static void layer_path(const char *dir, const char *rel, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", dir, rel);
}

static void test_import_docker_layers(void **state)
{
	struct fx *f = *state;
	if (geteuid() != 0)
		skip(); /* owners, device nodes, whiteouts and trusted.* need root */
	struct tent l1[] = {
		{ .name = "etc/", .type = AE_IFDIR, .perm = 0755 },
		{ .name = "etc/keep", .type = AE_IFREG, .data = "keep\n" },
		{ .name = "etc/gone", .type = AE_IFREG, .data = "gone\n" },
		{ .name = "bin/tool", .type = AE_IFREG, .perm = 04755, .uid = 1000, .gid = 100,
		  .data = "#!/bin/sh\n" },
		{ .name = "bin/tool2", .type = 0, .link = "bin/tool" },
		{ .name = "bin/sh", .type = AE_IFLNK, .perm = 0777, .link = "tool" },
		{ .name = "dev/null", .type = AE_IFCHR, .perm = 0666, .rdev = makedev(1, 3) },
		{ .name = "run/fifo", .type = AE_IFIFO, .perm = 0600 },
		{ .name = "x/attr", .type = AE_IFREG, .data = "a", .xname = "user.test", .xval = "yes" },
		{ .name = "opaque/old", .type = AE_IFREG, .data = "old" },
	};
	struct tent l2[] = {
		{ .name = "./", .type = AE_IFDIR, .perm = 0755 },
		{ .name = "etc/.wh.gone", .type = AE_IFREG },
		{ .name = "opaque/.wh..wh..opq", .type = AE_IFREG },
		{ .name = "opaque/new", .type = AE_IFREG, .data = "new!" },
		{ .name = ".wh..wh.plnk/1234", .type = AE_IFREG, .data = "aufs" },
	};
	struct mk_buf layers[2] = { MK_BUF_INIT, MK_BUF_INIT }, arc = MK_BUF_INIT;
	char id[80], err[1024], p[PATH_MAX], **refs;
	size_t n;
	struct stat st, st2;
	struct image_info *info;

	tar_build(l1, sizeof l1 / sizeof l1[0], &layers[0]);
	tar_build(l2, sizeof l2 / sizeof l2[0], &layers[1]);
	docker_archive("test/app:1", layers, 2, 1, false, &arc, id);
	int rv = import_buf(f->s, &arc, &refs, &n, err, sizeof err);
	if (rv != 0)
		fail_msg("%s", err);
	assert_int_equal(n, 1);
	assert_string_equal(refs[0], "docker.io/test/app:1");
	image_refs_free(refs, n);

	assert_int_equal(image_resolve(f->s, "test/app:1", &info, err, sizeof err), 0);
	assert_string_equal(info->ref, "docker.io/test/app:1");
	assert_string_equal(info->id, id);
	assert_null(info->repo_digest);
	assert_int_equal(info->n_entrypoint, 1);
	assert_string_equal(info->entrypoint[0], "/bin/ep");
	assert_int_equal(info->n_cmd, 2);
	assert_string_equal(info->cmd[1], "arg2");
	assert_int_equal(info->n_env, 2);
	assert_string_equal(info->env[0], "A=1");
	assert_string_equal(info->working_dir, "/work");
	assert_string_equal(info->user, "1000:100");
	assert_int_equal(info->n_layers, 2);
	assert_int_equal(info->size, 5 + 5 + 10 + 1 + 3 + 4);
	const char *top = info->layer_dirs[0], *bottom = info->layer_dirs[1];
	assert_int_equal(top[0], '/');

	/* The bottom layer: modes, owners, links, devices, xattrs, times. */
	layer_path(bottom, "bin/tool", p, sizeof p);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 100);
	assert_int_equal(st.st_mtime, 1700000000);
	layer_path(bottom, "bin/tool2", p, sizeof p);
	assert_int_equal(lstat(p, &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	layer_path(bottom, "bin/sh", p, sizeof p);
	char target[64] = "";
	assert_int_equal(readlink(p, target, sizeof target), 4);
	assert_string_equal(target, "tool");
	layer_path(bottom, "dev/null", p, sizeof p);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), 1);
	assert_int_equal(minor(st.st_rdev), 3);
	layer_path(bottom, "run/fifo", p, sizeof p);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	layer_path(bottom, "x/attr", p, sizeof p);
	char val[16] = "";
	ssize_t xn = getxattr(p, "user.test", val, sizeof val);
	if (xn >= 0 || errno != ENOTSUP)
		assert_string_equal(val, "yes");
	layer_path(bottom, "etc", p, sizeof p);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mtime, 1700000000); /* restored after its files */

	/* The top layer: whiteouts in overlayfs form. */
	layer_path(top, "etc/gone", p, sizeof p);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	layer_path(top, "etc/.wh.gone", p, sizeof p);
	assert_int_not_equal(lstat(p, &st), 0);
	layer_path(top, "opaque", p, sizeof p);
	memset(val, 0, sizeof val);
	assert_int_equal(getxattr(p, "trusted.overlay.opaque", val, sizeof val), 1);
	assert_string_equal(val, "y");
	layer_path(top, "opaque/new", p, sizeof p);
	assert_int_equal(lstat(p, &st), 0);
	layer_path(top, ".wh..wh.plnk", p, sizeof p);
	assert_int_not_equal(lstat(p, &st), 0);
	image_info_free(info);
	for (int i = 0; i < 2; i++)
		mk_buf_free(&layers[i]);
	mk_buf_free(&arc);
	assert_int_equal(count_dir(f, "tmp"), 0);
	assert_int_equal(count_dir(f, "leases"), 0);
}

/* Hostile entries: each refused with its name in the message, and the
 * store stays empty (nothing outside the layer touched either). */
static void test_refuse_escapes(void **state)
{
	struct fx *f = *state;
	static const struct { struct tent t[2]; size_t n; const char *why; } cases[] = {
		{ { { .name = "../escape", .type = AE_IFREG, .data = "x" } }, 1, "leaves the layer" },
		{ { { .name = "a/../../escape", .type = AE_IFREG, .data = "x" } }, 1, "leaves the layer" },
		{ { { .name = "/abs-escape", .type = AE_IFREG, .data = "x" } }, 1, "absolute path" },
		{ { { .name = "link", .type = AE_IFLNK, .link = "/tmp" },
		    { .name = "link/escape", .type = AE_IFREG, .data = "x" } }, 2, "symlink" },
		{ { { .name = "up", .type = AE_IFLNK, .link = "../.." },
		    { .name = "up/escape", .type = AE_IFREG, .data = "x" } }, 2, "symlink" },
		{ { { .name = "h", .type = 0, .link = "../../../etc/passwd" } }, 1, "leaves the layer" },
		{ { { .name = "h", .type = 0, .link = "nonexistent" } }, 1, "not in the layer" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mk_buf layer = MK_BUF_INIT, arc = MK_BUF_INIT;
		char id[80], err[1024] = "";
		tar_build(cases[i].t, cases[i].n, &layer);
		docker_archive("evil:1", &layer, 1, (int)i, false, &arc, id);
		assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), MK_EINVAL);
		if (strstr(err, cases[i].why) == NULL || strstr(err, "test.tar") == NULL)
			fail_msg("case %zu: %s", i, err);
		assert_empty_store(f);
		mk_buf_free(&layer);
		mk_buf_free(&arc);
	}
	struct stat st;
	assert_int_not_equal(stat("/tmp/escape", &st), 0);
	assert_int_not_equal(stat("/abs-escape", &st), 0);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "test -z \"$(find '%s' -name '*escape*')\"", f->dir);
	assert_int_equal(system(cmd), 0);
}

static void test_import_oci(void **state)
{
	struct fx *f = *state;
	struct mk_buf layers[2] = { MK_BUF_INIT, MK_BUF_INIT }, arc = MK_BUF_INIT;
	char id[80], err[1024], **refs;
	size_t n;
	struct image_info *info;
	one_layer(&layers[0], "a", "first");
	one_layer(&layers[1], "b", "second");

	/* index.json -> an index of two platforms -> this one's manifest. */
	oci_archive("registry.test/app:oci", layers, 2, true, &arc, id);
	if (import_buf(f->s, &arc, &refs, &n, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(n, 1);
	assert_string_equal(refs[0], "registry.test/app:oci");
	image_refs_free(refs, n);
	assert_int_equal(image_resolve(f->s, "registry.test/app:oci", &info, err, sizeof err), 0);
	assert_string_equal(info->id, id);
	assert_int_equal(info->n_layers, 2);
	assert_non_null(strstr(info->layer_dirs[0], "/layers/"));
	assert_non_null(info->repo_digest);
	assert_int_equal(strncmp(info->repo_digest, "registry.test/app@sha256:", 25), 0);
	/* ... and the repo digest finds it too. */
	struct image_info *again;
	assert_int_equal(image_resolve(f->s, info->repo_digest, &again, err, sizeof err), 0);
	assert_string_equal(again->id, id);
	image_info_free(again);
	image_info_free(info);
	assert_int_equal(count_dir(f, "layers"), 2);

	/* A bare tag names no repository: imported by id, listed as <none>. */
	mk_buf_reset(&arc);
	oci_archive("1.0", layers, 1, false, &arc, id);
	assert_int_equal(import_buf(f->s, &arc, &refs, &n, err, sizeof err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(refs[0], id);
	image_refs_free(refs, n);
	struct image_summary *v;
	assert_int_equal(image_list(f->s, &v, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].ref, "registry.test/app:oci");
	assert_null(v[1].ref);
	assert_string_equal(v[1].id, id);
	image_summaries_free(v, n);
	assert_int_equal(count_dir(f, "layers"), 2); /* the layer is shared */
	for (int i = 0; i < 2; i++)
		mk_buf_free(&layers[i]);
	mk_buf_free(&arc);
}

static void test_digest_mismatch(void **state)
{
	struct fx *f = *state;
	struct mk_buf layer = MK_BUF_INIT, arc = MK_BUF_INIT;
	char id[80], err[1024], hex[65], name[96];
	one_layer(&layer, "f", "content");
	docker_archive("x:1", &layer, 1, 1, true, &arc, id);
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "does not match its digest"));
	assert_empty_store(f);

	/* An OCI blob whose bytes are not what its name says. */
	struct outer o = { .n = 0 };
	memset(hex, 'a', 64);
	hex[64] = '\0';
	snprintf(name, sizeof name, "blobs/sha256/%s", hex);
	outer_add(&o, name, "not that", 8);
	outer_add(&o, "index.json", "{}", 2);
	mk_buf_reset(&arc);
	outer_done(&o, &arc);
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "does not match its digest"));
	assert_empty_store(f);

	/* A failed import leaves a populated store as it was. */
	mk_buf_reset(&arc);
	docker_archive("good:1", &layer, 1, 1, false, &arc, id);
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), 0);
	struct mk_buf other = MK_BUF_INIT;
	one_layer(&other, "g", "other");
	mk_buf_reset(&arc);
	docker_archive("bad:1", &other, 1, 2, true, &arc, id);
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), MK_EINVAL);
	assert_int_equal(n_images(f), 1);
	assert_int_equal(count_dir(f, "layers"), 1);
	assert_int_equal(count_dir(f, "tmp"), 0);
	mk_buf_free(&layer);
	mk_buf_free(&other);
	mk_buf_free(&arc);
}

static void test_not_an_image(void **state)
{
	struct fx *f = *state;
	struct mk_buf arc = MK_BUF_INIT;
	char err[1024];
	struct tent t[] = { { .name = "hello.txt", .type = AE_IFREG, .data = "hello" } };
	tar_build(t, 1, &arc);
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), MK_EINVAL);
	assert_string_equal(err, "test.tar is not an image archive: no manifest.json or index.json");
	assert_empty_store(f);
	mk_buf_reset(&arc);
	assert_int_equal(mk_buf_append(&arc, "\x7f" "ELF garbage garbage garbage", 27), 0);
	assert_int_equal(mk_buf_append_zeros(&arc, 2000), 0);
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "test.tar is not an image archive"));
	assert_empty_store(f);
	/* manifest.json that names what is not there */
	mk_buf_reset(&arc);
	struct tent m[] = { { .name = "manifest.json", .type = AE_IFREG,
			      .data = "[{\"Config\":\"c.json\",\"RepoTags\":null,\"Layers\":[]}]" } };
	tar_build(m, 1, &arc);
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "c.json, named by manifest.json, is not in the archive"));
	assert_empty_store(f);
	mk_buf_free(&arc);
}

static void test_truncated(void **state)
{
	struct fx *f = *state;
	struct mk_buf layer = MK_BUF_INIT, arc = MK_BUF_INIT, gz = MK_BUF_INIT;
	char id[80], err[1024], big[200000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + (i * 7919) % 26);
	struct tent t[] = { { .name = "big", .type = AE_IFREG, .data = big, .len = sizeof big } };
	tar_build(t, 1, &layer);
	docker_archive("t:1", &layer, 1, 1, false, &arc, id);
	gzip_buf(&arc, &gz);
	gz.len /= 2;
	assert_int_equal(import_buf(f->s, &gz, NULL, NULL, err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "test.tar: truncated or damaged archive"));
	assert_empty_store(f);
	arc.len -= 100000;
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "truncated"));
	assert_empty_store(f);
	mk_buf_free(&layer);
	mk_buf_free(&arc);
	mk_buf_free(&gz);
}

struct writer {
	int fd;
	const struct mk_buf *b;
};

static void *write_pipe(void *arg)
{
	struct writer *w = arg;
	for (size_t off = 0; off < w->b->len;) {
		ssize_t n = write(w->fd, w->b->data + off, w->b->len - off > 4096 ? 4096 : w->b->len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(w->fd);
	return NULL;
}

/* A pipe cannot seek: manifest.json comes last and the import spools. */
static void test_import_pipe(void **state)
{
	struct fx *f = *state;
	struct mk_buf layer = MK_BUF_INIT, arc = MK_BUF_INIT;
	char id[80], err[1024], **refs;
	size_t n;
	int p[2];
	pthread_t th;
	one_layer(&layer, "f", "piped");
	docker_archive("piped:1", &layer, 1, 1, false, &arc, id);
	assert_int_equal(pipe(p), 0);
	struct writer w = { p[1], &arc };
	pthread_create(&th, NULL, write_pipe, &w);
	int rv = image_import(f->s, p[0], NULL, NULL, &refs, &n, err, sizeof err);
	pthread_join(th, NULL);
	close(p[0]);
	if (rv != 0)
		fail_msg("%s", err);
	assert_string_equal(refs[0], "docker.io/library/piped:1");
	image_refs_free(refs, n);
	mk_buf_free(&layer);
	mk_buf_free(&arc);
}

/* ---- records ------------------------------------------------------------------- */

static void import_two(struct fx *f, char *ida, char *idb)
{
	struct mk_buf l[3] = { MK_BUF_INIT, MK_BUF_INIT, MK_BUF_INIT }, arc = MK_BUF_INIT;
	struct mk_buf a[2], b[2];
	char err[1024];
	one_layer(&l[0], "shared", "shared layer");
	one_layer(&l[1], "a", "only a");
	one_layer(&l[2], "b", "only b!");
	a[0] = l[0], a[1] = l[1], b[0] = l[0], b[1] = l[2];
	docker_archive("a:1", a, 2, 1, false, &arc, ida);
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), 0);
	mk_buf_reset(&arc);
	docker_archive("b:1", b, 2, 2, false, &arc, idb);
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), 0);
	for (int i = 0; i < 3; i++)
		mk_buf_free(&l[i]);
	mk_buf_free(&arc);
}

static void test_resolve_list_remove(void **state)
{
	struct fx *f = *state;
	char ida[80], idb[80], err[1024], q[80];
	struct image_info *info;
	struct image_summary *v;
	size_t n;
	import_two(f, ida, idb);
	assert_int_equal(count_dir(f, "layers"), 3);

	const char *ways[] = { "a:1", "docker.io/library/a:1", ida, ida + 7 };
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(image_resolve(f->s, ways[i], &info, err, sizeof err), 0);
		assert_string_equal(info->id, ida);
		image_info_free(info);
	}
	snprintf(q, sizeof q, "%.19s", ida); /* "sha256:" + 12 hex */
	assert_int_equal(image_resolve(f->s, q, &info, err, sizeof err), 0);
	assert_null(info->ref);
	image_info_free(info);
	assert_int_equal(image_resolve(f->s, "nosuch", &info, err, sizeof err), MK_ENOTFOUND);
	assert_string_equal(err, "image \"nosuch\" not found");
	assert_null(info);

	assert_int_equal(image_list(f->s, &v, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].ref, "docker.io/library/a:1");
	assert_string_equal(v[1].ref, "docker.io/library/b:1");
	assert_int_equal(v[0].size, 12 + 6);
	assert_int_equal(v[0].created, 1704164645); /* 2024-01-02T03:04:05Z */
	image_summaries_free(v, n);

	/* Held: never removed, by reference or by id. */
	assert_int_equal(image_hold(f->s, ida, "ctr1", err, sizeof err), 0);
	assert_int_equal(image_hold(f->s, ida, "ctr2", err, sizeof err), 0);
	assert_int_equal(image_remove(f->s, "a:1", err, sizeof err), MK_EBUSY);
	assert_string_equal(err, "image a:1 is in use by 2 container(s)");
	assert_int_equal(image_remove(f->s, ida, err, sizeof err), MK_EBUSY);
	assert_int_equal(n_images(f), 2);
	assert_int_equal(image_hold(f->s, "sha256:nosuch", "ctr3", err, sizeof err), MK_ENOTFOUND);
	assert_int_equal(image_hold(f->s, ida, "", err, sizeof err), MK_EINVAL);
	assert_int_equal(image_hold(f->s, ida, "bad\nname", err, sizeof err), MK_EINVAL);
	assert_int_equal(image_release(f->s, "ctr1"), 0);
	assert_int_equal(image_release(f->s, "ctr1"), 0); /* idempotent */
	assert_int_equal(image_remove(f->s, "a:1", err, sizeof err), MK_EBUSY);
	assert_string_equal(err, "image a:1 is in use by 1 container(s)");
	assert_int_equal(image_release(f->s, "ctr2"), 0);
	assert_int_equal(image_release(f->s, "never-held"), 0);

	assert_int_equal(image_remove(f->s, "a:1", err, sizeof err), 0);
	assert_int_equal(image_resolve(f->s, ida, &info, err, sizeof err), MK_ENOTFOUND);
	assert_int_equal(count_dir(f, "layers"), 2); /* the shared one stays for b */
	assert_int_equal(count_dir(f, "blobs/sha256"), 1);
	assert_int_equal(image_remove(f->s, "a:1", err, sizeof err), MK_ENOTFOUND);
	assert_int_equal(image_remove(f->s, idb + 7, err, sizeof err), 0);
	assert_empty_store(f);
	assert_int_equal(count_dir(f, "trash"), 0);
}

static void test_holds_persist(void **state)
{
	struct fx *f = *state;
	char ida[80], idb[80], err[1024];
	struct image_store *other;
	import_two(f, ida, idb);
	assert_int_equal(image_hold(f->s, idb, "c-1", err, sizeof err), 0);
	/* Another handle: another process, or mkd after a restart. */
	assert_int_equal(image_store_open(f->dir, &other, err, sizeof err), 0);
	assert_int_equal(image_remove(other, "b:1", err, sizeof err), MK_EBUSY);
	assert_int_equal(image_release(other, "c-1"), 0);
	assert_int_equal(image_remove(f->s, "b:1", err, sizeof err), 0);
	image_store_close(other);
}

static void test_ref_moves(void **state)
{
	struct fx *f = *state;
	struct mk_buf la = MK_BUF_INIT, lb = MK_BUF_INIT, arc = MK_BUF_INIT;
	char ida[80], idb[80], err[1024];
	struct image_summary *v;
	size_t n;
	one_layer(&la, "v", "version 1");
	one_layer(&lb, "v", "version 2");
	docker_archive("app:latest", &la, 1, 1, false, &arc, ida);
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(image_hold(f->s, ida, "running", err, sizeof err), 0);
	mk_buf_reset(&arc);
	docker_archive("app:latest", &lb, 1, 2, false, &arc, idb);
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), 0);
	/* The old image lost its name but a container uses it. */
	assert_int_equal(image_list(f->s, &v, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].id, idb);
	assert_null(v[1].ref);
	assert_string_equal(v[1].id, ida);
	image_summaries_free(v, n);
	assert_int_equal(count_dir(f, "layers"), 2);
	assert_int_equal(image_release(f->s, "running"), 0);
	assert_int_equal(n_images(f), 1);
	assert_int_equal(count_dir(f, "layers"), 1);
	/* Unheld, the replaced image goes at once. */
	mk_buf_reset(&arc);
	docker_archive("app:latest", &la, 1, 1, false, &arc, ida);
	assert_int_equal(import_buf(f->s, &arc, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(n_images(f), 1);
	assert_int_equal(count_dir(f, "layers"), 1);
	mk_buf_free(&la);
	mk_buf_free(&lb);
	mk_buf_free(&arc);
}

static void touch(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/images/%s", dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
}

/* What a process that died mid-pull leaves, and what a live one needs. */
static void test_gc_leases(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX], err[512], hex[65];
	struct img_lease live;
	memset(hex, 'b', 64);
	hex[64] = '\0';
	snprintf(p, sizeof p, "%s/images/tmp/dead-1", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	touch(f->dir, "tmp/dead-1/half-a-layer");
	touch(f->dir, "leases/dead-1");
	snprintf(p, sizeof p, "%s/images/layers/%s", f->dir, hex);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(img_lease_begin(f->s, &live, err, sizeof err), 0);
	assert_int_equal(img_lease_add(&live, "layer", hex, err, sizeof err), 0);
	assert_int_equal(image_gc(f->s, err, sizeof err), 0);
	assert_int_equal(count_dir(f, "tmp"), 1);    /* the live lease's */
	assert_int_equal(count_dir(f, "leases"), 1);
	assert_int_equal(count_dir(f, "layers"), 1); /* leased: kept */
	img_lease_end(&live);
	assert_int_equal(image_gc(f->s, err, sizeof err), 0);
	assert_empty_store(f);
}

struct import_job {
	struct image_store *s;
	const struct mk_buf *arc;
	int rv;
	char err[512];
};

static void *import_thread(void *arg)
{
	struct import_job *j = arg;
	j->rv = import_buf(j->s, j->arc, NULL, NULL, j->err, sizeof j->err);
	return NULL;
}

static void test_concurrent_import(void **state)
{
	struct fx *f = *state;
	struct mk_buf l[2] = { MK_BUF_INIT, MK_BUF_INIT }, arc = MK_BUF_INIT;
	char id[80], err[512], big[300000];
	struct image_store *other;
	struct import_job jobs[6];
	pthread_t th[6];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 31 % 251);
	struct tent t[] = { { .name = "big", .type = AE_IFREG, .data = big, .len = sizeof big } };
	tar_build(t, 1, &l[0]);
	one_layer(&l[1], "small", "s");
	docker_archive("same:1", l, 2, 1, false, &arc, id);
	assert_int_equal(image_store_open(f->dir, &other, err, sizeof err), 0);
	for (int i = 0; i < 6; i++) {
		jobs[i] = (struct import_job){ .s = i % 2 ? other : f->s, .arc = &arc };
		pthread_create(&th[i], NULL, import_thread, &jobs[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].rv != 0)
			fail_msg("import %d: %s", i, jobs[i].err);
	}
	image_store_close(other);
	assert_int_equal(n_images(f), 1);
	assert_int_equal(count_dir(f, "layers"), 2);
	assert_int_equal(count_dir(f, "tmp"), 0);
	assert_int_equal(count_dir(f, "leases"), 0);
	struct image_info *info;
	assert_int_equal(image_resolve(f->s, "same:1", &info, err, sizeof err), 0);
	char p[PATH_MAX];
	struct stat st;
	layer_path(info->layer_dirs[1], "big", p, sizeof p);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, sizeof big);
	image_info_free(info);
	for (int i = 0; i < 2; i++)
		mk_buf_free(&l[i]);
	mk_buf_free(&arc);
}

/* ---- a fake registry on loopback ---------------------------------------------- */

struct route {
	char path[300];
	const char *ctype;
	struct mk_buf body;
	int hits;
};

struct fake_reg {
	int fd, port;
	pthread_t th;
	volatile bool stop;
	pthread_mutex_t mu;
	struct route routes[16];
	size_t n;
	bool need_token;     /* /v2/... wants "Bearer good" */
	const char *creds;   /* the token endpoint wants these (user:pass), or NULL */
	int token_hits;
	char accept[600];
};

static void reg_route(struct fake_reg *r, const char *path, const char *ctype, const void *body,
		      size_t n)
{
	struct route *rt = &r->routes[r->n++];
	snprintf(rt->path, sizeof rt->path, "%s", path);
	rt->ctype = ctype;
	rt->body = (struct mk_buf)MK_BUF_INIT;
	assert_int_equal(mk_buf_append(&rt->body, body, n), 0);
}

static int route_hits(struct fake_reg *r, const char *path)
{
	int n = -1;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->routes[i].path, path) == 0)
			n = r->routes[i].hits;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int code, const char *extra, const char *ctype, const void *body,
		    size_t n)
{
	char h[1024];
	int k = snprintf(h, sizeof h,
			 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nContent-Type: %s\r\n%s"
			 "Connection: close\r\n\r\n",
			 code, n, ctype, extra ? extra : "");
	send_all(fd, h, (size_t)k);
	send_all(fd, body, n);
}

static bool header(const char *req, const char *name, char *out, size_t len)
{
	const char *p = strcasestr(req, name);
	if (p == NULL)
		return false;
	p += strlen(name);
	size_t n = strcspn(p, "\r\n");
	snprintf(out, len, "%.*s", (int)n, p);
	return true;
}

static void serve_one(struct fake_reg *r, int c)
{
	char req[16384] = "", path[1024], auth[1024] = "", want[300];
	size_t n = 0;
	while (n < sizeof req - 1 && strstr(req, "\r\n\r\n") == NULL) {
		ssize_t k = recv(c, req + n, sizeof req - 1 - n, 0);
		if (k <= 0)
			return;
		n += (size_t)k;
		req[n] = '\0';
	}
	if (sscanf(req, "GET %1023s", path) != 1)
		return;
	header(req, "\r\nAuthorization: ", auth, sizeof auth);
	pthread_mutex_lock(&r->mu);
	if (strncmp(path, "/token", 6) == 0) {
		r->token_hits++;
		unsigned char b64[256] = "";
		if (r->creds)
			EVP_EncodeBlock(b64, (const unsigned char *)r->creds, (int)strlen(r->creds));
		snprintf(want, sizeof want, "Basic %s", b64);
		pthread_mutex_unlock(&r->mu);
		if (r->creds && strcmp(auth, want) != 0)
			respond(c, 401, NULL, "application/json", "{}", 2);
		else
			respond(c, 200, NULL, "application/json", "{\"access_token\":\"good\"}", 23);
		return;
	}
	if (r->need_token && strcmp(auth, "Bearer good") != 0) {
		char ch[512];
		snprintf(ch, sizeof ch,
			 "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
			 "service=\"fake\",scope=\"repository:app:pull\"\r\n",
			 r->port);
		pthread_mutex_unlock(&r->mu);
		static const char body[] = "{\"errors\":[{\"code\":\"UNAUTHORIZED\","
					   "\"message\":\"authentication required\"}]}";
		respond(c, 401, ch, "application/json", body, sizeof body - 1);
		return;
	}
	if (strstr(path, "/manifests/"))
		header(req, "\r\nAccept: ", r->accept, sizeof r->accept);
	for (size_t i = 0; i < r->n; i++) {
		struct route *rt = &r->routes[i];
		if (strcmp(rt->path, path) != 0)
			continue;
		rt->hits++;
		struct mk_buf b = rt->body;
		pthread_mutex_unlock(&r->mu);
		respond(c, 200, NULL, rt->ctype, b.data, b.len);
		return;
	}
	pthread_mutex_unlock(&r->mu);
	static const char nf[] = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\","
				 "\"message\":\"manifest unknown\"}]}";
	respond(c, 404, NULL, "application/json", nf, sizeof nf - 1);
}

static void *reg_thread(void *arg)
{
	struct fake_reg *r = arg;
	while (!r->stop) {
		struct pollfd p = { r->fd, POLLIN, 0 };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(r->fd, NULL, NULL);
		if (c < 0)
			continue;
		serve_one(r, c);
		close(c);
	}
	return NULL;
}

static void reg_start(struct fake_reg *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	pthread_mutex_init(&r->mu, NULL);
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(r->fd, 64), 0);
	getsockname(r->fd, (struct sockaddr *)&a, &al);
	r->port = ntohs(a.sin_port);
	pthread_create(&r->th, NULL, reg_thread, r);
}

static void reg_stop(struct fake_reg *r)
{
	r->stop = true;
	pthread_join(r->th, NULL);
	close(r->fd);
	for (size_t i = 0; i < r->n; i++)
		mk_buf_free(&r->routes[i].body);
	pthread_mutex_destroy(&r->mu);
}

/* Serves repository `repo` with tag `tag`: a Docker v2 manifest, its
 * config and gzip layers.  Returns the manifest digest in mdigest, the
 * layer blob paths in lpaths. */
static void reg_image(struct fake_reg *r, const char *repo, const char *tag,
		      const struct mk_buf *layers, size_t n, int salt, char *id, char *mdigest,
		      char lpaths[][300])
{
	char hex[65], d[512], ls[4096] = "", path[300], *man;
	char *cfg = make_config(layers, n, salt, false, hex);
	sprintf(id, "sha256:%s", hex);
	snprintf(path, sizeof path, "/v2/%s/blobs/sha256:%s", repo, hex);
	reg_route(r, path, "application/octet-stream", cfg, strlen(cfg));
	for (size_t i = 0; i < n; i++) {
		struct mk_buf gz = MK_BUF_INIT;
		char h[65];
		gzip_buf(&layers[i], &gz);
		sha_hex(gz.data, gz.len, h);
		snprintf(lpaths[i], 300, "/v2/%s/blobs/sha256:%s", repo, h);
		reg_route(r, lpaths[i], "application/octet-stream", gz.data, gz.len);
		desc(d, sizeof d, "application/vnd.docker.image.rootfs.diff.tar.gzip", gz.data,
		     gz.len);
		snprintf(ls + strlen(ls), sizeof ls - strlen(ls), "%s%s", i ? "," : "", d);
		mk_buf_free(&gz);
	}
	desc(d, sizeof d, "application/vnd.docker.container.image.v1+json", cfg, strlen(cfg));
	assert_true(asprintf(&man, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":%s,"
				   "\"layers\":[%s]}", MT_DOCKER_MANIFEST, d, ls) > 0);
	sha_hex(man, strlen(man), hex);
	sprintf(mdigest, "sha256:%s", hex);
	snprintf(path, sizeof path, "/v2/%s/manifests/%s", repo, tag);
	reg_route(r, path, MT_DOCKER_MANIFEST, man, strlen(man));
	snprintf(path, sizeof path, "/v2/%s/manifests/%s", repo, mdigest);
	reg_route(r, path, MT_DOCKER_MANIFEST, man, strlen(man));
	free(man);
	free(cfg);
}

struct progress_log {
	int calls, exists, complete;
};

static void on_progress(void *arg, const char *what, uint64_t done, uint64_t total)
{
	struct progress_log *l = arg;
	l->calls++;
	l->exists += strstr(what, " exists") != NULL;
	l->complete += total > 0 && done == total;
}

static void test_pull(void **state)
{
	struct fx *f = *state;
	struct fake_reg r = { .need_token = true };
	struct mk_buf l[2] = { MK_BUF_INIT, MK_BUF_INIT };
	char id[80], md[80], lp[2][300], ref[128], err[1024], want[200];
	struct image_info *info;
	struct progress_log log = { 0 };
	struct image_pull_opts o = { .progress = on_progress, .progress_arg = &log };
	one_layer(&l[0], "base", "base layer");
	one_layer(&l[1], "app", "app layer");
	reg_start(&r);
	reg_image(&r, "app", "v1", l, 2, 1, id, md, lp);
	snprintf(ref, sizeof ref, "127.0.0.1:%d/app:v1", r.port);

	int rv = image_pull(f->s, ref, &o, &info, err, sizeof err);
	if (rv != 0)
		fail_msg("%s", err);
	assert_string_equal(info->ref, ref);
	assert_string_equal(info->id, id);
	snprintf(want, sizeof want, "127.0.0.1:%d/app@%s", r.port, md);
	assert_string_equal(info->repo_digest, want);
	assert_int_equal(info->n_layers, 2);
	assert_string_equal(info->cmd[0], "arg1");
	image_info_free(info);
	assert_true(r.token_hits >= 1);
	assert_non_null(strstr(r.accept, MT_OCI_INDEX));
	assert_non_null(strstr(r.accept, MT_OCI_MANIFEST));
	assert_non_null(strstr(r.accept, MT_DOCKER_LIST));
	assert_non_null(strstr(r.accept, MT_DOCKER_MANIFEST));
	assert_int_equal(route_hits(&r, lp[0]), 1);
	assert_true(log.complete >= 3); /* config and two layers */

	/* Again: only the manifest travels. */
	memset(&log, 0, sizeof log);
	assert_int_equal(image_pull(f->s, ref, &o, NULL, err, sizeof err), 0);
	assert_int_equal(route_hits(&r, lp[0]), 1);
	assert_int_equal(route_hits(&r, lp[1]), 1);
	assert_int_equal(log.exists, 3);
	/* Found by its repo digest, and pullable by digest. */
	assert_int_equal(image_resolve(f->s, want, &info, err, sizeof err), 0);
	image_info_free(info);
	snprintf(ref, sizeof ref, "127.0.0.1:%d/app@%s", r.port, md);
	assert_int_equal(image_pull(f->s, ref, NULL, &info, err, sizeof err), 0);
	assert_string_equal(info->ref, ref);
	image_info_free(info);

	/* Missing tag, a dead port, a malformed reference. */
	snprintf(ref, sizeof ref, "127.0.0.1:%d/app:nosuch", r.port);
	assert_int_equal(image_pull(f->s, ref, NULL, NULL, err, sizeof err), MK_ENOTFOUND);
	snprintf(want, sizeof want, "pull %s: manifest unknown (404)", ref);
	assert_string_equal(err, want);
	reg_stop(&r);
	snprintf(ref, sizeof ref, "127.0.0.1:%d/app:v1", r.port);
	assert_int_equal(image_pull(f->s, ref, NULL, NULL, err, sizeof err), MK_EIO);
	snprintf(want, sizeof want, "pull %s: connection refused", ref);
	assert_string_equal(err, want);
	assert_int_equal(image_pull(f->s, "Bad/Ref", NULL, NULL, err, sizeof err), MK_EINVAL);
	assert_int_equal(count_dir(f, "tmp"), 0);
	for (int i = 0; i < 2; i++)
		mk_buf_free(&l[i]);
}

static void test_pull_auth_and_corruption(void **state)
{
	struct fx *f = *state;
	struct fake_reg r = { .need_token = true, .creds = "alice:secret" };
	struct mk_buf l = MK_BUF_INIT;
	char id[80], md[80], lp[1][300], ref[128], err[1024], want[200];
	struct image_pull_opts o = { .username = "alice", .password = "secret" };
	one_layer(&l, "f", "private");
	reg_start(&r);
	reg_image(&r, "app", "v1", &l, 1, 1, id, md, lp);
	snprintf(ref, sizeof ref, "127.0.0.1:%d/app:v1", r.port);
	assert_int_equal(image_pull(f->s, ref, NULL, NULL, err, sizeof err), MK_EIO);
	snprintf(want, sizeof want, "pull %s: unauthorized", ref);
	assert_string_equal(err, want);
	o.password = "wrong";
	assert_int_equal(image_pull(f->s, ref, &o, NULL, err, sizeof err), MK_EIO);
	assert_string_equal(err, want);
	o.password = "secret";
	if (image_pull(f->s, ref, &o, NULL, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(n_images(f), 1);

	/* A registry serving a corrupt layer: refused, nothing kept. */
	struct fake_reg bad = { .need_token = false };
	struct mk_buf l2 = MK_BUF_INIT;
	one_layer(&l2, "g", "will be corrupted");
	reg_start(&bad);
	reg_image(&bad, "app", "v2", &l2, 1, 2, id, md, lp);
	for (size_t i = 0; i < bad.n; i++)
		if (strcmp(bad.routes[i].path, lp[0]) == 0)
			bad.routes[i].body.data[bad.routes[i].body.len / 2] ^= 0x55;
	snprintf(ref, sizeof ref, "127.0.0.1:%d/app:v2", bad.port);
	assert_int_equal(image_pull(f->s, ref, NULL, NULL, err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "does not match its digest"));
	assert_int_equal(n_images(f), 1);
	assert_int_equal(count_dir(f, "layers"), 1);
	assert_int_equal(count_dir(f, "tmp"), 0);
	reg_stop(&bad);
	reg_stop(&r);
	mk_buf_free(&l);
	mk_buf_free(&l2);
}

static void test_pull_index(void **state)
{
	struct fx *f = *state;
	struct fake_reg r = { .need_token = false };
	struct mk_buf l = MK_BUF_INIT;
	char id[80], md[80], lp[1][300], ref[200], err[1024], *ix, hex[65], path[300], d[512];
	struct image_info *info;
	one_layer(&l, "f", "multi");
	reg_start(&r);
	reg_image(&r, "multi", "untagged", &l, 1, 3, id, md, lp);
	/* The other platform's manifest is not served: picking it fails. */
	snprintf(d, sizeof d, "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1,"
			      "\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}}",
		 MT_DOCKER_MANIFEST, md, mf_host_arch());
	assert_true(asprintf(&ix, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
				  "{\"mediaType\":\"%s\",\"digest\":\"sha256:" H64 "\",\"size\":1,"
				  "\"platform\":{\"os\":\"windows\",\"architecture\":\"%s\"}},%s]}",
			     MT_DOCKER_LIST, MT_DOCKER_MANIFEST, mf_host_arch(), d) > 0);
	reg_route(&r, "/v2/multi/manifests/latest", MT_DOCKER_LIST, ix, strlen(ix));
	sha_hex(ix, strlen(ix), hex);
	snprintf(path, sizeof path, "/v2/multi/manifests/sha256:%s", hex);
	reg_route(&r, path, MT_DOCKER_LIST, ix, strlen(ix));
	snprintf(ref, sizeof ref, "127.0.0.1:%d/multi", r.port);
	if (image_pull(f->s, ref, NULL, &info, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_string_equal(info->id, id);
	/* The repo digest is the index's: what the tag points at. */
	assert_non_null(strstr(info->repo_digest, hex));
	image_info_free(info);
	snprintf(ref, sizeof ref, "127.0.0.1:%d/multi@sha256:%s", r.port, hex);
	assert_int_equal(image_pull(f->s, ref, NULL, NULL, err, sizeof err), 0);
	reg_stop(&r);
	free(ix);
	mk_buf_free(&l);
}

struct pull_job {
	struct image_store *s;
	const char *ref;
	int rv;
	char err[512];
};

static void *pull_thread(void *arg)
{
	struct pull_job *j = arg;
	j->rv = image_pull(j->s, j->ref, NULL, NULL, j->err, sizeof j->err);
	return NULL;
}

static void test_pull_concurrent(void **state)
{
	struct fx *f = *state;
	struct fake_reg r = { .need_token = true };
	struct mk_buf l[2] = { MK_BUF_INIT, MK_BUF_INIT };
	char id[80], md[80], lp[2][300], ref[128], err[512];
	struct pull_job jobs[6];
	pthread_t th[6];
	struct image_store *other;
	one_layer(&l[0], "one", "first layer");
	one_layer(&l[1], "two", "second layer");
	reg_start(&r);
	reg_image(&r, "app", "v1", l, 2, 4, id, md, lp);
	snprintf(ref, sizeof ref, "127.0.0.1:%d/app:v1", r.port);
	/* One handle: threads share each download. */
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct pull_job){ .s = f->s, .ref = ref };
		pthread_create(&th[i], NULL, pull_thread, &jobs[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].rv != 0)
			fail_msg("pull %d: %s", i, jobs[i].err);
	}
	assert_int_equal(route_hits(&r, lp[0]), 1);
	assert_int_equal(route_hits(&r, lp[1]), 1);
	/* Two handles (two processes) on a fresh directory. */
	char cmd[128];
	image_store_close(f->s);
	snprintf(cmd, sizeof cmd, "rm -rf '%s/images'", f->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(image_store_open(f->dir, &f->s, err, sizeof err), 0);
	assert_int_equal(image_store_open(f->dir, &other, err, sizeof err), 0);
	for (int i = 0; i < 6; i++) {
		jobs[i] = (struct pull_job){ .s = i % 2 ? other : f->s, .ref = ref };
		pthread_create(&th[i], NULL, pull_thread, &jobs[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].rv != 0)
			fail_msg("pull %d: %s", i, jobs[i].err);
	}
	image_store_close(other);
	assert_int_equal(n_images(f), 1);
	assert_int_equal(count_dir(f, "layers"), 2);
	assert_int_equal(count_dir(f, "tmp"), 0);
	assert_int_equal(count_dir(f, "leases"), 0);
	reg_stop(&r);
	for (int i = 0; i < 2; i++)
		mk_buf_free(&l[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_normalize),
		cmocka_unit_test(test_challenge),
		cmocka_unit_test_setup_teardown(test_import_docker_layers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_oci, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_an_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_list_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holds_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ref_moves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_leases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_auth_and_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_concurrent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
