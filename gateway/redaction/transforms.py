"""Field transforms: release a reduced form of a value instead of the value itself.

A transform is declared per field path in an agreement (``{path: nino, transform: {mask:
{keep_last: 2}}}``) and parsed here into a :class:`TransformSpec`. Every transform that releases
something releases less than the raw value: masking and truncation always remove at least one
character, generalisation keeps only a year, a postcode district or a numeric band, and a
pseudonym is a keyed hash. A value a transform cannot reduce safely becomes null (fail closed).
"""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from gateway.envelope.mac import HmacSha256

__all__ = [
    "KEEP",
    "Pseudonymiser",
    "TransformKind",
    "TransformSpec",
    "derive_pseudonym_key",
    "generalise",
    "mask",
    "parse_transform",
    "pseudonymise",
    "transform_function",
    "truncate",
]

MASK_CHARACTER = "*"

ValueTransform = Callable[[Any], Any]


class TransformKind(StrEnum):
    """What happens to a released field."""

    KEEP = "keep"
    """Released as it is (the default)."""
    DROP = "drop"
    """Not released, even though an enclosing path is."""
    MASK = "mask"
    """Every character replaced by ``*`` except the first/last few the agreement names."""
    PSEUDONYM = "pseudonym"
    """A keyed hash: the same value gives the same pseudonym within one agreement only."""
    GENERALISE = "generalise"
    """A date becomes its year, a postcode its district, a number its band."""
    TRUNCATE = "truncate"
    """Only the first N characters (and always fewer than the value has)."""


@dataclass(frozen=True, slots=True)
class TransformSpec:
    """A parsed transform and its options; build with :func:`parse_transform`."""

    kind: TransformKind
    keep_first: int = 0
    keep_last: int = 0
    length: int = 0
    """Characters ``truncate`` keeps at most."""
    band: int | None = None
    """Width of the bands ``generalise`` puts numbers into."""

    @property
    def name(self) -> str:
        return self.kind.value

    def as_yaml(self) -> object:
        """The form an agreement writes, e.g. ``{"mask": {"keep_last": 2}}`` or ``"drop"``."""
        kind = self.kind
        if kind is TransformKind.MASK and (self.keep_first or self.keep_last):
            options = {"keep_first": self.keep_first, "keep_last": self.keep_last}
            return {"mask": {k: v for k, v in options.items() if v}}
        if kind is TransformKind.TRUNCATE:
            return {"truncate": self.length}
        if kind is TransformKind.GENERALISE and self.band is not None:
            return {"generalise": {"band": self.band}}
        return kind.value


KEEP = TransformSpec(TransformKind.KEEP)
"""Release the value as it is."""

_NO_OPTIONS = frozenset({TransformKind.KEEP, TransformKind.DROP, TransformKind.PSEUDONYM})
_KINDS = ", ".join(kind.value for kind in TransformKind)


def parse_transform(value: object) -> TransformSpec:
    """Parse an agreement's ``transform`` value; raise ``ValueError`` saying what is wrong."""
    if isinstance(value, TransformSpec):
        return value
    if isinstance(value, str):
        kind = _kind(value)
        if kind is TransformKind.TRUNCATE:
            raise ValueError("truncate needs a length, e.g. {truncate: 3}")
        return TransformSpec(kind)
    if isinstance(value, Mapping) and len(value) == 1:
        ((name, options),) = value.items()
        kind = _kind(name)
        if kind in _NO_OPTIONS:
            if options not in (None, {}):
                raise ValueError(f"{kind.value} takes no options")
            return TransformSpec(kind)
        if kind is TransformKind.TRUNCATE:
            return TransformSpec(kind, length=_count(options, "truncate", minimum=1))
        opts = _options(kind, options)
        if kind is TransformKind.MASK:
            first = _count(opts.pop("keep_first", 0), "keep_first")
            last = _count(opts.pop("keep_last", 0), "keep_last")
            _no_extra(kind, opts)
            return TransformSpec(kind, keep_first=first, keep_last=last)
        band = opts.pop("band", None)
        _no_extra(kind, opts)
        return TransformSpec(kind, band=None if band is None else _count(band, "band", minimum=1))
    raise ValueError(
        f"a transform is one of {_KINDS}, or one of them with options, e.g. "
        "{mask: {keep_last: 2}} or {truncate: 3}"
    )


def _kind(name: object) -> TransformKind:
    try:
        return TransformKind(str(name)) if isinstance(name, str) else TransformKind("")
    except ValueError:
        raise ValueError(f"{name!r} is not a transform; use one of {_KINDS}") from None


