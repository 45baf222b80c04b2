"""report.json mtls[]: who accepts plaintext, from whom, on fixture cases modelled on Istio's docs;
and the HTML table that shows it."""

from __future__ import annotations

from typing import Any

from auditor.report.html import render_html
from tests.case_helpers import report_for


def plaintext(case: str) -> dict[str, tuple[str, str, list[Any]]]:
    """workload -> (membership, accepts_plaintext, [(port, from...)])"""
    out = {}
    for e in report_for(case)["mtls"]:
        w = e["workload"]
        ports = [(p["port"], *p["from"]) for p in e["plaintext_ports"]]
        out[f"{w['kind']} {w['namespace']}/{w['name']}"] = (
            e["membership"],
            e["accepts_plaintext"],
            ports,
        )
    return out


NO_IDENTITY = "clients without a mesh identity (pods outside the mesh, nodes, the API server)"
ANYONE = "any client: no proxy or ztunnel checks identity"


def test_mtls_migration_end_state() -> None:
    # STRICT mesh-wide: the sidecar workloads accept no plaintext; legacy is outside
    assert plaintext("mtls/mtls-migration.yaml") == {
        "Deployment bar/curl": ("sidecar", "none", []),
        "Deployment bar/httpbin": ("sidecar", "none", []),
        "Deployment foo/curl": ("sidecar", "none", []),
        "Deployment foo/httpbin": ("sidecar", "none", []),
        "Deployment legacy/curl": ("none", "all", [("*", ANYONE)]),
        "Deployment legacy/httpbin": ("none", "all", [("*", ANYONE)]),
    }


def test_port_exceptions_name_the_port_and_the_caller() -> None:
    got = plaintext("mtls/webhook-port.yaml")
    assert got["Deployment policy/policy-controller"] == (
        "sidecar",
        "some",
        [
            (
                8443,
                NO_IDENTITY,
                "the Kubernetes API server (ValidatingWebhookConfiguration "
                "policy-validating-webhook-configuration (validation.policy.example.io))",
            )
        ],
    )
    assert got["Deployment policy/reports"] == ("sidecar", "some", [(8080, NO_IDENTITY)])


def test_workload_outside_the_mesh_names_its_evidence() -> None:
    entry = next(
        e
        for e in report_for("mtls/mesh-to-outside.yaml")["mtls"]
        if e["workload"]["name"] == "billing"
    )
    assert entry["membership"] == "none"
    assert entry["evidence"] == ["namespace not labelled for injection"]


def test_entry_carries_policy_and_evidence() -> None:
    entry = next(
        e
        for e in report_for("mtls/authn-policy.yaml")["mtls"]
        if e["workload"]["name"] == "finance"
    )
    assert entry["mode"] == "STRICT"
    assert entry["policy"] == {"kind": "PeerAuthentication", "namespace": "foo", "name": "finance"}
    assert entry["evidence"] == ["namespace label istio-injection=enabled"]
    assert entry["ports"] == [8080, 9443]
    assert [(p["port"], p["mode"], p["why"]) for p in entry["plaintext_ports"]] == [
        (8080, "DISABLE", "PeerAuthentication foo/finance portLevelMtls sets DISABLE")
    ]


def test_html_table_lists_who_accepts_plaintext() -> None:
    html = render_html(report_for("mtls/webhook-port.yaml"))
    section = html.split('<section id="mtls"', 1)[1].split("</section>", 1)[0]
    assert "Who accepts plaintext, from whom: 2 of 2 workloads" in section
    assert '<td class="res">Deployment policy/<wbr>policy-controller</td>' in section
    assert "port 8443" in section and "the Kubernetes API server" in section
