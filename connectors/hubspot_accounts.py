"""Accounts in HubSpot: the company a lead's account is, and the contact -> company association.

HubSpot's batch upsert takes only an `idProperty` "whose values are unique for the object"
(developers.hubspot.com/docs/api-reference/legacy/crm/objects/companies/batch/upsert-companies),
and a company's `domain` is not one; HubSpot calls the domain "the primary unique identifier to
avoid duplicate companies" (CRM API | Companies guide). So an account is associated with its
company by domain: one CRM search (`domain IN [...]`, POST /crm/v3/objects/companies/search) finds
the companies that exist, `POST /crm/v3/objects/companies/batch/update` writes them and
`POST /crm/v3/objects/companies/batch/create` creates the rest (100 inputs a request each). The
account workflow keeps the company id the write answered, so later writes skip the search (which
also lags writes by seconds).

A lead's CRM association, for many leads at once (3 requests per 100 leads): the contacts read by
email (`POST /crm/v3/objects/contacts/batch/read`, `idProperty: email`), their companies
(`POST /crm/v4/associations/contacts/companies/batch/read`, associations v4 guide), and those
companies' `domain` (`POST /crm/v3/objects/companies/batch/read`); the lowest company id wins.
"""

from __future__ import annotations

from typing import Any

from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
)
from hubspot.crm.companies.exceptions import ApiException as CompaniesApiException
from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId as ContactsRead
from hubspot.crm.contacts import SimplePublicObjectId as ContactId
from hubspot.crm.properties import OptionInput

from connectors.base import AccountSnapshot, SyncResult

BATCH_SIZE = 100
_YES_NO = [OptionInput(label="Yes", value="true", display_order=0, hidden=False),
           OptionInput(label="No", value="false", display_order=1, hidden=False)]
# Custom company properties in leadflow's group (`leadflow setup hubspot` creates them).
COMPANY_PROPERTIES = [
    {"name": "leadflow_account_stage", "label": "Account stage", "type": "string",
     "field_type": "text"},
    {"name": "leadflow_furthest_stage", "label": "Furthest lead stage", "type": "string",
     "field_type": "text"},
    {"name": "leadflow_active_evaluation", "label": "Active evaluation", "type": "bool",
     "field_type": "booleancheckbox", "options": _YES_NO},
    {"name": "leadflow_demo_completed", "label": "Demo completed", "type": "bool",
     "field_type": "booleancheckbox", "options": _YES_NO},
    {"name": "leadflow_leads", "label": "Leads in leadflow", "type": "number",
     "field_type": "number"},
]


def company_properties(account: AccountSnapshot) -> dict[str, str]:
    props = {"domain": account.domain, "leadflow_account_stage": account.stage or "",
             "leadflow_furthest_stage": account.furthest_stage or "",
             "leadflow_active_evaluation": str(account.active_evaluation).lower(),
             "leadflow_demo_completed": str(account.demo_completed).lower(),
             "leadflow_leads": str(account.leads)}
    if account.owner_id:
        props["hubspot_owner_id"] = account.owner_id
    return props


