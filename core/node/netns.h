/*
 * Pod network namespaces, kept alive by a bind mount rather than by a
 * process (there is no pause container): the namespace outlives its
 * containers and mkd itself, and is released only by netns_remove.
 *
 * A namespace at PATH is the nsfs file of a new network namespace bind
 * mounted on the empty file PATH, exactly what `ip netns add` makes, so
 * `nsenter --net=PATH`, `ip netns exec` (via a symlink) and CNI plugins
 * (CNI_NETNS=PATH) can all enter it.
 *
 * Mount propagation, and why the parent directory may become a mount:
 * the bind mount lives in mkd's mount namespace.  Every mount namespace
 * created later (a runc container, a systemd service with PrivateTmp, an
 * `unshare -m`) starts with a copy of it, and that copy pins the network
 * namespace (its veth, its address, its iptables state) after we unmount
 * ours.  If the mount holding PATH is private, the unmount stays local
 * and the copies leak; if it is shared, the unmount propagates to the
 * copies' peers and slaves and the namespace really goes away.  So, like
 * `ip netns add` does for /run/netns, netns_create checks the mount that
 * holds PATH's directory: when it is not shared, the directory is bind
 * mounted onto itself and made shared (MS_SHARED) before the namespace
 * is mounted into it.  The same goes the other way: a shared mount makes
 * a namespace created from mkd's namespace visible in peers.  netns_remove
 * undoes that self bind mount once no other mount remains under it, so
 * the caller can rmdir the directory.  (Since Linux 3.18, unlink() also
 * detaches copies in other namespaces; the shared mount still releases
 * them at unmount time and covers copies whose file was not unlinked.)
 *
 * The namespace is created in a short-lived thread that unshare()s its
 * own network namespace and bind mounts /proc/thread-self/ns/net, so the
 * calling thread and the rest of mkd never change namespace.  Loopback is
 * left down: CNI's loopback plugin brings it up.
 *
 * Paths must be absolute.  Errors: 0, or MK_EINVAL (bad path), MK_EEXISTS
 * (netns_create: PATH exists), MK_EIO (a system call failed), with a
 * one-line errmsg naming the path and the failing step.
 *
 * Threading: all three may be called from any thread at once; the
 * propagation check and the self bind mount are serialised inside this
 * module (one process-wide mutex, so two pod workers never both bind
 * the same directory onto itself).  Requires CAP_SYS_ADMIN.
 */
#ifndef MK_NODE_NETNS_H
#define MK_NODE_NETNS_H

#include <stddef.h>

/* Creates a new network namespace kept alive by a bind mount at path.
 * The parent directory is created 0700 if needed; path must not exist.
 * On failure nothing is left behind (no file, no mount). */
int netns_create(const char *path, char *errmsg, size_t len);

/* Unmounts (MNT_DETACH) and unlinks path, then undoes the parent's self
 * bind mount if nothing else is mounted under it.  Idempotent: a path
 * (or parent) that does not exist is 0. */
int netns_remove(const char *path, char *errmsg, size_t len);

/* 1 if path is a live network namespace bind mount (e.g. one that
 * outlived a previous mkd), 0 if not (absent, plain file, other kind of
 * namespace). */
int netns_exists(const char *path);

#endif
