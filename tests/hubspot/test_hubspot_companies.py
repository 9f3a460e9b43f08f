"""Accounts as HubSpot companies through hubspot-api-client: found by domain, created when
missing, written in batches; a contact's company association read back."""

from __future__ import annotations

from connectors.base import AccountSnapshot


def account(domain: str, **kw: object) -> AccountSnapshot:
    return AccountSnapshot(domain=domain, stage="Active Evaluation", leads=2, **kw)  # type: ignore[arg-type]


def test_companies_are_found_by_domain_and_created_when_missing(provisioned, connector) -> None:
    hub = provisioned.state
    with hub.lock:
        existing = hub.store.create("companies", {"name": "Globex Corp", "domain": "globex.com"})
    results = connector.upsert_accounts([account("acme.io"), account("globex.com", owner_id="101")])
    assert [r.ok for r in results] == [True, True]
    assert results[1].record_id == existing.id
    assert hub.count("POST /crm/v3/objects/companies/search") == 1
    assert hub.count("POST /crm/v3/objects/companies/batch/update") == 1
    assert hub.count("POST /crm/v3/objects/companies/batch/create") == 1
    globex = hub.company("globex.com").properties
    assert globex["name"] == "Globex Corp" and globex["hubspot_owner_id"] == "101"
    assert globex["leadflow_account_stage"] == "Active Evaluation" and globex["leadflow_leads"] == "2"
    acme = hub.company("acme.io")
    assert acme.id == results[0].record_id and acme.properties["name"] == "acme.io"
    # Known by id from now on: no search, one batch update.
    connector.upsert_accounts([account("acme.io", record_id=acme.id, demo_completed=True)])
    assert hub.count("POST /crm/v3/objects/companies/search") == 1
    assert hub.company("acme.io").properties["leadflow_demo_completed"] == "true"


def test_an_unprovisioned_portal_refuses_the_account_with_the_property(hub, connector) -> None:
    result = connector.upsert_accounts([account("acme.io")])[0]
    assert not result.ok and "leadflow_account_stage" in (result.message or "")


def test_a_contacts_company_association_is_read_back(provisioned, connector) -> None:
    hub = provisioned.state
    with hub.lock:
        contact = hub.store.create("contacts", {"email": "dan@initech-labs.io"})
        company = hub.store.create("companies", {"name": "Initech", "domain": "initech.com"})
        hub.store.create("contacts", {"email": "eve@acme.io"})
    hub.associate(contact, company)
    assert connector.company_domain_of("dan@initech-labs.io") == "initech.com"
    assert connector.company_domain_of("eve@acme.io") is None
    assert connector.company_domain_of("nobody@acme.io") is None
    before = hub.total_calls()
    assert connector.company_domains_of(["nobody@acme.io", "DAN@initech-labs.io", "eve@acme.io"]) \
        == [None, "initech.com", None]
    assert hub.total_calls() - before == 3  # contacts, their associations, the companies
    assert hub.count("POST /crm/v4/associations/{from_type}/{to_type}/batch/read") == 1
