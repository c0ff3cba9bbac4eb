"""ETHT.01: the information message shown when the patient is asked for his location.

The text is the one the ANS "FAQ industriels" quotes (answer on the phone pathway), kept byte for byte in
etht01_message.txt beside this module: UTF-8, typographic apostrophes, no trailing newline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

from app import resources

MESSAGE_FILE = resources.package_file("app.territoriality", "etht01_message.txt")


@dataclass(frozen=True, slots=True)
class InformationMessage:
    requirement: str
    id: str
    version: str
    language: str
    text: str
    source: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@cache
def etht01_message() -> InformationMessage:
    return InformationMessage(
        requirement="ETHT.01",
        id="etht01-territoriality-information",
        version="1",
        language="fr",
        text=MESSAGE_FILE.read_bytes().decode("utf-8"),
        source="ANS, FAQ industriels, réponse sur le parcours téléphonique en téléconsultation "
        "(https://industriels.esante.gouv.fr/faq)",
    )
