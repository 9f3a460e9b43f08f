"""How SLA time passes: on the wall clock, or in the owning team's business hours; and the
pause a waiting stage puts on a clock. Pure helpers for lifecycle.sla."""

from __future__ import annotations

from datetime import datetime, timedelta

from config.playbook import Playbook
from config.routing import TeamCalendar
from lifecycle import effects as fx
from lifecycle.business_hours import add_business_time, business_time_between
from lifecycle.state import LeadState, SlaClock


def team_calendar(pb: Playbook, state: LeadState) -> TeamCalendar | None:
    """The owning team's calendar (the default team's before a lead is routed)."""
    if pb.routing is None:
        return None
    for name in (state.team, pb.routing.default_team):
        if name is not None:
            try:
                return pb.routing.team(name).calendar
            except KeyError:
                continue
    return None


def due(pb: Playbook, state: LeadState, now: datetime, amount: timedelta, business: bool) -> datetime:
    cal = team_calendar(pb, state) if business else None
    return add_business_time(cal, now, amount) if cal else now + amount


def elapsed(pb: Playbook, state: LeadState, clock: SlaClock, start: datetime, end: datetime) -> timedelta:
    cal = team_calendar(pb, state) if clock.business_hours else None
    if cal is not None:
        return business_time_between(cal, start, end)
    return max(end - start, timedelta(0))


def time_to_action(pb: Playbook, state: LeadState, clock: SlaClock, now: datetime) -> timedelta:
    return max(elapsed(pb, state, clock, clock.started_at, now) - clock.paused_for, timedelta(0))


def pause(pb: Playbook, state: LeadState, now: datetime) -> list[fx.Effect]:
    """Entering a waiting stage: keep the time left, stop the timer."""
    clock = state.sla
    assert clock is not None
    clock.remaining = elapsed(pb, state, clock, now, clock.due_at)
    clock.paused_at = now
    state.paused_sla, state.sla = clock, None
    return [fx.CancelSla(outcome="paused")]


def resume(pb: Playbook, state: LeadState, clock: SlaClock, now: datetime) -> list[fx.Effect]:
    """Back in the clock's stage: the time left runs again from now."""
    paused_at = clock.paused_at or now
    clock.paused_for += elapsed(pb, state, clock, paused_at, now)
    clock.due_at = due(pb, state, now, clock.remaining or timedelta(0), clock.business_hours)
    clock.remaining = clock.paused_at = None
    state.sla, state.paused_sla = clock, None
    return [fx.ArmSla(stage=clock.stage, due_at=clock.due_at)]
