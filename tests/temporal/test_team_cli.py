"""`leadflow team ...` changes a running team router, as an operator would from a shell."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.support.lead_harness import running_worker
from workflows.team_client import team_workflow_id

LEADFLOW = str(Path(sys.prefix) / "bin" / "leadflow")


async def leadflow(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(LEADFLOW, "team", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_team_commands_change_the_router(dev_env):
    async with running_worker(dev_env.client) as h:
        env = {**os.environ, "LEADFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
               "LEADFLOW_TASK_QUEUE": h.task_queue, "LEADFLOW_PLAYBOOK": "demo_led", "COLUMNS": "300"}
        code, out, err = await leadflow(env, "add-member", "sdr-emea", "zoe@example.com",
                                        "--weight", "3", "--cap", "5")
        assert code == 0, err
        assert json.loads(out)["team"] == "sdr-emea"
        assert (await leadflow(env, "away", "sdr-emea", "eva.sdr@example.com", "2031-01-02"))[0] == 0
        assert (await leadflow(env, "set-cap", "sdr-emea", "zoe@example.com"))[0] == 0

        code, out, _ = await leadflow(env, "show", "sdr-emea")
        seats = {s["email"]: s for s in json.loads(out)["seats"]}
        assert seats["zoe@example.com"]["weight"] == 3 and seats["zoe@example.com"]["daily_cap"] is None
        assert seats["eva.sdr@example.com"]["away_until"] == "2031-01-02"

        code, _, err = await leadflow(env, "remove-member", "sdr-emea", "nobody@example.com")
        assert code == 1 and "refused: nobody@example.com is not a member of team sdr-emea" in err
        code, _, err = await leadflow(env, "set-weight", "sdr-emea", "zoe@example.com", "0")
        assert code == 1 and "weight must be at least 1" in err
        code, _, err = await leadflow(env, "show", "no-such-team")
        assert code == 2 and "no team 'no-such-team' in demo_led; known: sdr-americas" in err
        h.handles.append(dev_env.client.get_workflow_handle(team_workflow_id("sdr-emea", h.task_queue)))
