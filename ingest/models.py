"""What each sender posts, as pydantic models: the contract the OpenAPI document publishes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from lifecycle.events import normalize_email

# Scalar property values; they reach the lead as strings.
Scalar = str | int | float | bool | None
MAX_PROPERTIES = 100
# Every field is bounded; the whole event is then checked against lifecycle's MAX_EVENT_BYTES.
PropertyName = Annotated[str, Field(max_length=200)]


def _email(value: str) -> str:
    return normalize_email(value)


def as_text(properties: dict[str, Any]) -> dict[str, str]:
    """Scalars as the strings a LeadEvent carries; nested values are left out."""
    out = {}
    for key, value in properties.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            out[key] = str(value)
        elif value is None:
            out[key] = ""
    return out


class ProductEvent(BaseModel):
    """One product event: `name` goes through the playbook's event map; unknown names are touches."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=200, description="Stable id: redelivery counts once")
    email: str = Field(max_length=320)
    name: str = Field(min_length=1, max_length=200, examples=["Workspace Activated"])
    occurred_at: AwareDatetime
    properties: dict[PropertyName, Scalar] = Field(default_factory=dict, max_length=MAX_PROPERTIES)
    actor: str = Field("", max_length=200, description=(
        "Who did it, as the product knows them; recorded as 'product:<actor>' (a fact never "
        "acts for a person: commands such as confirm_sql come only through `leadflow command`)"))

    @field_validator("email")
    @classmethod
    def _normal_email(cls, value: str) -> str:
        return _email(value)


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[ProductEvent] = Field(min_length=1)


class SegmentMessage(BaseModel):
    """A Segment spec message as the Webhook destination forwards it; only `track` moves leads."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1, max_length=50)
    messageId: str = Field(min_length=1, max_length=190)  # prefixed "segment:" in the event id
    event: str | None = Field(None, max_length=200)
    userId: str | None = Field(None, max_length=320)
    anonymousId: str | None = Field(None, max_length=200)
    timestamp: AwareDatetime | None = None
    originalTimestamp: AwareDatetime | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)


# HubSpot's occurredAt is epoch milliseconds; bounded so it stays a valid datetime.
MAX_EPOCH_MS = 253_402_300_799_999


class HubSpotEvent(BaseModel):
    """One event of a HubSpot webhook delivery (a JSON array of these)."""

    model_config = ConfigDict(extra="allow")

    eventId: int
    subscriptionType: str = Field(min_length=1, max_length=100)
    objectId: int = Field(ge=0)
    occurredAt: int = Field(ge=0, le=MAX_EPOCH_MS)
    portalId: int | None = None
    attemptNumber: int | None = None
    propertyName: str | None = Field(None, max_length=200)
    propertyValue: str | None = Field(None, max_length=10_000)
    changeSource: str | None = Field(None, max_length=100)
    sourceId: str | None = Field(None, max_length=200)
    primaryObjectId: int | None = Field(None, ge=0)
    mergedObjectIds: list[int] = Field(default_factory=list, max_length=100)


class SalesforceLeadChange(BaseModel):
    """One Lead as the Salesforce callout sends it (docs/salesforce-flow.md)."""

    model_config = ConfigDict(extra="allow")

    Id: str = Field(min_length=15, max_length=18)
    Email: str = Field(max_length=320)
    Status: str | None = Field(None, max_length=255)
    Lead_Stage__c: str | None = Field(None, max_length=255)
    IsConverted: bool = False
    ConvertedContactId: str | None = Field(None, max_length=18)
    IsDeleted: bool = False
    # The person asked to be forgotten: the flow sends the Lead's Individual.ShouldForget
    # ("Forget this Individual", Salesforce's GDPR flag) with the deletion (docs/salesforce-flow.md).
    ShouldForget: bool = False
    MasterRecordId: str | None = Field(None, max_length=18)
    MasterRecordEmail: str | None = Field(None, max_length=320)
    ChangedBy: str | None = Field(None, max_length=320, description="Email of the user who changed it")
    Disqualification_Reason__c: str | None = Field(None, max_length=255, description=(
        "The rep's reason when Status means disqualified; an unknown value is kept as other:<value>"))
    Loss_Reason__c: str | None = Field(None, max_length=255, description="The rep's reason for a loss")
    SystemModstamp: AwareDatetime | None = None

    @field_validator("Email")
    @classmethod
    def _normal_email(cls, value: str) -> str:
        return _email(value)

    @field_validator("MasterRecordEmail")
    @classmethod
    def _master_email(cls, value: str | None) -> str | None:
        return None if value is None else _email(value)

    @model_validator(mode="after")
    def _merge_needs_survivor(self) -> SalesforceLeadChange:
        if self.MasterRecordId and not self.MasterRecordEmail:
            raise ValueError("MasterRecordEmail is required when MasterRecordId is set (a merge)")
        return self


class SalesforceCallout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leads: list[SalesforceLeadChange] = Field(min_length=1)


class Skipped(BaseModel):
    ref: str
    reason: str


class Accepted(BaseModel):
    """202: Temporal accepted every signal; `skipped` lists what carried nothing for a lead,
    and events for a lead that was deleted ("lead was deleted in Salesforce on 2026-11-23")."""

    accepted: int
    skipped: list[Skipped] = Field(default_factory=list)
