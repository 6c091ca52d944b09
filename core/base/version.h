/*
 * Versions mk reports.  MK_VERSION is mk's own release; the Kubernetes API
 * version is what the API server announces on /version (kubectl's version
 * dispatcher picks its client by this minor, reference/kubectl-api.md §0).
 */
#ifndef MK_BASE_VERSION_H
#define MK_BASE_VERSION_H

#define MK_VERSION "0.1.0"
#define MK_KUBE_MAJOR "1"
#define MK_KUBE_MINOR "32"
#define MK_KUBE_VERSION "v1.32.0"
/* gitVersion as clients see it: the Kubernetes version with mk's build tag. */
#define MK_KUBE_GIT_VERSION MK_KUBE_VERSION "+mk." MK_VERSION

#endif
