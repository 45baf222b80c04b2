"""Helpers for the report tests: scan a fixture with a fixed clock, read rendered output back."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from auditor.input.files import load_paths
from auditor.report.model import Report
from auditor.run.scan import scan

ROOT = Path(__file__).resolve().parent.parent
CASES = "fixtures/cases/report"
FIXED_CLOCK = "2025-03-14T09:26:53Z"
COMMAND = [
    "mesh-audit",
    "scan",
    "--from",
    f"{CASES}/small-mesh.yaml",
    "--format",
    "json,html,pdf",
    "--token=abc123",
]


@contextmanager
def at_root() -> Iterator[None]:
    """Fixture paths in the report are relative to the repository root, as a user types them."""
    before = Path.cwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(before)


def scan_case(name: str, command: list[str] | None = None) -> Report:
    with at_root():
        return scan(load_paths([f"{CASES}/{name}.yaml"]), generated_at=FIXED_CLOCK, command=command)


def with_changes(report: Report, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(dict(report.data))
    data.update(changes)
    return data


def _egress_port(number: int, protocol: str, name: str, **fields: Any) -> dict[str, Any]:
    port: dict[str, Any] = {
        "number": number,
        "protocol": protocol,
        "name": name,
        "path": "direct",
        "gateway": None,
        "tls_origination": "none",
        "direct": [],
        "direct_more": 0,
        "notes": [],
    }
    port.update(fields)
    return port


EGRESS_SAMPLE: list[dict[str, Any]] = [
    {
        "host": "api.stripe.com",
        "ports": [
            _egress_port(
                443,
                "TLS",
                "tls",
                path="egress-gateway",
                gateway={
                    "kind": "Gateway",
                    "namespace": "istio-egress",
                    "name": "egress",
                    "group": "networking.istio.io",
                },
                tls_origination="application",
                direct=[
                    {
                        "namespace": "payments",
                        "why": "outside the mesh (namespace not labelled for injection)",
                        "verdict": "blocked",
                        "policies": ["payments/egress-to-gateway-only"],
                        "only": [],
                        "workloads": ["Deployment <b>batch</b>"],
                        "count": 1,
                    }
                ],
            )
        ],
        "registration": "service-entry",
        "registered_by": [
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "ServiceEntry",
                "namespace": "payments",
                "name": "stripe",
            }
        ],
        "destination_class": "public",
        "addresses": [],
        "via_egress_gateway": {"kind": "Gateway", "namespace": "istio-egress", "name": "egress"},
        "tls_origination": "application",
        "bypass": [],
        "notes": [
            "NetworkPolicy verdicts hold only where the cluster's network plugin (CNI) enforces "
            "NetworkPolicy"
        ],
    },
    {
        "host": "db.partner.example",
        "ports": [
            _egress_port(
                5432,
                "TCP",
                "pg",
                tls_origination="sidecar",
                direct=[
                    {
                        "namespace": "reports",
                        "why": "sent straight out by its sidecar (port not routed through an "
                        "egress gateway)",
                        "verdict": "no-policy",
                        "policies": [],
                        "only": [],
                        "workloads": ["Deployment exporter"],
                        "count": 1,
                    }
                ],
            )
        ],
        "registration": "service-entry",
        "registered_by": [
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "ServiceEntry",
                "namespace": "reports",
                "name": "partner-db",
            }
        ],
        "destination_class": "public",
        "addresses": [],
        "via_egress_gateway": None,
        "tls_origination": "sidecar",
        "bypass": ["no VirtualService routes db.partner.example through the egress gateway"],
        "notes": [],
    },
]


class TagCollector(HTMLParser):
    """Every start tag with its attributes, the text of <script> elements, and all other text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def parse_html(html: str) -> TagCollector:
    collector = TagCollector()
    collector.feed(html)
    collector.close()
    return collector


def squash(text: str) -> str:
    """Text with all whitespace removed: PDF text extraction breaks lines where the layout did."""
    return "".join(text.split())


def finding_strings(data: Mapping[str, Any]) -> list[str]:
    return [f["resource"]["name"] for f in data["findings"]]
