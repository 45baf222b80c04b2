"""Reading one input file within the limits, and the document shapes every loader shares
(the main process in auditor/input/files.py and the YAML workers in auditor/input/yamlpool.py)."""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import Any

from auditor.base.errors import InputError
from auditor.base.limits import LIMITS

YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIXES = (".json", ".json.gz")


class UnreadableInput(InputError):
    """A file that could not be opened or read (permissions, I/O, a broken gzip stream)."""


def too_large(path: Path | str, what: str = "file") -> InputError:
    return InputError(
        f"{path}: {what} is larger than {LIMITS.max_file_bytes} bytes, the input limit "
        "(docs/limits.md)"
    )


def read_bounded(path: Path) -> bytes:
    """The file's bytes (gunzipped if gzip), refusing more than `max_file_bytes` either way."""
    cap = LIMITS.max_file_bytes
    try:
        with path.open("rb") as fh:
            data = fh.read(cap + 1)
        if len(data) > cap:
            raise too_large(path)
        if data[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                data = gz.read(cap + 1)
            if len(data) > cap:
                raise too_large(path, "decompressed content")
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UnreadableInput(f"{path}: cannot read: {reason}") from exc
    return data


def is_list(doc: Any) -> bool:
    kind = doc.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and "items" in doc


def item_list(doc: Any) -> list[Any] | None:
    """The items of a `kind: List` (or `*List`) document, when they are a list."""
    if isinstance(doc, dict) and is_list(doc) and isinstance(doc["items"], list):
        return doc["items"]
    return None
