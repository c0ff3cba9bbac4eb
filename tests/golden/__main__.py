"""`python -m tests.golden record`: answer every golden request with a live server, store both.

Run it only to accept a change of behaviour made on purpose; say why in the commit.
"""

from __future__ import annotations

import argparse

import httpx

from app.geography import load_geography
from tests.golden.answers import GOLDEN_FILE, Exchange, answer, encoded, write_exchanges
from tests.golden.requests import golden_requests
from tests.live_server import LiveServer


def record() -> int:
    requests = [encoded(request) for request in golden_requests(load_geography())]
    server = LiveServer().start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            exchanges = [Exchange(request, *answer(client, request)) for request in requests]
    finally:
        server.stop()
    write_exchanges(exchanges)
    print(f"{len(exchanges)} exchanges recorded in {GOLDEN_FILE}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["record"])
    parser.parse_args()
    return record()


if __name__ == "__main__":
    raise SystemExit(main())
