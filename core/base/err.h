/*
 * mk error codes.
 *
 * Every fallible function in mk returns 0 (MK_OK) or one negative code from
 * this table.  The table is an X-macro so that the enum and the message
 * strings can never drift apart.  Callers that want more context than the
 * code carry an `errmsg` buffer (see the struct that owns the operation).
 */
#ifndef MK_BASE_ERR_H
#define MK_BASE_ERR_H

#define MK_ERRORS(X)                                                         \
	X(MK_ENOMEM, "out of memory")                                        \
	X(MK_EINVAL, "invalid argument")                                     \
	X(MK_ENOTFOUND, "not found")                                         \
	X(MK_EEXISTS, "already exists")                                      \
	X(MK_ECONFLICT, "revision conflict")                                 \
	X(MK_ETOOBIG, "value too large")                                     \
	X(MK_ECOMPACTED, "revision has been compacted")                      \
	X(MK_ENOTLEADER, "not the leader")                                   \
	X(MK_EBUSY, "database busy")                                         \
	X(MK_EMAYBE, "leadership lost: the write may or may not be committed") \
	X(MK_ESQL, "SQL error")                                              \
	X(MK_EPROTO, "protocol error")                                       \
	X(MK_EIO, "I/O error")                                               \
	X(MK_EUNAVAILABLE, "no cluster member is reachable")                 \
	X(MK_ETIMEDOUT, "timed out")                                         \
	X(MK_EOVERFLOW, "watcher fell behind")                               \
	X(MK_ECLOSED, "closed")

enum mk_err {
	MK_OK = 0,
	MK__ERR_BASE = -1000,
#define MK_ERR_ENUM(name, msg) name,
	MK_ERRORS(MK_ERR_ENUM)
#undef MK_ERR_ENUM
	MK__ERR_END
};

/* Static message for an mk error code (never NULL). */
const char *mk_strerror(int err);

#endif
