/*
 * The node PKI and the static token file, in a temporary data directory,
 * checked with OpenSSL's own verification.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../../core/base/err.h"
#include "../../core/cluster/pki.h"
#include "../../core/cluster/tokens.h"

struct fixture {
	char dir[64];
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
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int ensure(struct fixture *f, const char *extra_ip, int port, char *err, size_t len)
{
	const char *addrs[] = {extra_ip};
	struct pki_config c = {.data_dir = f->dir, .hostname = "node-a", .addresses = addrs,
			       .n_addresses = extra_ip ? 1 : 0, .api_port = port};
	return pki_ensure(&c, err, len);
}

static X509 *load(struct fixture *f, enum pki_file which)
{
	char path[256];
	pki_path(path, sizeof path, f->dir, which);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	X509 *c = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(c);
	return c;
}

static char *slurp(struct fixture *f, enum pki_file which)
{
	char path[256];
	pki_path(path, sizeof path, f->dir, which);
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		return NULL;
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static int mode_of(struct fixture *f, enum pki_file which)
{
	char path[256];
	struct stat st;
	pki_path(path, sizeof path, f->dir, which);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 0777;
}

static bool verifies(X509 *ca, X509 *leaf)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_add_cert(store, ca);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_STORE_CTX_init(ctx, store, leaf, NULL);
	bool ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static void first_start_makes_everything(void **state)
{
	struct fixture *f = *state;
	char err[256];
	assert_int_equal(ensure(f, "10.1.2.3", 16443, err, sizeof err), MK_OK);
	assert_int_equal(mode_of(f, PKI_CA_KEY), 0600);
	assert_int_equal(mode_of(f, PKI_SERVER_KEY), 0600);
	assert_int_equal(mode_of(f, PKI_ADMIN_KEY), 0600);
	assert_int_equal(mode_of(f, PKI_TOKENS), 0600);
	assert_int_equal(mode_of(f, PKI_KUBECONFIG), 0600);
	X509 *ca = load(f, PKI_CA_CERT), *server = load(f, PKI_SERVER_CERT);
	X509 *admin = load(f, PKI_ADMIN_CERT);
	assert_true(verifies(ca, server));
	assert_true(verifies(ca, admin));
	const char *ips[] = {"127.0.0.1", "::1", "10.152.183.1", "10.1.2.3"};
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(X509_check_ip_asc(server, ips[i], 0), 1);
	const char *names[] = {"localhost", "node-a", "kubernetes", "kubernetes.default",
			       "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"};
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(X509_check_host(server, names[i], 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(server, "10.9.9.9", 0), 0);
	assert_true(X509_get_extended_key_usage(server) & XKU_SSL_SERVER);
	assert_true(X509_get_extended_key_usage(admin) & XKU_SSL_CLIENT);
	char cn[64], o[64];
	X509_NAME_get_text_by_NID(X509_get_subject_name(admin), NID_commonName, cn, sizeof cn);
	X509_NAME_get_text_by_NID(X509_get_subject_name(admin), NID_organizationName, o, sizeof o);
	assert_string_equal(cn, "admin");
	assert_string_equal(o, "system:masters");
	char *kc = slurp(f, PKI_KUBECONFIG);
	assert_non_null(strstr(kc, "server: https://127.0.0.1:16443\n"));
	assert_non_null(strstr(kc, "client-key-data: "));
	free(kc);
	X509_free(ca);
	X509_free(server);
	X509_free(admin);
}

static void restart_reuses_and_new_address_reissues(void **state)
{
	struct fixture *f = *state;
	char err[256];
	assert_int_equal(ensure(f, "10.1.2.3", 16443, err, sizeof err), MK_OK);
	enum pki_file all[] = {PKI_CA_CERT, PKI_CA_KEY, PKI_SERVER_CERT, PKI_SERVER_KEY,
			       PKI_ADMIN_CERT, PKI_ADMIN_KEY, PKI_KUBECONFIG, PKI_TOKENS};
	char *before[8];
	for (int i = 0; i < 8; i++)
		before[i] = slurp(f, all[i]);
	assert_int_equal(ensure(f, "10.1.2.3", 16443, err, sizeof err), MK_OK);
	for (int i = 0; i < 8; i++) {
		char *now = slurp(f, all[i]);
		assert_string_equal(before[i], now);
		free(now);
	}
	/* A new node address: only the server certificate changes. */
	assert_int_equal(ensure(f, "10.7.7.7", 16443, err, sizeof err), MK_OK);
	char *ca = slurp(f, PKI_CA_CERT), *server = slurp(f, PKI_SERVER_CERT);
	char *admin = slurp(f, PKI_ADMIN_CERT);
	assert_string_equal(ca, before[0]);
	assert_string_not_equal(server, before[2]);
	assert_string_equal(admin, before[4]);
	X509 *s = load(f, PKI_SERVER_CERT);
	assert_int_equal(X509_check_ip_asc(s, "10.7.7.7", 0), 1);
	X509_free(s);
	/* A new API port rewrites the kubeconfig only. */
	assert_int_equal(ensure(f, "10.7.7.7", 20443, err, sizeof err), MK_OK);
	char *kc = slurp(f, PKI_KUBECONFIG);
	assert_non_null(strstr(kc, "server: https://127.0.0.1:20443\n"));
	free(kc);
	free(ca);
	free(server);
	free(admin);
	for (int i = 0; i < 8; i++)
		free(before[i]);
}

