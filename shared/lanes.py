"""Lanes and sizes as the services and capacity's pages show them, said once.

The lanes themselves and their order are the contract's (``shared.events.LANES``): customer first, so
it sits at the foot of each bar of the shares chart and first in every list. Here: the colour each
lane is drawn in when no card names one (the classifier's settings may give others), and the sizes a
request may be given, in order. Capacity's pages take the lanes from the documents the service sends
(the dashboard's snapshot lists each lane with its shade); they keep no list of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import get_args

from shared.events.base import LANES, Size

__all__ = ["LANES", "LANE_COLOURS", "SIZES", "every_lane"]

# Colour names, not shades: the classifier stamps them on cards; the dashboard's palette draws them.
LANE_COLOURS: Mapping[str, str] = MappingProxyType({
    "customer": "blue", "sales": "orange", "business_unit": "green", "executive": "yellow", "legal": "grey"})
SIZES: tuple[Size, ...] = get_args(Size)  # smallest first, as the request form offers them


def every_lane(names: Iterable[str] = ()) -> list[str]:
    """Every lane in order, then any other lane among ``names`` (a policy's, an older card's) by name."""
    return [*LANES, *sorted(set(names) - set(LANES))]
