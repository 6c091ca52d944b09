/*
 * mk images: the node's image store (core/image), opened directly in the
 * data directory; mkd may use it at the same time (the store locks).
 *
 *   mk images import FILE|-     docker-save or oci-archive tarball
 *   mk images list|ls [-q]      REF, ID, SIZE like `crictl images`
 *   mk images remove|rm REF...  refuses images in use by containers
 *   mk images pull REF [--creds USER:PASSWORD]
 *
 * Progress goes to stderr: an updating line on a terminal, else one line
 * per finished blob.  Results go to stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/base/err.h"
#include "../core/image/image.h"
#include "cli.h"

static const char usage[] =
	"usage: mk images COMMAND [ARGS...]\n\n"
	"Manages the container images of this node (DATA_DIR/images).\n\n"
	"Commands:\n"
	"  import FILE|-      import every image of a `docker save` or\n"
	"                     `skopeo copy ... oci-archive:` tarball (gzip too; - reads\n"
	"                     stdin); prints each imported reference\n"
	"  list, ls [-q]      REF, ID (12 hex digits) and SIZE (unpacked) of each\n"
	"                     image; -q: the full ids only\n"
	"  remove, rm REF...  remove images by reference or id; an image a container\n"
	"                     uses is not removed\n"
	"  pull REF [--creds USER:PASSWORD]\n"
	"                     pull from a registry (HTTPS; plain HTTP for registries on\n"
	"                     localhost/127.0.0.0/8/::1); prints the reference and id\n\n"
	"References are normalized as Docker does: busybox is\n"
	"docker.io/library/busybox:latest.\n"
	"Exit status: 0 success, 1 failure (one line on stderr per failure), 2 bad usage.\n";

struct prog {
	bool tty;
	bool open_line;  /* an updating line waits for its newline */
	char last[128];  /* the step last reported complete: once is enough */
};

static const char *human(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)n;
	int u = 0;
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, u == 0 ? "%.0f%s" : "%.3g%s", v, unit[u]);
	return buf;
}

static void end_line(struct prog *p)
{
	if (p->open_line)
		fputc('\n', stderr);
	p->open_line = false;
}

static void on_progress(void *arg, const char *what, uint64_t done, uint64_t total)
{
	struct prog *p = arg;
	char a[32], b[32], name[128];
	size_t n = strlen(what);
	bool exists = n > 7 && strcmp(what + n - 7, " exists") == 0;
	bool step = strcmp(what, "manifest") == 0 || strcmp(what, "reading") == 0;
	snprintf(name, sizeof name, "%.*s", (int)(exists ? n - 7 : n), what);
	if (step) {
		if (p->tty) {
			fprintf(stderr, "\r\033[K%s %s", name, done ? human(done, a, sizeof a) : "...");
			p->open_line = true;
		}
		return;
	}
	if (exists) {
		if (p->tty)
			fputs("\r\033[K", stderr);
		p->open_line = false;
		fprintf(stderr, "%s: already present\n", name);
		return;
	}
	bool complete = total > 0 && done >= total;
	if (complete && strcmp(p->last, name) == 0)
		return;
	if (complete)
		snprintf(p->last, sizeof p->last, "%s", name);
	if (p->tty) {
		fprintf(stderr, "\r\033[K%s: %s%s%s", name, human(done, a, sizeof a),
			total ? " / " : "", total ? human(total, b, sizeof b) : "");
		p->open_line = true;
		if (complete)
			end_line(p);
	} else if (complete) {
		fprintf(stderr, "%s: done (%s)\n", name, human(done, a, sizeof a));
	}
	fflush(stderr);
}

static int open_store(const char *data_dir, struct image_store **s)
{
	char err[1024];
	if (image_store_open(data_dir, s, err, sizeof err) != MK_OK)
		return cli_fail(1, "%s", err);
	return 0;
}

static int do_import(const char *data_dir, int argc, char **argv)
{
	struct image_store *s;
	struct prog p = { .tty = isatty(STDERR_FILENO) };
	char err[1024], **refs = NULL;
	size_t n = 0;
	if (argc < 1)
		return cli_fail(EXIT_USAGE, "images import: no file given; see 'mk images --help'");
	if (argc > 1)
		return cli_unexpected("images import", argv[1]);
	bool in = strcmp(argv[0], "-") == 0;
	int fd = in ? STDIN_FILENO : open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		char q[128];
		return cli_fail(1, "cannot open %s: %s", cli_quote(argv[0], q, sizeof q),
				strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		char q[128];
		if (!in)
			close(fd);
		return cli_fail(1, "cannot import %s: it is a directory",
				cli_quote(argv[0], q, sizeof q));
	}
	int rv = open_store(data_dir, &s);
	if (rv != 0) {
		if (!in)
			close(fd);
		return rv;
	}
	rv = image_import_named(s, fd, in ? "stdin" : argv[0], on_progress, &p, &refs, &n, err,
				sizeof err);
	image_store_close(s);
	if (!in)
		close(fd);
	end_line(&p);
	if (rv != MK_OK)
		return cli_fail(1, "%s", err);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", refs[i]);
	image_refs_free(refs, n);
	return 0;
}

