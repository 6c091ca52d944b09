/*
 * Talking to the local mkd over HTTPS with libcurl, as the admin.
 *
 * The API address comes from the admin kubeconfig mkd writes, so mk follows
 * whatever --api-port mkd was given; the credentials are the PEM files under
 * DIR/certs/ (the kubeconfig embeds the same ones).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "../core/base/buf.h"
#include "../core/base/err.h"
#include "../core/base/version.h"
#include "cli.h"

/* mkd's answers to mk are small (status, version); anything near this is
 * not mkd talking, and must not make mk eat memory. */
#define REPLY_MAX (1024 * 1024)
#define CONNECT_MS 2000L

int cli_api_url(const char *data_dir, char *out, size_t len)
{
	char path[PATH_MAX], line[1024];
	snprintf(path, sizeof path, "%s/credentials/client.config", data_dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return MK_ENOTFOUND;
	int rv = MK_ENOTFOUND;
	/* mkd writes the kubeconfig (core/cluster/pki.c) with one cluster and
	 * a line "    server: https://127.0.0.1:PORT"; a YAML parser would
	 * buy nothing for that one line. */
	while (fgets(line, sizeof line, f) != NULL) {
		char *p = line + strspn(line, " \t");
		if (strncmp(p, "server:", 7) != 0)
			continue;
		p += 7;
		p += strspn(p, " \t\"'");
		p[strcspn(p, "\"' \t\r\n")] = '\0';
		if (strncmp(p, "https://", 8) != 0 || strlen(p) >= len) {
			rv = MK_EINVAL;
			break;
		}
		memcpy(out, p, strlen(p) + 1);
		rv = MK_OK;
		break;
	}
	fclose(f);
	return rv;
}

struct sink {
	struct mk_buf b;
	bool too_big;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	/* Returning less than given makes curl stop with CURLE_WRITE_ERROR. */
	if (s->b.len + size * n > REPLY_MAX) {
		s->too_big = true;
		return 0;
	}
	return mk_buf_append(&s->b, p, size * n) == MK_OK ? size * n : 0;
}

void cli_reply_free(struct cli_reply *reply)
{
	free(reply->body);
	reply->body = NULL;
	reply->len = 0;
}

int cli_get(const char *data_dir, const char *path, long timeout_ms, struct cli_reply *reply,
	    char *errmsg, size_t len)
{
	char base[512], url[1024], ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	char curl_err[CURL_ERROR_SIZE] = "";
	struct sink s = {MK_BUF_INIT, false};
	CURL *c = NULL;
	int rv;

	memset(reply, 0, sizeof *reply);
	rv = cli_api_url(data_dir, base, sizeof base);
	if (rv == MK_ENOTFOUND) {
		snprintf(errmsg, len, "no API address yet (%s/credentials/client.config)",
			 data_dir);
		return rv;
	}
	if (rv != MK_OK) {
		snprintf(errmsg, len,
			 "%s/credentials/client.config: the server is not an https URL", data_dir);
		return rv;
	}
	snprintf(url, sizeof url, "%s%s", base, path);
	snprintf(ca, sizeof ca, "%s/certs/ca.crt", data_dir);
	snprintf(cert, sizeof cert, "%s/certs/admin.crt", data_dir);
	snprintf(key, sizeof key, "%s/certs/admin.key", data_dir);

	c = curl_easy_init();
	if (c == NULL) {
		snprintf(errmsg, len, "cannot start libcurl");
		return MK_ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	/* Only our CA: a system CA bundle has no say over a node's API. */
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 timeout_ms < CONNECT_MS ? timeout_ms : CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mk/" MK_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);

	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_WRITE_ERROR && s.too_big) {
		snprintf(errmsg, len, "the answer from %s is larger than %d bytes", url, REPLY_MAX);
		rv = MK_ETOOBIG;
		goto out;
	}
	if (rc != CURLE_OK) {
		long os_errno = 0;
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
		/* "Connection refused" says more than curl's "Couldn't connect
		 * to server"; TLS problems are best in curl's own words. */
		if (rc == CURLE_COULDNT_CONNECT && os_errno != 0)
			snprintf(errmsg, len, "cannot reach mkd at %s: %s", base,
				 strerror((int)os_errno));
		else
			snprintf(errmsg, len, "cannot reach mkd at %s: %s", base,
				 curl_err[0] ? curl_err : curl_easy_strerror(rc));
		rv = MK_EUNAVAILABLE;
		goto out;
	}
	if (mk_buf_append(&s.b, "", 1) != MK_OK) {
		snprintf(errmsg, len, "out of memory");
		rv = MK_ENOMEM;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->code);
	reply->body = (char *)s.b.data;
	reply->len = s.b.len - 1;
	s.b = (struct mk_buf)MK_BUF_INIT; /* the reply owns it now */
	rv = MK_OK;
out:
	mk_buf_free(&s.b);
	curl_easy_cleanup(c);
	return rv;
}
