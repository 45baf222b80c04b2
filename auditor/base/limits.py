"""Resource bounds on what mesh-audit reads and renders (docs/limits.md).

Every input is untrusted: a file can be a gzip bomb, a YAML alias bomb, a FIFO that never ends, a
link to /dev/zero, or hold a 50 MB annotation value. Each bound here turns such input into one
clear line (exit 2) or a warning, instead of an out-of-memory kill, a hang or a stalled PDF.

The values are module state so tests can lower them (`monkeypatch.setattr(LIMITS, ...)`) instead
of writing gigabyte files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Limits:
    # Bytes of one input file, after gzip decompression. The largest benchmark mesh (101k
    # objects) is 253 MB of YAML and a 210 MB snapshot.
    max_file_bytes: int = 1 << 30
    # Bytes of a snapshot in the streamed layout (one object per line), after decompression. It
    # is read object by object and never held whole, so it may be larger: a 1M-object mesh's
    # snapshot is 2.9 GB (benchmarks/README.md).
    max_streamed_bytes: int = 8 << 30
    # Bytes of one line of a streamed snapshot: one object. The API server refuses objects over
    # 3 MiB (etcd's limit is 1.5 MiB); 64 MiB leaves room for any real object.
    max_object_line_bytes: int = 64 << 20
    # Nodes that YAML aliases may add to one document when expanded (each alias counts the size
    # of what it points to). kubectl and Helm output has no aliases; a handful of hand-written
    # anchors stays far below this, while a "billion laughs" document is refused.
    max_alias_expansion: int = 10_000
    # Files read from input directories (a directory with more is refused, not half read).
    max_files: int = 100_000
    # Bytes of a --mesh-config file (a MeshConfig is a few KB; istiod's ConfigMap is bounded by
    # the API server's object limit of about 1.5 MiB). A larger file is refused, not cut.
    max_mesh_config_bytes: int = 16 << 20
    # Characters of one tenant string shown in rendered reports (HTML, PDF, terminal, CSV,
    # SARIF, JUnit); report.json keeps the full value.
    max_rendered_chars: int = 1_000


LIMITS = Limits()
