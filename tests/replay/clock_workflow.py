"""A workflow that reads the wall clock (what workflow.now() is for): the replay guard must fail it.
Its own module, importing nothing of leadflow's, so the sandbox validates it alone."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow


@workflow.defn(name="ReadsTheClock")
class ReadsTheClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()
