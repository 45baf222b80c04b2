"""Hardened images (IMG001): exact findings, one per workload."""

from __future__ import annotations

import pytest

from auditor.checks.images import istio_image
from tests.case_helpers import findings, report_for

CASE = "images/istio-images.yaml"


def test_image_findings() -> None:
    assert findings(CASE, ("IMG",)) == {
        ("IMG001", "Deployment", "istio-system", "istiod", "low"),
        ("IMG001", "Deployment", "bookinfo", "reviews-v1", "low"),
    }


def test_one_finding_per_workload_naming_the_image_and_pod() -> None:
    (found,) = [
        f
        for f in report_for(CASE)["findings"]
        if f["check"] == "IMG001" and f["resource"]["name"] == "reviews-v1"
    ]
    assert found["evidence"] == {
        "images": ["docker.io/istio/proxyv2:1.27.1"],
        "pod": "reviews-v1-7d9b6c8f5-aaaaa",
    }


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
