/*
 * The node PKI (core/cluster/pki*.c) in a temporary data directory,
 * checked with OpenSSL's own verification, libyaml, and (when installed)
 * the real openssl, kubectl and python3-kubernetes.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <yaml.h>

#include "../../core/base/err.h"
#include "../../core/cluster/pki.h"
#include "../../core/cluster/pki_internal.h"

#define N_FILES 8
#define ALL ((1u << N_FILES) - 1)
#define BIT(f) (1u << (f))

struct fixture {
	char dir[64];
};

struct snap {
	char *data[N_FILES];
	size_t n[N_FILES];
	ino_t ino[N_FILES];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/mk-test-pki.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int ensure_full(struct fixture *f, const char *const *addrs, size_t n, int port,
		       char *err, size_t len)
{
	struct pki_config c = {.data_dir = f->dir, .hostname = "Node-A", .addresses = addrs,
			       .n_addresses = n, .api_port = port};
	err[0] = '\0';
	return pki_ensure(&c, err, len);
}

/* The usual call: one node address. */
static void ensure_ok(struct fixture *f, const char *addr, int port)
{
	const char *addrs[] = {addr, "fd00::7"};
	char err[256];
	int rv = ensure_full(f, addrs, 2, port, err, sizeof err);
	if (rv != MK_OK)
		fail_msg("pki_ensure: %d %s", rv, err);
}

static void path_of(struct fixture *f, enum pki_file which, char *buf, size_t len)
{
	pki_path(buf, len, f->dir, which);
}

static X509 *load(struct fixture *f, enum pki_file which)
{
	char path[256];
	path_of(f, which, path, sizeof path);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	X509 *c = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(c);
	return c;
}

static void put(struct fixture *f, enum pki_file which, const void *data, size_t n)
{
	char path[256];
	path_of(f, which, path, sizeof path);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static void snap_take(struct fixture *f, struct snap *s)
{
	for (int i = 0; i < N_FILES; i++) {
		char path[256];
		struct stat st;
		path_of(f, (enum pki_file)i, path, sizeof path);
		assert_int_equal(stat(path, &st), 0);
		s->ino[i] = st.st_ino;
		assert_int_equal(pki_read(f->dir, (enum pki_file)i, &s->data[i], &s->n[i]), MK_OK);
	}
}

static void snap_free(struct snap *s)
{
	for (int i = 0; i < N_FILES; i++)
		free(s->data[i]);
}

/* Asserts that exactly the files in `changed` differ from `before`; the
 * others were not even rewritten (same inode: rename makes a new one). */
static void expect_changed(struct fixture *f, struct snap *before, unsigned changed)
{
	struct snap now;
	snap_take(f, &now);
	for (int i = 0; i < N_FILES; i++) {
		bool same = now.n[i] == before->n[i] &&
			    memcmp(now.data[i], before->data[i], now.n[i]) == 0;
		if (same == !!(changed & BIT(i)))
			fail_msg("%s %s", pki_name((enum pki_file)i),
				 same ? "did not change" : "changed");
		if (same && now.ino[i] != before->ino[i])
			fail_msg("%s was rewritten", pki_name((enum pki_file)i));
	}
	snap_free(&now);
}

static int mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 0777;
}

static int file_mode(struct fixture *f, enum pki_file which)
{
	char path[256];
	path_of(f, which, path, sizeof path);
	return mode_of(path);
}

static bool verifies(X509 *ca, X509 *leaf, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	X509_STORE_CTX_set_purpose(ctx, purpose);
	bool ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static void subject_text(X509 *c, int nid, char *buf, int len)
{
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(c), nid, buf, len) < 0)
		buf[0] = '\0';
}

/* Days from now until notAfter. */
static int days_left(X509 *c)
{
	int days, secs;
	assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(c)), 1);
	return days;
}

/* Captures what is logged to stderr between start and stop. */
static int capture_start(char *path, size_t len)
{
	snprintf(path, len, "/tmp/mk-test-pki-log.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
	return saved;
}

static char *capture_stop(int saved, const char *path)
{
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 8192);
	size_t n = fread(buf, 1, 8191, fp);
	buf[n] = '\0';
	fclose(fp);
	unlink(path);
	return buf;
}

