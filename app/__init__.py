"""Territorialité: the territoriality principle of French teleconsultation (ANS ETHT.01, ETHT.02)."""

__version__ = "1.0.0"