static void broken_ca_is_an_error_not_a_new_ca(void **state)
{
	struct fixture *f = *state;
	char err[256], path[256];
	assert_int_equal(ensure(f, NULL, 16443, err, sizeof err), MK_OK);
	char *ca = slurp(f, PKI_CA_CERT);
	pki_path(path, sizeof path, f->dir, PKI_CA_KEY);
	FILE *fp = fopen(path, "w");
	fputs("not a key\n", fp);
	fclose(fp);
	assert_int_equal(ensure(f, NULL, 16443, err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "certs/ca.key"));
	char *after = slurp(f, PKI_CA_CERT);
	assert_string_equal(ca, after);
	free(after);
	/* A key from another CA. */
	EVP_PKEY *other = EVP_EC_gen("P-256");
	fp = fopen(path, "w");
	PEM_write_PrivateKey(fp, other, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	EVP_PKEY_free(other);
	assert_int_equal(ensure(f, NULL, 16443, err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "does not belong"));
	/* The CA key gone but the certificate there. */
	unlink(path);
	assert_int_equal(ensure(f, NULL, 16443, err, sizeof err), MK_EINVAL);
	after = slurp(f, PKI_CA_CERT);
	assert_string_equal(ca, after);
	free(after);
	free(ca);
}

static struct token_table *load_tokens(struct fixture *f, const char *text, int *rv, char *err,
				       size_t len)
{
	char path[256];
	snprintf(path, sizeof path, "%s/tokens.csv", f->dir);
	FILE *fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
	struct token_table *t = NULL;
	*rv = tokens_load(path, &t, err, len);
	return t;
}

static void token_file(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int rv;
	struct token_table *t = load_tokens(
		f, "# comment\n\nabc123,admin,admin,\"system:masters,ops\"\nxyz,bob,42\n", &rv, err,
		sizeof err);
	assert_int_equal(rv, MK_OK);
	assert_int_equal(tokens_count(t), 2);
	const struct token_entry *e = tokens_find(t, "abc123");
	assert_non_null(e);
	assert_string_equal(e->user, "admin");
	assert_int_equal(e->n_groups, 2);
	assert_string_equal(e->groups[0], "system:masters");
	assert_string_equal(e->groups[1], "ops");
	e = tokens_find(t, "xyz");
	assert_non_null(e);
	assert_int_equal(e->n_groups, 0);
	assert_null(tokens_find(t, "abc12"));
	assert_null(tokens_find(t, "abc1234"));
	assert_null(tokens_find(t, ""));
	tokens_free(t);
	const char *bad[] = {"justatoken\n", "a,b\n", ",user,uid\n", "t,,uid\n",
			     "t,u,i,\"unterminated\n", "t,u,i,g,extra\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		t = load_tokens(f, bad[i], &rv, err, sizeof err);
		assert_int_equal(rv, MK_EINVAL);
		assert_null(t);
		assert_non_null(strstr(err, "tokens.csv:1:"));
	}
}

static void pki_token_file_works_with_tokens(void **state)
{
	struct fixture *f = *state;
	char err[256], path[256];
	assert_int_equal(ensure(f, NULL, 16443, err, sizeof err), MK_OK);
	pki_path(path, sizeof path, f->dir, PKI_TOKENS);
	struct token_table *t;
	assert_int_equal(tokens_load(path, &t, err, sizeof err), MK_OK);
	assert_int_equal(tokens_count(t), 1);
	char *text = slurp(f, PKI_TOKENS);
	*strchr(text, ',') = '\0';
	assert_true(strlen(text) >= 32);
	const struct token_entry *e = tokens_find(t, text);
	assert_non_null(e);
	assert_string_equal(e->groups[0], "system:masters");
	free(text);
	tokens_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(first_start_makes_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(restart_reuses_and_new_address_reissues, setup,
						teardown),
		cmocka_unit_test_setup_teardown(broken_ca_is_an_error_not_a_new_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(token_file, setup, teardown),
		cmocka_unit_test_setup_teardown(pki_token_file_works_with_tokens, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