static void first_start_makes_everything(void **state)
{
	struct fixture *f = *state;
	char dir[256], cn[64], o[64];
	ensure_ok(f, "10.1.2.3", 16443);
	for (int i = 0; i < N_FILES; i++) {
		bool public = i == PKI_CA_CERT || i == PKI_SERVER_CERT || i == PKI_ADMIN_CERT;
		if (file_mode(f, (enum pki_file)i) != (public ? 0644 : 0600))
			fail_msg("%s has mode %o", pki_name((enum pki_file)i),
				 file_mode(f, (enum pki_file)i));
	}
	snprintf(dir, sizeof dir, "%s/certs", f->dir);
	assert_int_equal(mode_of(dir), 0700);
	snprintf(dir, sizeof dir, "%s/credentials", f->dir);
	assert_int_equal(mode_of(dir), 0700);

	X509 *ca = load(f, PKI_CA_CERT), *server = load(f, PKI_SERVER_CERT);
	X509 *admin = load(f, PKI_ADMIN_CERT);
	/* The CA: self-signed, CN mk-ca, CA:TRUE critical, cert/CRL signing. */
	subject_text(ca, NID_commonName, cn, sizeof cn);
	assert_string_equal(cn, "mk-ca");
	assert_true(verifies(ca, ca, X509_PURPOSE_ANY));
	assert_int_equal(X509_check_ca(ca), 1);
	assert_int_equal(X509_get_extension_flags(ca) & EXFLAG_CA, EXFLAG_CA);
	int crit = -1;
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(ca, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_in_range(days_left(ca), 3640, 3650);

	/* The server certificate. */
	assert_true(verifies(ca, server, X509_PURPOSE_SSL_SERVER));
	assert_false(verifies(ca, server, X509_PURPOSE_SSL_CLIENT));
	subject_text(server, NID_commonName, cn, sizeof cn);
	assert_string_equal(cn, "kube-apiserver");
	const char *ips[] = {"127.0.0.1", "::1", "10.152.183.1", "10.1.2.3", "fd00::7"};
	for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++)
		if (X509_check_ip_asc(server, ips[i], 0) != 1)
			fail_msg("no IP SAN %s", ips[i]);
	const char *names[] = {"localhost", "node-a", "kubernetes", "kubernetes.default",
			       "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (X509_check_host(server, names[i], 0, 0, NULL) != 1)
			fail_msg("no DNS SAN %s", names[i]);
	assert_int_equal(X509_check_ip_asc(server, "10.9.9.9", 0), 0);
	assert_int_equal(X509_check_host(server, "example.com", 0, 0, NULL), 0);
	assert_in_range(days_left(server), 360, 365);

	/* The admin certificate. */
	assert_true(verifies(ca, admin, X509_PURPOSE_SSL_CLIENT));
	assert_false(verifies(ca, admin, X509_PURPOSE_SSL_SERVER));
	subject_text(admin, NID_commonName, cn, sizeof cn);
	subject_text(admin, NID_organizationName, o, sizeof o);
	assert_string_equal(cn, "admin");
	assert_string_equal(o, "system:masters");

	/* ECDSA P-256, SHA-256, random serials of at most 17 bytes. */
	X509 *all[] = {ca, server, admin};
	for (int i = 0; i < 3; i++) {
		char group[32];
		size_t glen;
		EVP_PKEY *pk = X509_get0_pubkey(all[i]);
		assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
		assert_int_equal(EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof group,
								&glen), 1);
		assert_string_equal(group, "prime256v1");
		assert_int_equal(X509_get_signature_nid(all[i]), NID_ecdsa_with_SHA256);
		const ASN1_INTEGER *sn = X509_get0_serialNumber(all[i]);
		assert_in_range(ASN1_STRING_length(sn), 8, 17);
	}
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(server),
					      X509_get0_serialNumber(admin)), 0);

	/* The token file: one admin line with a long random token. */
	char *tok;
	size_t n;
	assert_int_equal(pki_read(f->dir, PKI_TOKENS, &tok, &n), MK_OK);
	char *comma = strchr(tok, ',');
	assert_non_null(comma);
	assert_in_range(comma - tok, 32, 256);
	assert_string_equal(comma, ",admin,admin,\"system:masters\"\n");
	free(tok);
	X509_free(ca);
	X509_free(server);
	X509_free(admin);
}

