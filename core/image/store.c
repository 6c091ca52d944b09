/*
 * The store on disk: opening it, metadata transactions, leases and
 * in-process claims (see image_internal.h), garbage collection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "../base/err.h"
#include "../base/fs.h"
#include "image_internal.h"

struct img_claim {
	char key[80];
	struct img_claim *next;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	/* Reference-counted by libcurl: harmless if the program did it. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void img_layer_path(const struct image_store *s, const char *hex, char *out, size_t len)
{
	snprintf(out, len, "%s/layers/%s", s->root, hex);
}

void img_blob_path(const struct image_store *s, const char *hex, char *out, size_t len)
{
	snprintf(out, len, "%s/blobs/sha256/%s", s->root, hex);
}

void img_unique(struct image_store *s, char *out, size_t len)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
		r = (uint32_t)(uintptr_t)out;
	pthread_mutex_lock(&s->claim_mu);
	uint64_t n = ++s->seq;
	pthread_mutex_unlock(&s->claim_mu);
	snprintf(out, len, "%ld-%llu-%08x", (long)getpid(), (unsigned long long)n, r);
}

int image_store_open(const char *data_dir, struct image_store **out, char *errmsg, size_t len)
{
	static const char *const dirs[] = { "", "/blobs/sha256", "/layers", "/leases", "/tmp",
					    "/trash" };
	char path[PATH_MAX];
	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if (data_dir == NULL || data_dir[0] == '\0' || strlen(data_dir) > PATH_MAX - 200) {
		snprintf(errmsg, len, "image store: bad data directory");
		return MK_EINVAL;
	}
	struct image_store *s = calloc(1, sizeof *s);
	if (s == NULL || asprintf(&s->root, "%s/images", data_dir) < 0) {
		free(s);
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	s->lock_fd = -1;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s%s", s->root, dirs[i]);
		if (mk_mkdir_p(path, 0700) != 0) {
			snprintf(errmsg, len, "cannot create %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	snprintf(path, sizeof path, "%s/lock", s->root);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		snprintf(errmsg, len, "cannot open %s: %s", path, strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&s->meta_mu, NULL);
	pthread_mutex_init(&s->claim_mu, NULL);
	pthread_cond_init(&s->claim_cv, NULL);
	*out = s;
	return 0;
fail:
	free(s->root);
	free(s);
	return MK_EIO;
}

void image_store_close(struct image_store *s)
{
	if (s == NULL)
		return;
	close(s->lock_fd);
	pthread_mutex_destroy(&s->meta_mu);
	pthread_mutex_destroy(&s->claim_mu);
	pthread_cond_destroy(&s->claim_cv);
	free(s->root);
	free(s);
}

/* ---- metadata ---------------------------------------------------------- */

static int meta_load(struct image_store *s, json_t **meta, char *errmsg, size_t len)
{
	char path[PATH_MAX], *data;
	size_t n;
	json_error_t je;
	snprintf(path, sizeof path, "%s/meta.json", s->root);
	int rv = img_file_read(path, IMG_MAX_META, &data, &n, errmsg, len);
	if (rv == MK_ENOTFOUND) {
		*meta = json_pack("{s:i, s:{}, s:{}, s:{}}", "version", 1, "images", "refs",
				  "holds");
		return *meta ? 0 : MK_ENOMEM;
	}
	if (rv != 0)
		return rv;
	*meta = json_loadb(data, n, 0, &je);
	free(data);
	if (*meta == NULL || !json_is_object(json_object_get(*meta, "images")) ||
	    !json_is_object(json_object_get(*meta, "refs")) ||
	    !json_is_object(json_object_get(*meta, "holds"))) {
		json_decref(*meta);
		*meta = NULL;
		snprintf(errmsg, len, "%s is damaged (%s)", path,
			 je.text[0] ? je.text : "missing sections");
		return MK_EIO;
	}
	return 0;
}

int img_meta_snapshot(struct image_store *s, json_t **meta, char *errmsg, size_t len)
{
	return meta_load(s, meta, errmsg, len);
}

