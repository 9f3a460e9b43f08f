"""Search attributes a lead keeps current, so operators can list leads in the Temporal UI."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

LEAD_STAGE = SearchAttributeKey.for_keyword("LeadStage")
# A deleted or merged-away lead's LeadStage: `closed:deleted`, `closed:merged` (never a stage name).
CLOSED_PREFIX = "closed:"
LEAD_SCORE = SearchAttributeKey.for_int("LeadScore")
LEAD_OWNER = SearchAttributeKey.for_keyword("LeadOwner")
LEAD_SOURCE = SearchAttributeKey.for_keyword("LeadSource")
SLA_DUE_AT = SearchAttributeKey.for_datetime("SlaDueAt")
FOLLOW_UP_AT = SearchAttributeKey.for_datetime("FollowUpAt")
ACCOUNT_DOMAIN = SearchAttributeKey.for_keyword("AccountDomain")
SYNC_STATUS = SearchAttributeKey.for_keyword("SyncStatus")
LEAD_TEAM = SearchAttributeKey.for_keyword("LeadTeam")

ALL_KEYS: list[SearchAttributeKey[Any]] = [
    LEAD_STAGE, LEAD_SCORE, LEAD_OWNER, LEAD_SOURCE, SLA_DUE_AT, FOLLOW_UP_AT, ACCOUNT_DOMAIN, SYNC_STATUS,
    LEAD_TEAM,
]

# An AccountWorkflow's (workflows/account.py): its stage, owner of record and the active-evaluation
# flag, besides AccountDomain, so `AccountStage = 'Active Evaluation'` lists accounts in the UI.
ACCOUNT_STAGE = SearchAttributeKey.for_keyword("AccountStage")
ACCOUNT_OWNER = SearchAttributeKey.for_keyword("AccountOwner")
ACCOUNT_ACTIVE_EVALUATION = SearchAttributeKey.for_bool("AccountActiveEvaluation")
ACCOUNT_KEYS: list[SearchAttributeKey[Any]] = [ACCOUNT_DOMAIN, ACCOUNT_STAGE, ACCOUNT_OWNER,
                                               ACCOUNT_ACTIVE_EVALUATION]

# Personal or close to it (a company's domain, an employee's email): an operator may keep them out
# of Temporal's visibility store, which payload encryption does not cover (docs/privacy.md).
PERSONAL = frozenset({ACCOUNT_DOMAIN.name, LEAD_OWNER.name, ACCOUNT_OWNER.name})

# Progress of a BackfillWorkflow, visible in the workflow list. The dev server's SQLite visibility
# store allows only three Int attributes (LeadScore is one), so the full tally is one Keyword.
BACKFILL_SEEN = SearchAttributeKey.for_int("BackfillSeen")
BACKFILL_FAILED = SearchAttributeKey.for_int("BackfillFailed")
BACKFILL_PROGRESS = SearchAttributeKey.for_keyword("BackfillProgress")
BACKFILL_KEYS: list[SearchAttributeKey[Any]] = [BACKFILL_SEEN, BACKFILL_FAILED, BACKFILL_PROGRESS]

# Every custom key the namespace must know before any workflow starts.
REGISTERED_KEYS: list[SearchAttributeKey[Any]] = ALL_KEYS + BACKFILL_KEYS + [
    ACCOUNT_STAGE, ACCOUNT_OWNER, ACCOUNT_ACTIVE_EVALUATION]

Values = dict[str, object]


def updates(values: Values, keys: list[SearchAttributeKey[Any]] | None = None) -> list[SearchAttributeUpdate]:
    """Sets every key (a lead's, or those given: an account's ACCOUNT_KEYS) with a value and
    unsets the ones that are None."""
    return [key.value_unset() if values.get(key.name) is None else key.value_set(values[key.name])
            for key in (ALL_KEYS if keys is None else keys)]


def changes(before: Values, after: Values) -> list[SearchAttributeUpdate]:
    """A lead's keys whose value in `after` differs from `before` (absent counts as None): the
    rest stand as they are in Temporal, and each key costs an encoding and visibility bytes."""
    return [key.value_unset() if after.get(key.name) is None else key.value_set(after[key.name])
            for key in ALL_KEYS if after.get(key.name) != before.get(key.name)]


def account_updates(values: Values) -> list[SearchAttributeUpdate]:
    """An account's: sets every account key with a value, unsets the ones that are None."""
    return updates(values, ACCOUNT_KEYS)
