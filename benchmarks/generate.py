"""Generate a realistic, deterministic synthetic Istio mesh for benchmarks and scale tests.

    python benchmarks/generate.py --objects 100000 --seed 1 -o large.json.gz [--yaml-dir DIR]

The mesh looks like what a cluster serves (`kubectl get -o json`): server-set metadata (uid,
resourceVersion, creationTimestamp, generation), `status` on Deployments, Services and Pods, Pods
owned by ReplicaSets with the injected istio-proxy sidecar, defaulted fields. Every Service has
the EndpointSlice the endpointslice controller keeps for it (its Running pods' IPs, nodes and
zones); pods sit on nodes with a /24 pod CIDR each, so pod IPs are unique and match the node.
istiod's install leaves its sidecar-injector MutatingWebhookConfiguration and two
ValidatingWebhookConfigurations.

Layout: `istio-system` (istiod, the mesh-config ConfigMap, mesh-wide STRICT PeerAuthentication);
`istio-ingress` with one ingress-gateway shard (Deployment, LoadBalancer Service, Pods) per 100 app
namespaces and one shared Gateway per 25 app namespaces, carrying an HTTPS server per namespace
(credentialName -> a TLS Secret) and a port-80 redirect server with every namespace's host;
`istio-egress` with an egress gateway whose Gateway lists every registered external host. Each app
namespace has 4-14 apps (Deployment, Service, Pods, DestinationRule; VirtualServices for about half,
the first app exposed on the shared ingress), a Sidecar, PeerAuthentication, AuthorizationPolicies,
NetworkPolicies, ServiceEntries for the external APIs it calls, a Secret; one namespace in ten uses
the Kubernetes Gateway API instead (Gateway, HTTPRoutes, the auto-deployed gateway Deployment and
Service). Everything is consistent (selectors match, destinations name existing Services) except
the planted problems.

Planted problems: each app namespace gets each problem type with probability `--problem-rate`
(the first namespaces get one type each, so every type appears even in a small mesh). They are
listed in a sidecar file (`<output stem>.planted.json`) with the checks that must report them
(an empty list for a problem no check reports).

Output is the mesh-audit snapshot file (auditor.input.snapshot_file), gzipped when the name ends
in `.gz`; `--yaml-dir` also writes one `kind: List` YAML file per namespace. Objects are written
as they are generated (`SnapshotWriter`), so a 1M-object mesh needs no more memory than a small
one; `generate()` keeps them in memory instead, for tests.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import hashlib
import json
import os
import random
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson

BASE_TS = 1_735_689_600  # 2025-01-01T00:00:00Z
ISTIO_VERSION = "1.24.2"
PROXY_IMAGE = f"docker.io/istio/proxyv2:{ISTIO_VERSION}"
DOMAIN = "example.com"
NAMESPACES_PER_SHARD = 100
NAMESPACES_PER_GATEWAY = 25
# Replicas of an app Deployment: 4 on average, so Pods are about 40% of the objects mesh-audit
# reads (issue #17: a cluster with 100k pods holds about 250k such objects)
REPLICAS = (1, 2, 2, 3, 3, 4, 4, 5, 6, 10)


def _words(text: str) -> list[str]:
    return text.split()


APP_WORDS = _words(
    "frontend cart checkout catalog search reviews ratings inventory orders shipping billing "
    "invoices accounts profile auth session notify email sms recommend pricing promo ledger "
    "reports audit export import media thumbnails upload gateway-bff graphql metrics"
)
TEAM_WORDS = _words(
    "shop payments growth identity logistics content data platform risk support partners "
    "mobile web ads analytics finance search media"
)
EXTERNAL_HOSTS = (
    "api.stripe.com",
    "api.github.com",
    "hooks.slack.com",
    "api.sendgrid.com",
    "www.googleapis.com",
    "sts.amazonaws.com",
    "s3.eu-west-1.amazonaws.com",
    "api.twilio.com",
    "login.microsoftonline.com",
    "api.datadoghq.eu",
    "o4504.ingest.sentry.io",
    "api.openai.com",
)


def _pem(label: str) -> str:
    block = f"-----BEGIN {label}-----\nRkFLRS1QTEFDRUhPTERFUg==\n-----END {label}-----\n"
    return base64.b64encode(block.encode()).decode()


# A PEM block whose body is a placeholder, as exported snapshots hold: mesh-audit reads it as
# an unparsed certificate (not a broken one), never a real key
FAKE_CERT = _pem("CERTIFICATE")
FAKE_KEY = _pem("PRIVATE KEY")

# Problem types: slug -> the checks that report it (on main when this was written). A plant can
# trip more than one check. A Gateway in an app namespace on a port its shared gateway Service
# lacks (GW002) binds another namespace's gateway workload but publishes nothing on the internet
# (no Service carries the port), so GW005 does not report it.
PROBLEMS: dict[str, tuple[str, ...]] = {
    "gateway-selector-matches-nothing": ("GW001",),
    "gateway-port-not-on-service": ("GW002",),
    "virtualservice-unknown-gateway": ("VS001", "VS002"),
    "virtualservice-destination-missing-service": ("EGR003",),
    "gateway-https-secret-missing": ("TLS003",),
    "gateway-plaintext-http-no-redirect": ("TLS001",),
    "destinationrule-tls-disabled": ("MTLS003",),
    "peerauthentication-permissive": ("MTLS002",),
    "authorizationpolicy-allow-all": ("AUTHZ004",),
    "serviceentry-wildcard-host": ("EGR006",),
}


@dataclass
class Planted:
    problem: str
    checks: tuple[str, ...]
    kind: str
    namespace: str
    name: str
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "checks": list(self.checks),
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "detail": self.detail,
        }


@dataclass
class Mesh:
    """What was generated: the objects (unless a sink took them), counts, planted problems."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # kind key -> objects
    total: int = 0


