#include "datadir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"

const char *datadir_resolve(const char *flag)
{
	const char *v;
	if (flag && *flag)
		return flag;
	if ((v = getenv("MK_DATA")) && *v)
		return v;
	if ((v = getenv("SNAP_DATA")) && *v)
		return v;
	return "/var/lib/mk";
}

static int make_dir(const char *path, mode_t mode, char *errmsg, size_t len)
{
	if (mkdir(path, mode) == 0 || errno == EEXIST) {
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return MK_OK;
		snprintf(errmsg, len, "%s exists and is not a directory", path);
		return MK_EIO;
	}
	snprintf(errmsg, len, "cannot create %s: %s", path, strerror(errno));
	return MK_EIO;
}

int datadir_prepare(const char *dir, char *errmsg, size_t len)
{
	char path[4096];
	int rv = make_dir(dir, 0755, errmsg, len);
	if (rv != MK_OK)
		return rv;
	snprintf(path, sizeof path, "%s/dqlite", dir);
	return make_dir(path, 0700, errmsg, len);
}