class HubSpotAccounts:
    """The company half of the HubSpot connector; `io` is the connector's paced transport."""

    def __init__(self, io: Any, companies: Any, contacts_basic: Any, contacts_batch: Any = None,
                 associations: Any = None) -> None:
        self._io, self._contacts = io, contacts_basic
        self._contacts_batch, self._associations = contacts_batch, associations
        self._search = companies.search_api
        self._batch = companies.batch_api
        self._basic = companies.basic_api

    def upsert_accounts(self, accounts: list[AccountSnapshot]) -> list[SyncResult]:
        latest = {a.domain: a for a in accounts}  # one record per domain: the later snapshot
        ids = {d: a.record_id for d, a in latest.items() if a.record_id}
        results: dict[str, SyncResult] = {}
        try:
            unknown = [d for d in latest if d not in ids]
            for start in range(0, len(unknown), BATCH_SIZE):
                ids |= self._find(unknown[start:start + BATCH_SIZE])
            found = [d for d in latest if d in ids]
            for start in range(0, len(found), BATCH_SIZE):
                results |= self._update(found[start:start + BATCH_SIZE], latest, ids)
            # A company deleted in HubSpot since: created again.
            missing = [d for d in latest if d not in results]
            for start in range(0, len(missing), BATCH_SIZE):
                results |= self._create(missing[start:start + BATCH_SIZE], latest)
        except CompaniesApiException as exc:
            message = f"HTTP {exc.status}: {exc.body or exc.reason}"
            return [results.get(a.domain) or SyncResult(
                email=a.domain, ok=False, vendor_code=f"HTTP_{exc.status}", message=message,
                retryable=exc.status in (429, 500, 502, 503, 504)) for a in accounts]
        return [results[a.domain] for a in accounts]

    def _find(self, domains: list[str]) -> dict[str, str]:
        request = PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(property_name="domain", operator="IN",
                                                       values=domains)])],
            properties=["domain"], limit=200, after="0", sorts=[])
        page = self._io.call("search companies by domain", self._search.do_search_with_http_info,
                             public_object_search_request=request, search=True)
        out: dict[str, str] = {}
        for item in page.results:  # the oldest company of a domain, if people made two
            domain = ((item.properties or {}).get("domain") or "").lower()
            out.setdefault(domain, str(item.id))
        return out

    def _update(self, domains: list[str], latest: dict[str, AccountSnapshot],
                ids: dict[str, str]) -> dict[str, SyncResult]:
        body = BatchInputSimplePublicObjectBatchInput(inputs=[
            SimplePublicObjectBatchInput(id=ids[d], properties=company_properties(latest[d]))
            for d in domains])
        data = self._io.call("batch update companies", self._batch.update_with_http_info, body)
        written = {str(r.id) for r in data.results}
        return {d: SyncResult(email=d, ok=True, record_id=ids[d]) for d in domains
                if ids[d] in written}

    def _create(self, domains: list[str], latest: dict[str, AccountSnapshot]) -> dict[str, SyncResult]:
        body = BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
            SimplePublicObjectBatchInputForCreate(
                properties={"name": d, **company_properties(latest[d])}, associations=[])
            for d in domains])
        data = self._io.call("batch create companies", self._batch.create_with_http_info, body)
        # HubSpot does not promise the order of batch results: match them by domain.
        made = {((r.properties or {}).get("domain") or "").lower(): str(r.id) for r in data.results}
        return {d: SyncResult(email=d, ok=d in made, record_id=made.get(d),
                              vendor_code=None if d in made else "BATCH_ERROR",
                              message=None if d in made else f"company {d}: no result returned",
                              retryable=d not in made) for d in domains}

    def company_domain_of(self, email: str, api_errors: tuple[type[Exception], ...]) -> str | None:
        """The domain of the company HubSpot associates with this contact (None: no contact, no
        company, or a company without a domain)."""
        try:
            contact = self._io.call("find contact", self._contacts.get_by_id_with_http_info,
                                    email.strip().lower(), id_property="email",
                                    properties=["email"], associations=["companies"])
        except api_errors as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise
        linked = (contact.associations or {}).get("companies")
        ids = sorted((a.id for a in (linked.results if linked else [])), key=str)
        if not ids:
            return None
        company = self._io.call("read company", self._basic.get_by_id_with_http_info, ids[0],
                                properties=["domain"])
        return ((company.properties or {}).get("domain") or "").strip().lower() or None

    def company_domains_of(self, emails: list[str]) -> list[str | None]:
        """company_domain_of for many contacts, in batch requests; one answer per email, in order."""
        found: dict[str, str | None] = {}
        wanted = list(dict.fromkeys(e.strip().lower() for e in emails))
        for start in range(0, len(wanted), BATCH_SIZE):
            found |= self._domains_batch(wanted[start:start + BATCH_SIZE])
        return [found.get(e.strip().lower()) for e in emails]

    def _domains_batch(self, emails: list[str]) -> dict[str, str | None]:
        read = ContactsRead(inputs=[ContactId(id=e) for e in emails], id_property="email",
                            properties=["email"], properties_with_history=[])
        contacts = self._io.call("read contacts by email", self._contacts_batch.read_with_http_info,
                                 read).results
        ids = {str(c.id): ((c.properties or {}).get("email") or "").lower() for c in contacts}
        if not ids:
            return {}
        request = BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=i) for i in ids])
        linked = self._io.call("read contact companies", self._associations.get_page_with_http_info,
                               "contacts", "companies", request).results
        company_of = {str(r._from.id): min((str(t.to_object_id) for t in r.to), key=int)
                      for r in linked if r.to}
        if not company_of:
            return {}
        companies = self._io.call("read companies", self._batch.read_with_http_info,
                                  BatchReadInputSimplePublicObjectId(
                                      inputs=[SimplePublicObjectId(id=i)
                                              for i in sorted(set(company_of.values()), key=int)],
                                      properties=["domain"], properties_with_history=[])).results
        domain = {str(c.id): ((c.properties or {}).get("domain") or "").strip().lower() or None
                  for c in companies}
        return {ids[contact]: domain.get(company) for contact, company in company_of.items()}