class Sink:
    """Where generated objects go as they are made (`stream`): `add` each object, and
    `end_namespace` when an app namespace is complete (nothing more is added to it)."""

    def add(self, obj: dict[str, Any]) -> None:
        raise NotImplementedError

    def end_namespace(self, namespace: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A Running pod as its Service's EndpointSlice lists it."""

    pod: str
    uid: str
    ip: str
    node: str
    zone: str


ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
PODS_PER_NODE = 40  # average; a /24 podCIDR per node (kube-controller-manager's default mask)


class Gen:
    """Object factory: deterministic ids, timestamps and resourceVersions from one RNG."""

    def __init__(self, seed: int, sink: Sink | None = None) -> None:
        self.rng = random.Random(seed)
        self.rv = 100_000
        self.mesh = Mesh()
        self.sink = sink
        self.nodes = 3
        self.node_pods: list[int] = []

    # ---- nodes: each has a /24 pod CIDR, so pod IPs are unique and match their node ---------

    def set_nodes(self, count: int) -> None:
        # 10.64.0.0/10 holds 16,384 node /24s; host IPs 10.0.0.0/16 as many
        self.nodes = max(3, min(count, 16_384))
        self.node_pods = [0] * self.nodes

    def place_pod(self) -> tuple[str, str, str, str]:
        """(nodeName, hostIP, podIP, zone) for a new pod on a random node with room."""
        if not self.node_pods:
            self.set_nodes(self.nodes)
        i = self.rng.randrange(self.nodes)
        while self.node_pods[i] >= 250:
            i = (i + 1) % self.nodes
        self.node_pods[i] += 1
        host = f"10.0.{i // 254}.{i % 254 + 1}"
        pod_ip = f"10.{64 + i // 256}.{i % 256}.{self.node_pods[i] + 1}"
        node = f"ip-{host.replace('.', '-')}.ec2.internal"
        return node, host, pod_ip, ZONES[i % len(ZONES)]

    # ---- metadata ------------------------------------------------------------------------

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ts(self, offset_days: float = 0.0) -> str:
        seconds = BASE_TS + int(offset_days * 86400) + self.rng.randrange(0, 86400 * 60)
        return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def hash(self, n: int = 10) -> str:
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def meta(
        self,
        name: str,
        namespace: str | None,
        *,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        generation: int | None = 1,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self.rv += self.rng.randrange(1, 40)
        m: dict[str, Any] = {}
        if annotations:
            m["annotations"] = annotations
        m["creationTimestamp"] = self.ts()
        if extra:
            m.update(extra)
        if generation is not None:
            m["generation"] = generation
        if labels:
            m["labels"] = labels
        m["name"] = name
        if namespace is not None:
            m["namespace"] = namespace
        m["resourceVersion"] = str(self.rv)
        m["uid"] = self.uid()
        return m

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Emit a finished object (never changed after this)."""
        mesh = self.mesh
        key = kind_key(obj)
        mesh.counts[key] = mesh.counts.get(key, 0) + 1
        mesh.total += 1
        if self.sink is None:
            mesh.objects.append(obj)
        else:
            self.sink.add(obj)
        return obj

    def plant(self, problem: str, kind: str, namespace: str, name: str, detail: str = "") -> None:
        self.mesh.planted.append(Planted(problem, PROBLEMS[problem], kind, namespace, name, detail))

    # ---- kinds ---------------------------------------------------------------------------

    def namespace(self, name: str, labels: dict[str, str]) -> None:
        self.mesh.namespaces.append(name)
        self.add(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": self.meta(
                    name,
                    None,
                    labels={"kubernetes.io/metadata.name": name, **labels},
                    generation=None,
                ),
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
        )

    def container(
        self, name: str, image: str, port: int, env: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        c: dict[str, Any] = {}
        if env:
            c["env"] = env
        c.update(
            {
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "name": name,
                "ports": [{"containerPort": port, "name": "http", "protocol": "TCP"}],
                "readinessProbe": {
                    "failureThreshold": 3,
                    "httpGet": {"path": "/healthz", "port": port, "scheme": "HTTP"},
                    "periodSeconds": 10,
                    "successThreshold": 1,
                    "timeoutSeconds": 1,
                },
                "resources": {
                    "limits": {"memory": "256Mi"},
                    "requests": {"cpu": "50m", "memory": "128Mi"},
                },
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "runAsNonRoot": True,
                    "runAsUser": 10001,
                },
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }
        )
        return c

    def sidecar_container(self, namespace: str, app: str) -> dict[str, Any]:
        return {
            "args": [
                "proxy",
                "sidecar",
                "--domain",
                "$(POD_NAMESPACE).svc.cluster.local",
                "--proxyLogLevel=warning",
                "--proxyComponentLogLevel=misc:error",
                "--log_output_level=default:info",
            ],
            "env": [
                {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
                {"name": "CA_ADDR", "value": "istiod.istio-system.svc:15012"},
                {
                    "name": "POD_NAME",
                    "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}},
                },
                {
                    "name": "POD_NAMESPACE",
                    "valueFrom": {
                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}
                    },
                },
                {
                    "name": "INSTANCE_IP",
                    "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}},
                },
                {"name": "ISTIO_META_WORKLOAD_NAME", "value": app},
                {
                    "name": "ISTIO_META_OWNER",
                    "value": f"kubernetes://apis/apps/v1/namespaces/{namespace}/deployments/{app}",
                },
                {"name": "ISTIO_META_MESH_ID", "value": "cluster.local"},
                {"name": "TRUST_DOMAIN", "value": "cluster.local"},
            ],
            "image": PROXY_IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "name": "istio-proxy",
            "ports": [
                {"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"},
            ],
            "readinessProbe": {
                "failureThreshold": 4,
                "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                "periodSeconds": 15,
                "successThreshold": 1,
                "timeoutSeconds": 3,
            },
            "resources": {
                "limits": {"cpu": "2", "memory": "1Gi"},
                "requests": {"cpu": "100m", "memory": "128Mi"},
            },
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "privileged": False,
                "readOnlyRootFilesystem": True,
                "runAsGroup": 1337,
                "runAsNonRoot": True,
                "runAsUser": 1337,
            },
            "volumeMounts": [
                {"mountPath": "/var/run/secrets/workload-spiffe-uds", "name": "workload-socket"},
                {"mountPath": "/etc/istio/proxy", "name": "istio-envoy"},
                {"mountPath": "/var/run/secrets/tokens", "name": "istio-token"},
                {"mountPath": "/var/run/secrets/istio", "name": "istiod-ca-cert"},
            ],
        }

    def deployment(
        self,
        namespace: str,
        name: str,
        *,
        pod_labels: dict[str, str],
        containers: list[dict[str, Any]],
        replicas: int,
        pod_annotations: dict[str, str] | None = None,
        service_account: str | None = None,
        labels: dict[str, str] | None = None,
        injected: bool = True,
    ) -> list[Endpoint]:
        """The Deployment and its ReplicaSet's Pods; returns the Pods as endpoints."""
        sa = service_account or name
        template_meta: dict[str, Any] = {"creationTimestamp": None, "labels": pod_labels}
        if pod_annotations:
            template_meta = {"annotations": pod_annotations, **template_meta}
        pod_spec = {
            "containers": containers,
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": sa,
            "serviceAccountName": sa,
            "terminationGracePeriodSeconds": 30,
        }
        generation = self.rng.randint(1, 6)
        created = self.ts()
        rs_hash = self.hash(10)
        self.add(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": self.meta(
                    name,
                    namespace,
                    labels=labels or {"app": pod_labels.get("app", name)},
                    annotations={"deployment.kubernetes.io/revision": str(generation)},
                    generation=generation,
                ),
                "spec": {
                    "progressDeadlineSeconds": 600,
                    "replicas": replicas,
                    "revisionHistoryLimit": 10,
                    "selector": {
                        "matchLabels": {k: v for k, v in pod_labels.items() if k != "version"}
                    },
                    "strategy": {
                        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                        "type": "RollingUpdate",
                    },
                    "template": {"metadata": template_meta, "spec": pod_spec},
                },
                "status": {
                    "availableReplicas": replicas,
                    "conditions": [
                        {
                            "lastTransitionTime": created,
                            "lastUpdateTime": created,
                            "message": "Deployment has minimum availability.",
                            "reason": "MinimumReplicasAvailable",
                            "status": "True",
                            "type": "Available",
                        },
                        {
                            "lastTransitionTime": created,
                            "lastUpdateTime": created,
                            "message": f'ReplicaSet "{name}-{rs_hash}" has successfully '
                            "progressed.",
                            "reason": "NewReplicaSetAvailable",
                            "status": "True",
                            "type": "Progressing",
                        },
                    ],
                    "observedGeneration": generation,
                    "readyReplicas": replicas,
                    "replicas": replicas,
                    "updatedReplicas": replicas,
                },
            }
        )
        rs_uid = self.uid()
        return [
            self.pod(
                namespace,
                name,
                rs_hash,
                rs_uid,
                pod_labels,
                pod_annotations or {},
                containers,
                sa,
                injected,
            )
            for _ in range(replicas)
        ]

    def pod(
        self,
        namespace: str,
        app: str,
        rs_hash: str,
        rs_uid: str,
        labels: dict[str, str],
        annotations: dict[str, str],
        containers: list[dict[str, Any]],
        service_account: str,
        injected: bool,
    ) -> Endpoint:
        rs_name = f"{app}-{rs_hash}"
        pod_labels = {**labels, "pod-template-hash": rs_hash}
        pod_annotations = dict(annotations)
        spec_containers = [dict(c) for c in containers]
        init: list[dict[str, Any]] = []
        if injected:
            pod_labels["security.istio.io/tlsMode"] = "istio"
            pod_labels["service.istio.io/canonical-name"] = labels.get("app", app)
            pod_labels["service.istio.io/canonical-revision"] = labels.get("version", "latest")
            pod_annotations.update(
                {
                    "istio.io/rev": "default",
                    "kubectl.kubernetes.io/default-container": containers[0]["name"],
                    "prometheus.io/path": "/stats/prometheus",
                    "prometheus.io/port": "15020",
                    "prometheus.io/scrape": "true",
                    "sidecar.istio.io/status": '{"initContainers":["istio-init"],'
                    '"containers":["istio-proxy"],"volumes":["workload-socket",'
                    '"istio-envoy","istio-token","istiod-ca-cert"],'
                    '"imagePullSecrets":null,"revision":"default"}',
                }
            )
            spec_containers.append(self.sidecar_container(namespace, app))
            init.append(
                {
                    "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337"],
                    "image": PROXY_IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    "name": "istio-init",
                    "securityContext": {
                        "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                        "runAsGroup": 0,
                        "runAsNonRoot": False,
                        "runAsUser": 0,
                    },
                }
            )
        node, host_ip, pod_ip, zone = self.place_pod()
        started = self.ts(60)
        spec: dict[str, Any] = {"containers": spec_containers}
        if init:
            spec["initContainers"] = init
        spec.update(
            {
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": True,
                "nodeName": node,
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 0,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": service_account,
                "serviceAccountName": service_account,
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/not-ready",
                        "operator": "Exists",
                        "tolerationSeconds": 300,
                    },
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/unreachable",
                        "operator": "Exists",
                        "tolerationSeconds": 300,
                    },
                ],
            }
        )
        pod_name = f"{rs_name}-{self.hash(5)}"
        pod = self.add(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": self.meta(
                    pod_name,
                    namespace,
                    labels=pod_labels,
                    annotations=pod_annotations,
                    generation=None,
                    extra={
                        "generateName": f"{rs_name}-",
                        "ownerReferences": [
                            {
                                "apiVersion": "apps/v1",
                                "blockOwnerDeletion": True,
                                "controller": True,
                                "kind": "ReplicaSet",
                                "name": rs_name,
                                "uid": rs_uid,
                            }
                        ],
                    },
                ),
                "spec": spec,
                "status": {
                    "conditions": [
                        {"lastTransitionTime": started, "status": "True", "type": t}
                        for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
                    ],
                    "containerStatuses": [
                        {
                            "containerID": f"containerd://{self.hash(16)}",
                            "image": c["image"],
                            "imageID": c["image"] + "@sha256:" + self.hash(20),
                            "lastState": {},
                            "name": c["name"],
                            "ready": True,
                            "restartCount": 0,
                            "started": True,
                            "state": {"running": {"startedAt": started}},
                        }
                        for c in spec_containers
                    ],
                    "hostIP": host_ip,
                    "hostIPs": [{"ip": host_ip}],
                    "phase": "Running",
                    "podIP": pod_ip,
                    "podIPs": [{"ip": pod_ip}],
                    "qosClass": "Burstable",
                    "startTime": started,
                },
            }
        )
        return Endpoint(pod_name, pod["metadata"]["uid"], pod_ip, node, zone)

    def service(
        self,
        endpoints: list[Endpoint],
        namespace: str,
        name: str,
        selector: dict[str, str],
        ports: list[dict[str, Any]],
        *,
        type_: str = "ClusterIP",
        lb_ip: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        """The Service and the EndpointSlice the endpointslice controller keeps for it."""
        cluster_ip = f"172.20.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"
        spec: dict[str, Any] = {
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": ports,
            "selector": selector,
            "sessionAffinity": "None",
            "type": type_,
        }
        status: dict[str, Any] = {"loadBalancer": {}}
        if type_ == "LoadBalancer":
            spec["allocateLoadBalancerNodePorts"] = True
            spec["externalTrafficPolicy"] = "Cluster"
            for p in ports:
                p["nodePort"] = self.rng.randrange(30000, 32768)
            status = {"loadBalancer": {"ingress": [{"ip": lb_ip or "203.0.113.10"}]}}
        svc_labels = labels or {"app": name}
        svc = self.add(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": self.meta(name, namespace, labels=svc_labels, generation=None),
                "spec": spec,
                "status": status,
            }
        )
        self.endpoint_slice(svc, endpoints)

    def endpoint_slice(self, svc: dict[str, Any], endpoints: list[Endpoint]) -> None:
        """What the endpointslice controller writes for a Service with a selector
        (kubernetes/kubernetes pkg/controller/endpointslice, staging/src/k8s.io/endpointslice
        utils.go newEndpointSlice/podToEndpoint): one slice per address type up to 100
        endpoints, named `<service>-<5 random chars>` via generateName, labelled with the
        Service's labels plus `kubernetes.io/service-name` and `managed-by`, owned by the
        Service; one endpoint per Running pod (its IP, ready/serving/terminating, nodeName,
        zone, targetRef to the Pod); ports are the Service's target ports, by port name."""
        meta = svc["metadata"]
        name, namespace = meta["name"], meta["namespace"]
        labels = {
            **meta.get("labels", {}),
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            "kubernetes.io/service-name": name,
        }
        ports = []
        for p in svc["spec"]["ports"]:
            port: dict[str, Any] = {}
            if "appProtocol" in p:
                port["appProtocol"] = p["appProtocol"]
            port.update({"name": p["name"], "port": p["targetPort"], "protocol": p["protocol"]})
            ports.append(port)
        self.add(
            {
                "addressType": "IPv4",
                "apiVersion": "discovery.k8s.io/v1",
                "endpoints": [
                    {
                        "addresses": [ep.ip],
                        "conditions": {"ready": True, "serving": True, "terminating": False},
                        "nodeName": ep.node,
                        "targetRef": {
                            "kind": "Pod",
                            "name": ep.pod,
                            "namespace": namespace,
                            "uid": ep.uid,
                        },
                        "zone": ep.zone,
                    }
                    for ep in endpoints
                ]
                or None,
                "kind": "EndpointSlice",
                "metadata": self.meta(
                    f"{name}-{self.hash(5)}",
                    namespace,
                    labels=labels,
                    annotations={"endpoints.kubernetes.io/last-change-trigger-time": self.ts(60)},
                    generation=self.rng.randint(1, 8),
                    extra={
                        "generateName": f"{name}-",
                        "ownerReferences": [
                            {
                                "apiVersion": "v1",
                                "blockOwnerDeletion": True,
                                "controller": True,
                                "kind": "Service",
                                "name": name,
                                "uid": meta["uid"],
                            }
                        ],
                    },
                ),
                "ports": ports,
            }
        )

    def istio(
        self,
        kind: str,
        namespace: str,
        name: str,
        spec: dict[str, Any],
        *,
        group: str = "networking.istio.io",
        labels: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return self.add(
            {
                "apiVersion": f"{group}/v1",
                "kind": kind,
                "metadata": self.meta(name, namespace, labels=labels),
                "spec": spec,
            }
        )


# ---- the mesh ------------------------------------------------------------------------------


@dataclass
class AppNamespace:
    name: str
    team: str
    apps: list[str]
    gateway_api: bool
    shard: int
    gateway: str  # the shared Istio Gateway its first app is exposed on
    externals: list[str]
    problems: list[str]


def plan(objects: int, rng: random.Random, problem_rate: float) -> list[AppNamespace]:
    """Choose app namespaces until the estimated object count reaches the target."""
    plans: list[AppNamespace] = []
    estimate = 40  # control plane, gateways
    problem_names = list(PROBLEMS)
    while estimate < objects:
        i = len(plans)
        team = TEAM_WORDS[i % len(TEAM_WORDS)]
        name = f"{team}-{i:04d}"
        n_apps = rng.randint(4, 14)
        apps = list(APP_WORDS[:1]) + rng.sample(APP_WORDS[1:], n_apps - 1)
        problems = [p for p in problem_names if rng.random() < problem_rate]
        if i < len(problem_names) and problem_names[i] not in problems:
            problems.append(problem_names[i])
        externals = rng.sample(EXTERNAL_HOSTS, rng.randint(0, 3))
        gateway_api = i % 10 == 9
        if (
            gateway_api
        ):  # no VirtualService on the shared gateway: a plaintext server routes nothing
            problems = [p for p in problems if p != "gateway-plaintext-http-no-redirect"]
        ns = AppNamespace(
            name=name,
            team=team,
            apps=apps,
            gateway_api=gateway_api,
            shard=i // NAMESPACES_PER_SHARD,
            gateway=f"shared-gateway-{i // NAMESPACES_PER_GATEWAY:03d}",
            externals=externals,
            problems=problems,
        )
        plans.append(ns)
        # per app: Deployment, Service, EndpointSlice, ~4 Pods, DR, ~0.4 VS, ~0.3 AP;
        # per ns: ~10 + 2 gw objects
        estimate += int(n_apps * (4.6 + sum(REPLICAS) / len(REPLICAS))) + 9 + len(externals) + 2
    return plans


def generate(objects: int, seed: int, problem_rate: float = 0.03) -> Mesh:
    """The whole mesh in memory (`mesh.objects`): for tests and small meshes."""
    return stream(objects, seed, problem_rate, None)


def stream(objects: int, seed: int, problem_rate: float, sink: Sink | None) -> Mesh:
    """Generate the mesh, handing each object to `sink` as it is made (kept in `mesh.objects`
    when `sink` is None). The same seed gives the same objects in the same order either way."""
    g = Gen(seed, sink)
    rng = g.rng
    plans = plan(objects, rng, problem_rate)
    shards = max(1, -(-len(plans) // NAMESPACES_PER_SHARD))
    # PODS_PER_NODE to a node
    app_pods = sum(len(ns.apps) for ns in plans) * sum(REPLICAS) / len(REPLICAS)
    g.set_nodes(int(app_pods) // PODS_PER_NODE + 1)

    # -- control plane
    g.add(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": g.meta("istio", None),
            "spec": {
                "controllerName": "istio.io/gateway-controller",
                "description": "The default Istio GatewayClass",
            },
            "status": {
                "conditions": [
                    {
                        "lastTransitionTime": g.ts(),
                        "message": "Handled by Istio controller",
                        "observedGeneration": 1,
                        "reason": "Accepted",
                        "status": "True",
                        "type": "Accepted",
                    }
                ]
            },
        }
    )
    for system_ns in ("istio-system", "istio-ingress", "istio-egress"):
        g.namespace(system_ns, {})
    mesh_yaml = (
        "accessLogFile: /dev/stdout\n"
        "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n"
        "  tracing:\n    zipkin:\n      address: zipkin.istio-system:9411\n"
        "enablePrometheusMerge: true\n"
        "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"
        "rootNamespace: istio-system\ntrustDomain: cluster.local\n"
    )
    g.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": g.meta(
                "istio",
                "istio-system",
                labels={"app": "istiod", "istio.io/rev": "default", "release": "istio"},
                generation=None,
            ),
            "data": {"mesh": mesh_yaml, "meshNetworks": "networks: {}"},
        }
    )
    pods = g.deployment(
        "istio-system",
        "istiod",
        pod_labels={
            "app": "istiod",
            "istio": "pilot",
            "istio.io/rev": "default",
            "sidecar.istio.io/inject": "false",
        },
        containers=[g.container("discovery", f"docker.io/istio/pilot:{ISTIO_VERSION}", 15010)],
        replicas=2,
        service_account="istiod",
        injected=False,
    )
    g.service(
        pods,
        "istio-system",
        "istiod",
        {"app": "istiod", "istio": "pilot"},
        [
            {"name": "grpc-xds", "port": 15010, "protocol": "TCP", "targetPort": 15010},
            {"name": "https-dns", "port": 15012, "protocol": "TCP", "targetPort": 15012},
            {"name": "https-webhook", "port": 443, "protocol": "TCP", "targetPort": 15017},
        ],
    )
    istiod_webhooks(g)
    g.istio(
        "PeerAuthentication",
        "istio-system",
        "default",
        {"mtls": {"mode": "STRICT"}},
        group="security.istio.io",
    )

    # -- ingress shards
    for s in range(shards):
        label = f"ingressgateway-{s:02d}"
        name = f"istio-{label}"
        gw_labels = {"app": name, "istio": label}
        proxy = g.sidecar_container("istio-ingress", name)
        proxy["args"][1] = "router"
        proxy["ports"] = [{"containerPort": p, "protocol": "TCP"} for p in (15021, 8080, 8443)] + [
            {"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}
        ]
        pods = g.deployment(
            "istio-ingress",
            name,
            pod_labels={**gw_labels, "sidecar.istio.io/inject": "false"},
            containers=[proxy],
            replicas=2,
            service_account=f"{name}-service-account",
            labels=gw_labels,
            injected=False,
        )
        g.service(
            pods,
            "istio-ingress",
            name,
            gw_labels,
            [
                {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
                {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 8080},
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443},
            ],
            type_="LoadBalancer",
            lb_ip=f"203.0.113.{10 + s}",
            labels=gw_labels,
        )

    # -- shared ingress Gateways: an HTTPS server per namespace, one redirect server
    by_gateway: dict[str, list[AppNamespace]] = {}
    for ns in plans:
        by_gateway.setdefault(ns.gateway, []).append(ns)
    for gw_name, members in by_gateway.items():
        shard = members[0].shard
        servers: list[dict[str, Any]] = []
        for ns in members:
            host = f"{ns.name}.{DOMAIN}"
            secret = f"{ns.name}-tls"
            server: dict[str, Any] = {
                "hosts": [f"{ns.name}/{host}"],
                "name": f"https-{ns.name}",
                "port": {"name": f"https-{ns.name}", "number": 443, "protocol": "HTTPS"},
                "tls": {"credentialName": secret, "mode": "SIMPLE"},
            }
            servers.append(server)
            if "gateway-https-secret-missing" in ns.problems:
                g.plant(
                    "gateway-https-secret-missing",
                    "Gateway",
                    "istio-ingress",
                    gw_name,
                    f"credentialName {secret}",
                )
            else:
                g.add(
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": g.meta(secret, "istio-ingress", generation=None),
                        "type": "kubernetes.io/tls",
                        "data": {
                            "tls.crt": FAKE_CERT,
                            "tls.key": FAKE_KEY,
                        },
                    }
                )
        redirect_hosts = [
            f"{ns.name}/{ns.name}.{DOMAIN}"
            for ns in members
            if "gateway-plaintext-http-no-redirect" not in ns.problems
        ]
        servers.append(
            {
                "hosts": redirect_hosts,
                "name": "http-redirect",
                "port": {"name": "http", "number": 80, "protocol": "HTTP"},
                "tls": {"httpsRedirect": True},
            }
        )
        for ns in members:
            if "gateway-plaintext-http-no-redirect" in ns.problems:
                servers.append(
                    {
                        "hosts": [f"{ns.name}/{ns.name}.{DOMAIN}"],
                        "name": f"http-{ns.name}",
                        "port": {"name": f"http-{ns.name}", "number": 80, "protocol": "HTTP"},
                    }
                )
                g.plant(
                    "gateway-plaintext-http-no-redirect",
                    "Gateway",
                    "istio-ingress",
                    gw_name,
                    f"{ns.name}.{DOMAIN}:80",
                )
        g.istio(
            "Gateway",
            "istio-ingress",
            gw_name,
            {"selector": {"istio": f"ingressgateway-{shard:02d}"}, "servers": servers},
        )

    # -- egress gateway
    eg_labels = {"app": "istio-egressgateway", "istio": "egressgateway"}
    proxy = g.sidecar_container("istio-egress", "istio-egressgateway")
    proxy["args"][1] = "router"
    pods = g.deployment(
        "istio-egress",
        "istio-egressgateway",
        pod_labels={**eg_labels, "sidecar.istio.io/inject": "false"},
        containers=[proxy],
        replicas=2,
        service_account="istio-egressgateway-service-account",
        labels=eg_labels,
        injected=False,
    )
    g.service(
        pods,
        "istio-egress",
        "istio-egressgateway",
        eg_labels,
        [
            {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 8080},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443},
        ],
        labels=eg_labels,
    )
    g.istio(
        "Gateway",
        "istio-egress",
        "egress-gateway",
        {
            "selector": {"istio": "egressgateway"},
            "servers": [
                {
                    "hosts": list(EXTERNAL_HOSTS),
                    "port": {"name": "tls", "number": 443, "protocol": "TLS"},
                    "tls": {"mode": "PASSTHROUGH"},
                }
            ],
        },
    )
    g.istio(
        "ServiceEntry",
        "istio-egress",
        "external-apis",
        {
            "exportTo": ["*"],
            "hosts": list(EXTERNAL_HOSTS),
            "location": "MESH_EXTERNAL",
            "ports": [{"name": "tls", "number": 443, "protocol": "TLS"}],
            "resolution": "DNS",
        },
    )
    g.istio(
        "VirtualService",
        "istio-egress",
        "external-apis-via-egress",
        {
            "exportTo": ["*"],
            "gateways": ["mesh", "egress-gateway"],
            "hosts": list(EXTERNAL_HOSTS),
            "tls": [
                {
                    "match": [{"gateways": ["mesh"], "port": 443, "sniHosts": [h]}],
                    "route": [
                        {
                            "destination": {
                                "host": "istio-egressgateway.istio-egress.svc.cluster.local",
                                "port": {"number": 443},
                            }
                        }
                    ],
                }
                for h in EXTERNAL_HOSTS
            ]
            + [
                {
                    "match": [{"gateways": ["egress-gateway"], "port": 443, "sniHosts": [h]}],
                    "route": [{"destination": {"host": h, "port": {"number": 443}}}],
                }
                for h in EXTERNAL_HOSTS
            ],
        },
    )

    for ns in plans:
        app_namespace(g, ns)
        if sink is not None:
            sink.end_namespace(ns.name)

    return g.mesh


