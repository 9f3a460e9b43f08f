"""Accounts in the emulated org through the real simple-salesforce client: upsert on the domain
key, a person's Account name kept, and a converted Lead's ConvertedAccountId read back."""

from __future__ import annotations

from connectors.base import AccountSnapshot
from tests.support.sf_helpers import lead


def account(domain: str, **kw: object) -> AccountSnapshot:
    return AccountSnapshot(domain=domain, stage="Engaged", furthest_stage="MQL", leads=1, **kw)  # type: ignore[arg-type]


def test_accounts_are_upserted_on_their_domain_in_one_collection_call(org, connector) -> None:
    org.state.insert("Account", {"Name": "Globex Corporation",
                                 "Leadflow_Account_Key__c": "globex.com"})
    before = org.state.calls["collections.upsert"]
    results = connector.upsert_accounts([account("acme.io"), account("globex.com",
                                                                    active_evaluation=True)])
    assert [r.ok for r in results] == [True, True]
    assert org.state.calls["collections.upsert"] - before == 1
    acme = org.state.find("Account", "Leadflow_Account_Key__c", "acme.io")[0]
    assert (acme["Name"], acme["Website"], acme["Account_Stage__c"]) == ("acme.io", "acme.io", "Engaged")
    globex = org.state.find("Account", "Leadflow_Account_Key__c", "globex.com")[0]
    assert globex["Name"] == "Globex Corporation" and globex["Active_Evaluation__c"] is True
    assert results[1].record_id == globex["Id"]
    again = connector.upsert_accounts([account("acme.io", demo_completed=True)])
    assert again[0].record_id == acme["Id"]
    assert len(org.state.find("Account", "Website", "acme.io")) == 1


def test_a_converted_lead_names_its_account(org, connector) -> None:
    connector.upsert_leads([lead(1)])
    key = lead(1).email.strip().lower()
    assert connector.account_domain_of(key) is None  # not converted: no association
    target = org.state.insert("Account", {"Name": "Initech", "Website": "https://www.initech.com"})[0]
    lead_id = org.state.lead_by_key(key)["Id"]
    org.state.convert_lead(lead_id, account_id=target)
    assert org.state.get("Lead", lead_id)["ConvertedAccountId"] == target
    assert connector.account_domain_of(key) == "https://www.initech.com"
    assert connector.account_domain_of("nobody@example.com") is None
    connector.upsert_leads([lead(2)])
    before = org.state.calls["query"]
    assert connector.account_domains_of([lead(2).email, key.upper(), "nobody@example.com"]) == [
        None, "https://www.initech.com", None]
    assert org.state.calls["query"] - before == 2  # the Leads, then their Accounts