/* The scalar at a path like "clusters/0/cluster/server", or NULL. */
static const char *yaml_get(yaml_document_t *doc, const char *path)
{
	yaml_node_t *node = yaml_document_get_root_node(doc);
	char buf[128], *save = NULL;
	snprintf(buf, sizeof buf, "%s", path);
	for (char *part = strtok_r(buf, "/", &save); part && node;
	     part = strtok_r(NULL, "/", &save)) {
		yaml_node_t *next = NULL;
		if (node->type == YAML_SEQUENCE_NODE) {
			long i = atol(part);
			if (i >= 0 && i < node->data.sequence.items.top - node->data.sequence.items.start)
				next = yaml_document_get_node(doc,
							      node->data.sequence.items.start[i]);
		} else if (node->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
			     p < node->data.mapping.pairs.top; p++) {
				yaml_node_t *k = yaml_document_get_node(doc, p->key);
				if (k->type == YAML_SCALAR_NODE &&
				    strcmp((char *)k->data.scalar.value, part) == 0)
					next = yaml_document_get_node(doc, p->value);
			}
		}
		node = next;
	}
	return node && node->type == YAML_SCALAR_NODE ? (char *)node->data.scalar.value : NULL;
}

/* Asserts that the base64 `b64` decodes to exactly file `which`. */
static void expect_embedded(struct fixture *f, const char *b64, enum pki_file which)
{
	assert_non_null(b64);
	size_t len = strlen(b64), n;
	unsigned char *out = malloc(len);
	int got = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
	assert_true(got >= 0);
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	for (size_t i = len; i > 0 && b64[i - 1] == '='; i--)
		got--;
	char *file;
	assert_int_equal(pki_read(f->dir, which, &file, &n), MK_OK);
	assert_int_equal((size_t)got, n);
	assert_memory_equal(out, file, n);
	free(out);
	free(file);
}

static void kubeconfig_embeds_the_files(void **state)
{
	struct fixture *f = *state;
	char path[256];
	ensure_ok(f, "10.1.2.3", 16443);
	path_of(f, PKI_KUBECONFIG, path, sizeof path);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	yaml_parser_t p;
	yaml_document_t doc;
	assert_int_equal(yaml_parser_initialize(&p), 1);
	yaml_parser_set_input_file(&p, fp);
	assert_int_equal(yaml_parser_load(&p, &doc), 1);
	assert_string_equal(yaml_get(&doc, "apiVersion"), "v1");
	assert_string_equal(yaml_get(&doc, "kind"), "Config");
	assert_string_equal(yaml_get(&doc, "current-context"), "mk");
	assert_string_equal(yaml_get(&doc, "contexts/0/name"), "mk");
	assert_string_equal(yaml_get(&doc, "contexts/0/context/cluster"), "mk-cluster");
	assert_string_equal(yaml_get(&doc, "contexts/0/context/user"), "admin");
	assert_string_equal(yaml_get(&doc, "clusters/0/name"), "mk-cluster");
	assert_string_equal(yaml_get(&doc, "clusters/0/cluster/server"), "https://127.0.0.1:16443");
	assert_string_equal(yaml_get(&doc, "users/0/name"), "admin");
	expect_embedded(f, yaml_get(&doc, "clusters/0/cluster/certificate-authority-data"),
			PKI_CA_CERT);
	expect_embedded(f, yaml_get(&doc, "users/0/user/client-certificate-data"), PKI_ADMIN_CERT);
	expect_embedded(f, yaml_get(&doc, "users/0/user/client-key-data"), PKI_ADMIN_KEY);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	fclose(fp);
}