def _selector(*exprs: tuple[str, str, list[str] | None]) -> dict[str, Any]:
    return {
        "matchExpressions": [
            {"key": k, "operator": op, **({"values": v} if v is not None else {})}
            for k, op, v in exprs
        ]
    }


def istiod_webhooks(g: Gen) -> None:
    """The admission webhooks a default-revision `istioctl install` / istiod Helm chart leaves
    (istio/istio manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml
    and validatingwebhookconfiguration.yaml, 1.2x, as the API server returns them with its
    defaults): the sidecar injector's four webhooks (revision by namespace label, revision by
    pod label, `istio-injection=enabled`, `sidecar.istio.io/inject=true`) and the config
    validator, plus the default-revision validator. A handful per cluster, not per namespace."""
    client = {
        "caBundle": FAKE_CERT,
        "service": {"name": "istiod", "namespace": "istio-system", "path": "/inject", "port": 443},
    }
    not_false = ("sidecar.istio.io/inject", "NotIn", ["false"])
    injector = [
        (
            "rev.namespace.sidecar-injector.istio.io",
            _selector(
                ("istio.io/rev", "In", ["default"]), ("istio-injection", "DoesNotExist", None)
            ),
            _selector(not_false),
        ),
        (
            "rev.object.sidecar-injector.istio.io",
            _selector(
                ("istio.io/rev", "DoesNotExist", None), ("istio-injection", "DoesNotExist", None)
            ),
            _selector(not_false, ("istio.io/rev", "In", ["default"])),
        ),
        (
            "namespace.sidecar-injector.istio.io",
            _selector(("istio-injection", "In", ["enabled"])),
            _selector(not_false),
        ),
        (
            "object.sidecar-injector.istio.io",
            _selector(
                ("istio-injection", "DoesNotExist", None), ("istio.io/rev", "DoesNotExist", None)
            ),
            _selector(
                ("sidecar.istio.io/inject", "In", ["true"]), ("istio.io/rev", "DoesNotExist", None)
            ),
        ),
    ]
    labels = {
        "app": "sidecar-injector",
        "install.operator.istio.io/owning-resource": "unknown",
        "istio.io/rev": "default",
        "operator.istio.io/component": "Pilot",
        "release": "istio",
    }
    g.add(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": g.meta("istio-sidecar-injector", None, labels=labels, generation=3),
            "webhooks": [
                {
                    "admissionReviewVersions": ["v1beta1", "v1"],
                    "clientConfig": client,
                    "failurePolicy": "Fail",
                    "matchPolicy": "Equivalent",
                    "name": name,
                    "namespaceSelector": ns_sel,
                    "objectSelector": obj_sel,
                    "reinvocationPolicy": "Never",
                    "rules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["pods"],
                            "scope": "*",
                        }
                    ],
                    "sideEffects": "None",
                    "timeoutSeconds": 10,
                }
                for name, ns_sel, obj_sel in injector
            ],
        }
    )
    validate = {
        "caBundle": FAKE_CERT,
        "service": {
            "name": "istiod",
            "namespace": "istio-system",
            "path": "/validate",
            "port": 443,
        },
    }
    for config, hook, obj_sel in (
        (
            "istio-validator-istio-system",
            "rev.validation.istio.io",
            _selector(("istio.io/rev", "In", ["default"])),
        ),
        (
            "istiod-default-validator",
            "validation.istio.io",
            _selector(("istio.io/rev", "DoesNotExist", None)),
        ),
    ):
        g.add(
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingWebhookConfiguration",
                "metadata": g.meta(
                    config,
                    None,
                    labels={"app": "istiod", "istio": "istiod", "istio.io/rev": "default"},
                    generation=2,
                ),
                "webhooks": [
                    {
                        "admissionReviewVersions": ["v1beta1", "v1"],
                        "clientConfig": validate,
                        "failurePolicy": "Ignore",
                        "matchPolicy": "Equivalent",
                        "name": hook,
                        "namespaceSelector": {},
                        "objectSelector": obj_sel,
                        "rules": [
                            {
                                "apiGroups": [
                                    "security.istio.io",
                                    "networking.istio.io",
                                    "telemetry.istio.io",
                                    "extensions.istio.io",
                                ],
                                "apiVersions": ["*"],
                                "operations": ["CREATE", "UPDATE"],
                                "resources": ["*"],
                                "scope": "*",
                            }
                        ],
                        "sideEffects": "None",
                        "timeoutSeconds": 10,
                    }
                ],
            }
        )


