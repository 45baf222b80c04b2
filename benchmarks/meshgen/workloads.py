"""Workloads: containers, the injected istio-proxy sidecar, Deployments and their Pods."""

from __future__ import annotations

from typing import Any

from .factory import GenBase
from .model import PROXY_IMAGE, Endpoint


class Workloads(GenBase):
    """Deployments, the Pods their ReplicaSet runs (placed on nodes), containers."""

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
        if any(c.get("name") == "istio-proxy" for c in spec_containers):
            spec["volumes"] = INJECTED_VOLUMES  # injected, or a gateway's own proxy
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


# The volumes Istio's injection template adds (istio/istio
# manifests/charts/istio-control/istio-discovery/files/injection-template.yaml): the proxy's
# credential towards istiod is the projected `istio-token` with the istio-ca audience.
INJECTED_VOLUMES: list[dict[str, Any]] = [
    {"emptyDir": {}, "name": "workload-socket"},
    {"emptyDir": {}, "name": "credential-socket"},
    {"emptyDir": {}, "name": "workload-certs"},
    {"emptyDir": {"medium": "Memory"}, "name": "istio-envoy"},
    {"emptyDir": {}, "name": "istio-data"},
    {
        "name": "istio-token",
        "projected": {
            "defaultMode": 420,
            "sources": [
                {
                    "serviceAccountToken": {
                        "audience": "istio-ca",
                        "expirationSeconds": 43200,
                        "path": "istio-token",
                    }
                }
            ],
        },
    },
    {"configMap": {"defaultMode": 420, "name": "istio-ca-root-cert"}, "name": "istiod-ca-cert"},
]