static void restart_is_byte_identical(void **state)
{
	struct fixture *f = *state;
	struct snap before;
	ensure_ok(f, "10.1.2.3", 16443);
	snap_take(f, &before);
	char log[64];
	int saved = capture_start(log, sizeof log);
	ensure_ok(f, "10.1.2.3", 16443);
	char *out = capture_stop(saved, log);
	expect_changed(f, &before, 0);
	/* Nothing to say when nothing changed. */
	assert_null(strstr(out, "pki:"));
	free(out);
	snap_free(&before);
}

static void new_address_reissues_the_server_certificate(void **state)
{
	struct fixture *f = *state;
	struct snap before;
	ensure_ok(f, "10.1.2.3", 16443);
	snap_take(f, &before);
	char log[64];
	int saved = capture_start(log, sizeof log);
	ensure_ok(f, "10.7.7.7", 16443);
	char *out = capture_stop(saved, log);
	expect_changed(f, &before, BIT(PKI_SERVER_CERT) | BIT(PKI_SERVER_KEY));
	assert_non_null(strstr(out, "pki: issued certs/server.crt: an address is missing\n"));
	assert_null(strstr(out, "admin.crt"));
	X509 *ca = load(f, PKI_CA_CERT), *s = load(f, PKI_SERVER_CERT);
	assert_int_equal(X509_check_ip_asc(s, "10.7.7.7", 0), 1);
	assert_true(verifies(ca, s, X509_PURPOSE_SSL_SERVER));
	X509_free(s);
	X509_free(ca);
	free(out);
	snap_free(&before);
}

static void api_port_change_rewrites_the_kubeconfig(void **state)
{
	struct fixture *f = *state;
	struct snap before;
	ensure_ok(f, "10.1.2.3", 16443);
	snap_take(f, &before);
	ensure_ok(f, "10.1.2.3", 20443);
	expect_changed(f, &before, BIT(PKI_KUBECONFIG));
	char *kc;
	size_t n;
	assert_int_equal(pki_read(f->dir, PKI_KUBECONFIG, &kc, &n), MK_OK);
	assert_non_null(strstr(kc, "    server: https://127.0.0.1:20443\n"));
	free(kc);
	snap_free(&before);
}

/* Replaces file `cf` by a certificate for `key_file`'s key signed by
 * (ca, ca_key), valid `days`, otherwise like pki_ensure's. */
static void forge(struct fixture *f, enum pki_file cf, enum pki_file kf, X509 *ca,
		  EVP_PKEY *ca_key, int days, const struct pki_subject *subj, bool client)
{
	char err[256];
	EVP_PKEY *key;
	struct pki_sans sans;
	const char *addrs[] = {"10.1.2.3", "fd00::7"};
	struct pki_config c = {.data_dir = f->dir, .hostname = "Node-A", .addresses = addrs,
			       .n_addresses = 2, .api_port = 16443};
	assert_int_equal(pki_sans_build(&c, &sans, err, sizeof err), MK_OK);
	assert_int_equal(pki_load_key(f->dir, kf, &key, err, sizeof err), MK_OK);
	X509 *cert = pki_new_cert(subj, key, ca, ca_key, days, client ? NULL : sans.conf, client);
	assert_non_null(cert);
	assert_int_equal(pki_write_cert(f->dir, cf, cert, err, sizeof err), MK_OK);
	X509_free(cert);
	EVP_PKEY_free(key);
	pki_sans_free(&sans);
}