def app_namespace(g: Gen, ns: AppNamespace) -> None:
    rng = g.rng
    n = ns.name
    g.namespace(n, {"istio-injection": "enabled", "team": ns.team})
    problems = set(ns.problems)
    missing_svc_app = (
        ns.apps[-1] if "virtualservice-destination-missing-service" in problems else ""
    )

    for idx, app in enumerate(ns.apps):
        version = f"v{rng.randint(1, 3)}"
        env = [{"name": "LOG_LEVEL", "value": "info"}]
        for host in ns.externals[:1]:
            env.append({"name": "UPSTREAM_API", "value": f"https://{host}"})
        if idx + 1 < len(ns.apps):
            nxt = ns.apps[idx + 1]
            env.append({"name": "NEXT_URL", "value": f"http://{nxt}.{n}.svc.cluster.local:8080"})
        pods = g.deployment(
            n,
            app,
            pod_labels={"app": app, "version": version},
            containers=[
                g.container(
                    app,
                    f"ghcr.io/example-{ns.team}/{app}:{rng.randint(1, 9)}.{rng.randint(0, 20)}.0",
                    8080,
                    env,
                )
            ],
            replicas=rng.choice(REPLICAS),
        )
        if app != missing_svc_app:
            g.service(
                pods,
                n,
                app,
                {"app": app},
                [
                    {
                        "name": "http",
                        "port": 8080,
                        "protocol": "TCP",
                        "targetPort": 8080,
                        "appProtocol": "http",
                    }
                ],
            )
        fqdn = f"{app}.{n}.svc.cluster.local"
        dr_tls = {"mode": "ISTIO_MUTUAL"}
        if idx == 1 and "destinationrule-tls-disabled" in problems:
            dr_tls = {"mode": "DISABLE"}
            g.plant("destinationrule-tls-disabled", "DestinationRule", n, app, fqdn)
        if app != missing_svc_app:  # a deleted Service takes its DestinationRule with it
            g.istio(
                "DestinationRule",
                n,
                app,
                {
                    "host": fqdn,
                    "subsets": [{"labels": {"version": version}, "name": version}],
                    "trafficPolicy": {
                        "connectionPool": {"http": {"http1MaxPendingRequests": 1024}},
                        "outlierDetection": {
                            "baseEjectionTime": "30s",
                            "consecutive5xxErrors": 5,
                            "interval": "10s",
                        },
                        "tls": dr_tls,
                    },
                },
            )
        if idx == 0 and not ns.gateway_api:
            # the namespace's front door, on the shared ingress gateway
            g.istio(
                "VirtualService",
                n,
                f"{app}-ingress",
                {
                    "gateways": [f"istio-ingress/{ns.gateway}"],
                    "hosts": [f"{n}.{DOMAIN}"],
                    "http": [
                        {
                            "match": [{"uri": {"prefix": "/api/"}}],
                            "name": "api",
                            "route": [
                                {
                                    "destination": {
                                        "host": ns.apps[min(1, len(ns.apps) - 1)],
                                        "port": {"number": 8080},
                                    }
                                }
                            ],
                            "timeout": "15s",
                        },
                        {
                            "name": "web",
                            "route": [{"destination": {"host": fqdn, "port": {"number": 8080}}}],
                        },
                    ],
                },
            )
        elif rng.random() < 0.55:
            dest = app
            if app == missing_svc_app:
                g.plant(
                    "virtualservice-destination-missing-service", "VirtualService", n, app, fqdn
                )
            g.istio(
                "VirtualService",
                n,
                app,
                {
                    "hosts": [app],
                    "http": [
                        {
                            "retries": {"attempts": 3, "perTryTimeout": "2s"},
                            "route": [
                                {
                                    "destination": {
                                        "host": dest,
                                        "port": {"number": 8080},
                                        # no DestinationRule (and subset) for a deleted Service
                                        **({} if app == missing_svc_app else {"subset": version}),
                                    },
                                    "weight": 100,
                                }
                            ],
                        }
                    ],
                },
            )
        elif app == missing_svc_app:
            g.istio(
                "VirtualService",
                n,
                app,
                {"hosts": [app], "http": [{"route": [{"destination": {"host": app}}]}]},
            )
            g.plant("virtualservice-destination-missing-service", "VirtualService", n, app, fqdn)
        if idx % 3 == 0:
            caller = ns.apps[(idx + 1) % len(ns.apps)]
            g.istio(
                "AuthorizationPolicy",
                n,
                f"{app}-allow",
                {
                    "action": "ALLOW",
                    "rules": [
                        {
                            "from": [
                                {
                                    "source": {
                                        "principals": [
                                            f"cluster.local/ns/{n}/sa/{caller}",
                                            "cluster.local/ns/istio-ingress/sa/"
                                            f"istio-ingressgateway-{ns.shard:02d}-service-account",
                                        ]
                                    }
                                }
                            ],
                            "to": [{"operation": {"methods": ["GET", "POST"], "paths": ["/*"]}}],
                        }
                    ],
                    "selector": {"matchLabels": {"app": app}},
                },
                group="security.istio.io",
            )

    # namespace-wide policy
    mode = "STRICT"
    if "peerauthentication-permissive" in problems:
        mode = "PERMISSIVE"
        g.plant("peerauthentication-permissive", "PeerAuthentication", n, "default")
    g.istio("PeerAuthentication", n, "default", {"mtls": {"mode": mode}}, group="security.istio.io")
    if "authorizationpolicy-allow-all" in problems:
        g.istio(
            "AuthorizationPolicy",
            n,
            "allow-all",
            {"action": "ALLOW", "rules": [{}]},
            group="security.istio.io",
        )
        g.plant("authorizationpolicy-allow-all", "AuthorizationPolicy", n, "allow-all")
    g.istio(
        "Sidecar",
        n,
        "default",
        {
            "egress": [{"hosts": ["./*", "istio-system/*", "istio-egress/*"]}],
            "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
        },
    )
    g.add(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": g.meta("default-deny", n),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        }
    )
    g.add(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": g.meta("allow-mesh", n),
            "spec": {
                "egress": [
                    {"to": [{"podSelector": {}}]},
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "istio-system"}
                                }
                            },
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "istio-egress"}
                                }
                            },
                        ]
                    },
                    {
                        "ports": [{"port": 53, "protocol": "UDP"}],
                        "to": [
                            {
                                "namespaceSelector": {},
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                    },
                ],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
            },
        }
    )
    for host in ns.externals:
        g.istio(
            "ServiceEntry",
            n,
            host.split(".")[-2] + "-" + host.split(".")[0],
            {
                "exportTo": ["."],
                "hosts": [host],
                "location": "MESH_EXTERNAL",
                "ports": [{"name": "tls", "number": 443, "protocol": "TLS"}],
                "resolution": "DNS",
            },
        )
    if "serviceentry-wildcard-host" in problems:
        g.istio(
            "ServiceEntry",
            n,
            "any-com",
            {
                "hosts": ["*.com"],
                "location": "MESH_EXTERNAL",
                "ports": [{"name": "tls", "number": 443, "protocol": "TLS"}],
                "resolution": "NONE",
            },
        )
        g.plant("serviceentry-wildcard-host", "ServiceEntry", n, "any-com", "*.com")
    g.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": g.meta(f"{ns.apps[0]}-config", n, generation=None),
            "type": "Opaque",
            "data": {"DATABASE_URL": "ZmFrZQ==", "API_TOKEN": "ZmFrZQ=="},
        }
    )

    if ns.gateway_api:
        gateway_api(g, ns)

    # planted Istio Gateway problems, in the app namespace
    if "gateway-selector-matches-nothing" in problems:
        g.istio(
            "Gateway",
            n,
            f"{n}-private-gw",
            {
                "selector": {"istio": f"{n}-gateway"},
                "servers": [
                    {
                        "hosts": [f"./internal.{n}.{DOMAIN}"],
                        "port": {"name": "http", "number": 80, "protocol": "HTTP"},
                    }
                ],
            },
        )
        g.plant("gateway-selector-matches-nothing", "Gateway", n, f"{n}-private-gw")
    if "gateway-port-not-on-service" in problems:
        host = f"admin.{n}.{DOMAIN}"
        g.istio(
            "Gateway",
            n,
            f"{n}-admin-gw",
            {
                "selector": {"istio": f"ingressgateway-{ns.shard:02d}"},
                "servers": [
                    {
                        "hosts": [f"./{host}"],
                        "port": {"name": "https-admin", "number": 9443, "protocol": "HTTPS"},
                        "tls": {"credentialName": f"{n}-admin-tls", "mode": "SIMPLE"},
                    }
                ],
            },
        )
        g.add(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": g.meta(f"{n}-admin-tls", "istio-ingress", generation=None),
                "type": "kubernetes.io/tls",
                "data": {"tls.crt": FAKE_CERT, "tls.key": FAKE_KEY},
            }
        )
        g.plant("gateway-port-not-on-service", "Gateway", n, f"{n}-admin-gw", "9443")
    if "virtualservice-unknown-gateway" in problems:
        # the classic mistake: a bare gateway name, which means this namespace
        g.istio(
            "VirtualService",
            n,
            f"{ns.apps[0]}-public",
            {
                "gateways": [ns.gateway],
                "hosts": [f"www.{n}.{DOMAIN}"],
                "http": [{"route": [{"destination": {"host": ns.apps[0]}}]}],
            },
        )
        g.plant(
            "virtualservice-unknown-gateway",
            "VirtualService",
            n,
            f"{ns.apps[0]}-public",
            f"{n}/{ns.gateway}",
        )


