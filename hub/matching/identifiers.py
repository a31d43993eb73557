"""Validation of UK identifiers: NHS number (modulus 11), Unique Pupil Number (check letter),
Police National Computer id. An invalid identifier is reported, never trusted for a match."""

from __future__ import annotations

import re

_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # 23 letters: no I, O, S


def normalise_nhs(value: str) -> str:
    """Digits only."""
    return re.sub(r"\D", "", value)


def nhs_number_valid(value: str) -> bool:
    """10 digits whose 10th is the modulus-11 check digit of the first nine."""
    digits = normalise_nhs(value)
    if len(digits) != 10:
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def nhs_check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None if no valid number starts with them."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(first_nine))
    check = 11 - total % 11
    return None if check == 10 else (0 if check == 11 else check)


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it (DfE algorithm)."""
    values = [_UPN_LETTERS.index(c) if c.isalpha() else int(c) for c in body]
    total = sum(v * w for v, w in zip(values, range(2, 14), strict=True))
    return _UPN_LETTERS[total % 23]


def upn_valid(value: str) -> bool:
    """13 characters: check letter, 3-digit LA code, 4-digit establishment, 2-digit year,
    3-digit serial with an optional letter in the last place; the check letter must match."""
    upn = value.strip().upper()
    if not re.fullmatch(r"[A-Z]\d{11}[0-9A-Z]", upn):
        return False
    if upn[0] not in _UPN_LETTERS or (upn[-1].isalpha() and upn[-1] not in _UPN_LETTERS):
        return False
    return upn_check_letter(upn[1:]) == upn[0]


_PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"  # PNC check character table (index = serial % 23)


def normalise_pnc(value: str) -> str:
    """YY/NNNNNNNA with the serial zero-padded to 7 digits."""
    match = re.fullmatch(r"\s*(\d{2})/(\d{1,7})([A-Za-z])\s*", value)
    if not match:
        return value.strip().upper()
    return f"{match.group(1)}/{int(match.group(2)):07d}{match.group(3).upper()}"


def pnc_check_letter(year: str, serial: int) -> str:
    """The PNC check character for a year and serial."""
    return _PNC_LETTERS[int(f"{year}{serial:07d}") % 23]


def pnc_id_valid(value: str) -> bool:
    """YY/NNNNNNNA whose letter is the check character of the year and serial."""
    match = re.fullmatch(r"(\d{2})/(\d{7})([A-Z])", normalise_pnc(value))
    if not match:
        return False
    return pnc_check_letter(match.group(1), int(match.group(2))) == match.group(3)
