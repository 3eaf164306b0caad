"""SLA clocks that only run during working hours.

Times are counted on the local wall clock of the business time zone (a setting), so
"9 to 17" means 9 to 17 there all year round, across daylight-saving changes.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings


@dataclass(frozen=True)
class WorkingWeek:
    days: frozenset[int]  # Monday=0 … Sunday=6
    start_hour: int
    end_hour: int
    tz: zoneinfo.ZoneInfo

    def __post_init__(self):
        if not self.days or not all(0 <= day <= 6 for day in self.days):
            raise ValueError("Working days must be a non-empty set of weekdays 0–6.")
        if not 0 <= self.start_hour < self.end_hour <= 24:
            raise ValueError("Working hours must satisfy 0 <= start < end <= 24.")

    @classmethod
    def from_settings(cls) -> "WorkingWeek":
        start, end = settings.FUNNEL_WORKING_HOURS
        return cls(
            days=frozenset(settings.FUNNEL_WORKING_DAYS),
            start_hour=int(start),
            end_hour=int(end),
            tz=zoneinfo.ZoneInfo(settings.FUNNEL_BUSINESS_TIME_ZONE),
        )

    def _window(self, day: datetime) -> tuple[datetime, datetime]:
        opens = datetime.combine(day.date(), time(self.start_hour))
        closes = datetime.combine(day.date(), time(0)) + timedelta(hours=self.end_hour)
        return opens, closes

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz).replace(tzinfo=None)

    def _aware(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.tz).astimezone(UTC)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of working time after `start`."""
        remaining = duration
        current = self._local(start)
        # A year of days is plenty for any SLA; the bound keeps a bad setting from spinning.
        for _ in range(400):
            opens, closes = self._window(current)
            if current.weekday() in self.days and current < closes:
                current = max(current, opens)
                available = closes - current
                if remaining <= available:
                    return self._aware(current + remaining)
                remaining -= available
            current = datetime.combine(current.date() + timedelta(days=1), time(0))
        raise ValueError("The SLA does not fit in a year of working days.")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time between `start` and `end` (zero if end is not after start)."""
        total = timedelta(0)
        current, finish = self._local(start), self._local(end)
        while current < finish:
            opens, closes = self._window(current)
            if current.weekday() in self.days:
                lo, hi = max(current, opens), min(closes, finish)
                if hi > lo:
                    total += hi - lo
            current = datetime.combine(current.date() + timedelta(days=1), time(0))
        return total


def add_business_hours(start: datetime, hours: float, week: WorkingWeek | None = None) -> datetime:
    return (week or WorkingWeek.from_settings()).add(start, timedelta(hours=hours))


def sla_due_at(raised_at: datetime) -> datetime:
    """When an alert raised at `raised_at` falls due: FUNNEL_SLA_HOURS of working time
    later. Live alerts and the demo's seeded ones both take their due time from here."""
    return add_business_hours(raised_at, settings.FUNNEL_SLA_HOURS)
