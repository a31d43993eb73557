"""Person matching (pure): deterministic identifiers first, then names, DOB and address."""

from hub.matching.identifiers import nhs_number_valid, pnc_id_valid, upn_valid
from hub.matching.match import Candidate, MatchResult, match_subject

__all__ = [
    "Candidate",
    "MatchResult",
    "match_subject",
    "nhs_number_valid",
    "pnc_id_valid",
    "upn_valid",
]
