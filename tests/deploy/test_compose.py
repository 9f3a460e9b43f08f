"""docker-compose.yml, checked without a container engine: the Compose Specification's schema,
then what the schema cannot see (dependencies, documented variables, no committed secrets)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SETTINGS_VARIABLES = {field.alias for field in Settings.model_fields.values()}
SECRET_VARIABLES = {field.alias for field in Settings.model_fields.values()
                    if "SecretStr" in str(field.annotation)}
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)(?:[:?\-][^}]*)?\}")


def env_example() -> dict[str, str]:
    """Variables .env.example documents, set (NAME=value) or shown commented out (# NAME=value)."""
    documented = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            documented[match.group(1)] = match.group(2)
    return documented


def schema_errors(document: object) -> list[str]:
    # The schema names draft 2019-09 by an http:// URI jsonschema does not recognise.
    validator = jsonschema.Draft201909Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def leadflow_services() -> dict[str, dict]:  # type: ignore[type-arg]
    return {name: svc for name, svc in COMPOSE["services"].items() if "build" in svc}


def test_compose_file_follows_the_compose_specification():
    assert schema_errors(COMPOSE) == []


def test_the_schema_check_catches_a_misspelt_key():
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["worker"]["enviroment"] = {"X": "1"}
    assert any("enviroment" in error for error in schema_errors(broken))


def test_the_stack_has_every_part_of_a_deployment():
    services = COMPOSE["services"]
    assert {"postgresql", "temporal-schema", "temporal", "temporal-ui", "ledger-db", "worker",
            "ingest"} <= set(services)
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert services["temporal-ui"]["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "false"
    assert services["worker"]["command"] == ["worker"] and services["ingest"]["command"] == ["ingest"]
    assert "ledger-db:5432" in services["worker"]["environment"]["LEADFLOW_DATABASE_URL"]


def test_up_applies_the_schedules_once_temporal_is_ready():
    """`docker compose up` alone must leave a deployment that reconciles continuously."""
    job = COMPOSE["services"]["schedules"]
    assert job["command"] == ["schedules", "apply"] and job["restart"] == "no"
    assert job["depends_on"] == {"temporal-namespace": {"condition": "service_completed_successfully"}}
    assert COMPOSE["services"]["temporal-namespace"]["command"] == ["setup", "temporal"]
    assert "LEADFLOW_RECONCILE_EVERY" in job["environment"]
    assert "LEADFLOW_RECONCILE_LAG" in job["environment"]


def test_every_dependency_exists_and_its_condition_can_be_met():
    services = COMPOSE["services"]
    for name, service in services.items():
        depends = service.get("depends_on", {})
        conditions = depends if isinstance(depends, dict) else {d: {"condition": "service_started"}
                                                                for d in depends}
        for target, rule in conditions.items():
            assert target in services, f"{name} depends on unknown service {target}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target} to be healthy"
            if rule["condition"] == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} is a one-off job"


def test_leadflow_services_only_set_variables_leadflow_reads():
    for name, service in leadflow_services().items():
        unknown = set(service["environment"]) - SETTINGS_VARIABLES
        assert not unknown, f"{name} sets {sorted(unknown)}, which config/settings.py does not read"


def test_every_interpolated_variable_is_documented_in_env_example():
    documented = env_example()
    used = set(INTERPOLATION.findall(COMPOSE_TEXT))
    assert used, "the compose file takes its configuration from the environment"
    assert used <= set(documented), f"undocumented: {sorted(used - set(documented))}"
    stale = set(documented) - used - SETTINGS_VARIABLES
    assert not stale, f".env.example documents variables nothing reads: {sorted(stale)}"


@pytest.mark.parametrize("name", sorted(SECRET_VARIABLES | {"TEMPORAL_DB_PASSWORD", "LEDGER_DB_PASSWORD"}))
def test_env_example_commits_no_secret(name):
    value = env_example().get(name, "")
    assert value in ("", "change-me"), f"{name} in .env.example must be empty or change-me"


def test_database_passwords_must_be_set_before_compose_starts():
    # `${X:?message}` makes docker compose refuse to start without the variable.
    assert "${TEMPORAL_DB_PASSWORD:?" in COMPOSE_TEXT and "${LEDGER_DB_PASSWORD:?" in COMPOSE_TEXT


def test_the_web_ui_decodes_payloads_through_leadflows_codec_server():
    services = COMPOSE["services"]
    codec = services["codec-server"]
    assert codec["command"] == ["codec-server"]
    assert codec["ports"] == ["${LEADFLOW_CODEC_PUBLISH_PORT:-8089}:8089"]
    assert codec["environment"]["LEADFLOW_CODEC_TOKEN"] == "${LEADFLOW_CODEC_TOKEN:-}"
    # The browser calls the endpoint: the codec server's published port, with the UI's origin allowed.
    endpoint = services["temporal-ui"]["environment"]["TEMPORAL_CODEC_ENDPOINT"]
    assert endpoint.startswith("http://localhost:${LEADFLOW_CODEC_PUBLISH_PORT:-8089}/")
    assert codec["environment"]["LEADFLOW_CODEC_CORS_ORIGINS"] == "http://localhost:${TEMPORAL_UI_PORT:-8233}"
    for name in ("worker", "ingest", "codec-server"):  # one key set for every process
        assert services[name]["environment"]["LEADFLOW_ENCRYPTION_KEYS"] == "${LEADFLOW_ENCRYPTION_KEYS:-}"
