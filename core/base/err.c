#include "err.h"

const char *mk_strerror(int err)
{
	switch (err) {
	case MK_OK:
		return "success";
#define MK_ERR_CASE(name, msg) \
	case name:             \
		return msg;
		MK_ERRORS(MK_ERR_CASE)
#undef MK_ERR_CASE
	default:
		return "unknown error";
	}
}
