"""Which app namespaces a mesh of a given size holds, and their planted problems."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .model import (
    APP_WORDS,
    EXTERNAL_HOSTS,
    NAMESPACES_PER_GATEWAY,
    NAMESPACES_PER_SHARD,
    PROBLEMS,
    REPLICAS,
    TEAM_WORDS,
)


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
