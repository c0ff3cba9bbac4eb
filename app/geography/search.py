"""Commune search for booking screens: what a patient types -> INSEE communes, best first.

The index is built once, at start-up, from the Geography and the old names of merged communes
(geodata/commune_old_names.csv); a search is then a few bisections in sorted arrays. The rules
are this project's choice (no public text says how a location field must match):

- Folding: case, accents, œ/æ, hyphens, apostrophes and spaces do not matter; "st"/"ste" read
  "saint"/"sainte"; "lès", "lez" and "les" are one word; a leading article (le, la, les, l') may be
  left out.
- Names: the text must begin a name (today's name, the old name of a merged commune, or, for a
  municipal arrondissement of Paris, Lyon or Marseille, its city's name); the last word may be
  unfinished.
- Numbers narrow the names: an arrondissement number ("paris 15e", "lyon 3"), a postal code or an
  INSEE code fit exactly; a département ("saint denis 93") fits less; the first digits of a postal
  code least. "13 008" is read 13008.
- Digits alone: a postal code, whole or its first 2 to 4 digits; a whole code is also tried as an
  INSEE code (current, of an arrondissement, or the old code of a merged commune).
- Typos: when fewer than `limit` communes match, one word of 5 letters or more that is no word of
  any name (the last word: that begins none) may be one edit away from one (a letter missing,
  extra, wrong, or two neighbours swapped). These matches come after every exact one.
- Order: how well the numbers fit; a whole name before a name the text only begins; today's names
  before old names; larger population first; then name and code. One answer per commune.
"""

from __future__ import annotations

import bisect
import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from pathlib import Path

import numpy as np

from app.geography.model import Commune
from app.geography.resolver import CommuneMatch, Geography

OLD_NAMES_FILE = "commune_old_names.csv"
TYPO_MIN_LETTERS = 5
_WORD = re.compile(r"[a-z0-9]+")
_NOT_WORD = re.compile(r"[^\w\n]+|_+")  # a line break is kept: it separates names folded together
_NUMBER = re.compile(r"^([0-9]{1,5})(?:er|re|ere|e|eme|ieme|nd|nde)?$")
_CORSICAN_CODE = re.compile(r"^2[ab](?:[0-9]{3})?$")
_ORDINAL_SUFFIXES = frozenset({"er", "re", "ere", "e", "eme", "ieme", "nd", "nde"})
_ARRONDISSEMENT_ABBREVIATIONS = frozenset({"arrdt", "ardt", "arrt"})
_ARTICLES = frozenset({"le", "la", "les", "l"})
_SAME_WORD = {"st": "saint", "ste": "sainte", "lez": "les"}
_ARRONDISSEMENT_NAME = re.compile(r" ([0-9]+)(?:er|e) Arrondissement$")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_AFTER_KEYS = b"~"  # sorts after every key (keys hold only a-z and 0-9)
_NO_IDS = np.array([], dtype=np.int32)


class MatchKind(StrEnum):
    NAME = "name"
    OLD_NAME = "old_name"  # a commune déléguée or associée, merged into today's commune
    ARRONDISSEMENT = "arrondissement"  # a municipal arrondissement, found by its city's name
    POSTAL_CODE = "postal_code"
    INSEE_CODE = "insee_code"
    OLD_INSEE_CODE = "old_insee_code"


class Fit(IntEnum):
    """How a number of the text fits a commune, best first."""

    EXACT = 0  # its arrondissement number, one of its own postal codes, its INSEE code
    AREA = 1  # its département, or (a city) a postal code of one of its arrondissements
    PREFIX = 2  # the first digits of one of its postal codes
    NONE = 3


_NO_FIT = Fit.NONE.value


@dataclass(frozen=True, slots=True)
class OldName:
    old_code: str
    name: str
    current_code: str


@dataclass(frozen=True, slots=True)
class CommuneHit:
    commune: Commune
    kind: MatchKind
    matched: str  # what matched, as the reference writes it: a name, an old name, a code
    typo: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    words: tuple[str, ...]  # folded, "st" and "lez" not yet read as "saint" and "les"
    numbers: tuple[str, ...]  # digits, or a Corsican code ("2a", "2a004")


