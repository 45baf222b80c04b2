"""Hardened images (IMG001): exact findings, one per cause: per injector revision for images
injected at admission, per workload for an image named in the workload's own spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from auditor.checks.images import istio_image
from auditor.input.files import load_paths
from auditor.run.scan import scan
from tests.case_helpers import CASES, GENERATED_AT, findings, report_for

CASE = "images/istio-images.yaml"


def test_image_findings() -> None:
    assert findings(CASE, ("IMG",)) == {
        ("IMG001", "Deployment", "istio-system", "istiod", "low"),
        # reviews-v1's sidecar came from the default injector, whose ConfigMap is not given
        ("IMG001", "Namespace", "", "istio-system", "low"),
    }


def test_injected_images_are_one_finding_per_revision() -> None:
    assert findings("proxies/kube-injected-and-revision.yaml", ("IMG",)) == {
        ("IMG001", "Deployment", "istio-system", "istiod-canary", "low"),
        ("IMG001", "Deployment", "sleep", "curl", "low"),
        ("IMG001", "ConfigMap", "istio-system", "istio-sidecar-injector-canary", "low"),
    }


def test_the_injector_finding_names_images_and_workloads() -> None:
    (found,) = [
        f
        for f in report_for(CASE)["findings"]
        if f["check"] == "IMG001" and f["resource"]["kind"] == "Namespace"
    ]
    assert found["evidence"] == {
        "revision": "default",
        "images": ["docker.io/istio/proxyv2:1.27.1"],
        "workload_count": 1,
        "workloads": ["Deployment bookinfo/reviews-v1"],
    }
    assert found["message"] == (
        "Istio revision default (its values are not in the input) installs "
        "docker.io/istio/proxyv2:1.27.1, not the distroless variant, in 1 workload(s) "
        "(Deployment bookinfo/reviews-v1)"
    )


def test_an_image_in_the_workloads_own_spec_stays_on_the_workload() -> None:
    (found,) = [
        f
        for f in report_for("proxies/kube-injected-and-revision.yaml")["findings"]
        if f["check"] == "IMG001" and f["resource"]["name"] == "curl"
    ]
    assert found["path"] == "spec.template.spec.containers[1].image"
    assert found["evidence"] == {"images": ["docker.io/istio/proxyv2:1.27.1"]}


@pytest.mark.parametrize(
    ("image", "parsed"),
    [
        ("docker.io/istio/pilot:1.27.1", ("pilot", "1.27.1")),
        ("gcr.io/istio-release/proxyv2:1.27.1-distroless", ("proxyv2", "1.27.1-distroless")),
        ("registry:5000/istio/proxyv2:1.27.1", ("proxyv2", "1.27.1")),
        ("docker.io/istio/proxyv2@sha256:0d2c", None),
        ("docker.io/istio/examples-bookinfo-reviews-v1:1.20.2", None),
        ("auto", None),
    ],
)
def test_istio_image_reads_name_and_tag(image: str, parsed: tuple[str, str] | None) -> None:
    assert istio_image(image) == parsed


def test_a_gateway_that_picks_its_own_proxy_image_keeps_its_finding(tmp_path: Path) -> None:
    """istiod renders the waypoint's Deployment with the revision's image (one finding on the
    mesh), unless the Gateway names its own with `sidecar.istio.io/proxyImage`
    (kube-gateway.yaml, waypoint.yaml): then the fix is on that gateway."""
    case = "ambient/waypoint-usage.yaml"
    assert ("IMG001", "Namespace", "", "istio-system", "low") in findings(case, ("IMG",))
    docs = list(yaml.safe_load_all((CASES / case).read_text()))
    (waypoint,) = [
        d for d in docs if d and d["kind"] == "Deployment" and d["metadata"]["name"] == "waypoint"
    ]
    template = waypoint["spec"]["template"]["metadata"]
    image = waypoint["spec"]["template"]["spec"]["containers"][0]["image"]
    template.setdefault("annotations", {})["sidecar.istio.io/proxyImage"] = image
    path = tmp_path / "own-image.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    data = dict(scan(load_paths([str(path)]), generated_at=GENERATED_AT).data)
    assert {
        (f["resource"]["kind"], f["resource"]["name"])
        for f in data["findings"]
        if f["check"] == "IMG001"
    } == {("Deployment", "waypoint")}
