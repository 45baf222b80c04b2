"""Peer conformance: run istioctl analyze's own test cases and agree with its messages.

The corpus (tests/data/peer-corpus, copied unmodified from ../shared) holds the inputs and
expected messages of Istio's analyzer unit tests. For every analyzer mesh-audit covers, each case
is loaded the way Istio's harness loads it (objects without a namespace keep an empty one, the
harness's default ingress gateway Pod and Service are added, the case's mesh config applied), the
covering checks run, and:

- every expected (IST code, resource) has a mesh-audit finding on that resource whose
  `references` contain the code;
- no covering check reports that code on any other resource (no false positives), so a case
  expected silent gets no finding with the analyzer's codes.

Deliberate disagreements are listed in DISAGREEMENTS with the reason.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.checks import all_checks
from auditor.checks.registry import REGISTRY, CheckContext
from auditor.checks.runner import run_checks
from auditor.input.files import load_file
from auditor.input.snapshot import Snapshot, SourceInfo
from auditor.mesh.index import MeshIndex
from auditor.mesh.mesh_config_source import resolve_mesh_config

CORPUS = Path(__file__).parents[1] / "data" / "peer-corpus"
CASES: list[dict[str, Any]] = json.loads((CORPUS / "cases.json").read_text())

# analyzer (Go identifier) -> the mesh-audit checks that cover it
COVERAGE: dict[str, tuple[str, ...]] = {
    "gateway.IngressGatewayPortAnalyzer": ("GW001", "GW002"),
    # GW001 is the selector-matches-nothing half of the SecretAnalyzer (IST0101 on the Gateway)
    "gateway.SecretAnalyzer": ("GW001", "TLS003", "TLS004"),
    "gateway.ConflictingGatewayAnalyzer": ("GW003",),
    "gateway.CertificateAnalyzer": ("TLS008",),
    "virtualservice.GatewayAnalyzer": ("VS001", "VS002", "VS003"),
    "destinationrule.CaCertificateAnalyzer": ("TLS009",),
    # egress, injection, authorization (issue 4)
    "virtualservice.DestinationHostAnalyzer": ("EGR003", "CFG001", "CFG002"),
    "virtualservice.DestinationRuleAnalyzer": ("CFG004",),
    "destinationrule.PodNotSelectedAnalyzer": ("EGR004", "CFG003"),
    "serviceentry.ProtocolAddressesAnalyzer": ("EGR008",),
    "serviceentry.ConflictingServiceEntryProtocolAnalyzer": ("EGR009",),
    "sidecar.SelectorAnalyzer": ("CFG005", "CFG006", "CFG007", "CFG008"),
    "authz.AuthorizationPoliciesAnalyzer": ("AUTHZ002", "AUTHZ003"),
    "injection.Analyzer": ("BYP009", "BYP010", "CFG009", "CFG010"),
    "deployment.ApplicationUIDAnalyzer": ("BYP008",),
    "virtualservice.ConflictingMeshGatewayHostsAnalyzer": ("VS005",),
    "k8sgateway.SelectorAnalyzer": ("AUTHZ005",),
}

# The moment the corpus is judged at (its source commit's date): certificate expiry needs one.
CORPUS_AS_OF = "2026-08-22T00:00:00Z"

# Kinds mesh-audit does not read (telemetry and Wasm extensions have no bearing on exposure, TLS
# or egress), so their expected messages are out of scope rather than disagreements.
UNREAD_KINDS = frozenset({"Telemetry", "WasmPlugin"})

# case name -> why mesh-audit deliberately reports differently (none yet)
DISAGREEMENTS: dict[str, str] = {}


def _load_case(case: dict[str, Any]) -> Snapshot:
    snapshot = Snapshot(SourceInfo(type="files", paths=case["inputs"]))
    for rel in [*case["inputs"], "harness-defaults.yaml"]:
        load_file(snapshot, CORPUS / rel, default_namespace="")
    if case["mesh_config"]:
        data = yaml.safe_load((CORPUS / case["mesh_config"]).read_text()) or {}
        snapshot.mesh_config_override = (case["mesh_config"], data)
    return snapshot


def _our_messages(case: dict[str, Any], check_ids: tuple[str, ...]) -> Counter[tuple[str, ...]]:
    snapshot = _load_case(case)
    mesh, _notes = resolve_mesh_config(snapshot)
    ctx = CheckContext(snapshot=snapshot, index=MeshIndex(snapshot, mesh), as_of=CORPUS_AS_OF)
    checks = [c for c in all_checks() if c.meta.id in check_ids]
    findings, runs = run_checks(ctx, checks)
    assert [r.status for r in runs] == ["ran"] * len(checks), runs
    codes = {code for cid in check_ids for code in REGISTRY[cid].meta.ist_codes}
    out: Counter[tuple[str, ...]] = Counter()
    for f in findings:
        for code in codes & set(f.references):
            out[(code, f.resource.kind, f.resource.namespace, f.resource.name)] += 1
    return out


def _covered_cases() -> list[Any]:
    params = []
    for case in CASES:
        checks = COVERAGE.get(case["analyzer"])
        marks = []
        if checks is None:
            marks.append(pytest.mark.skip(reason=f"{case['analyzer']} not covered by mesh-audit"))
        params.append(pytest.param(case, checks or (), id=case["name"], marks=marks))
    return params


@pytest.mark.parametrize(("case", "check_ids"), _covered_cases())
def test_agrees_with_istioctl_analyze(case: dict[str, Any], check_ids: tuple[str, ...]) -> None:
    if case["name"] in DISAGREEMENTS:
        pytest.skip(DISAGREEMENTS[case["name"]])
    ours = _our_messages(case, check_ids)
    expected = {
        (e["code"], e["kind"], e["namespace"] or "", e["name"])
        for e in case["expected"]
        if e["kind"] not in UNREAD_KINDS
    }
    assert set(ours) == expected, (
        f"missing: {sorted(expected - set(ours))}; unexpected: {sorted(set(ours) - expected)}"
    )


def test_every_named_analyzer_is_in_the_corpus() -> None:
    analyzers = {c["analyzer"] for c in CASES}
    assert set(COVERAGE) <= analyzers
    for checks in COVERAGE.values():
        assert all(cid in REGISTRY or cid in {c.meta.id for c in all_checks()} for cid in checks)
