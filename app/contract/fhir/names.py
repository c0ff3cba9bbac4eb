"""Commune names as the directory writes them, brought to a key that compares with the COG's names.

The Annuaire Santé writes `city` in capitals without accents, sometimes after the postal code
("75014 PARIS", IG example PP19DR-Organization-EG-CH) or with a CEDEX mention ("VANDOEUVRE LES
NANCY CEDEX", IG example AsOrganizationExampleNancy); the COG writes "Vandœuvre-lès-Nancy". The key
drops case, accents, ligatures, punctuation, a leading postal code and a trailing CEDEX, and reads
the abbreviations "ST"/"STE" as "SAINT"/"SAINTE". The standard library's Unicode decomposition is
enough for French names: no transliteration library is needed.
"""

from __future__ import annotations

import re
import unicodedata

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
_ABBREVIATIONS = {"st": "saint", "ste": "sainte"}


def name_key(text: str) -> str:
    """'75014 PARIS' -> 'paris'; 'Vandœuvre-lès-Nancy' and 'VANDOEUVRE LES NANCY CEDEX' -> 'vandoeuvre les nancy'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = _NOT_ALPHANUMERIC.sub(" ", bare).split()
    if words and len(words[0]) == 5 and words[0].isdigit():
        words = words[1:]
    if "cedex" in words:
        words = words[: words.index("cedex")]
    return " ".join(_ABBREVIATIONS.get(word, word) for word in words)
