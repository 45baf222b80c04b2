"""Pre-merge audits: the cluster as it would be after applying a set of files.

`scan --context prod --from changes/` reads the cluster, then lays the files' objects over it the
way `istioctl analyze` combines a live cluster with local files: an object in the files replaces
the live object of the same kind, namespace and name, or is added (a namespaced object without a
namespace goes to `default`, as the loader does). Nothing is deleted: a change that removes an
object cannot be expressed by files, as with istioctl. The overlay is audited, and compared with
the audit of the live cluster alone, so every finding is marked `baseline_status` `new` (the
change introduces it) or `unchanged`, and findings the change fixes are listed in `resolved[]`.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.input.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class OverlayCounts:
    replaced: int
    added: int


def apply_overlay(live: Snapshot, files: Snapshot) -> OverlayCounts:
    """Lay `files` over `live` (in place): file objects replace or add to live ones."""
    replaced = added = 0
    for obj in files.all_objects():
        if live.put(obj):
            replaced += 1
        else:
            added += 1
    live.warnings.extend(files.warnings)
    live.lines.update(files.lines)
    live.source.paths = list(files.source.paths)
    return OverlayCounts(replaced=replaced, added=added)
