/*
 * The files of a configMap, secret, downwardAPI or projected volume,
 * replaced all at once (kubelet's AtomicWriter layout, which programs
 * watching such volumes rely on):
 *
 *   DIR/..2026_11_28_09_41_25.123456789/   the payload (hidden, timestamped)
 *   DIR/..data -> ..2026_11_28_09_41_25.123456789
 *   DIR/key    -> ..data/key                 one symlink per top-level name
 *   DIR/conf   -> ..data/conf                (conf/app.yaml lives below it)
 *
 * An update writes a new timestamped directory, then swaps ..data to it
 * with one rename(), so a reader following DIR/key sees the old payload
 * or the new one, never a mix and never a missing file.  Then new
 * top-level names get their symlinks and names no longer in the payload
 * lose theirs.  The old directory is retired, not removed at once: a
 * reader that resolved ..data just before the swap still has to look its
 * file up in there (kubelet removes it at once and so, rarely, fails such
 * a reader).  Retired and crash-leftover directories are removed by the
 * first call (changed or not) 5 s or more after they were retired, so
 * the agent's periodic volume refresh collects them.
 *
 * Payload paths are user input (configMap items[].path): a path is
 * relative, made of '/'-separated names ("." and empty names are ignored,
 * as kubelet's filepath.Join would), may not contain "..", and its first
 * name may not start with ".." (that space is the writer's own).  Two
 * entries may not name the same file, nor a file and a directory above
 * another file.  Any bad path refuses the whole payload (MK_EINVAL,
 * errmsg quoting it) before anything on disk changes.
 *
 * Files are written with `mode` (masked to 07777, umask ignored),
 * directories 0755; with uid/gid other than -1 every file and directory
 * written is chown()ed (fsGroup).  Contents are not fsync()ed: after a
 * crash the agent rewrites the volume anyway, since a torn file compares
 * different from the payload.
 *
 * Errors: 0, MK_EINVAL (bad path), MK_EIO (a system call failed: errmsg
 * names the file), MK_ENOMEM.  On MK_EIO the previous payload stays in
 * place and readable.
 *
 * Threading: one writer per DIR at a time (a pod worker owns its
 * volumes); any number of readers.  Different DIRs are independent.
 */
#ifndef MK_NODE_ATOMIC_WRITER_H
#define MK_NODE_ATOMIC_WRITER_H

#include <stddef.h>
#include <sys/types.h>

struct atomic_file {
	const char *path;  /* relative, e.g. "key" or "conf/app.yaml" */
	const void *data;  /* len bytes, need not be text */
	size_t len;
	mode_t mode;       /* e.g. 0644 (defaultMode / items[].mode) */
};

/* Makes dir (created 0755 with its parents if needed) contain exactly
 * these n files, as above.  *changed (may be NULL) is 1 if anything on
 * disk changed, 0 if the payload was already there, byte for byte, with
 * these modes and owners: then nothing is rewritten. */
int atomic_write(const char *dir, const struct atomic_file *files, size_t n, uid_t uid,
		 gid_t gid, int *changed, char *errmsg, size_t len);

#endif
