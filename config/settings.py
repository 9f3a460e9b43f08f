"""Runtime settings, read from the environment (and a local `.env`).

Secrets are `SecretStr` so they never show up in reprs or logs.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # An empty variable means "not set" (docker compose passes `${X:-}` as an empty string).
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    temporal_address: str = Field("localhost:7233", alias="LEADFLOW_TEMPORAL_ADDRESS")
    temporal_namespace: str = Field("default", alias="LEADFLOW_TEMPORAL_NAMESPACE")
    task_queue: str = Field("leadflow", alias="LEADFLOW_TASK_QUEUE")
    playbook: str = Field("demo_led", alias="LEADFLOW_PLAYBOOK")
    # Every *.yaml here is a playbook (selection.yaml picks one per new lead), checked at start-up;
    # unset: the stock playbooks shipped in config/playbooks (see `playbook_directory`).
    playbook_dir: Path | None = Field(None, alias="LEADFLOW_PLAYBOOK_DIR")

    @property
    def playbook_directory(self) -> Path:
        return self.playbook_dir or Path(__file__).parent / "playbooks"
    # Leads report to one AccountWorkflow per company, which syncs the HubSpot company and the
    # Salesforce Account (issue 18); false: no accounts.
    accounts: bool = Field(True, alias="LEADFLOW_ACCOUNTS")
    data_dir: Path = Field(Path(".data"), alias="LEADFLOW_DATA_DIR")
    # Lead runs a worker keeps in memory between their workflow tasks (the SDK's sticky cache);
    # a lead evicted from it replays its history at its next task. bench/scale.py measures it.
    workflow_cache: int = Field(1000, ge=1, alias="LEADFLOW_WORKFLOW_CACHE")
    # Temporal Cloud or a TLS-secured cluster: an API key, or mTLS with a client certificate and key
    # (PEM files); a custom CA for a self-hosted cluster's server certificate. Any of them turns TLS on.
    temporal_api_key: SecretStr | None = Field(None, alias="LEADFLOW_TEMPORAL_API_KEY")
    temporal_tls: bool = Field(False, alias="LEADFLOW_TEMPORAL_TLS")
    temporal_tls_cert: Path | None = Field(None, alias="LEADFLOW_TEMPORAL_TLS_CERT")
    temporal_tls_key: Path | None = Field(None, alias="LEADFLOW_TEMPORAL_TLS_KEY")
    temporal_tls_ca: Path | None = Field(None, alias="LEADFLOW_TEMPORAL_TLS_CA")

    hubspot_access_token: SecretStr | None = Field(None, alias="HUBSPOT_ACCESS_TOKEN")
    hubspot_base_url: str = Field("https://api.hubapi.com", alias="HUBSPOT_BASE_URL")

    salesforce_username: str | None = Field(None, alias="SALESFORCE_USERNAME")
    salesforce_password: SecretStr | None = Field(None, alias="SALESFORCE_PASSWORD")
    salesforce_security_token: SecretStr | None = Field(None, alias="SALESFORCE_SECURITY_TOKEN")
    # The connected app's consumer key and secret. With SALESFORCE_PRIVATE_KEY_FILE and a
    # username: the OAuth JWT bearer flow; with the secret and no username: client credentials;
    # with username, password and secret: the username-password flow (being retired).
    salesforce_client_id: str | None = Field(None, alias="SALESFORCE_CLIENT_ID")
    salesforce_client_secret: SecretStr | None = Field(None, alias="SALESFORCE_CLIENT_SECRET")
    salesforce_private_key_file: Path | None = Field(None, alias="SALESFORCE_PRIVATE_KEY_FILE")
    salesforce_instance_url: str | None = Field(None, alias="SALESFORCE_INSTANCE_URL")
    salesforce_session_id: SecretStr | None = Field(None, alias="SALESFORCE_SESSION_ID")
    # Login host (https://login.salesforce.com, or an emulator's https://127.0.0.1:PORT).
    salesforce_base_url: str = Field("https://login.salesforce.com", alias="SALESFORCE_BASE_URL")
    salesforce_ca_bundle: str | None = Field(None, alias="SALESFORCE_CA_BUNDLE")
    # true: the org's active Lead assignment rule runs on every leadflow write (by default it runs
    # only on new Leads leadflow gives no owner; other writes send `Sforce-Auto-Assign: FALSE`).
    salesforce_assignment_rules: bool = Field(False, alias="SALESFORCE_ASSIGNMENT_RULES")

    segment_write_key: SecretStr | None = Field(None, alias="SEGMENT_WRITE_KEY")
    segment_host: str = Field("https://api.segment.io", alias="SEGMENT_HOST")

    # Inbound events (`leadflow ingest`): the product backend's bearer token and the shared
    # secrets that sign Segment, HubSpot (the app's client secret) and Salesforce deliveries.
    ingest_host: str = Field("127.0.0.1", alias="LEADFLOW_INGEST_HOST")
    ingest_port: int = Field(8080, alias="LEADFLOW_INGEST_PORT")
    ingest_token: SecretStr | None = Field(None, alias="LEADFLOW_INGEST_TOKEN")
    # The ingest service's address as senders call it, when a TLS-terminating proxy sits in
    # front (e.g. https://leads.example.com or https://example.com/leadflow): HubSpot signs the
    # URL it called, so webhook signatures are checked against this base plus the request path.
    public_url: str | None = Field(None, alias="LEADFLOW_PUBLIC_URL")
    segment_webhook_secret: SecretStr | None = Field(None, alias="SEGMENT_WEBHOOK_SECRET")
    hubspot_client_secret: SecretStr | None = Field(None, alias="HUBSPOT_CLIENT_SECRET")
    salesforce_webhook_secret: SecretStr | None = Field(None, alias="SALESFORCE_WEBHOOK_SECRET")

    # The ledger: SQLite under the data directory unless a database URL is given.
    database_url: SecretStr | None = Field(None, alias="LEADFLOW_DATABASE_URL")

    # Payload encryption (privacy/): `id:base64key` pairs, comma-separated, newest first. The
    # newest encrypts; every listed key decrypts. Unset: payloads are stored in plain JSON.
    encryption_keys: SecretStr | None = Field(None, alias="LEADFLOW_ENCRYPTION_KEYS")
    # Where the per-lead data keys and the forgotten leads' tombstones live: the ledger's
    # database unless this is set.
    key_store_url: SecretStr | None = Field(None, alias="LEADFLOW_KEY_STORE_URL")
    # The codec server for the Temporal Web UI (`leadflow codec-server`).
    codec_host: str = Field("127.0.0.1", alias="LEADFLOW_CODEC_HOST")
    codec_port: int = Field(8089, alias="LEADFLOW_CODEC_PORT")
    codec_token: SecretStr | None = Field(None, alias="LEADFLOW_CODEC_TOKEN")
    codec_cors_origins: str = Field("http://localhost:8233", alias="LEADFLOW_CODEC_CORS_ORIGINS")
    # Search attributes leads leave unset, e.g. "AccountDomain,LeadOwner": the personal ones are
    # readable in Temporal's visibility store, where payload encryption does not reach.
    omit_search_attributes: str | None = Field(None, alias="LEADFLOW_OMIT_SEARCH_ATTRIBUTES")

    @property
    def omitted_search_attributes(self) -> list[str]:
        return [n.strip() for n in (self.omit_search_attributes or "").split(",") if n.strip()]

    # Continuous reconcile: the schedule's interval, e.g. "5m".
    reconcile_every: str = Field("5m", alias="LEADFLOW_RECONCILE_EVERY")
    # How far each reconcile window also reaches into the one before: CRM search finds a change
    # only some seconds after it is written, so a change just before a window closes would
    # otherwise be missed by both windows.
    reconcile_lag: str = Field("1m", alias="LEADFLOW_RECONCILE_LAG")

    # Observability: "json" in production, "text" locally; where Prometheus scrapes the worker.
    log_format: str = Field("text", alias="LEADFLOW_LOG_FORMAT")
    metrics_port: int | None = Field(None, alias="LEADFLOW_METRICS_PORT")
    metrics_host: str = Field("127.0.0.1", alias="LEADFLOW_METRICS_HOST")


def load_settings() -> Settings:
    return Settings()
