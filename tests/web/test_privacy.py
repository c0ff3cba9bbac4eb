"""No patient location in any log line, at any log level: a server at debug level gets requests
carrying distinctive locations, and its whole log is searched for them."""

from __future__ import annotations

import httpx

from tests.live_server import LiveServer

COMMUNE, POSTAL_CODE, LAT, LON = "2B096", "20250", 42.30612, 9.15027  # Corte
TYPED = "Cortè"  # what a patient types in a location field


def test_no_patient_location_in_logs_at_debug_level() -> None:
    server = LiveServer(env={"TERRITORIALITE_LOG_LEVEL": "debug"}).start()
    try:
        with httpx.Client(base_url=server.base_url) as client:
            physicians = [{"id": "p1", "location": {"commune": "2A004"}}]
            locations = [
                {"commune": COMMUNE},
                {"postal_code": POSTAL_CODE},
                {"coordinates": {"lat": LAT, "lon": LON}},
                {"commune": COMMUNE, "postal_code": "75015", "coordinates": {"lat": LAT, "lon": LON}},
            ]
            for location in locations:
                body = {"patient": {"location": location}, "physicians": physicians}
                assert client.post("/v1/rankings", json=body).status_code == 200
            bad = {"patient": {"location": {"commune": COMMUNE, "coordinates": {"lat": LAT, "lon": "x"}}}}
            assert client.post("/v1/rankings", json=bad).status_code == 422
            scenario = {
                "channel": "video",
                "offers": {"with_appointment": True, "without_appointment": False},
                "information_message_shown": True,
                "location_input_offered": True,
                "patient": {"location": {"postal_code": POSTAL_CODE}},
            }
            assert client.post("/v1/scenario-evaluations", json=scenario).status_code == 200
            session = {**scenario, "session_id": "s1", "timestamp": "2026-11-20T10:00:00Z"}
            assert client.post("/v1/audits", json={"sessions": [session]}).status_code == 200
            for typed in (TYPED, POSTAL_CODE, COMMUNE, "cort", "corrte"):
                assert client.get("/v1/communes", params={"q": typed}).status_code == 200
            assert client.get("/v1/communes", params={"q": TYPED + "\x07"}).status_code == 422
            assert client.get("/v1/communes", params={"q": TYPED, "limit": "99"}).status_code == 422
    finally:
        server.stop()
    logs = server.logs()
    assert '"route": "/v1/rankings"' in logs  # the access log is there, at debug level
    assert '"route": "/v1/communes"' in logs
    for secret in (COMMUNE, POSTAL_CODE, str(LAT), str(LON), "42.306", "9.150", "Cort", "cort", "Cort%C3%A8", "rrte"):
        assert secret not in logs, secret