def gateway_api(g: Gen, ns: AppNamespace) -> None:
    """A Kubernetes Gateway, Istio's auto-deployed gateway for it, and HTTPRoutes."""
    n = ns.name
    gw = f"{n}-gw"
    host = f"{n}.{DOMAIN}"
    now = g.ts()
    g.add(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": g.meta(gw, n),
            "spec": {
                "gatewayClassName": "istio",
                "listeners": [
                    {
                        "allowedRoutes": {"namespaces": {"from": "Same"}},
                        "hostname": host,
                        "name": "https",
                        "port": 443,
                        "protocol": "HTTPS",
                        "tls": {
                            "certificateRefs": [
                                {"group": "", "kind": "Secret", "name": f"{n}-cert"}
                            ],
                            "mode": "Terminate",
                        },
                    }
                ],
            },
            "status": {
                "addresses": [{"type": "IPAddress", "value": "203.0.113.200"}],
                "conditions": [
                    {
                        "lastTransitionTime": now,
                        "message": "Resource programmed, assigned to service(s) "
                        f"{gw}-istio.{n}.svc.cluster.local:443",
                        "observedGeneration": 1,
                        "reason": "Programmed",
                        "status": "True",
                        "type": "Programmed",
                    }
                ],
            },
        }
    )
    g.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": g.meta(f"{n}-cert", n, generation=None),
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": FAKE_CERT, "tls.key": FAKE_KEY},
        }
    )
    gw_labels = {
        "gateway.istio.io/managed": "istio.io-gateway-controller",
        "gateway.networking.k8s.io/gateway-name": gw,
    }
    proxy = g.sidecar_container(n, f"{gw}-istio")
    proxy["args"][1] = "router"
    pods = g.deployment(
        n,
        f"{gw}-istio",
        # Istio's gateway deployment template labels its pods out of injection (the proxy is
        # in the template already)
        pod_labels={**gw_labels, "sidecar.istio.io/inject": "false"},
        containers=[proxy],
        replicas=1,
        labels=dict(gw_labels),
        injected=False,
    )
    g.service(
        pods,
        n,
        f"{gw}-istio",
        {"gateway.networking.k8s.io/gateway-name": gw},
        [
            {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443},
        ],
        type_="LoadBalancer",
        lb_ip="203.0.113.200",
        labels=dict(gw_labels),
    )
    for app in ns.apps[:3]:
        g.add(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": g.meta(app, n),
                "spec": {
                    "hostnames": [host],
                    "parentRefs": [
                        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gw}
                    ],
                    "rules": [
                        {
                            "backendRefs": [
                                {
                                    "group": "",
                                    "kind": "Service",
                                    "name": app,
                                    "port": 8080,
                                    "weight": 1,
                                }
                            ],
                            "matches": [{"path": {"type": "PathPrefix", "value": f"/{app}"}}],
                        }
                    ],
                },
            }
        )


