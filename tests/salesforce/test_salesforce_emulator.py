"""The emulator as simple-salesforce sees it: status codes, error bodies, limits, control API."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

UPSERT = "composite/sobjects/Lead/Leadflow_Key__c"


def _lead(key: str, **fields: object) -> dict[str, object]:
    return {"attributes": {"type": "Lead"}, "Leadflow_Key__c": key, "LastName": "L",
            "Company": "C"} | fields


def test_tls_is_real_and_needs_the_test_ca(org) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{org.url}/services/data", timeout=5, verify=True)
    trusted = requests.get(f"{org.url}/services/data", timeout=5, verify=org.ca_path)
    assert trusted.json()[0]["version"] == "59.0"


def test_login_errors_use_the_oauth_shape(org) -> None:
    c = org.credentials
    answer = requests.post(f"{org.url}/services/oauth2/token", verify=org.ca_path, timeout=5,
                           data={"grant_type": "password", "client_id": c["client_id"],
                                 "client_secret": c["client_secret"], "username": c["username"],
                                 "password": c["password"]})  # security token missing
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_single_record_upsert_reports_created_then_updated(org, raw_client) -> None:
    sf = raw_client()
    assert sf.Lead.upsert("Leadflow_Key__c/a+b@example.com", {"LastName": "A", "Company": "C"}) \
        == 201
    assert sf.Lead.upsert("Leadflow_Key__c/a+b@example.com", {"Status": "Working"}) == 200
    got = sf.Lead.get_by_custom_id("Leadflow_Key__c", "a+b@example.com")
    assert (got["Status"], got["LastName"]) == ("Working", "A")
    sf.query("SELECT Id FROM User")  # the client records Sforce-Limit-Info on query calls
    assert sf.api_usage["api-usage"].used == 4


def test_record_validation_uses_salesforce_error_bodies(org, raw_client) -> None:
    sf = raw_client()
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Lead.create({"Email": "x@example.com"})
    assert missing.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert missing.value.content[0]["fields"] == ["LastName", "Company"]
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.Lead.create({"LastName": "A", "Company": "C", "Shoe_Size__c": 9})
    assert unknown.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "Shoe_Size__c" in unknown.value.content[0]["message"]


def test_duplicate_rule_fires_on_plain_create(org, raw_client) -> None:
    sf = raw_client()
    sf.Lead.create({"LastName": "A", "Company": "C", "Email": "Dup@example.com"})
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.create({"LastName": "B", "Company": "C", "Email": "dup@example.com"})
    assert caught.value.content[0]["errorCode"] == "DUPLICATES_DETECTED"


def test_collections_refuse_more_than_200_records(org, raw_client) -> None:
    sf = raw_client()
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful(UPSERT, method="PATCH",
                   json={"records": [_lead(f"k{i}") for i in range(201)]})
    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert org.state.select("Lead", True) == []


def test_all_or_none_rolls_back_every_record(org, raw_client) -> None:
    sf = raw_client()
    results = sf.restful(UPSERT, method="PATCH", json={"allOrNone": True, "records": [
        _lead("good"), _lead("bad", Status="Bogus")]})
    assert [r["success"] for r in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["fields"] == ["Status"]
    assert org.state.select("Lead", True) == []


def test_deleted_and_several_matches(org, raw_client) -> None:
    sf = raw_client()
    created = sf.Lead.create({"LastName": "A", "Company": "C"})
    sf.Lead.delete(created["id"])
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Lead.get(created["id"])
    assert caught.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    assert sf.query_all("SELECT Id FROM Lead")["totalSize"] == 0
    assert sf.query_all("SELECT Id, IsDeleted FROM Lead", include_deleted=True)["totalSize"] == 1
    # Two live records sharing a key can only come from outside the API (e.g. a data load).
    for lead_id in (sf.Lead.create({"LastName": n, "Company": "C"})["id"] for n in "XY"):
        org.state.records["Lead"][lead_id]["Leadflow_Key__c"] = "twin"
    with pytest.raises(SalesforceMoreThanOneRecord) as several:
        sf.Lead.upsert("Leadflow_Key__c/twin", {"Status": "Working"})
    assert len(several.value.content) == 2


def test_soql_errors_and_describe(org, raw_client) -> None:
    sf = raw_client()
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Nope__c FROM Lead")
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
    status = next(f for f in sf.Lead.describe()["fields"] if f["name"] == "Status")
    assert status["restrictedPicklist"]
    assert "Closed - Not Converted" in [p["value"] for p in status["picklistValues"]]


def test_daily_limit_and_usage_header(org, raw_client) -> None:
    sf = raw_client()
    org.state.daily_limit = 2
    sf.query("SELECT Id FROM User")
    assert tuple(sf.api_usage["api-usage"]) == (1, 2)
    sf.query("SELECT Id FROM User")
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM User")
    assert caught.value.content == [{"message": "TotalRequests Limit exceeded.",
                                     "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    org.state.daily_limit = 15_000


def test_expired_session_answers_401(org, raw_client) -> None:
    sf = raw_client()
    org.state.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query("SELECT Id FROM User")
    assert caught.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_control_api_plants_faults_and_reports_state(org, raw_client) -> None:
    sf = raw_client()
    control = requests.Session()
    control.trust_env = False
    control.verify = org.ca_path
    control.post(f"{org.url}/_emulator/faults", json={"fail_next": 1, "status": 503},
                 timeout=5).raise_for_status()
    with pytest.raises(Exception) as caught:
        sf.query("SELECT Id FROM User")
    assert getattr(caught.value, "status", None) == 503
    sf.Lead.create({"LastName": "A", "Company": "C"})
    summary = control.get(f"{org.url}/_emulator/state", timeout=5).json()
    assert summary["records"]["Lead"] == 1 and summary["calls"]["Lead.create"] == 1
    control.post(f"{org.url}/_emulator/reset", timeout=5).raise_for_status()
    assert org.state.select("Lead", True) == []
