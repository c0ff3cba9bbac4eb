"""One loaded geography for hypothesis tests (function-scoped fixtures do not mix with @given)."""

from app.geography import load_geography

GEOGRAPHY = load_geography()
