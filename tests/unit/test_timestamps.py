"""Response timestamps: RFC 3339 UTC, exactly six fractional digits, `Z` (API §1.4)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from entrypoints.http.schemas.common import timestamp

HELSINKI_SUMMER = timezone(timedelta(hours=3))
NEWFOUNDLAND = timezone(timedelta(hours=-3, minutes=-30))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 12, 7, 20, 3, 43, 123456, tzinfo=UTC), "2026-12-07T20:03:43.123456Z"),
        # A whole second keeps its six zeros.
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05.000000Z"),
        (datetime(2026, 6, 1, 2, 30, 0, 7, tzinfo=HELSINKI_SUMMER), "2026-05-31T23:30:00.000007Z"),
        (
            datetime(2026, 12, 31, 22, 0, 0, 999999, tzinfo=NEWFOUNDLAND),
            "2027-01-01T01:30:00.999999Z",
        ),
        (datetime(999, 9, 9, 9, 9, 9, 9, tzinfo=UTC), "0999-09-09T09:09:09.000009Z"),
    ],
)
def test_timestamps_are_utc_with_microseconds_and_z(moment: datetime, expected: str) -> None:
    assert timestamp(moment) == expected


def test_timestamps_match_the_isoformat_of_the_same_instant() -> None:
    rng = random.Random(20261207)
    zones = [UTC, HELSINKI_SUMMER, NEWFOUNDLAND, timezone(timedelta(hours=14))]
    start = datetime(1970, 1, 1, tzinfo=UTC)
    for _ in range(5_000):
        moment = start + timedelta(microseconds=rng.randrange(200 * 365 * 86_400 * 10**6))
        moment = moment.astimezone(rng.choice(zones))
        reference = moment.astimezone(UTC).isoformat(timespec="microseconds")
        assert timestamp(moment) == reference.removesuffix("+00:00") + "Z"