static void stale_leaves_are_reissued(void **state)
{
	struct fixture *f = *state;
	struct snap before;
	char err[256];
	X509 *ca;
	EVP_PKEY *ca_key;
	struct pki_subject server = {"kube-apiserver", NULL}, admin = {"admin", "system:masters"};
	ensure_ok(f, "10.1.2.3", 16443);
	assert_int_equal(pki_load_cert(f->dir, PKI_CA_CERT, &ca, err, sizeof err), MK_OK);
	assert_int_equal(pki_load_key(f->dir, PKI_CA_KEY, &ca_key, err, sizeof err), MK_OK);

	/* A server certificate with 10 days left; the same, 60 days left, is kept. */
	forge(f, PKI_SERVER_CERT, PKI_SERVER_KEY, ca, ca_key, 60, &server, false);
	snap_take(f, &before);
	ensure_ok(f, "10.1.2.3", 16443);
	expect_changed(f, &before, 0);
	snap_free(&before);
	forge(f, PKI_SERVER_CERT, PKI_SERVER_KEY, ca, ca_key, 10, &server, false);
	snap_take(f, &before);
	ensure_ok(f, "10.1.2.3", 16443);
	expect_changed(f, &before, BIT(PKI_SERVER_CERT) | BIT(PKI_SERVER_KEY));
	snap_free(&before);
	X509 *s = load(f, PKI_SERVER_CERT);
	assert_in_range(days_left(s), 360, 365);
	X509_free(s);

	/* An admin certificate from another CA, or without system:masters. */
	EVP_PKEY *other_key = pki_new_key();
	struct pki_subject other_subj = {"mk-ca", NULL};
	X509 *other = pki_new_cert(&other_subj, other_key, NULL, NULL, 3650, NULL, false);
	forge(f, PKI_ADMIN_CERT, PKI_ADMIN_KEY, other, other_key, 365, &admin, true);
	snap_take(f, &before);
	ensure_ok(f, "10.1.2.3", 16443);
	/* The kubeconfig follows the admin certificate. */
	expect_changed(f, &before,
		       BIT(PKI_ADMIN_CERT) | BIT(PKI_ADMIN_KEY) | BIT(PKI_KUBECONFIG));
	snap_free(&before);
	struct pki_subject nobody = {"admin", NULL};
	forge(f, PKI_ADMIN_CERT, PKI_ADMIN_KEY, ca, ca_key, 365, &nobody, true);
	snap_take(f, &before);
	ensure_ok(f, "10.1.2.3", 16443);
	expect_changed(f, &before,
		       BIT(PKI_ADMIN_CERT) | BIT(PKI_ADMIN_KEY) | BIT(PKI_KUBECONFIG));
	snap_free(&before);

	/* Garbage in server.crt; a key that does not match server.crt. */
	put(f, PKI_SERVER_CERT, "garbage\n", 8);
	snap_take(f, &before);
	ensure_ok(f, "10.1.2.3", 16443);
	expect_changed(f, &before, BIT(PKI_SERVER_CERT) | BIT(PKI_SERVER_KEY));
	put(f, PKI_SERVER_KEY, before.data[PKI_ADMIN_KEY], before.n[PKI_ADMIN_KEY]);
	snap_free(&before);
	snap_take(f, &before);
	ensure_ok(f, "10.1.2.3", 16443);
	expect_changed(f, &before, BIT(PKI_SERVER_CERT) | BIT(PKI_SERVER_KEY));
	snap_free(&before);

	X509_free(other);
	EVP_PKEY_free(other_key);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

/* Tampers with one file, expects pki_ensure to fail with `want` in the
 * message and every other file untouched. */
static void expect_refusal(struct fixture *f, enum pki_file which, const void *data, size_t n,
			   const char *want)
{
	struct snap before;
	char err[256];
	const char *addrs[] = {"10.1.2.3", "10.7.7.7"}; /* would reissue server.crt */
	if (data != NULL)
		put(f, which, data, n);
	snap_take(f, &before);
	int rv = ensure_full(f, addrs, 2, 20443, err, sizeof err);
	if (rv != MK_EINVAL || strstr(err, want) == NULL)
		fail_msg("rv %d err \"%s\", want \"%s\"", rv, err, want);
	assert_null(strchr(err, '\n'));
	expect_changed(f, &before, 0);
	snap_free(&before);
}

static void broken_ca_is_an_error_not_a_new_ca(void **state)
{
	struct fixture *f = *state;
	struct snap good;
	char path[256];
	ensure_ok(f, "10.1.2.3", 16443);
	snap_take(f, &good);
	expect_refusal(f, PKI_CA_KEY, "not a key\n", 10, "certs/ca.key: not a PEM private key");
	expect_refusal(f, PKI_CA_CERT, "", 0, "certs/ca.crt: not a PEM certificate");
	put(f, PKI_CA_CERT, good.data[PKI_CA_CERT], good.n[PKI_CA_CERT]);

	/* A key of another CA. */
	EVP_PKEY *other = pki_new_key();
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	assert_int_equal(PEM_write_bio_PrivateKey(bio, other, NULL, NULL, 0, NULL, NULL), 1);
	long n = BIO_get_mem_data(bio, &pem);
	expect_refusal(f, PKI_CA_KEY, pem, (size_t)n,
		       "certs/ca.key does not belong to certs/ca.crt");
	/* An encrypted key fails instead of prompting for a passphrase. */
	BIO_reset(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, other, EVP_aes_128_cbc(), NULL, 0, NULL,
						  (void *)"secret"),
			 1);
	n = BIO_get_mem_data(bio, &pem);
	expect_refusal(f, PKI_CA_KEY, pem, (size_t)n, "certs/ca.key: not a PEM private key");
	BIO_free(bio);
	EVP_PKEY_free(other);

	/* A leaf certificate in the CA's place, with its own key. */
	put(f, PKI_CA_CERT, good.data[PKI_SERVER_CERT], good.n[PKI_SERVER_CERT]);
	expect_refusal(f, PKI_CA_KEY, good.data[PKI_SERVER_KEY], good.n[PKI_SERVER_KEY],
		       "certs/ca.crt: not a CA certificate");

	/* Half a CA. */
	put(f, PKI_CA_CERT, good.data[PKI_CA_CERT], good.n[PKI_CA_CERT]);
	path_of(f, PKI_CA_KEY, path, sizeof path);
	assert_int_equal(unlink(path), 0);
	char err[256];
	assert_int_equal(ensure_full(f, NULL, 0, 16443, err, sizeof err), MK_EINVAL);
	assert_string_equal(err,
			    "certs/ca.key is missing but certs/ca.crt exists; refusing to make a new CA");
	assert_int_equal(access(path, F_OK), -1);
	snap_free(&good);
}

