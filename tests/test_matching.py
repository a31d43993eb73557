"""Person matching: identifiers first (validated), then names, DOB and address; tricky cases."""

from __future__ import annotations

from datetime import date

from hub.matching import Candidate, match_subject, nhs_number_valid, pnc_id_valid, upn_valid
from hub.matching.identifiers import nhs_check_digit, pnc_check_letter, upn_check_letter


def _subject(
    given: str, family: str, dob: date | None, postcode: str = "RM17 6AB", **ids: str
) -> dict:
    return {
        "subject_id": "s1",
        "role": "CHILD",
        "given_names": given,
        "family_name": family,
        "other_names": [],
        "date_of_birth": dob,
        "address": {"lines": ["1 High St"], "town": "Grays", "postcode": postcode},
        "identifiers": {
            "nhs_number": ids.get("nhs"),
            "upn": ids.get("upn"),
            "pnc_id": ids.get("pnc"),
        },
    }


def _nhs(first_nine: str) -> str:
    return first_nine + str(nhs_check_digit(first_nine))


AVA = Candidate("p1", "Ava", "Smith", date(2019, 3, 4), "RM17 6AB")


def test_nhs_modulus_11() -> None:
    """943 476 5919 is valid; changing any digit breaks the check."""
    assert nhs_number_valid("943 476 5919")
    assert not nhs_number_valid("943 476 5918")
    assert not nhs_number_valid("12345")


def test_upn_and_pnc_check_characters() -> None:
    """UPN check letters and PNC check characters are computed and enforced."""
    body = "82320012201" + "5"
    upn = upn_check_letter(body) + body
    assert upn_valid(upn)
    assert not upn_valid(("A" if upn[0] != "A" else "B") + body)
    pnc = f"05/0123456{pnc_check_letter('05', 123456)}"
    assert pnc_id_valid(pnc) and pnc_id_valid(pnc.replace("0123456", "123456"))
    assert not pnc_id_valid(pnc[:-1] + ("A" if pnc[-1] != "A" else "B"))


def test_valid_nhs_number_confirms() -> None:
    """A valid NHS number held by the agency gives CONFIRMED by NHS_NUMBER."""
    nhs = _nhs("401023213")
    c = Candidate(
        "p9", "Ava", "Smith", date(2019, 3, 4), "RM17 6AB", identifiers={"nhs_number": nhs}
    )
    result = match_subject(_subject("Ava", "Smith", date(2019, 3, 4), nhs=nhs), [c])
    assert (result.person_id, result.method, result.confidence) == ("p9", "NHS_NUMBER", "CONFIRMED")


def test_invalid_nhs_number_is_reported_not_trusted() -> None:
    """A number failing its check digit is noted and matching falls back to name and DOB."""
    bad = "9434765918"
    c = Candidate(
        "p9", "Ava", "Smith", date(2019, 3, 4), "RM17 6AB", identifiers={"nhs_number": bad}
    )
    result = match_subject(_subject("Ava", "Smith", date(2019, 3, 4), nhs=bad), [c])
    assert result.method == "NAME_DOB_ADDRESS" and result.confidence == "PROBABLE"
    assert any("NHS number is invalid" in n for n in result.notes)


def test_name_dob_address_is_probable_never_confirmed() -> None:
    """Without an identifier the best band is PROBABLE."""
    result = match_subject(_subject("Ava", "Smith", date(2019, 3, 4)), [AVA])
    assert (result.person_id, result.confidence) == ("p1", "PROBABLE")


def test_twins_are_told_apart() -> None:
    """Same surname, DOB and address: the twin with the right given name is chosen."""
    twin = Candidate("p2", "Isla", "Smith", date(2019, 3, 4), "RM17 6AB")
    result = match_subject(_subject("Isla", "Smith", date(2019, 3, 4)), [AVA, twin])
    assert result.person_id == "p2" and result.confidence == "PROBABLE"


def test_same_name_different_dob_is_no_match() -> None:
    """Two people with one name but different dates of birth are not merged."""
    result = match_subject(_subject("Ava", "Smith", date(2015, 8, 21)), [AVA])
    assert result.confidence == "NO_MATCH" and result.person_id is None


def test_day_month_swap_is_only_possible() -> None:
    """4 March vs 3 April: flagged and gated as POSSIBLE (verify before release)."""
    result = match_subject(_subject("Ava", "Smith", date(2019, 4, 3)), [AVA])
    assert result.confidence == "POSSIBLE" and result.person_id == "p1"
    assert any("day/month" in n for n in result.notes)


def test_hyphenated_and_double_barrelled_surnames() -> None:
    """'Smith-Jones' finds 'Smith' and 'Jones Smith'."""
    for held in ("Smith", "Jones Smith"):
        c = Candidate("p3", "Ava", held, date(2019, 3, 4), "RM17 6AB")
        result = match_subject(_subject("Ava", "Smith-Jones", date(2019, 3, 4)), [c])
        assert result.person_id == "p3" and result.confidence == "PROBABLE", held


def test_changed_surname_through_previous_names() -> None:
    """A mother who took a new surname is found through her previous name."""
    c = Candidate("p4", "Laura", "Brown", date(1990, 1, 2), "RM17 6AB", other_names=("Smith",))
    result = match_subject(_subject("Laura", "Smith", date(1990, 1, 2)), [c])
    assert result.person_id == "p4" and result.confidence == "PROBABLE"


def test_nickname_and_typo() -> None:
    """'Bobby Smyth' matches 'Robert Smith' with the same DOB and address."""
    c = Candidate("p5", "Robert", "Smith", date(2012, 6, 1), "RM17 6AB")
    result = match_subject(_subject("Bobby", "Smyth", date(2012, 6, 1)), [c])
    assert result.person_id == "p5" and result.confidence == "PROBABLE"


def test_stranger_is_no_match() -> None:
    """A different name and DOB matches nobody."""
    result = match_subject(_subject("Noah", "Patel", date(2001, 1, 1), postcode="SS17 0AA"), [AVA])
    assert result.confidence == "NO_MATCH"