def _options(kind: TransformKind, options: object) -> dict[str, object]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValueError(f"{kind.value} options must be keys and values, e.g. {{band: 10}}")
    return {str(k): v for k, v in options.items()}


def _no_extra(kind: TransformKind, options: Mapping[str, object]) -> None:
    if options:
        raise ValueError(f"unknown {kind.value} option(s): {', '.join(sorted(options))}")


def _count(value: object, what: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} must be a whole number of at least {minimum}")
    return value


# --- the value functions --------------------------------------------------------------------


def mask(value: str, keep_first: int = 0, keep_last: int = 0) -> str:
    """``value`` with all but its first/last few characters replaced by ``*``.

    If the kept characters would cover the whole value, every character is masked.
    """
    n = len(value)
    if keep_first + keep_last >= n:
        return MASK_CHARACTER * n
    return (
        value[:keep_first] + MASK_CHARACTER * (n - keep_first - keep_last) + value[n - keep_last :]
    )


def truncate(value: str, length: int) -> str:
    """At most ``length`` leading characters, and always at least one fewer than ``value`` has."""
    return value[: min(length, len(value) - 1)] if value else value


_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})")


def postcode_district(value: str) -> str | None:
    """The outward code of a UK postcode (``"LS1 1AA"`` -> ``"LS1"``); None if it is no postcode."""
    match = _POSTCODE.fullmatch(value.upper()) or _POSTCODE.fullmatch(
        "".join(value.upper().split())
    )
    return match.group(1) if match else None


def generalise(value: Any, band: int | None = None) -> Any:
    """A date's year, a postcode's district, or a number's band (``1234`` -> ``"1000 to 1499"``
    with ``band=500``); None for anything else, so nothing ungeneralised is released."""
    cls = type(value)
    if cls is int:
        if band is None:
            return None
        low = value - value % band
        return f"{low} to {low + band - 1}"
    if cls is str:
        return postcode_district(value)
    if isinstance(value, date):
        return value.year
    if cls is float and band is not None and math.isfinite(value):
        low = math.floor(value / band) * band
        return f"{low} to under {low + band}"
    return None


def derive_pseudonym_key(secret: bytes, agreement_id: str) -> bytes:
    """The pseudonym key of one agreement: pseudonyms are stable within it, unlinkable across."""
    return hmac.digest(secret, b"dx-gateway pseudonym\x00" + agreement_id.encode(), "sha256")


class Pseudonymiser:
    """HMAC-SHA256 pseudonyms under one key; case and spacing of text do not change them.

    The key's pads are hashed once (:class:`~gateway.envelope.mac.HmacSha256`). The output
    equals ``hmac.new(key, value, sha256)``'s, truncated to 96 bits.
    """

    __slots__ = ("_mac",)

    def __init__(self, key: bytes) -> None:
        self._mac = HmacSha256(key)

    def __call__(self, value: Any) -> str | None:
        if type(value) is bool:  # two possible values: a pseudonym would hide nothing
            return None
        text = "".join(str(value).split()).casefold()
        return "pn-" + self._mac.digest(text.encode())[:12].hex()


def pseudonymise(key: bytes, value: Any) -> str | None:
    """The pseudonym of ``value`` under ``key`` (see :class:`Pseudonymiser`)."""
    return Pseudonymiser(key)(value)


def transform_function(spec: TransformSpec, pseudonym_key: bytes | None) -> ValueTransform:
    """The function a leaf transform applies to one non-null scalar value.

    Text transforms given something other than text return None (fail closed).
    """
    kind = spec.kind
    if kind is TransformKind.MASK:
        first, last = spec.keep_first, spec.keep_last

        def masked(value: Any) -> str | None:
            return mask(value, first, last) if type(value) is str else None

        return masked
    if kind is TransformKind.TRUNCATE:
        length = spec.length

        def truncated(value: Any) -> str | None:
            if type(value) is not str:
                return None
            return value[: min(length, len(value) - 1)] if value else value

        return truncated
    if kind is TransformKind.GENERALISE:
        band = spec.band
        return generalise if band is None else lambda value: generalise(value, band)
    if kind is TransformKind.PSEUDONYM:
        if pseudonym_key is None:
            raise ValueError("pseudonym transforms need the gateway's pseudonym secret")
        return Pseudonymiser(pseudonym_key)
    raise ValueError(f"{kind.value} is not a value transform")
