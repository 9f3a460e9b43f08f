"""`leadflow up --demo`: a realistic book of leads across the three stock playbooks.

Each lead is driven the way production drives it (facts as signals, people's commands as
updates, through LeadClient), so the Temporal UI shows leads in many stages with their SLA
and follow-up timers running. Seeding is idempotent: a lead that already exists is left alone,
so a second `leadflow up --demo` on the same data directory changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from lifecycle.events import COMMAND_VERBS, EventKind, LeadEvent, lead_workflow_id
from workflows.lead_client import LeadClient
from workflows.lead_models import LeadCommand

Step = tuple[str, dict[str, str]]  # (event kind, properties)


@dataclass(frozen=True)
class DemoLead:
    email: str
    playbook: str
    steps: list[Step] = field(default_factory=list)
    expect: str = ""  # the stage the steps lead to


_DEMO_SQL = ("confirm_sql", {"use_case": "pipeline forecasting", "timeline": "Q3"})
_HIGH_TOUCH_SQL = ("confirm_sql", {"use_case": "global rollout", "budget": "approved", "timeline": "FY27"})
_TRIAL_PQL: list[Step] = [("activated", {"company_size": "40", "role": "engineer"}),
                          ("teammate_invited", {}), ("feature_used", {"feature": "sync"})]

DEMO_LEADS: list[DemoLead] = [
    # demo-led (template A)
    DemoLead("ada@acme-analytics.io", "demo_led",
             [("form_submitted", {"company_size": "300", "industry": "software", "source": "webinar"})],
             "New Lead"),
    DemoLead("grace@globex.com", "demo_led",
             [("demo_requested", {"company_size": "250", "industry": "saas", "source": "website"})], "MQL"),
    DemoLead("linus@initech.io", "demo_led", [("demo_requested", {"source": "website"}), _DEMO_SQL], "SQL"),
    DemoLead("margaret@umbrella.dev", "demo_led",
             [("demo_requested", {"source": "paid_search"}), _DEMO_SQL, ("demo_scheduled", {})],
             "Demo Scheduled"),
    DemoLead("barbara@hooli.com", "demo_led",
             [("demo_requested", {"source": "partner"}), _DEMO_SQL, ("demo_scheduled", {}),
              ("discovery_completed", {"stakeholders": "CFO, RevOps lead"})], "In Evaluation"),
    DemoLead("dennis@piedpiper.io", "demo_led",
             [("demo_requested", {"source": "website"}), ("snooze", {"path": "not_now"})], "Nurture"),
    DemoLead("ken@university.edu", "demo_led",
             [("form_submitted", {"source": "content"}), ("disqualify", {"reason": "student_research"})],
             "Disqualified"),
    # trial-led (template B, product-led)
    DemoLead("alan@stark-labs.io", "trial_led", [("trial_signup", {"source": "product"})],
             "New Trial Signup"),
    DemoLead("joan@wayne-tech.io", "trial_led",
             [("trial_signup", {"source": "product"}), ("activated", {})], "Trial Activated"),
    DemoLead("edsger@tyrell.io", "trial_led", [("trial_signup", {"source": "product"}), *_TRIAL_PQL],
             "Product Qualified"),
    DemoLead("frances@cyberdyne.io", "trial_led",
             [("trial_signup", {"source": "product"}), *_TRIAL_PQL, ("contacted", {})], "Sales Outreach"),
    DemoLead("katherine@soylent.io", "trial_led",
             [("trial_signup", {"source": "product"}), *_TRIAL_PQL, ("contacted", {}),
              ("discovery_completed", {"use_case": "data sync"}), ("proposal_sent", {}), ("won", {})],
             "Closed Won"),
    # high-touch (template C)
    DemoLead("tim@megacorp.com", "high_touch",
             [("meeting_attended", {"company_size": "5000", "role": "cio", "source": "event"})], "New Lead"),
    DemoLead("radia@bigbank.com", "high_touch", [("security_visit", {"source": "outbound"}), _HIGH_TOUCH_SQL],
             "Qualified by Sales"),
    DemoLead("john@enterprise.co", "high_touch",
             [("demo_requested", {"source": "outbound"}), _HIGH_TOUCH_SQL, ("demo_scheduled", {}),
              ("discovery_completed", {}),
              ("stakeholders_mapped", {"stakeholders": "CIO, CISO, procurement"})],
             "Stakeholder Mapping"),
    DemoLead("hedy@globalco.com", "high_touch",
             [("demo_requested", {"source": "partner"}), _HIGH_TOUCH_SQL, ("demo_scheduled", {}),
              ("discovery_completed", {}), ("stakeholders_mapped", {"stakeholders": "CTO"}),
              ("workshop_completed", {}), ("lost", {"reason": "security_review_failed"})], "Closed Lost"),
]


async def seed(client: Client, task_queue: str, leads: list[DemoLead] = DEMO_LEADS) -> tuple[int, int]:
    """Drives every demo lead that does not exist yet; returns (seeded, already there)."""
    seeded = skipped = 0
    for lead in leads:
        if await _exists(client, lead.email):
            skipped += 1
            continue
        await drive(LeadClient(client, task_queue, lead.playbook), lead)
        seeded += 1
    return seeded, skipped


async def drive(leads: LeadClient, lead: DemoLead) -> None:
    for i, (kind, props) in enumerate(lead.steps):
        event_id = f"demo:{lead.email}:{i}"
        if EventKind(kind) in COMMAND_VERBS:
            await leads.command(lead.email, LeadCommand(kind=EventKind(kind), properties=props,
                                                        actor="demo", event_id=event_id))
        else:
            await leads.send_event(lead.email, LeadEvent(
                event_id=event_id, kind=EventKind(kind), occurred_at=datetime.now(UTC),
                actor="demo", properties=props))


async def _exists(client: Client, email: str) -> bool:
    try:
        await client.get_workflow_handle(lead_workflow_id(email)).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