static void malformed_token_file_is_an_error(void **state)
{
	struct fixture *f = *state;
	ensure_ok(f, "10.1.2.3", 16443);
	const char *bad = "tok,admin,admin,\"system:masters\"\n\"unterminated,u,i\n";
	expect_refusal(f, PKI_TOKENS, bad, strlen(bad),
		       "credentials/known_tokens.csv:2: unterminated quote");
	/* A hand-edited valid file is kept as it is. */
	struct snap before;
	const char *mine = "mine,me,1\n";
	put(f, PKI_TOKENS, mine, strlen(mine));
	snap_take(f, &before);
	ensure_ok(f, "10.1.2.3", 16443);
	expect_changed(f, &before, 0);
	snap_free(&before);
}

static void bad_input_writes_nothing(void **state)
{
	struct fixture *f = *state;
	char err[256], path[256];
	const char *bad_addrs[] = {"10.1.2", "1.2.3.4,DNS:evil", "", "host.example", NULL};
	for (size_t i = 0; i < sizeof bad_addrs / sizeof bad_addrs[0]; i++) {
		const char *a[] = {"10.1.2.3", bad_addrs[i]};
		assert_int_equal(ensure_full(f, a, 2, 16443, err, sizeof err), MK_EINVAL);
		assert_non_null(strstr(err, "is not an IPv4 or IPv6 address"));
	}
	const char *bad_hosts[] = {"", "evil,IP:1.2.3.4", "a..b", ".a", "a b", "h\xc3\xa9"};
	for (size_t i = 0; i < sizeof bad_hosts / sizeof bad_hosts[0]; i++) {
		struct pki_config c = {.data_dir = f->dir, .hostname = bad_hosts[i],
				       .api_port = 16443};
		assert_int_equal(pki_ensure(&c, err, sizeof err), MK_EINVAL);
		assert_non_null(strstr(err, "is not a DNS name"));
	}
	int ports[] = {0, -1, 65536};
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(ensure_full(f, NULL, 0, ports[i], err, sizeof err), MK_EINVAL);
	struct pki_config none = {.data_dir = NULL, .api_port = 16443};
	assert_int_equal(pki_ensure(&none, err, sizeof err), MK_EINVAL);
	struct pki_config no_list = {.data_dir = f->dir, .n_addresses = 2, .api_port = 16443};
	assert_int_equal(pki_ensure(&no_list, err, sizeof err), MK_EINVAL);
	snprintf(path, sizeof path, "%s/certs", f->dir);
	assert_int_equal(access(path, F_OK), -1);

	/* A data directory that is a file. */
	snprintf(path, sizeof path, "%s/file", f->dir);
	FILE *fp = fopen(path, "w");
	fclose(fp);
	struct pki_config c = {.data_dir = path, .api_port = 16443};
	assert_int_equal(pki_ensure(&c, err, sizeof err), MK_EIO);
	assert_non_null(strstr(err, "not a directory"));
}

