/*
 * The dqlite membership as JSON, for `mk status`:
 *   {"voters":["ip:port",...],"standbys":[...],"spares":[...]}
 * Blocking (one round trip to the local node): call from a worker thread.
 */
#ifndef MK_CLUSTER_MEMBERS_JSON_H
#define MK_CLUSTER_MEMBERS_JSON_H

/* malloc'd JSON text, or NULL if the node cannot be asked. */
char *cluster_members_json(const char *self_address);

#endif
