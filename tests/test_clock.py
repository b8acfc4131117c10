"""Backdating as an on-call engineer types it at 2 am: amounts of time back, and wall-clock times."""

from datetime import UTC, datetime, timedelta

import pytest

from octotui.domain.clock import parse_when

AFTER_MIDNIGHT = datetime(2026, 11, 27, 0, 10, tzinfo=UTC)  # conftest runs everything with TZ=UTC


@pytest.mark.parametrize(("typed", "back"), [
    ("12 minutes ago", timedelta(minutes=12)), ("12 min", timedelta(minutes=12)), ("12m", timedelta(minutes=12)),
    ("-12m", timedelta(minutes=12)), ("1h 5m ago", timedelta(hours=1, minutes=5)), ("1h5m", timedelta(minutes=65)),
    ("90s ago", timedelta(seconds=90)), ("2 hours ago", timedelta(hours=2)), ("now", timedelta(0)),
])
def test_amounts_of_time_back_from_now(typed, back):
    assert parse_when(typed, AFTER_MIDNIGHT) == AFTER_MIDNIGHT - back


def test_a_late_evening_time_typed_after_midnight_means_last_night():
    assert parse_when("23:55", AFTER_MIDNIGHT) == datetime(2026, 11, 26, 23, 55, tzinfo=UTC)
    assert parse_when("00:05", AFTER_MIDNIGHT) == datetime(2026, 11, 27, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["00:30", "2026-11-27 09:00", "in 5 minutes"])
def test_a_time_in_the_future_or_unreadable_is_refused_with_the_reason(typed):
    with pytest.raises(ValueError, match="in the future|cannot read"):
        parse_when(typed, AFTER_MIDNIGHT)
