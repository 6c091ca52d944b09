/*
 * Small file system helpers that several subsystems need.
 *
 * Both follow the C library's convention: 0, or -1 with errno set.
 */
#ifndef MK_BASE_FS_H
#define MK_BASE_FS_H

#include <sys/types.h>

/* Like `mkdir -p`: creates path and its missing parents with mode (an
 * existing directory is fine).  ENAMETOOLONG past PATH_MAX. */
int mk_mkdir_p(const char *path, mode_t mode);

/* Like `rm -rf`: removes path and everything below it, without following
 * symbolic links; an absent path is fine.  Mount points below path are
 * not crossed into (their removal fails with EBUSY). */
int mk_remove_tree(const char *path);
/* The same for the entry name below the directory fd dfd (or AT_FDCWD):
 * fd-relative, so a rename or a symlink planted meanwhile cannot send the
 * removal elsewhere. */
int mk_remove_at(int dfd, const char *name);

#endif
