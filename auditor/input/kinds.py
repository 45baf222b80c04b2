"""The kinds mesh-audit reads: one table shared by the file loader, the live collector and RBAC.

`versions` lists the API versions mesh-audit understands, newest first; the live collector asks
the server which of them it serves. Kinds not listed here are counted in the inventory only.
"""

from __future__ import annotations

from dataclasses import dataclass

ISTIO_NET = "networking.istio.io"
ISTIO_SEC = "security.istio.io"
GATEWAY_API = "gateway.networking.k8s.io"
ARGO = "argoproj.io"

RBAC_CLUSTER = "cluster"
RBAC_ROOT_NAMESPACE = "root-namespace"
RBAC_OPT_IN = "opt-in"


@dataclass(frozen=True, slots=True)
class KindSpec:
    group: str
    kind: str
    plural: str
    versions: tuple[str, ...]
    namespaced: bool = True
    metadata_only: bool = False
    # How deploy/ grants `list` on it: RBAC_CLUSTER (the base ClusterRole), RBAC_ROOT_NAMESPACE (a
    # Role in the Istio root namespace: the collector reads it only there) or RBAC_OPT_IN (not in
    # the base; a kustomize component adds it). tests/project/test_deploy.py holds deploy/ to this.
    rbac: str = "cluster"

    @property
    def key(self) -> str:
        """`group/Kind`, or `Kind` for the core group: the key used in `collection`."""
        return f"{self.group}/{self.kind}" if self.group else self.kind

    @property
    def is_istio(self) -> bool:
        return self.group in (ISTIO_NET, ISTIO_SEC)


_ISTIO_VERSIONS = ("v1", "v1beta1", "v1alpha3")
_SEC_VERSIONS = ("v1", "v1beta1")

KINDS: tuple[KindSpec, ...] = (
    KindSpec(ISTIO_NET, "Gateway", "gateways", _ISTIO_VERSIONS),
    KindSpec(ISTIO_NET, "VirtualService", "virtualservices", _ISTIO_VERSIONS),
    KindSpec(ISTIO_NET, "DestinationRule", "destinationrules", _ISTIO_VERSIONS),
    KindSpec(ISTIO_NET, "ServiceEntry", "serviceentries", _ISTIO_VERSIONS),
    KindSpec(ISTIO_NET, "Sidecar", "sidecars", _ISTIO_VERSIONS),
    KindSpec(ISTIO_NET, "WorkloadEntry", "workloadentries", _ISTIO_VERSIONS),
    KindSpec(ISTIO_NET, "EnvoyFilter", "envoyfilters", ("v1alpha3",)),
    KindSpec(ISTIO_SEC, "PeerAuthentication", "peerauthentications", _SEC_VERSIONS),
    KindSpec(ISTIO_SEC, "AuthorizationPolicy", "authorizationpolicies", _SEC_VERSIONS),
    KindSpec(ISTIO_SEC, "RequestAuthentication", "requestauthentications", _SEC_VERSIONS),
    KindSpec(GATEWAY_API, "GatewayClass", "gatewayclasses", ("v1", "v1beta1"), namespaced=False),
    KindSpec(GATEWAY_API, "Gateway", "gateways", ("v1", "v1beta1")),
    KindSpec(GATEWAY_API, "HTTPRoute", "httproutes", ("v1", "v1beta1")),
    KindSpec(GATEWAY_API, "GRPCRoute", "grpcroutes", ("v1", "v1alpha2")),
    KindSpec(GATEWAY_API, "TLSRoute", "tlsroutes", ("v1", "v1alpha3", "v1alpha2")),
    KindSpec(GATEWAY_API, "TCPRoute", "tcproutes", ("v1alpha2",)),
    KindSpec(GATEWAY_API, "ReferenceGrant", "referencegrants", ("v1", "v1beta1")),
    KindSpec("", "Namespace", "namespaces", ("v1",), namespaced=False),
    KindSpec("", "Service", "services", ("v1",)),
    KindSpec("apps", "Deployment", "deployments", ("v1",)),
    KindSpec("apps", "StatefulSet", "statefulsets", ("v1",)),
    KindSpec("apps", "DaemonSet", "daemonsets", ("v1",)),
    # Other pod-template owners (auditor/mesh/workload.py): bare ReplicaSets, Jobs and CronJobs,
    # and Argo Rollouts (a CRD: "not installed" where Argo is absent, so no check needs it).
    KindSpec("apps", "ReplicaSet", "replicasets", ("v1",)),
    KindSpec("batch", "Job", "jobs", ("v1",)),
    KindSpec("batch", "CronJob", "cronjobs", ("v1",)),
    KindSpec(ARGO, "Rollout", "rollouts", ("v1alpha1",)),
    KindSpec("", "Pod", "pods", ("v1",)),
    KindSpec("", "Secret", "secrets", ("v1",), metadata_only=True, rbac=RBAC_OPT_IN),
    KindSpec("networking.k8s.io", "NetworkPolicy", "networkpolicies", ("v1",)),
    KindSpec("discovery.k8s.io", "EndpointSlice", "endpointslices", ("v1",)),
    # legacy Endpoints: what a selector-less Service points at when the input holds no
    # EndpointSlice for it (Kubernetes mirrors them into EndpointSlices, which Istio reads)
    KindSpec("", "Endpoints", "endpoints", ("v1",)),
    KindSpec("networking.k8s.io", "Ingress", "ingresses", ("v1",)),
    KindSpec("", "ConfigMap", "configmaps", ("v1",), rbac=RBAC_ROOT_NAMESPACE),
    KindSpec(
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        ("v1",),
        namespaced=False,
    ),
    KindSpec(
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        ("v1",),
        namespaced=False,
    ),
)

