"""Shape checks for the fields mesh-audit reads, so checks can trust the types they see.

The API server validates objects against their schema before it stores them, but files hold
whatever someone typed. An object whose fields have the wrong type could never exist in a cluster,
so the loader leaves it out of the audit and reports why in `warnings[]`. The language is in
auditor/input/shape_lang.py, the specs per kind in auditor/input/shape_specs.py; this module applies
them.
"""

from __future__ import annotations

from typing import Any

from auditor.input.shape_code import Predicate, compile_specs
from auditor.input.shape_lang import MapOf, ShapeProblem, validate
from auditor.input.shape_specs import METADATA, SPEC_REQUIRED, SPECS

__all__ = [
    "METADATA",
    "SPECS",
    "SPEC_REQUIRED",
    "MapOf",
    "ShapeProblem",
    "check_object",
    "shape_ok",
    "shape_predicate",
    "validate",
]


# The API server refuses an object whose annotations total more than 256 KiB (keys and values;
# apimachinery ValidateAnnotationsSize, TotalAnnotationSizeLimitB), pod templates included.
ANNOTATIONS_MAX_BYTES = 256 * 1024


def _annotations_size(meta: Any) -> int:
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict):
        return 0
    return sum(len(str(k)) + len(v) for k, v in annotations.items() if isinstance(v, str))


def _annotation_problems(obj: dict[str, Any]) -> list[ShapeProblem]:
    out = []
    spec = obj.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    for path, meta in (
        ("metadata.annotations", obj.get("metadata")),
        (
            "spec.template.metadata.annotations",
            template.get("metadata") if isinstance(template, dict) else None,
        ),
    ):
        size = _annotations_size(meta)
        if size > ANNOTATIONS_MAX_BYTES:
            out.append(
                ShapeProblem(
                    path,
                    f"{size} characters in all, over the API server's limit of "
                    f"{ANNOTATIONS_MAX_BYTES}",
                    True,
                )
            )
    return out


def shape_ok(group: str, kind: str, obj: dict[str, Any]) -> bool:
    """Whether `check_object` finds nothing wrong with `obj` (the common case), with no paths
    or messages built."""
    return _FAST.get((group, kind), _fast_metadata_only)(obj)


def shape_predicate(group: str, kind: str) -> Predicate:
    """`shape_ok` for one kind, as one function of the object."""
    return _FAST.get((group, kind), _fast_metadata_only)


def check_object(group: str, kind: str, obj: dict[str, Any]) -> list[ShapeProblem]:
    """Problems with the fields mesh-audit reads; a fatal one means the object is left out."""
    key = (group, kind)
    if _FAST.get(key, _fast_metadata_only)(obj):
        return []  # the common case: no problem, and no paths or messages built
    too_big = _annotation_problems(obj)
    if too_big:
        return too_big
    out: list[ShapeProblem] = []
    validate(obj, METADATA, "", out)
    spec = SPECS.get(key)
    if spec is None:
        return out
    if key in SPEC_REQUIRED and obj.get("spec") is None:
        out.append(ShapeProblem("spec", "is missing", fatal=True))
        return out
    validate(obj, spec, "", out)
    return out


def _fast_for(key: tuple[str, str]) -> Predicate:
    spec = SPECS.get(key)
    if spec is None:
        return _fast_metadata_only
    required = ("spec",) if key in SPEC_REQUIRED else ()
    return compile_specs(
        METADATA,
        spec,
        required=required,
        sized=_SIZED,
        max_size=ANNOTATIONS_MAX_BYTES,
        name="ok_" + "_".join(key).replace(".", "_"),
    )


# the annotations `_annotation_problems` bounds: counted in the predicate's own loop over them
_SIZED = (("metadata", "annotations"), ("spec", "template", "metadata", "annotations"))
_fast_metadata_only = compile_specs(
    METADATA, sized=_SIZED, max_size=ANNOTATIONS_MAX_BYTES, name="ok_metadata"
)
_FAST: dict[tuple[str, str], Predicate] = {key: _fast_for(key) for key in SPECS}
