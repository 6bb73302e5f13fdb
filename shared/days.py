"""The calendar the product accepts: due dates, imported history and report ranges all fall between these
days. Python's dates reach year 9999, but a date that far off is a typo, and the planner would walk cycles
towards it; one pair of bounds keeps intake, imports and reports agreeing on what is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2200, 12, 31)
FIRST_MOMENT = datetime.combine(FIRST_DAY, time.min, UTC)
LAST_MOMENT = datetime.combine(LAST_DAY, time(23, 59, 59), UTC)
