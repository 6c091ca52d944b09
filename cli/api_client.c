/*
 * Talking to the local mkd over HTTPS with libcurl, as the admin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "../core/base/buf.h"
#include "../core/base/err.h"
#include "cli.h"

int cli_api_url(const char *data_dir, char *out, size_t len)
{
	char path[4200], line[1024];
	snprintf(path, sizeof path, "%s/credentials/client.config", data_dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return MK_ENOTFOUND;
	int rv = MK_ENOTFOUND;
	while (fgets(line, sizeof line, f) != NULL) {
		char *p = strstr(line, "server: ");
		if (p == NULL)
			continue;
		p += 8;
		p[strcspn(p, "\r\n ")] = '\0';
		snprintf(out, len, "%s", p);
		rv = MK_OK;
		break;
	}
	fclose(f);
	return rv;
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct mk_buf *b = arg;
	return mk_buf_append(b, p, size * n) == MK_OK ? size * n : 0;
}

int cli_get(const char *data_dir, const char *path, long timeout_ms, long *code, char **body,
	    char *errmsg, size_t len)
{
	char base[512], url[1024], ca[4200], cert[4200], key[4200];
	*code = 0;
	*body = NULL;
	if (cli_api_url(data_dir, base, sizeof base) != MK_OK) {
		snprintf(errmsg, len, "%s/credentials/client.config: no API address yet", data_dir);
		return MK_ENOTFOUND;
	}
	snprintf(url, sizeof url, "%s%s", base, path);
	snprintf(ca, sizeof ca, "%s/certs/ca.crt", data_dir);
	snprintf(cert, sizeof cert, "%s/certs/admin.crt", data_dir);
	snprintf(key, sizeof key, "%s/certs/admin.key", data_dir);
	CURL *c = curl_easy_init();
	if (c == NULL) {
		snprintf(errmsg, len, "cannot start libcurl");
		return MK_ENOMEM;
	}
	struct mk_buf b = MK_BUF_INIT;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 2000 ? timeout_ms : 2000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	CURLcode rc = curl_easy_perform(c);
	int rv = MK_OK;
	if (rc != CURLE_OK) {
		snprintf(errmsg, len, "cannot reach mkd at %s: %s", base, curl_easy_strerror(rc));
		rv = MK_EUNAVAILABLE;
		mk_buf_free(&b);
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
		if (mk_buf_append(&b, "", 1) == MK_OK)
			*body = (char *)b.data;
		else
			mk_buf_free(&b);
	}
	curl_easy_cleanup(c);
	return rv;
}