static void modes_do_not_follow_the_umask(void **state)
{
	struct fixture *f = *state;
	mode_t old = umask(0);
	ensure_ok(f, "10.1.2.3", 16443);
	assert_int_equal(file_mode(f, PKI_CA_KEY), 0600);
	assert_int_equal(file_mode(f, PKI_TOKENS), 0600);
	assert_int_equal(file_mode(f, PKI_KUBECONFIG), 0600);
	umask(077);
	ensure_ok(f, "10.5.5.5", 16443); /* reissues server.crt under umask 077 */
	umask(old);
	assert_int_equal(file_mode(f, PKI_SERVER_CERT), 0644);
	assert_int_equal(file_mode(f, PKI_SERVER_KEY), 0600);
}

static void local_addresses(void **state)
{
	char **a;
	size_t n;
	assert_int_equal(pki_local_addresses(&a, &n), MK_OK);
	for (size_t i = 0; i < n; i++) {
		unsigned char bin[16];
		assert_true(inet_pton(AF_INET, a[i], bin) == 1 || inet_pton(AF_INET6, a[i], bin) == 1);
		assert_int_not_equal(strncmp(a[i], "127.", 4), 0);
		assert_int_not_equal(strncmp(a[i], "169.254.", 8), 0);
		assert_int_not_equal(strncmp(a[i], "fe80:", 5), 0);
		assert_string_not_equal(a[i], "::1");
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(a[i], a[k]);
	}
	pki_free_addresses(a, n);
	pki_free_addresses(NULL, 0);
}