# ---- output --------------------------------------------------------------------------------


def kind_key(obj: dict[str, Any]) -> str:
    group = obj["apiVersion"].rpartition("/")[0]
    return f"{group}/{obj['kind']}" if group else obj["kind"]


def snapshot(mesh: Mesh, seed: int) -> dict[str, Any]:
    """The snapshot document of a mesh (its `objects` as held in `mesh.objects`)."""
    from auditor.input.kinds import KINDS
    from auditor.input.snapshot import CollectionStatus, SourceInfo
    from auditor.input.snapshot_file import snapshot_document

    counts = mesh.counts
    collection = {
        k.key: CollectionStatus(status="ok", count=counts.get(k.key, 0), version=k.versions[0])
        for k in KINDS
    }
    source = SourceInfo(
        type="cluster",
        context=f"synthetic-seed-{seed}",
        server="https://synthetic.invalid:6443",
        kubernetes_version="v1.31.4",
        istio_version=ISTIO_VERSION,
        namespaces=None,
        collected_at="2025-03-15T12:00:00Z",
    )
    return snapshot_document(source, collection, mesh.objects)


def planted_document(mesh: Mesh, seed: int, objects: int, rate: float) -> dict[str, Any]:
    return {
        "seed": seed,
        "objects_requested": objects,
        "objects": mesh.total,
        "counts": dict(sorted(mesh.counts.items())),
        "namespaces": len(mesh.namespaces),
        "problem_rate": rate,
        "outbound_traffic_policy": "REGISTRY_ONLY",
        "problem_checks": {k: list(v) for k, v in PROBLEMS.items()},
        "planted": [p.to_json() for p in mesh.planted],
    }


