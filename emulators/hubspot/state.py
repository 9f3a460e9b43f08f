"""Everything one emulated HubSpot portal holds, guarded by one lock.

Tests read it directly (records, per-endpoint call counts, response statuses); the local
stack reads a summary over HTTP at /_emulator/state.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from emulators.common import Faults
from emulators.hubspot.ratelimit import SEARCH_PER_SECOND, TEN_SECONDLY, RateLimiter, SearchLimiter
from emulators.hubspot.schema import definition, seed_groups, seed_properties
from emulators.hubspot.store import ObjectStore, Record

DEFAULT_TOKEN = "pat-emulator-token"  # noqa: S105 - a fixture value, not a secret
DEFAULT_OWNERS = [
    {"id": "101", "email": "ana.sdr@example.com", "firstName": "Ana", "lastName": "Sdr"},
    {"id": "102", "email": "bo.ae@example.com", "firstName": "Bo", "lastName": "Ae"},
]


def _now() -> datetime:
    return datetime.now(UTC)


class HubSpotState:
    def __init__(
        self,
        *,
        access_token: str = DEFAULT_TOKEN,
        rate_limit_max: int = 100,
        rate_limit_interval_ms: int = 10_000,
        daily_limit: int = 250_000,
        owners: list[dict] | None = None,
        portal_id: int = 62515,
        clock: Callable[[], datetime] = _now,
        search_per_second: int = SEARCH_PER_SECOND,
        search_index_delay_s: float = 0.0,
        lifecycle_stages: list[str] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.access_tokens = {access_token}
        self.portal_id = portal_id
        self.clock = clock
        self.limiter = RateLimiter(rate_limit_max, rate_limit_interval_ms, daily_limit)
        self.search_limiter = SearchLimiter(search_per_second)
        # CRM search indexes a write some seconds after it happens (widely reported by
        # integrators; HubSpot documents no figure): a record changed less than this long ago
        # is not yet found by search. Off by default so tests that search right after seeding
        # stay fast; set it where the lag matters.
        self.search_index_delay_s = search_index_delay_s
        self.faults = Faults()
        self.fault_policy = TEN_SECONDLY  # which 429 body a planted 429 fault answers with
        self._owner_seed = owners if owners is not None else DEFAULT_OWNERS
        self.lifecycle_stages = lifecycle_stages  # None: HubSpot's eight defaults
        # The app's webhook subscription: (target URL, client secret), or None.
        self.webhook_target: tuple[str, str] | None = None
        # token -> the scopes its private app was granted; a token not listed has them all.
        self.token_scopes: dict[str, set[str]] = {}
        self.deliveries: list[tuple[str, int, str]] = []  # (subscription type, status, body)
        self.base_url = ""
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.properties = seed_properties(self.lifecycle_stages)
            self.groups = seed_groups()
            self.owners = [_owner(o) for o in self._owner_seed]
            self.store = ObjectStore(self.properties, self.owner_ids, self.clock, self.portal_id)
            self.calls: Counter[str] = Counter()
            self.statuses: Counter[int] = Counter()
            self.log: list[tuple[str, str, int]] = []
            self.limiter.reset()
            self.search_limiter.reset()
            self.faults.clear()

    # ---- what tests look at ----------------------------------------------------------
    def owner_ids(self) -> set[str]:
        return {o["id"] for o in self.owners}

    def contact(self, email: str) -> Record | None:
        with self.lock:
            return self.store.find("contacts", email, "email")

    def company(self, domain: str) -> Record | None:
        """The live company whose `domain` is this one (what a person finds in the UI)."""
        with self.lock:
            return self.store.find("companies", domain.lower(), "domain")

    def associate(self, a: Record, b: Record) -> None:
        """The default association between two records, both ways (associations v4)."""
        with self.lock:
            a.associations.setdefault(b.object_type, set()).add(b.id)
            b.associations.setdefault(a.object_type, set()).add(a.id)

    def missing_scope(self, token: str, scope: str | None) -> str | None:
        granted = self.token_scopes.get(token)
        return scope if scope and granted is not None and scope not in granted else None

    def notify_privacy_deletion(self, object_id: str) -> None:
        """Deliver contact.privacyDeletion to the subscribed app, as HubSpot does, off the
        request thread (HubSpot delivers webhooks asynchronously)."""
        if self.webhook_target is None:
            return
        from emulators.hubspot.webhooks import deletion_event, send_events

        url, secret = self.webhook_target
        event = deletion_event(object_id, portal_id=self.portal_id, privacy=True)

        def deliver() -> None:
            answer = send_events(url, secret, [event])
            with self.lock:
                self.deliveries.append((event["subscriptionType"], answer.status_code,
                                        answer.text))

        threading.Thread(target=deliver, daemon=True).start()

    def searchable(self, object_type: str) -> list[Record]:
        """What CRM search can find now: live records indexed `search_index_delay_s` ago."""
        with self.lock:
            horizon = self.clock() - timedelta(seconds=self.search_index_delay_s)
            return [r for r in self.store.live(object_type)
                    if not self.search_index_delay_s or r.updated_at <= horizon]

    def contacts(self) -> list[Record]:
        with self.lock:
            return self.store.live("contacts")

    def records(self, object_type: str) -> list[Record]:
        with self.lock:
            return self.store.live(object_type)

    def count(self, endpoint: str) -> int:
        """Requests received for e.g. 'POST /crm/v3/objects/contacts/batch/upsert'."""
        with self.lock:
            return self.calls[endpoint]

    def total_calls(self) -> int:
        with self.lock:
            return sum(self.calls.values())

    def record_call(self, endpoint: str, status: int, path: str) -> None:
        with self.lock:
            self.calls[endpoint] += 1
            self.statuses[status] += 1
            self.log.append((endpoint, path, status))

    def summary(self) -> dict:
        with self.lock:
            return {
                "portalId": self.portal_id,
                "records": {t: len(self.store.live(t)) for t in self.store.records},
                "archived": {t: sum(r.archived for r in rs.values())
                             for t, rs in self.store.records.items()},
                "calls": dict(self.calls),
                "statuses": {str(k): v for k, v in self.statuses.items()},
                "rateLimit": {"max": self.limiter.max_requests,
                              "intervalMs": self.limiter.interval_ms,
                              "daily": self.limiter.daily_max},
                "faults": {"fail_next": self.faults.fail_next, "status": self.faults.status,
                           "latency_s": self.faults.latency_s, "policy": self.fault_policy},
                "customProperties": sorted(n for n, d in self.properties["contacts"].items()
                                           if not d["hubspotDefined"]),
            }

    # ---- seeding helpers (tests, local stack) ----------------------------------------
    def seed_contacts(self, count: int, start: datetime, step: timedelta,
                      prefix: str = "seed") -> list[Record]:
        """Create many contacts fast, modified at start, start+step, ... (bypasses HTTP)."""
        with self.lock:
            out = []
            for i in range(count):
                at = start + step * i
                clean = {"email": f"{prefix}{i}@example.com", "lifecyclestage": "lead"}
                out.append(self.store.create("contacts", clean, at=at))
            return out

    def provision_custom(self) -> None:
        """Make the portal look like leadflow's provision() already ran: the `leadflow` property
        group and its custom properties on contacts and companies, as the properties API leaves
        them once created (POST /crm/v3/properties/{objectType}/groups and
        /crm/v3/properties/{objectType}; developers.hubspot.com/docs/api-reference/latest/crm/
        properties/guide, "CRM API | Properties"). A portal has none of them until then."""
        with self.lock:
            for obj, custom in (("contacts", CUSTOM), ("companies", CUSTOM_COMPANY)):
                self.groups[obj].setdefault(
                    "leadflow", {"name": "leadflow", "label": "leadflow", "displayOrder": -1,
                                 "archived": False})
                for name, kind, field in custom:
                    self.properties[obj].setdefault(
                        name, definition(name, kind, field, "leadflow", hubspotDefined=False))


CUSTOM = [("lead_stage", "string", "text"), ("lead_score", "number", "number"),
          ("lead_disqualification_reason", "string", "text"), ("lead_loss_reason", "string", "text"),
          ("lead_follow_up_date", "date", "date"),
          # Issue 19. Custom contact properties exist once created through the properties API
          # (developers.hubspot.com/docs/api-reference/latest/crm/properties/guide, "CRM API |
          # Properties"); a write naming one that does not exist is refused.
          ("lead_fit_grade", "string", "text"), ("lead_icp", "string", "text"),
          # The stock playbooks' `fields:` (connectors.hubspot.CUSTOM_PROPERTIES creates the same
          # through that API; a write naming one before it exists is refused, same guide).
          ("lead_company_size", "number", "number"),
          *((name, "string", "text") for name in (
              "lead_role", "lead_use_case", "lead_timeline", "lead_stakeholders", "lead_budget",
              "lead_nurture_path", "lead_snooze_reason"))]
# On companies (connectors.hubspot_accounts.COMPANY_PROPERTIES creates the same).
CUSTOM_COMPANY = [("leadflow_account_stage", "string", "text"),
                  ("leadflow_furthest_stage", "string", "text"),
                  ("leadflow_active_evaluation", "bool", "booleancheckbox"),
                  ("leadflow_demo_completed", "bool", "booleancheckbox"),
                  ("leadflow_leads", "number", "number")]


def _owner(seed: dict) -> dict:
    return {
        "id": str(seed["id"]),
        "email": seed["email"],
        "firstName": seed.get("firstName", ""),
        "lastName": seed.get("lastName", ""),
        "userId": int(seed.get("userId", int(seed["id"]) + 9000)),
        "type": "PERSON",
        "createdAt": "2020-01-01T00:00:00.000Z",
        "updatedAt": "2020-01-01T00:00:00.000Z",
        "archived": bool(seed.get("archived", False)),
        "teams": seed.get("teams", []),
    }
