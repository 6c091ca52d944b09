/*
 * Kubernetes resource quantities ("128Mi", "1.5Gi", "500m", "2", "1e3").
 *
 * Pure functions; no allocation.  Suffixes as in
 * k8s.io/apimachinery/pkg/api/resource: binary Ki Mi Gi Ti Pi Ei, decimal
 * n u m "" k M G T P E, and decimal exponents e/E.
 */
#ifndef MK_KUBE_QUANTITY_H
#define MK_KUBE_QUANTITY_H

#include <stdint.h>

/* The value in thousandths of the unit ("500m" -> 500, "2" -> 2000,
 * "1Ki" -> 1024000), rounded up as Kubernetes rounds.  Returns 0, or
 * MK_EINVAL for text that is not a quantity, MK_ETOOBIG past int64. */
int quantity_milli(const char *text, int64_t *out);

/* The value in whole units, rounded up ("1.5Gi" -> 1610612736). */
int quantity_value(const char *text, int64_t *out);

#endif
