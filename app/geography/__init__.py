"""French reference geography, offline: communes, postal codes, départements, régions, distances."""

from app.geography.distance import geodesic_km
from app.geography.loader import load_geography
from app.geography.model import Commune, Departement, Point, PointLocation, PointPlacement, PostalCode, Region
from app.geography.resolver import CommuneMatch, Geography, NotFound, NotFoundReason, SearchRadius

__all__ = [
    "Commune",
    "CommuneMatch",
    "Departement",
    "Geography",
    "NotFound",
    "NotFoundReason",
    "Point",
    "PointLocation",
    "PointPlacement",
    "PostalCode",
    "Region",
    "SearchRadius",
    "geodesic_km",
    "load_geography",
]
