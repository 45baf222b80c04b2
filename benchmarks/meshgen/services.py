"""Services and the EndpointSlices the endpointslice controller keeps for them."""

from __future__ import annotations

from typing import Any

from .factory import GenBase
from .model import Endpoint


class Services(GenBase):
    """A Service and its EndpointSlice."""

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
