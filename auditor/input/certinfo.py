"""What a TLS Secret's certificate says about itself, read once when the Secret is loaded.

The snapshot never keeps Secret values. A gateway credential's *certificate* is public (every
client receives it), so the loader keeps a small summary of it: which key holds it, whether it is
PEM, and its validity period. The private key is never read.

Istio's credential reader (`ExtractCertInfo`) takes `cert`/`key` first, then `tls.crt`/`tls.key`,
each pair only when both values are non-empty; `ca.crt` or `cacert` is the client CA for MUTUAL.

A PEM block whose DER does not parse is reported as `unparsed`, not as invalid: exported
snapshots often replace certificates with placeholders, and an audit must not call those broken.
A value with no PEM certificate block at all cannot be loaded by the gateway and is `not-pem`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

CERT_KEYS = (("cert", "key"), ("tls.crt", "tls.key"))
CA_KEYS = ("ca.crt", "cacert")

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(?P<body>.*?)-----END CERTIFICATE-----", re.DOTALL)


def _decode(value: Any, base64_encoded: bool) -> bytes | None:
    if not isinstance(value, str):
        return None
    if not base64_encoded:
        return value.encode()
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return None


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at `pos`."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, pos, end


def _time(tag: int, raw: bytes) -> str:
    text = raw.decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise ValueError("not a time")
    moment = datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def validity(der: bytes) -> tuple[str, str]:
    """(notBefore, notAfter) of an X.509 certificate, as RFC 3339 UTC strings."""
    _, cert, _ = _tlv(der, 0)  # Certificate SEQUENCE
    _, pos, tbs_end = _tlv(der, cert)  # tbsCertificate SEQUENCE
    tag, _, end = _tlv(der, pos)
    if tag == 0xA0:  # [0] version
        pos = end
    for _ in range(3):  # serialNumber, signature, issuer
        _, _, pos = _tlv(der, pos)
    tag, pos, _ = _tlv(der, pos)  # validity SEQUENCE
    if tag != 0x30 or pos >= tbs_end:
        raise ValueError("no validity")
    tag1, s1, e1 = _tlv(der, pos)
    tag2, s2, e2 = _tlv(der, e1)
    return _time(tag1, der[s1:e1]), _time(tag2, der[s2:e2])


def summarize(data: Mapping[str, Any] | None, base64_encoded: bool = True) -> dict[str, Any] | None:
    """The certificate summary of a Secret's `data` (base64) or `stringData` mapping."""
    if not isinstance(data, Mapping):
        return None
    for cert_key, key_key in CERT_KEYS:
        if data.get(cert_key) and data.get(key_key):
            break
    else:
        return None
    raw = _decode(data[cert_key], base64_encoded)
    summary: dict[str, Any] = {"key": cert_key, "format": "not-pem"}
    if raw is None:
        return summary
    match = _PEM.search(raw)
    if match is None:
        return summary
    summary["format"] = "unparsed"
    try:
        der = base64.b64decode(b"".join(match.group("body").split()), validate=True)
        not_before, not_after = validity(der)
    except (binascii.Error, ValueError, IndexError, UnicodeDecodeError):
        return summary
    summary.update(format="pem", not_before=not_before, not_after=not_after)
    return summary
