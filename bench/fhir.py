"""POST /v1/rankings/fhir against POST /v1/rankings: the same 1,000 practice sites, given as a FHIR
searchset (a PractitionerRole, its Practitioner and its Organization each, shaped as in the Annuaire
Santé IG examples) and as plain physicians. In-process (parse + rank + answer) and over HTTP, in
the same run. `python -m bench.fhir` runs it alone."""

from __future__ import annotations

import gc
import json
import os
from typing import Any

from app.contract.fhir.operation import rank_bundle
from app.contract.operations import Reference, rank
from app.geography import Geography, load_geography
from app.territoriality.rulings import load_catalogue
from bench import core
from bench.load import wrk_post
from bench.servers import service

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
# Few connections: a 1,000-role bundle takes a tenth of a second, and 32 queued requests would time out.
CONNECTIONS = int(os.environ.get("BENCH_FHIR_CONNECTIONS", "4"))
BASE = "https://gateway.api.esante.gouv.fr/fhir/v2"
INSEE = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
R13 = "https://mos.esante.gouv.fr/NOS/TRE_R13-Commune/FHIR/TRE-R13-Commune"
V2_0203 = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
PATIENT = {"location": {"postal_code": "69003"}}


def _identifier(system: str, value: str, code: str) -> dict[str, Any]:
    return {
        "use": "official",
        "type": {"coding": [{"system": V2_0203, "code": code}]},
        "system": system,
        "value": value,
    }


def _entries(index: int, commune: str, postal_code: str, organisation: int) -> list[dict[str, Any]]:
    rpps = f"1{index:010d}"
    role = {
        "resourceType": "PractitionerRole",
        "id": f"role-{index}",
        "active": True,
        "identifier": [{"system": "https://rpps.esante.gouv.fr", "value": f"{index:010d}"}],
        "practitioner": {"reference": f"Practitioner/pp-{index}"},
        "organization": {"reference": f"Organization/org-{organisation}"},
    }
    practitioner = {
        "resourceType": "Practitioner",
        "id": f"pp-{index}",
        "active": True,
        "identifier": [
            _identifier("urn:oid:1.2.250.1.71.4.2.1", "8" + rpps, "IDNPS"),
            _identifier("https://rpps.esante.gouv.fr", rpps, "RPPS"),
        ],
        "name": [{"use": "usual", "family": f"NOM{index}", "given": ["Prénom"], "prefix": ["DR"]}],
    }
    organization = {
        "resourceType": "Organization",
        "id": f"org-{organisation}",
        "active": True,
        "identifier": [_identifier("urn:oid:1.2.250.1.71.4.2.2", f"4{organisation:014d}", "IDNST")],
        "name": f"CABINET {organisation}",
        "address": [
            {
                "extension": [{"url": INSEE, "valueCoding": {"system": R13, "code": commune}}],
                "line": [f"{index % 200 + 1} R DE LA REPUBLIQUE"],
                "city": f"{postal_code} COMMUNE",
                "postalCode": postal_code,
            }
        ],
    }
    return [
        {"fullUrl": f"{BASE}/PractitionerRole/role-{index}", "resource": role, "search": {"mode": "match"}},
        {"fullUrl": f"{BASE}/Practitioner/pp-{index}", "resource": practitioner, "search": {"mode": "include"}},
        {"fullUrl": f"{BASE}/Organization/org-{organisation}", "resource": organization, "search": {"mode": "include"}},
    ]


def bodies(geography: Geography, size: int, organisations: int | None = None) -> tuple[bytes, bytes]:
    """(POST /v1/rankings body, POST /v1/rankings/fhir body) for the same `size` practice sites;
    with `organisations`, the roles share that many organisations (a hospital's roles share its
    address), each included once."""
    roster = core.roster(geography, size)
    communes = [p.location.commune or "" for p in roster]
    if organisations is not None:
        communes = [communes[i % organisations] for i in range(size)]
    physicians = [{"id": p.id, "location": {"commune": c}} for p, c in zip(roster, communes, strict=True)]
    plain = {"patient": PATIENT, "physicians": physicians}
    roles = [
        _entries(i, c, (geography.communes[c].postal_codes or ("00000",))[0], i % (organisations or size))
        for i, c in enumerate(communes)
    ]
    if organisations is None:  # each role's Practitioner and Organization after the roles, as a search includes them
        ordered = [trio[0] for trio in roles] + [entry for trio in roles for entry in trio[1:]]
    else:
        ordered = (
            [trio[0] for trio in roles] + [trio[1] for trio in roles] + [trio[2] for trio in roles[:organisations]]
        )
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": size, "entry": ordered}
    return json.dumps(plain).encode(), json.dumps({"patient": PATIENT, "bundle": bundle}).encode()


