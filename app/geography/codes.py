"""Normalisation of codes the way people and platforms type them."""

from __future__ import annotations

import re

_COMMUNE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
_POSTAL_CODE = re.compile(r"^\d{5}$")
_NOISE = re.compile(r"[\s.\-_]")


def normalise_commune_code(text: str) -> str | None:
    """'2a004', ' 75 115 ' -> '2A004', '75115'; None when it cannot be an INSEE commune code."""
    code = _NOISE.sub("", text).upper()
    if len(code) == 4 and code.isdigit():  # a leading zero lost by a spreadsheet: 1001 -> 01001
        code = "0" + code
    return code if _COMMUNE_CODE.match(code) else None


def normalise_postal_code(text: str) -> str | None:
    code = _NOISE.sub("", text)
    if len(code) == 4 and code.isdigit():
        code = "0" + code
    return code if _POSTAL_CODE.match(code) else None
