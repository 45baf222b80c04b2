"""The object factory the mesh builders use."""

from __future__ import annotations

from .services import Services
from .workloads import Workloads


class Gen(Workloads, Services):
    """Object factory: deterministic ids, timestamps and resourceVersions from one RNG."""