def planted_path(output: Path) -> Path:
    name = output.name
    for suffix in (".gz", ".json"):
        name = name.removesuffix(suffix)
    return output.with_name(f"{name}.planted.json")


def _yaml_dumper() -> Any:
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[misc, valid-type]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return Dumper


def yaml_files(mesh: Mesh) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, kubectl List) per namespace; cluster-scoped objects in `_cluster.yaml`."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for obj in mesh.objects:
        ns = obj["metadata"].get("namespace") or "_cluster"
        groups.setdefault(ns, []).append(obj)
    for ns, items in groups.items():
        yield f"{ns}.yaml", _kubectl_list(items)


def _kubectl_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


class SnapshotWriter(Sink):
    """Writes the snapshot file (and the YAML directory) as objects are generated, so memory
    stays bounded whatever the size: one object per line into a temporary file next to the
    output (a gzip member for `.gz`), and at the end the header line (the collection counts are
    known only then) followed by those lines. The result is the layout `write_snapshot` writes,
    the streamed reader's (`auditor.input.snapshot_file`); gzipped, it is two gzip members,
    which gzip readers (Python's `gzip`, zcat) read as one stream. A namespace's YAML file is
    written when the namespace is complete; the shared namespaces' at the end."""

    FLUSH = 1 << 20

    def __init__(self, output: Path, yaml_dir: Path | None) -> None:
        self.output = output
        self.gzipped = output.name.endswith(".gz")
        self.tmp = output.with_name(f".{output.name}.objects.tmp")
        self.raw = self.tmp.open("wb")
        self.fh: BinaryIO = (
            cast(
                BinaryIO,
                gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, compresslevel=6, mtime=0),
            )
            if self.gzipped
            else self.raw
        )
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.count = 0
        self.yaml_dir = yaml_dir
        self.yaml_files = 0
        self.pending: dict[str, list[dict[str, Any]]] = {}
        if yaml_dir is not None:
            yaml_dir.mkdir(parents=True, exist_ok=True)
            self.dumper = _yaml_dumper()

    def add(self, obj: dict[str, Any]) -> None:
        line = orjson.dumps(obj)
        if self.count:
            self.buffer.append(b",\n")
        self.buffer.append(line)
        self.count += 1
        self.buffered += len(line)
        if self.buffered >= self.FLUSH:
            self._flush()
        if self.yaml_dir is not None:
            ns = obj["metadata"].get("namespace") or "_cluster"
            self.pending.setdefault(ns, []).append(obj)

    def _flush(self) -> None:
        self.fh.write(b"".join(self.buffer))
        self.buffer.clear()
        self.buffered = 0

    def end_namespace(self, namespace: str) -> None:
        items = self.pending.pop(namespace, None)
        if items:
            self._write_yaml(namespace, items)

    def _write_yaml(self, namespace: str, items: list[dict[str, Any]]) -> None:
        import yaml

        assert self.yaml_dir is not None
        with (self.yaml_dir / f"{namespace}.yaml").open("w", encoding="utf-8") as fh:
            yaml.dump(
                _kubectl_list(items),
                fh,
                Dumper=self.dumper,
                default_flow_style=False,
                sort_keys=False,
                width=100,
            )
        self.yaml_files += 1

    def finish(self, mesh: Mesh, seed: int) -> None:
        from auditor.input.snapshot_file import encode_snapshot

        self.buffer.append(b"\n]}\n")
        self._flush()
        self.fh.close()
        self.raw.close()
        for namespace, items in list(self.pending.items()):
            self._write_yaml(namespace, items)
        self.pending.clear()
        # the header line exactly as `encode_snapshot` writes it, without the objects
        empty = encode_snapshot({**snapshot(mesh, seed), "objects": []})
        end = b"]}\n"
        assert empty.endswith(b'"objects":[\n' + end)
        head = empty[: -len(end)]
        if self.gzipped:
            head = gzip.compress(head, compresslevel=6, mtime=0)
        part = self.output.with_name(f".{self.output.name}.part")
        with part.open("wb") as out, self.tmp.open("rb") as objects:
            out.write(head)
            shutil.copyfileobj(objects, out, 1 << 22)
        self.tmp.unlink()
        os.replace(part, self.output)

    def abort(self) -> None:
        self.fh.close()
        self.raw.close()
        self.tmp.unlink(missing_ok=True)