static int do_list(const char *data_dir, int argc, char **argv)
{
	struct image_store *s;
	struct image_summary *v;
	size_t n;
	char err[1024], size[32];
	bool quiet = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
			quiet = true;
		else
			return cli_unexpected("images list", argv[i]);
	}
	int rv = open_store(data_dir, &s);
	if (rv != 0)
		return rv;
	rv = image_list(s, &v, &n, err, sizeof err);
	image_store_close(s);
	if (rv != MK_OK)
		return cli_fail(1, "%s", err);
	size_t w = 3;
	for (size_t i = 0; i < n; i++)
		if (v[i].ref != NULL && strlen(v[i].ref) > w)
			w = strlen(v[i].ref);
	if (!quiet)
		printf("%-*s  %-12s  %s\n", (int)w, "REF", "ID", "SIZE");
	for (size_t i = 0; i < n; i++) {
		if (quiet)
			printf("%s\n", v[i].id);
		else
			printf("%-*s  %.12s  %s\n", (int)w, v[i].ref ? v[i].ref : "<none>",
			       v[i].id + 7, human(v[i].size, size, sizeof size));
	}
	image_summaries_free(v, n);
	return 0;
}

static int do_remove(const char *data_dir, int argc, char **argv)
{
	struct image_store *s;
	char err[1024];
	if (argc < 1)
		return cli_fail(EXIT_USAGE, "images remove: no image given; see 'mk images --help'");
	int rv = open_store(data_dir, &s);
	if (rv != 0)
		return rv;
	for (int i = 0; i < argc; i++) {
		if (image_remove(s, argv[i], err, sizeof err) != MK_OK) {
			rv = cli_fail(1, "%s", err);
			continue;
		}
		char q[128];
		printf("removed %s\n", cli_quote(argv[i], q, sizeof q));
	}
	image_store_close(s);
	return rv;
}

static int do_pull(const char *data_dir, int argc, char **argv)
{
	struct image_store *s;
	struct prog p = { .tty = isatty(STDERR_FILENO) };
	struct image_pull_opts o = { .progress = on_progress, .progress_arg = &p };
	struct image_info *info = NULL;
	const char *ref = NULL, *creds = NULL;
	char err[1024], *user = NULL;
	for (int i = 0; i < argc; i++) {
		int r = cli_flag(argc, argv, &i, "--creds", &creds);
		if (r < 0)
			return EXIT_USAGE;
		if (r == 1)
			continue;
		if (ref != NULL || (argv[i][0] == '-' && argv[i][1] != '\0'))
			return cli_unexpected("images pull", argv[i]);
		ref = argv[i];
	}
	if (ref == NULL)
		return cli_fail(EXIT_USAGE, "images pull: no image given; see 'mk images --help'");
	if (creds != NULL) {
		const char *colon = strchr(creds, ':');
		if (colon == NULL || colon == creds)
			return cli_fail(EXIT_USAGE, "--creds wants USER:PASSWORD");
		user = strndup(creds, (size_t)(colon - creds));
		o.username = user;
		o.password = colon + 1;
	}
	int rv = open_store(data_dir, &s);
	if (rv == 0) {
		rv = image_pull(s, ref, &o, &info, err, sizeof err);
		image_store_close(s);
		if (rv != MK_OK)
			rv = 1;
	}
	free(user);
	end_line(&p);
	if (rv == 1)
		return cli_fail(1, "%s", err);
	if (rv != 0)
		return rv;
	printf("%s %s\n", info->ref, info->id);
	image_info_free(info);
	return 0;
}

static int run(const char *data_dir, int argc, char **argv)
{
	static const struct {
		const char *name, *alias;
		int (*fn)(const char *, int, char **);
	} subs[] = {
		{ "import", NULL, do_import },
		{ "list", "ls", do_list },
		{ "remove", "rm", do_remove },
		{ "pull", NULL, do_pull },
	};
	char q[128];
	if (argc == 0)
		return cli_fail(EXIT_USAGE, "images: no command given; see 'mk images --help'");
	for (int i = 0; i < argc; i++)
		if (cli_wants_help(argv[i], usage))
			return 0;
	for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
		if (strcmp(argv[0], subs[k].name) != 0 &&
		    (subs[k].alias == NULL || strcmp(argv[0], subs[k].alias) != 0))
			continue;
		return subs[k].fn(data_dir, argc - 1, argv + 1);
	}
	return cli_fail(EXIT_USAGE, "images: unknown command %s; see 'mk images --help'",
			cli_quote(argv[0], q, sizeof q));
}

const struct cli_command cli_images = { "images", "import, list, remove and pull container images",
					usage, run };
