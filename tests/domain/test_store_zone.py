"""``store_timezone`` / ``--timezone`` name a place's zone: ``localtime`` (this machine's own zone, which zoneinfo
finds as /usr/share/zoneinfo/localtime) is refused, not taken as the store's zone."""

from __future__ import annotations

import pytest

from kiosk.domain.store_time import store_zone, zone_problem


@pytest.mark.parametrize("name", ["localtime", "posixrules", "Factory"])
def test_a_file_of_the_zone_database_that_is_not_a_places_zone_is_refused(name):
    assert "not a time zone" in zone_problem(name)
    with pytest.raises(ValueError):
        store_zone(name)


def test_a_places_zone_and_empty_are_taken():
    assert zone_problem("Asia/Kolkata") is None and zone_problem("") is None
