"""A cached lead run holds its start input once (issue 16: worker RSS at 20,000 leads).

The SDK decodes LeadWorkflow's input without type hints (`*extra` keeps a wrong number of inputs
from failing the workflow task) and keeps the decoded arguments for the whole run. Here the
input goes through the SDK's own decode, as a worker does it."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.common import _type_hints_from_func
from temporalio.contrib.pydantic import pydantic_data_converter

from config.playbook_loader import stock_playbook
from lifecycle.state import LeadState
from workflows.lead import LeadWorkflow, _checked_input
from workflows.lead_models import LeadInput


def test_the_sdk_decodes_the_lead_input_untyped() -> None:
    arg_types, _ = _type_hints_from_func(LeadWorkflow.run)
    assert arg_types is None  # so what the run gets is plain JSON, kept by the SDK


def test_a_run_keeps_no_second_copy_of_a_pinned_playbook_and_state() -> None:
    playbook = stock_playbook("demo_led")
    sent = LeadInput(email="ada@acme.io", playbook=playbook,
                     state=LeadState(email="ada@acme.io", playbook=playbook.name,
                                     stage=playbook.initial_stage,
                                     entered_stage_at=datetime(2026, 11, 30, tzinfo=UTC)))
    converter = pydantic_data_converter.payload_converter
    args = converter.from_payloads(converter.to_payloads([sent]), None)  # as the worker decodes it

    checked = _checked_input(args[0], ())

    assert checked.playbook == playbook and checked.state == sent.state
    assert args == [{}]  # what the SDK holds for the run: nothing left of the 10+ KB of JSON