int img_meta_begin(struct image_store *s, json_t **meta, char *errmsg, size_t len)
{
	pthread_mutex_lock(&s->meta_mu);
	while (flock(s->lock_fd, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		snprintf(errmsg, len, "cannot lock the image store: %s", strerror(errno));
		pthread_mutex_unlock(&s->meta_mu);
		return MK_EIO;
	}
	if (meta == NULL)
		return 0;
	*meta = NULL;
	int rv = meta_load(s, meta, errmsg, len);
	if (rv != 0) {
		flock(s->lock_fd, LOCK_UN);
		pthread_mutex_unlock(&s->meta_mu);
	}
	return rv;
}

int img_meta_commit(struct image_store *s, json_t *meta, char *errmsg, size_t len)
{
	char path[PATH_MAX];
	char *text = json_dumps(meta, JSON_SORT_KEYS | JSON_INDENT(1));
	if (text == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	snprintf(path, sizeof path, "%s/meta.json", s->root);
	int rv = img_write_atomic(s, path, text, strlen(text), errmsg, len);
	free(text);
	return rv;
}

void img_meta_end(struct image_store *s, json_t *meta)
{
	json_decref(meta);
	flock(s->lock_fd, LOCK_UN);
	pthread_mutex_unlock(&s->meta_mu);
}

/* ---- leases ------------------------------------------------------------ */

int img_lease_begin(struct image_store *s, struct img_lease *l, char *errmsg, size_t len)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	memset(l, 0, sizeof *l);
	l->s = s;
	l->fd = -1;
	img_unique(s, l->id, sizeof l->id);
	/* Locked before it is visible, so the collector never sees it free. */
	snprintf(tmp, sizeof tmp, "%s/leases/.new-%s", s->root, l->id);
	snprintf(path, sizeof path, "%s/leases/%s", s->root, l->id);
	l->fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0600);
	if (l->fd < 0 || flock(l->fd, LOCK_EX) != 0 || rename(tmp, path) != 0) {
		snprintf(errmsg, len, "cannot create lease %s: %s", path, strerror(errno));
		if (l->fd >= 0)
			close(l->fd);
		unlink(tmp);
		l->fd = -1;
		return MK_EIO;
	}
	snprintf(l->tmp, sizeof l->tmp, "%s/tmp/%s", s->root, l->id);
	if (mkdir(l->tmp, 0700) != 0) {
		snprintf(errmsg, len, "cannot create %s: %s", l->tmp, strerror(errno));
		img_lease_end(l);
		return MK_EIO;
	}
	return 0;
}

int img_lease_add(struct img_lease *l, const char *kind, const char *hex, char *errmsg, size_t len)
{
	char line[96];
	int n = snprintf(line, sizeof line, "%s:%s\n", kind, hex);
	int rv = img_meta_begin(l->s, NULL, errmsg, len);
	if (rv != 0)
		return rv;
	if (write(l->fd, line, (size_t)n) != n) {
		snprintf(errmsg, len, "cannot write lease %s: %s", l->id, strerror(errno));
		rv = MK_EIO;
	}
	img_meta_end(l->s, NULL);
	return rv;
}

void img_lease_end(struct img_lease *l)
{
	char path[PATH_MAX];
	if (l->s == NULL || l->fd < 0)
		return;
	if (l->tmp[0] != '\0')
		mk_remove_tree(l->tmp);
	snprintf(path, sizeof path, "%s/leases/%s", l->s->root, l->id);
	unlink(path);
	close(l->fd);
	l->fd = -1;
}

/* ---- claims ------------------------------------------------------------ */

static struct img_claim **claim_find(struct image_store *s, const char *key)
{
	struct img_claim **p = &s->claims;
	while (*p != NULL && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

int img_content_claim(struct img_lease *l, const char *kind, const char *hex, const char *path)
{
	struct image_store *s = l->s;
	char key[80];
	snprintf(key, sizeof key, "%s:%s", kind, hex);
	struct img_claim *c = calloc(1, sizeof *c);
	if (c == NULL)
		return MK_ENOMEM;
	snprintf(c->key, sizeof c->key, "%s", key);
	pthread_mutex_lock(&s->claim_mu);
	while (*claim_find(s, key) != NULL)
		pthread_cond_wait(&s->claim_cv, &s->claim_mu);
	if (img_exists(path)) {
		pthread_mutex_unlock(&s->claim_mu);
		free(c);
		return 1;
	}
	c->next = s->claims;
	s->claims = c;
	pthread_mutex_unlock(&s->claim_mu);
	return 0;
}

void img_content_unclaim(struct img_lease *l, const char *kind, const char *hex)
{
	struct image_store *s = l->s;
	char key[80];
	snprintf(key, sizeof key, "%s:%s", kind, hex);
	pthread_mutex_lock(&s->claim_mu);
	struct img_claim **p = claim_find(s, key);
	struct img_claim *c = *p;
	if (c != NULL)
		*p = c->next;
	pthread_cond_broadcast(&s->claim_cv);
	pthread_mutex_unlock(&s->claim_mu);
	free(c);
}

int img_blob_put(struct img_lease *l, const char *hex, const void *data, size_t n, char *errmsg,
	     size_t len)
{
	char path[PATH_MAX];
	int rv = img_lease_add(l, "blob", hex, errmsg, len);
	if (rv != 0)
		return rv;
	img_blob_path(l->s, hex, path, sizeof path);
	if (img_exists(path))
		return 0;
	/* Concurrent writers of one blob write the same bytes: last rename
	 * wins, and every version is whole. */
	return img_write_atomic(l->s, path, data, n, errmsg, len);
}