def fold(text: str) -> list[str]:
    """Lower-case ASCII words: accents and ligatures unfolded, whatever is not a letter or a digit a
    separator (an apostrophe as much as a space); other letters ("ø") dropped."""
    return _WORD.findall(_ascii(text))


def name_words_of(names: list[str]) -> list[tuple[str, ...]]:
    """`name_words` of many names: folded a thousand at a time, much faster than one by one, and
    small enough for the temporary strings to leave no lasting memory."""
    lines = [line for at in range(0, len(names), 1000) for line in _ascii("\n".join(names[at : at + 1000])).split("\n")]
    return [tuple([_SAME_WORD.get(w, w) for w in _WORD.findall(line)]) for line in lines]


def name_words(name: str) -> tuple[str, ...]:
    return name_words_of([name])[0]


def _ascii(text: str) -> str:
    text = text.lower().replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    text = _NOT_WORD.sub(" ", text)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def keys_of(words: tuple[str, ...]) -> tuple[str, ...]:
    """The keys a name is found by: its words run together, with and without its article."""
    if len(words) > 1 and words[0] in _ARTICLES:
        return "".join(words), "".join(words[1:])
    return ("".join(words),)


def parse_query(text: str) -> Query:
    """The words of a name, and the numbers that narrow it. Dropped after a number: ordinal
    suffixes typed apart ("15 e") and arrondissement words ("15e arr", "13 arrondissement")."""
    words: list[str] = []
    numbers: list[str] = []
    previous: str | None = None  # the number just read, when the last token was one
    after_number = False
    for token in fold(text):
        number = _NUMBER.match(token)
        if number or _CORSICAN_CODE.match(token):
            if previous is not None and _rest_of_postal_code(previous, token):
                numbers[-1] = previous = previous + token
            else:
                numbers.append(number.group(1) if number else token)
                previous = numbers[-1]
            after_number = True
            continue
        previous = None
        if after_number and (token in _ORDINAL_SUFFIXES or _is_arrondissement_word(token)):
            continue
        words.append(token)
        after_number = False
    return Query(tuple(words), tuple(numbers))


def _is_arrondissement_word(token: str) -> bool:
    """ "arrondissement", its abbreviations, or its beginning as it is being typed."""
    return "arrondissement".startswith(token) or token in _ARRONDISSEMENT_ABBREVIATIONS


def _rest_of_postal_code(previous: str, token: str) -> bool:
    """ "13 008": a département, then the rest of a postal code."""
    return previous.isdigit() and token.isdigit() and len(previous) in (2, 3) and len(previous + token) == 5


def read_old_names(path: Path) -> list[OldName]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [OldName(r["old_code"], r["old_name"], r["current_code"]) for r in csv.DictReader(handle)]


class OldNamesError(ValueError):
    """The old names of merged communes do not fit the geography (a file cut short, or of another
    vintage): the commune search's index could not be built from them."""


def checked_old_names(geography: Geography, old_names: list[OldName]) -> list[OldName]:
    """The old names, each with a name and a commune of the geography to lead to; or OldNamesError."""
    wrong = [o for o in old_names if not o.name or o.current_code not in geography.communes]
    if wrong:
        shown = ", ".join(f"{o.old_code} -> {o.current_code}" for o in wrong[:5])
        raise OldNamesError(f"{len(wrong)} old name(s) without a name or a commune of the geography: {shown}")
    return old_names