static int run(const char *cmd)
{
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The real tools: openssl, kubectl, python3-kubernetes. */
static void real_tools_accept_the_files(void **state)
{
	struct fixture *f = *state;
	char cmd[1024];
	const char *d = f->dir;
	ensure_ok(f, "10.1.2.3", 16443);
	if (run("command -v openssl >/dev/null") != 0 || run("command -v kubectl >/dev/null") != 0)
		skip();
	snprintf(cmd, sizeof cmd,
		 "openssl verify -purpose sslserver -CAfile %s/certs/ca.crt %s/certs/server.crt "
		 ">/dev/null && openssl verify -purpose sslclient -CAfile %s/certs/ca.crt "
		 "%s/certs/admin.crt >/dev/null && openssl ec -check -noout -in %s/certs/admin.key "
		 "2>/dev/null",
		 d, d, d, d, d);
	assert_int_equal(run(cmd), 0);
	snprintf(cmd, sizeof cmd,
		 "test \"$(kubectl config view --kubeconfig %s/credentials/client.config --raw "
		 "-o jsonpath='{.clusters[0].cluster.server} {.current-context} "
		 "{.users[0].user.client-key-data}')\" = \"https://127.0.0.1:16443 mk $(base64 -w0 "
		 "%s/certs/admin.key)\"",
		 d, d);
	assert_int_equal(run(cmd), 0);
	/* python3-kubernetes loads it and materialises the certificates. */
	if (run("/usr/bin/python3 -c 'import kubernetes' 2>/dev/null") == 0) {
		snprintf(cmd, sizeof cmd,
			 "/usr/bin/python3 -c 'from kubernetes import client, config\n"
			 "config.load_kube_config(config_file=\"%s/credentials/client.config\")\n"
			 "c = client.Configuration.get_default_copy()\n"
			 "assert c.host == \"https://127.0.0.1:16443\", c.host\n"
			 "assert open(c.ssl_ca_cert).read() == open(\"%s/certs/ca.crt\").read()\n"
			 "assert open(c.key_file).read() == open(\"%s/certs/admin.key\").read()\n'",
			 d, d, d);
		assert_int_equal(run(cmd), 0);
	}
}

/* A TLS server with server.crt that requires a client certificate from
 * the CA; kubectl (Go's TLS) and python3-kubernetes connect with the
 * kubeconfig.  The socket listens before the clients start: no waiting. */
static const char tls_check_py[] =
	"import json, ssl, subprocess, sys, threading\n"
	"from http.server import BaseHTTPRequestHandler, HTTPServer\n"
	"d = sys.argv[1]\n"
	"seen = []\n"
	"class H(BaseHTTPRequestHandler):\n"
	"    def do_GET(self):\n"
	"        seen.append(dict(x[0] for x in self.connection.getpeercert()['subject']))\n"
	"        v = dict(major='1', minor='32', gitVersion='v1.32.0', gitCommit='0',\n"
	"                 gitTreeState='clean', buildDate='2025-01-01T00:00:00Z',\n"
	"                 goVersion='go1.23', compiler='gc', platform='linux/amd64')\n"
	"        body = json.dumps(v).encode()\n"
	"        self.send_response(200)\n"
	"        self.send_header('Content-Type', 'application/json')\n"
	"        self.send_header('Content-Length', str(len(body)))\n"
	"        self.end_headers()\n"
	"        self.wfile.write(body)\n"
	"    def log_message(self, *a):\n"
	"        pass\n"
	"ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
	"ctx.load_cert_chain(d + '/certs/server.crt', d + '/certs/server.key')\n"
	"ctx.load_verify_locations(d + '/certs/ca.crt')\n"
	"ctx.verify_mode = ssl.CERT_REQUIRED\n"
	"srv = HTTPServer(('127.0.0.1', 0), H)\n"
	"srv.socket = ctx.wrap_socket(srv.socket, server_side=True)\n"
	"url = 'https://127.0.0.1:%d' % srv.server_address[1]\n"
	"threading.Thread(target=srv.serve_forever, daemon=True).start()\n"
	"kc = d + '/credentials/client.config'\n"
	"out = subprocess.run(['kubectl', '--kubeconfig', kc, '--server', url,\n"
	"                      '--request-timeout=20s', 'get', '--raw', '/version'],\n"
	"                     capture_output=True, text=True)\n"
	"assert out.returncode == 0, out.stderr\n"
	"assert json.loads(out.stdout)['minor'] == '32', out.stdout\n"
	"from kubernetes import client, config\n"
	"config.load_kube_config(config_file=kc)\n"
	"c = client.Configuration.get_default_copy()\n"
	"c.host = url\n"
	"assert client.VersionApi(client.ApiClient(c)).get_code().minor == '32'\n"
	"admin = {'organizationName': 'system:masters', 'commonName': 'admin'}\n"
	"assert len(seen) >= 2 and all(s == admin for s in seen), seen\n"
	"srv.shutdown()\n";

static void real_clients_complete_a_tls_handshake(void **state)
{
	struct fixture *f = *state;
	char path[256], cmd[512];
	ensure_ok(f, "10.1.2.3", 16443);
	if (run("command -v kubectl >/dev/null") != 0 ||
	    run("/usr/bin/python3 -c 'import kubernetes' 2>/dev/null") != 0)
		skip();
	snprintf(path, sizeof path, "%s/tls_check.py", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(tls_check_py, fp);
	assert_int_equal(fclose(fp), 0);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", path, f->dir);
	assert_int_equal(run(cmd), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(first_start_makes_everything),
		T(kubeconfig_embeds_the_files),
		T(restart_is_byte_identical),
		T(new_address_reissues_the_server_certificate),
		T(api_port_change_rewrites_the_kubeconfig),
		T(stale_leaves_are_reissued),
		T(broken_ca_is_an_error_not_a_new_ca),
		T(malformed_token_file_is_an_error),
		T(bad_input_writes_nothing),
		T(modes_do_not_follow_the_umask),
		T(local_addresses),
		T(real_tools_accept_the_files),
		T(real_clients_complete_a_tls_handshake),
	};
#undef T
	return cmocka_run_group_tests_name("pki", tests, NULL, NULL);
}
