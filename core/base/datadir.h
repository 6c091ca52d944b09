/*
 * Where a node keeps its state.  mkd and mk find it the same way:
 * --data-dir, else $MK_DATA, else $SNAP_DATA inside a snap, else /var/lib/mk.
 *
 * Layout (created by datadir_prepare):
 *   DIR/dqlite/   raft log, snapshots, info.yaml, cluster.yaml (mode 0700)
 */
#ifndef MK_BASE_DATADIR_H
#define MK_BASE_DATADIR_H

#include <stddef.h>

/* The data directory for a --data-dir value (NULL if not given). */
const char *datadir_resolve(const char *flag);

/* Creates the layout under `dir`; MK_EIO with errmsg on failure. */
int datadir_prepare(const char *dir, char *errmsg, size_t len);

#endif