def write_yaml_dir(mesh: Mesh, directory: Path) -> int:
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    dumper = _yaml_dumper()
    count = 0
    for name, doc in yaml_files(mesh):
        with (directory / name).open("w", encoding="utf-8") as fh:
            yaml.dump(doc, fh, Dumper=dumper, default_flow_style=False, sort_keys=False, width=100)
        count += 1
    return count


def digest(mesh: Mesh) -> str:
    return hashlib.sha256(orjson.dumps(mesh.objects)).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, required=True, help="approximate object count")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="snapshot file (.json[.gz])"
    )
    parser.add_argument("--yaml-dir", type=Path, default=None, help="also write YAML here")
    parser.add_argument("--problem-rate", type=float, default=0.03)
    parser.add_argument("--planted", type=Path, default=None, help="planted-problems JSON path")
    args = parser.parse_args(argv)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    writer = SnapshotWriter(args.output, args.yaml_dir)
    try:
        mesh = stream(args.objects, args.seed, args.problem_rate, writer)
        writer.finish(mesh, args.seed)
    except BaseException:
        writer.abort()
        raise
    planted = args.planted or planted_path(args.output)
    planted.write_text(
        json.dumps(planted_document(mesh, args.seed, args.objects, args.problem_rate), indent=2)
        + "\n",
        encoding="utf-8",
    )
    files = writer.yaml_files
    print(
        f"{args.output}: {mesh.total} objects in {len(mesh.namespaces)} namespaces, "
        f"{len(mesh.planted)} planted problems ({planted})"
        + (f"; {files} YAML files in {args.yaml_dir}" if files else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
