"""Distances on the WGS84 ellipsoid, vectorised with numpy.

Lambert's formula for long lines: a great-circle distance on the auxiliary sphere of reduced
latitudes, corrected for the flattening. It stays within a few metres of the exact geodesic
(geopy.distance.geodesic, Karney's algorithm) over the distances that matter here, mainland to
overseas included, at the cost of a dozen numpy operations for any number of points.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

WGS84_A_KM = 6378.137
WGS84_F = 1 / 298.257223563


def geodesic_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray[np.float64]:
    """Distance in km between points given in degrees; arguments broadcast like numpy arrays."""
    phi1, lam1, phi2, lam2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1, lat2, lon2))
    beta1 = np.arctan((1 - WGS84_F) * np.tan(phi1))
    beta2 = np.arctan((1 - WGS84_F) * np.tan(phi2))
    q = (beta2 - beta1) / 2
    sin_q_squared = np.sin(q) ** 2  # each subexpression computed once: the same floats, fewer numpy calls
    haversine = sin_q_squared + np.cos(beta1) * np.cos(beta2) * np.sin((lam2 - lam1) / 2) ** 2
    sigma = 2 * np.arcsin(np.sqrt(np.minimum(np.maximum(haversine, 0.0), 1.0)))  # np.clip, without its Python wrapper
    p = (beta1 + beta2) / 2
    sin_sigma, half_sigma = np.sin(sigma), sigma / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (sigma - sin_sigma) * np.sin(p) ** 2 * np.cos(q) ** 2 / np.cos(half_sigma) ** 2
        y = (sigma + sin_sigma) * np.cos(p) ** 2 * sin_q_squared / np.sin(half_sigma) ** 2
    correction = np.where(np.isfinite(x), x, 0.0) + np.where(np.isfinite(y), y, 0.0)
    return np.maximum(WGS84_A_KM * (sigma - WGS84_F / 2 * correction), 0.0)
