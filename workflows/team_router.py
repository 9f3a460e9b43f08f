"""TeamRouterWorkflow: one entity workflow per team (id `team:<name>`) that hands out owners.

Assignments are updates with synchronous handlers, so Temporal runs them one at a time: no two
leads race for the same slot, and the rotation lives in the workflow's state, so it continues
where it left off after a restart. Membership, weights, caps and away dates change through
updates; `sync_owners` reconciles members with HubSpot owners and Salesforce users. Long lives
continue-as-new with the compact rotation once every handler has finished. A new router first
reconciles its members with the CRMs, so its first owner already has their CRM ids.

Live `workflow.patched` ids:

| id                   | what an assignment made after it does                                 |
| -------------------- | --------------------------------------------------------------------- |
| account-owner-cap-v1 | an account's owner past their cap (+ account_owner_overrides_cap)     |
|                      | gives way to the rotation (issue 13)                                  |
"""

from __future__ import annotations

from datetime import timedelta

import pydantic
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from lifecycle.business_hours import local_date
    from lifecycle.routing import Person, Rotation, Seat, pick_owner
    from workflows.team_models import (
        RECONCILE_OWNERS,
        Assignment,
        AssignRequest,
        CrmPerson,
        MemberChange,
        RouterInput,
        SyncReport,
        TeamView,
    )

MAX_UPDATES_PER_RUN = 1000
# Every continue-as-new aborts the updates waiting at that moment (their callers retry), so a
# router heeds the server's suggestion only after this many updates in the run.
MIN_UPDATES_PER_RUN = 100
MAX_RECENT = 200  # answers kept for retried requests


@workflow.defn(name="TeamRouterWorkflow", failure_exception_types=[pydantic.ValidationError])
class TeamRouterWorkflow:
    @workflow.init
    def __init__(self, inp: RouterInput) -> None:
        self._input = inp
        self._team = inp.team
        self._rotation = inp.rotation or Rotation(seats=[Seat.of(m) for m in inp.team.members])
        self._manager = inp.manager or (Person(email=inp.team.manager) if inp.team.manager else None)
        self._recent: dict[str, Assignment] = dict(inp.recent)
        self._handled = 0
        self._ready = inp.rotation is not None  # a continued router was reconciled before

    @workflow.run
    async def run(self, inp: RouterInput) -> None:
        if not self._ready:
            try:
                await self._reconcile(RetryPolicy(maximum_attempts=3))
            except ActivityError:
                workflow.logger.warning("team %s: CRMs unreachable; members have no CRM ids yet",
                                        self._team.name)
            self._ready = True
        await workflow.wait_condition(
            lambda: self._handled >= MAX_UPDATES_PER_RUN or (
                self._handled >= MIN_UPDATES_PER_RUN and workflow.info().is_continue_as_new_suggested()))
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(RouterInput(team=self._team, playbook=inp.playbook,
                                             rotation=self._rotation, manager=self._manager,
                                             recent=self._recent))

    @workflow.update(name="assign")
    async def assign(self, req: AssignRequest) -> Assignment:
        await workflow.wait_condition(lambda: self._ready)
        return self._assign_now(req)

    @workflow.update(name="assign_many")
    async def assign_many(self, reqs: list[AssignRequest]) -> list[Assignment]:
        """perf (issue 16): the assignments a worker gathered while its previous update was in
        flight, in order, in one update (one workflow task for many leads)."""
        await workflow.wait_condition(lambda: self._ready)
        return [self._assign_now(req) for req in reqs]

    def _assign_now(self, req: AssignRequest) -> Assignment:
        # Nothing awaits here: one assignment at a time picks and counts.
        if req.request_id in self._recent:
            return self._recent[req.request_id]
        today = local_date(self._team.calendar, workflow.now())
        # Routers before issue 13 let an account's owner take leads past any cap.
        over_cap = self._team.account_owner_overrides_cap if workflow.patched("account-owner-cap-v1") \
            else None
        seat, via = pick_owner(self._rotation, today, req.account, {e.lower() for e in req.exclude},
                               over_cap, req.account_owner)
        owner = Person.model_validate(seat.model_dump(include=set(Person.model_fields))) if seat else None
        result = Assignment(team=self._team.name, owner=owner, via=via, manager=self._manager)
        self._recent[req.request_id] = result
        while len(self._recent) > MAX_RECENT:
            self._recent.pop(next(iter(self._recent)))
        self._handled += 1
        return result

    @workflow.update(name="change_member")
    def change_member(self, change: MemberChange) -> TeamView:
        email = change.email.strip().lower()
        seat = self._rotation.seat(email)
        if change.remove:
            self._rotation.seats = [s for s in self._rotation.seats if s.email != email]
        else:
            if seat is None:
                seat = Seat(email=email)
                self._rotation.seats.append(seat)
            _apply(seat, change)
        self._handled += 1
        return self.view()

    @change_member.validator
    def validate_change(self, change: MemberChange) -> None:
        if "@" not in change.email:
            raise ValueError(f"not an email address: {change.email!r}")
        if change.remove and self._rotation.seat(change.email) is None:
            raise ValueError(f"{change.email} is not a member of team {self._team.name}")
        if change.weight is not None and change.weight < 1:
            raise ValueError("weight must be at least 1")
        if change.daily_cap is not None and change.daily_cap < 0:
            raise ValueError("daily_cap must be 0 or more")

    @workflow.update(name="sync_owners")
    async def sync_owners(self) -> SyncReport:
        """Matches members with the CRMs' people by email: their ids, and who left the company."""
        report = await self._reconcile(RetryPolicy(maximum_attempts=5))
        self._handled += 1
        return report

    async def _reconcile(self, retry: RetryPolicy) -> SyncReport:
        people: list[CrmPerson] = await workflow.execute_activity(
            RECONCILE_OWNERS, self._input.playbook, result_type=list[CrmPerson],
            start_to_close_timeout=timedelta(minutes=2), retry_policy=retry)
        known = {p.email.lower(): p for p in people}
        report = SyncReport(matched=[], deactivated=[], unknown=[],
                            vendors=sorted({v for p in people for v in p.ids()}))
        for seat in self._rotation.seats:
            person = known.get(seat.email)
            if person is None:
                report.unknown.append(seat.email)
                continue
            seat.hubspot_id, seat.salesforce_id = person.hubspot_id, person.salesforce_id
            seat.active = person.active
            (report.matched if person.active else report.deactivated).append(seat.email)
        if self._manager is not None and self._manager.email in known:
            found = known[self._manager.email]
            self._manager = Person(email=found.email, name=found.name, hubspot_id=found.hubspot_id,
                                   salesforce_id=found.salesforce_id)
        return report

    @workflow.query(name="view")
    def view(self) -> TeamView:
        rot = self._rotation
        return TeamView(team=self._team.name, manager=self._manager,
                        timezone=self._team.calendar.timezone, seats=rot.seats, today=rot.today,
                        day=rot.day, totals=rot.totals)


def _apply(seat: Seat, change: MemberChange) -> None:
    if change.name is not None:
        seat.name = change.name
    if change.weight is not None:
        seat.weight = change.weight
    if change.daily_cap is not None:
        seat.daily_cap = change.daily_cap
    if change.no_cap:
        seat.daily_cap = None
    if change.away_until is not None:
        seat.away_until = change.away_until
    if change.back:
        seat.away_until = None