def typo_variants(word: str) -> set[str]:
    """Every word one edit away: a letter deleted, swapped with its neighbour, replaced or inserted."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deleted = {a + b[1:] for a, b in splits if b}
    swapped = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaced = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    inserted = {a + c + b for a, b in splits for c in _LETTERS}
    return (deleted | swapped | replaced | inserted) - {word}


class CommuneIndex:
    """Built once from the Geography; `search` then only reads it, from any number of requests.

    Communes are numbered by rank (larger population first), so a commune's id is its rank. Each
    name a commune is found by is an entry, numbered by rank too (today's names, then old names,
    each in commune rank order). Keys and postal codes sit in sorted fixed-width arrays.
    """

    def __init__(self, geography: Geography, old_names: Iterable[OldName]) -> None:
        self.geography = geography
        self._communes = sorted(geography.communes.values(), key=_commune_order)
        self._build_names(list(old_names))
        self._build_numbers()

    @classmethod
    def from_geodata(cls, geography: Geography, directory: Path) -> CommuneIndex:
        return cls(geography, checked_old_names(geography, read_old_names(directory / OLD_NAMES_FILE)))

    def _build_names(self, old_names: list[OldName]) -> None:
        """Entries: one per commune first (its name; an arrondissement's city name), by commune
        rank, so that their rank is the commune's id; then old names, by commune rank and name."""
        communes = self.geography.communes
        merged_into = {o.current_code for o in old_names}
        ids = {c.code: i for i, c in enumerate(self._communes) if c.code in merged_into}
        old = sorted((ids[o.current_code], o.name) for o in old_names)
        self._entry_commune = np.array(list(range(len(self._communes))) + [i for i, _ in old], dtype=np.int32)
        self._entry_text = [c.name for c in self._communes] + [name for _, name in old]
        self._entry_kind = [MatchKind.ARRONDISSEMENT if c.parent else MatchKind.NAME for c in self._communes]
        self._entry_kind += [MatchKind.OLD_NAME] * len(old)
        matched = [communes[c.parent].name if c.parent else c.name for c in self._communes] + [n for _, n in old]
        keys: list[bytes] = []
        key_ranks: list[int] = []
        vocabulary: set[str] = set()
        for rank, words in enumerate(name_words_of(matched)):
            vocabulary.update([w for w in words if len(w) >= TYPO_MIN_LETTERS - 1])
            for key in keys_of(words):
                keys.append(key.encode("ascii"))
                key_ranks.append(rank)
        self._keys, self._key_ranks = _sorted_with(np.array(keys), key_ranks)
        # sorted, fixed width: a word is known by one bisection, and so is the beginning of a word
        width = max(map(len, vocabulary), default=1)  # bytes, even for names without a word to correct
        self._vocabulary = np.array(sorted(w.encode("ascii") for w in vocabulary), dtype=f"S{width}")

    def _build_numbers(self) -> None:
        """Postal codes with their commune ids, sorted; commune ids by département and by
        arrondissement number; cities of arrondissements."""
        postal = [(p.encode("ascii"), i) for i, c in enumerate(self._communes) for p in c.postal_codes]
        self._postal_codes, self._postal_communes = _sorted_with(
            np.array([p for p, _ in postal]), [i for _, i in postal]
        )
        cities = {c.parent for c in self._communes if c.parent}
        self._is_city = np.array([c.code in cities for c in self._communes])
        departements: dict[str, list[int]] = {}
        arrondissements: dict[str, list[int]] = {}
        for i, commune in enumerate(self._communes):
            departements.setdefault(commune.departement.lower(), []).append(i)
            named = _ARRONDISSEMENT_NAME.search(commune.name) if commune.parent else None
            if named:
                arrondissements.setdefault(named.group(1), []).append(i)
        self._by_departement = {k: np.array(v, dtype=np.int32) for k, v in departements.items()}
        self._by_arrondissement = {k: np.array(v, dtype=np.int32) for k, v in arrondissements.items()}

    # ------------------------------------------------------------ searching

    def search(self, text: str, limit: int) -> list[CommuneHit]:
        query = parse_query(text)
        if not query.words:
            return self._by_code("".join(query.numbers), limit)
        hits = self._by_name(self._keys_for(query.words), query.numbers, limit, typo=False)
        if len(hits) < limit:
            seen = {h.commune.code for h in hits}
            corrected = self._by_name(self._typo_keys(query.words), query.numbers, limit + len(seen), typo=True)
            hits += [h for h in corrected if h.commune.code not in seen][: limit - len(hits)]
        return hits

    def _by_code(self, digits: str, limit: int) -> list[CommuneHit]:
        """Digits alone: a postal code (whole, or its first 2 to 4 digits), then an INSEE code."""
        hits: list[CommuneHit] = []
        if len(digits) == 5:
            postal = self.geography.postal_codes.get(digits)
            if postal is not None:
                found = sorted((self.geography.communes[c] for c in postal.communes), key=_commune_order)
                hits += [CommuneHit(c, MatchKind.POSTAL_CODE, digits) for c in found]
            match = self.geography.commune(digits)
            if isinstance(match, CommuneMatch) and all(h.commune.code != match.commune.code for h in hits):
                kind = MatchKind.OLD_INSEE_CODE if match.via_old_code else MatchKind.INSEE_CODE
                hits.append(CommuneHit(match.commune, kind, match.requested_code))
        elif 2 <= len(digits) <= 4 and digits.isdigit():
            for i in self._with_postal_prefix(digits)[:limit].tolist():
                commune = self._communes[i]
                first = next(p for p in commune.postal_codes if p.startswith(digits))
                hits.append(CommuneHit(commune, MatchKind.POSTAL_CODE, first))
        return hits[:limit]

    @staticmethod
    def _keys_for(words: tuple[str, ...]) -> list[str]:
        """The key of the typed words; an unfinished last "st" or "ste" may also begin "Stains"."""
        expanded = [_SAME_WORD.get(w, w) for w in words]
        keys = ["".join(expanded)]
        if words[-1] in ("st", "ste"):
            keys.append("".join(expanded[:-1]) + words[-1])
        return keys

    def _typo_keys(self, words: tuple[str, ...]) -> list[str]:
        """Keys of the text with one unknown word of 5+ letters replaced by a known word one edit
        away (the last word, maybe unfinished: by the beginning of a known word)."""
        expanded = [_SAME_WORD.get(w, w) for w in words]
        keys: set[str] = set()
        for position, word in enumerate(expanded):
            beginning = position == len(expanded) - 1
            correctable = TYPO_MIN_LETTERS <= len(word) <= self._vocabulary.itemsize + 1 and word.isalpha()
            if not correctable or self._known([word], beginning):
                continue
            for variant in self._known(list(typo_variants(word)), beginning):
                keys.add("".join([*expanded[:position], variant, *expanded[position + 1 :]]))
        return sorted(keys)

    def _known(self, candidates: list[str], beginnings: bool) -> list[str]:
        """The candidates that are words of the names (`beginnings`: that begin a word). The first
        word not before a candidate is the one it may be, or begin: words it begins sort together."""
        vocabulary = self._vocabulary
        fitting = [c for c in candidates if len(c) <= vocabulary.itemsize]  # longer ones are no words
        if not fitting or not len(vocabulary):
            return []
        needles = np.array(fitting, dtype=vocabulary.dtype)  # ASCII: folded words, a-z variants
        found = vocabulary[np.minimum(np.searchsorted(vocabulary, needles), len(vocabulary) - 1)]
        known = np.strings.startswith(found, needles) if beginnings else found == needles
        return [fitting[i] for i in np.flatnonzero(known).tolist()]

    def _by_name(self, keys: list[str], numbers: tuple[str, ...], limit: int, typo: bool) -> list[CommuneHit]:
        """Names that are a key, then names a key begins; narrowed by the numbers; by rank."""
        if not keys:
            return []
        whole, begun = self._matching(keys)
        if numbers:
            ranks = np.concatenate((whole, begun))
            fit = np.max([self._fit(n, self._entry_commune[ranks]) for n in numbers], axis=0)
            is_begun = np.arange(len(ranks)) >= len(whole)
            order = np.lexsort((ranks, is_begun, fit))
            return self._hits(ranks[order][fit[order] < _NO_FIT], limit, typo)
        hits = self._first_communes(whole, limit, typo, seen=set())
        if len(hits) < limit:
            hits += self._first_communes(begun, limit - len(hits), typo, seen={h.commune.code for h in hits})
        return hits

    def _first_communes(self, ranks: np.ndarray, limit: int, typo: bool, seen: set[str]) -> list[CommuneHit]:
        """The best `limit` communes of unordered ranks: among the 4 x limit best ranks when a
        commune does not repeat too often among them, else among all."""
        few = _smallest(ranks, 4 * limit)
        hits = self._hits(few, limit, typo, seen)
        if len(hits) < limit and len(few) < len(ranks):
            hits = self._hits(np.sort(ranks), limit, typo, seen)
        return hits

    def _hits(self, ranks: np.ndarray, limit: int, typo: bool, seen: set[str] | None = None) -> list[CommuneHit]:
        """The first entry of each commune not seen, in the order given, up to `limit` communes."""
        seen = set(seen or ())
        hits = []
        for rank in ranks.tolist():
            commune = self._communes[self._entry_commune[rank]]
            if commune.code not in seen:
                seen.add(commune.code)
                hits.append(CommuneHit(commune, self._entry_kind[rank], self._entry_text[rank], typo))
                if len(hits) == limit:
                    break
        return hits

    def _matching(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Ranks of the entries whose key is one of `keys`, and of those whose key a key begins."""
        whole, begun = [_NO_IDS], [_NO_IDS]
        for key in keys:
            low, equal, high = _bounds(self._keys, key)
            whole.append(self._key_ranks[low:equal])
            begun.append(self._key_ranks[equal:high])
        return np.concatenate(whole), np.concatenate(begun)

    def _fit(self, number: str, communes: np.ndarray) -> np.ndarray:
        """How `number` fits each of `communes` (ids), as `Fit` values."""
        exact, area, prefix = Fit.EXACT.value, Fit.AREA.value, Fit.PREFIX.value
        fit = np.full(len(self._communes), _NO_FIT, dtype=np.int8)
        fit[self._postal_range(number)] = prefix
        fit[self._by_departement.get(number, _NO_IDS)] = area
        if len(number) == 5:
            own = self._postal_range(number)
            fit[own] = np.where(self._is_city[own], area, exact)
            match = self.geography.commune(number)
            if isinstance(match, CommuneMatch):
                fit[self._id_of(match.commune)] = exact
        if len(number) <= 2:
            fit[self._by_arrondissement.get(number.lstrip("0"), _NO_IDS)] = exact
        return fit[communes]

    def _with_postal_prefix(self, prefix: str) -> np.ndarray:
        """Ids of the communes with a postal code that begins with `prefix`, in rank order."""
        return np.unique(self._postal_range(prefix))

    def _postal_range(self, prefix: str) -> np.ndarray:
        """Ids of the communes with a postal code that begins with `prefix`, once per postal code."""
        low, _, high = _bounds(self._postal_codes, prefix)
        return self._postal_communes[low:high]

    def _id_of(self, commune: Commune) -> int:
        return bisect.bisect_left(self._communes, _commune_order(commune), key=_commune_order)


def _bounds(sorted_keys: np.ndarray, text: str) -> tuple[int, int, int]:
    """In sorted fixed-width ASCII keys (a-z, 0-9): where the keys equal to `text` begin and end,
    and where the keys that begin with it end. Needles are cut to the keys' width: a longer needle
    would make numpy copy the whole array."""
    encoded = text.encode("ascii")
    width = sorted_keys.dtype.itemsize
    if len(encoded) > width:
        return 0, 0, 0
    needle = np.array(encoded, dtype=sorted_keys.dtype)
    low = int(np.searchsorted(sorted_keys, needle, side="left"))
    equal = int(np.searchsorted(sorted_keys, needle, side="right"))
    if len(encoded) == width:
        return low, equal, equal
    high = int(np.searchsorted(sorted_keys, np.array(encoded + _AFTER_KEYS, dtype=sorted_keys.dtype)))
    return low, equal, high


def _sorted_with(keys: np.ndarray, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Keys sorted, and the ids given with them (ascending ids stay ascending among equal keys)."""
    order = np.argsort(keys, kind="stable")
    return keys[order], np.array(ids, dtype=np.int32)[order]


def _smallest(ranks: np.ndarray, count: int) -> np.ndarray:
    """The `count` smallest ranks, sorted."""
    if len(ranks) > count:
        ranks = np.partition(ranks, count - 1)[:count]
    return np.sort(ranks)


def _commune_order(commune: Commune) -> tuple[int, str, str]:
    return -commune.population, commune.name, commune.code
