"""Release and security policy: the Istio release the control plane and proxies run.

Istio's security best practices (#release-and-security-policy): stay on a supported release
that still gets security patches. The support table is data (auditor/istio/data/
supported_releases.yaml) with its source and date; every answer is given at the report's
generated_at, and says when the table is more than six months older than that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

from auditor.base.model import Category, Result, Severity
from auditor.checks.registry import CheckContext, check
from auditor.input.istiod_image import is_istiod
from auditor.istio import injection as inj
from auditor.istio import istiod
from auditor.istio import releases as R
from auditor.istio.version import minor_versions
from auditor.mesh.index import K_DAEMONSET, K_DEPLOYMENT, K_POD, K_STATEFULSET
from auditor.mesh.workload import Workload

PAGE = "https://istio.io/latest/docs/ops/best-practices/security/#release-and-security-policy"
SUPPORTED = "https://istio.io/latest/docs/releases/supported-releases/"


def _tag(image: str) -> str:
    image = image.split("@", 1)[0]
    repo, _, tag = image.rpartition(":")
    return tag if repo and "/" not in tag else ""


def _istiods(ctx: CheckContext) -> list[tuple[Workload, int, str]]:
    out = []
    for w in ctx.index.workloads:
        if w.owned or w.obj.kind != "Deployment" or not is_istiod(w.obj.name, w.labels):
            continue
        found = istiod.discovery_container(w.pod_spec)
        if found is None:
            continue
        tag = _tag(str(found[1].get("image") or ""))
        if minor_versions(tag):
            out.append((w, found[0], tag))
    return out


def _when(ctx: CheckContext) -> dt.date | None:
    if not ctx.as_of:
        return None
    return dt.datetime.fromisoformat(ctx.as_of.replace("Z", "+00:00")).date()


def _dated(ctx: CheckContext) -> str:
    table = R.release_table()
    old = R.table_stale(table, ctx.as_of)
    return f"supported-releases table of {table.as_of}" + (
        ", older than six months at this audit" if old else ""
    )


def _release_unjudged(ctx: CheckContext) -> str:
    when = _when(ctx)
    if when is None:
        return "the audit names no time to judge support at"
    found = _istiods(ctx)
    if not found:
        return "no istiod Deployment with a versioned image in the input"
    table = R.release_table()
    answers = [R.support(minor_versions(tag)[0], when, table) for _, _, tag in found]
    if all(a.supported is None for a in answers):
        return f"{answers[0].why} ({_dated(ctx)})"
    return ""


@check(
    id="REL001",
    title="Control plane runs an Istio release past its end of life",
    category=Category.CONFIG,
    severity=Severity.HIGH,
    needs=(K_DEPLOYMENT,),
    remediation=(
        "Upgrade to a supported Istio release (istio.io/latest/docs/releases/supported-releases/) "
        "and keep to its latest patch; a canary revision upgrade avoids downtime."
    ),
    references=(PAGE, SUPPORTED),
    unjudged=_release_unjudged,
)
def unsupported_release(ctx: CheckContext) -> Iterator[Result]:
    """A release past its end of life gets no security patches: every vulnerability published
    after that date stays open in the control plane and in every proxy it configures.

    Fires per istiod Deployment whose image tag's minor version reached its end of life at the
    audit's time (the report's generated_at) per Istio's supported-releases table, shipped as
    data with its source and date; the message says when that table is more than six months old.
    A version the table cannot place (newer than it) is not judged, and says so.
    """
    when = _when(ctx)
    if when is None:
        return
    table = R.release_table()
    for w, i, tag in _istiods(ctx):
        answer = R.support(minor_versions(tag)[0], when, table)
        if answer.supported is not False:
            continue
        yield Result(
            resource=w.obj.ref,
            path=f"{w.spec_path}.containers[{i}].image",
            message=(
                f"istiod {w.namespace}/{w.obj.name} runs Istio {tag}: {answer.why}, so it gets "
                f"no security patches ({_dated(ctx)})"
            ),
            evidence={"version": tag, "table_date": table.as_of.isoformat()},
        )


def _proxy_tags(ctx: CheckContext, w: Workload) -> list[tuple[str, str]]:
    """(pod or workload name, proxy image tag) of what runs: the workload's Pods, else its own
    spec when the proxy image is concrete (not `auto`)."""
    pods = ctx.index.running_pods(w) or [w]
    out = []
    for pod in pods:
        for c in pod.pod_spec.get("containers") or ():
            if isinstance(c, Mapping) and c.get("name") == inj.PROXY_CONTAINER:
                tag = _tag(str(c.get("image") or ""))
                if minor_versions(tag):
                    out.append((pod.obj.name, tag))
    return out


@check(
    id="REL002",
    title="Proxies run an Istio version skewed from the control plane's",
    category=Category.CONFIG,
    severity=Severity.MEDIUM,
    needs=(K_DEPLOYMENT, K_STATEFULSET, K_DAEMONSET, K_POD),
    remediation=(
        "Restart the workload so the injector gives it the control plane's proxy version "
        "(kubectl rollout restart), or move it to the matching revision."
    ),
    references=(PAGE, SUPPORTED + "#control-planedata-plane-skew"),
)
def proxy_skew(ctx: CheckContext) -> Iterator[Result]:
    """A proxy outside the supported skew runs a combination Istio does not test or patch: a
    proxy newer than istiod, or more than one minor version behind it, may misread what istiod
    sends (security policy included), and an old proxy keeps the vulnerabilities of its
    release after the control plane was upgraded.

    Fires per workload whose running proxies (Pods, or a concrete proxy image in its own
    spec) run a minor version ahead of istiod's or more than one behind, when the mesh runs a
    single istiod minor version (with several revisions the right one is not known).
    """
    minors = {minor_versions(tag)[0] for _, _, tag in _istiods(ctx)}
    if len(minors) != 1:
        return
    (cp,) = minors
    for w in ctx.index.workloads:
        if w.owned or is_istiod(w.obj.name, w.labels):
            continue
        for pod, tag in _proxy_tags(ctx, w):
            dp = minor_versions(tag)[0]
            if dp[0] != cp[0]:
                continue
            ahead = dp[1] > cp[1]
            if not ahead and cp[1] - dp[1] <= 1:
                continue
            how = "ahead of" if ahead else f"{cp[1] - dp[1]} minor versions behind"
            yield Result(
                resource=w.obj.ref,
                path=f"{w.spec_path}.containers",
                message=(
                    f"{w.obj.kind} {w.namespace}/{w.obj.name} runs proxy {tag} ({pod}), "
                    f"{how} istiod {cp[0]}.{cp[1]}"
                ),
                evidence={"proxy": tag, "control_plane": f"{cp[0]}.{cp[1]}", "pod": pod},
            )
            break