BY_KEY: dict[str, KindSpec] = {k.key: k for k in KINDS}
BY_GROUP_KIND: dict[tuple[str, str], KindSpec] = {(k.group, k.kind): k for k in KINDS}


# Resource keys (`group/Kind`) the index and the checks look objects up by.
K_GATEWAY = f"{ISTIO_NET}/Gateway"
K_VS = f"{ISTIO_NET}/VirtualService"
K_DR = f"{ISTIO_NET}/DestinationRule"
K_SE = f"{ISTIO_NET}/ServiceEntry"
K_SIDECAR = f"{ISTIO_NET}/Sidecar"
K_WE = f"{ISTIO_NET}/WorkloadEntry"
K_ENVOYFILTER = f"{ISTIO_NET}/EnvoyFilter"
K_PA = f"{ISTIO_SEC}/PeerAuthentication"
K_AP = f"{ISTIO_SEC}/AuthorizationPolicy"
K_RA = f"{ISTIO_SEC}/RequestAuthentication"
K_GWCLASS = f"{GATEWAY_API}/GatewayClass"
K_KGATEWAY = f"{GATEWAY_API}/Gateway"
K_HTTPROUTE = f"{GATEWAY_API}/HTTPRoute"
K_GRPCROUTE = f"{GATEWAY_API}/GRPCRoute"
K_TLSROUTE = f"{GATEWAY_API}/TLSRoute"
K_TCPROUTE = f"{GATEWAY_API}/TCPRoute"
K_REFGRANT = f"{GATEWAY_API}/ReferenceGrant"
K_NAMESPACE = "Namespace"
K_SERVICE = "Service"
K_DEPLOYMENT = "apps/Deployment"
K_STATEFULSET = "apps/StatefulSet"
K_DAEMONSET = "apps/DaemonSet"
K_REPLICASET = "apps/ReplicaSet"
K_JOB = "batch/Job"
K_CRONJOB = "batch/CronJob"
K_ROLLOUT = f"{ARGO}/Rollout"
K_POD = "Pod"
K_ENDPOINTS = "Endpoints"
K_SECRET = "Secret"
K_NETPOL = "networking.k8s.io/NetworkPolicy"
K_INGRESS = "networking.k8s.io/Ingress"
K_CONFIGMAP = "ConfigMap"
K_MWC = "admissionregistration.k8s.io/MutatingWebhookConfiguration"
K_VWC = "admissionregistration.k8s.io/ValidatingWebhookConfiguration"

ROUTE_KINDS = (K_HTTPROUTE, K_GRPCROUTE, K_TLSROUTE, K_TCPROUTE)
WORKLOAD_KINDS = (K_DEPLOYMENT, K_STATEFULSET, K_DAEMONSET)
# Every kind that holds a pod template (auditor/mesh/workload.py TEMPLATE_PATHS).
TEMPLATE_KINDS = (*WORKLOAD_KINDS, K_REPLICASET, K_JOB, K_CRONJOB, K_ROLLOUT)


def split_api_version(api_version: str) -> tuple[str, str]:
    """`networking.istio.io/v1` -> (`networking.istio.io`, `v1`); `v1` -> (``, `v1`)."""
    if "/" in api_version:
        group, _, version = api_version.partition("/")
        return group, version
    return "", api_version


def kind_key(group: str, kind: str) -> str:
    return f"{group}/{kind}" if group else kind