def in_process(geography: Geography, plain: bytes, fhir: bytes) -> tuple[float, float]:
    """Median ms of both operations, the garbage collector set as the service sets it at start-up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    reference = Reference(geography, load_catalogue())
    plain_ms = core.median_of(lambda: rank(reference, plain), 30) * 1000
    fhir_ms = core.median_of(lambda: rank_bundle(geography, fhir), 30) * 1000
    return plain_ms, fhir_ms


def bench_fhir(size: int = 1_000) -> None:
    geography = load_geography()
    plain, fhir = bodies(geography, size)
    as_bundle = fhir.replace(b'{"patient":', b'{"format": "bundle", "patient":', 1)
    print(f"\nFHIR searchset vs plain roster, {size:,} practice sites (patient 69003)")
    print(f"  load average at start (1, 5, 15 min, {os.cpu_count()} cores): {_load()}")
    plain_ms, fhir_ms = in_process(geography, plain, fhir)
    bundle_ms = core.median_of(lambda: rank_bundle(geography, as_bundle), 30) * 1000
    mib = len(fhir) / 2**20
    print(
        f"  bodies: plain {len(plain) / 1024:.0f} KiB, FHIR {len(fhir) / 1024:.0f} KiB ({len(fhir) / len(plain):.1f}x)"
    )
    print(f"  in-process, median of 30 (parse + rank + answer): plain {plain_ms:.2f} ms, FHIR {fhir_ms:.2f} ms")
    print(f"    ratio FHIR / plain: {fhir_ms / plain_ms:.2f}x")
    print(f"    FHIR per MiB of body: {fhir_ms / mib:.1f} ms (format ranking), {bundle_ms / mib:.1f} ms (bundle)")
    print(f"    plain per MiB of body: {plain_ms / (len(plain) / 2**20):.1f} ms")
    _, shared = bodies(geography, size, organisations=50)
    shared_ms = core.median_of(lambda: rank_bundle(geography, shared), 30) * 1000
    per_mib = shared_ms / (len(shared) / 2**20)
    print(
        f"  the same roles over 50 organisations ({len(shared) / 1024:.0f} KiB; each site read once): "
        f"FHIR {shared_ms:.2f} ms, {shared_ms / plain_ms:.2f}x plain, {per_mib:.1f} ms per MiB"
    )
    largest = max(len(fhir), len(plain)) * 2
    # room for every connection's body at once: this measures throughput, not the 503s of admission
    limit = {
        "TERRITORIALITE_MAX_BODY_BYTES": str(largest),
        "TERRITORIALITE_MAX_QUEUED_BYTES": str(largest * CONNECTIONS),
    }
    with service(extra_env=limit) as (url, _, _):
        wrk_post(url + "/v1/rankings/fhir", fhir, seconds=2, connections=CONNECTIONS)  # warm-up
        wrk_post(url + "/v1/rankings", plain, seconds=2, connections=CONNECTIONS)
        results = {
            "POST /v1/rankings": wrk_post(url + "/v1/rankings", plain, SECONDS, CONNECTIONS),
            "POST /v1/rankings/fhir": wrk_post(url + "/v1/rankings/fhir", fhir, SECONDS, CONNECTIONS),
        }
    print(f"  HTTP, one worker pinned to one core, wrk on the other: {CONNECTIONS} connections, {SECONDS} s")
    for name, r in results.items():
        errors = r["socket_errors"] + r["non_2xx"]
        latency = f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms"
        print(f"    {name:24} {r['rps']:7.0f} req/s  {latency}  errors {errors}")
    ratio = results["POST /v1/rankings"]["rps"] / results["POST /v1/rankings/fhir"]["rps"]
    print(f"    ratio of time per request FHIR / plain (inverse of throughput): {ratio:.2f}x")
    print(f"  load average at end: {_load()}")


def _load() -> str:
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


if __name__ == "__main__":
    bench_fhir()
