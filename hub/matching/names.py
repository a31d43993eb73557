"""Name comparison: normalisation, nicknames, phonetic keys and typo-tolerant similarity."""

from __future__ import annotations

import re
import unicodedata

import jellyfish
from rapidfuzz.distance import JaroWinkler

NICKNAMES: dict[str, set[str]] = {
    "robert": {"rob", "bob", "bobby", "robbie", "bert"},
    "william": {"will", "bill", "billy", "liam", "willy"},
    "elizabeth": {"liz", "lizzie", "beth", "betty", "eliza", "libby"},
    "margaret": {"maggie", "meg", "peggy", "maisie"},
    "katherine": {"kate", "kath", "katie", "kathy", "kitty"},
    "catherine": {"kate", "cath", "cathy", "katie"},
    "james": {"jim", "jimmy", "jamie"},
    "john": {"jack", "johnny"},
    "jonathan": {"jon", "jonny"},
    "michael": {"mike", "mikey", "mick"},
    "thomas": {"tom", "tommy"},
    "alexander": {"alex", "sandy", "xander"},
    "alexandra": {"alex", "lexi", "sandra"},
    "christopher": {"chris", "kit"},
    "daniel": {"dan", "danny"},
    "samuel": {"sam", "sammy"},
    "samantha": {"sam", "sammy"},
    "joseph": {"joe", "joey"},
    "benjamin": {"ben", "benny"},
    "edward": {"ed", "eddie", "ted", "teddy"},
    "richard": {"rich", "rick", "dick", "richie"},
    "charles": {"charlie", "chas", "chuck"},
    "charlotte": {"charlie", "lottie"},
    "rebecca": {"becky", "becca"},
    "victoria": {"vicky", "tori"},
    "jennifer": {"jen", "jenny"},
    "jessica": {"jess", "jessie"},
    "matthew": {"matt"},
    "nicholas": {"nick", "nicky"},
    "anthony": {"tony"},
    "stephen": {"steve"},
    "steven": {"steve"},
    "patricia": {"pat", "patty", "trish"},
    "susan": {"sue", "susie"},
    "deborah": {"debbie", "deb"},
    "amelia": {"millie", "amy"},
    "oliver": {"ollie"},
    "harry": {"harold", "hal"},
    "henry": {"harry", "hal"},
    "frederick": {"fred", "freddie"},
    "isabella": {"bella", "izzy", "issy"},
    "isabel": {"bella", "izzy"},
    "abigail": {"abby", "abi"},
    "florence": {"flo", "florrie"},
    "georgina": {"georgie"},
    "eleanor": {"ellie", "nell"},
    "ellen": {"ellie", "nell"},
    "sophia": {"sophie"},
}
_CANONICAL: dict[str, set[str]] = {}
for _full, _short in NICKNAMES.items():
    for _name in {_full, *_short}:
        _CANONICAL.setdefault(_name, set()).add(_full)


def normalise(name: str) -> str:
    """Lower case, accents removed, only letters, spaces and hyphens kept."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z\- ]", "", text).strip()


def tokens(name: str) -> list[str]:
    """Parts of a name: hyphenated and double-barrelled surnames split into their parts."""
    return [t for t in re.split(r"[\s\-]+", normalise(name)) if t]


def same_given(a: str, b: str) -> bool:
    """Equal, or one is a known nickname of the other."""
    a, b = normalise(a), normalise(b)
    return a == b or bool(_CANONICAL.get(a, {a}) & _CANONICAL.get(b, {b}))


def given_similarity(a: str, b: str) -> float:
    """1.0 for the same name or a nickname; else Jaro-Winkler of the first given names."""
    first_a, first_b = (tokens(a) or [""])[0], (tokens(b) or [""])[0]
    if not first_a or not first_b:
        return 0.0
    if same_given(first_a, first_b):
        return 1.0
    return float(JaroWinkler.similarity(first_a, first_b))


def family_similarity(a: str, b_names: list[str]) -> float:
    """Best similarity of surname ``a`` to any of ``b_names`` (current and previous), counting a
    shared part of a hyphenated or double-barrelled name as a near-match."""
    best = 0.0
    for b in b_names:
        na, nb = normalise(a).replace("-", " "), normalise(b).replace("-", " ")
        if not na or not nb:
            continue
        if na == nb:
            return 1.0
        score = float(JaroWinkler.similarity(na, nb))
        if set(tokens(a)) & set(tokens(b)):
            score = max(score, 0.92)
        if jellyfish.metaphone(na) == jellyfish.metaphone(nb):
            score = max(score, 0.9)
        best = max(best, score)
    return best


def surname_key(name: str) -> str:
    """Blocking key: metaphone of the first surname part."""
    parts = tokens(name)
    return jellyfish.metaphone(parts[0]) if parts else ""
