"""Publishing a task queue's QueueConfig (workers, at boot) and reading it (starters of leads)."""

from __future__ import annotations

import logging

from temporalio.client import Client
from temporalio.service import RPCError

from workflows.lead_models import QueueConfig
from workflows.queue_config import (
    CONFIG_MEMO,
    PUBLISH_SIGNAL,
    QueueConfigWorkflow,
    queue_config_workflow_id,
)

log = logging.getLogger("leadflow.queue_config")


async def publish(client: Client, task_queue: str, config: QueueConfig) -> None:
    """Makes `config` what starters read for `task_queue` (starting its workflow if new)."""
    await client.start_workflow(
        QueueConfigWorkflow.run, config, id=queue_config_workflow_id(task_queue),
        task_queue=task_queue, memo={CONFIG_MEMO: config},
        start_signal=PUBLISH_SIGNAL, start_signal_args=[config])


async def published(client: Client, task_queue: str) -> QueueConfig | None:
    """The config the workers of `task_queue` published last; None when none did (or the server
    cannot say now: the lead then asks its worker, as before)."""
    handle = client.get_workflow_handle(queue_config_workflow_id(task_queue))
    try:
        found = await (await handle.describe()).memo_value(CONFIG_MEMO, None)
        return QueueConfig.model_validate(found) if found else None
    # RPCError: no such workflow, or no server now. RuntimeError / KeyError: a memo this client
    # cannot decode (workers with LEADFLOW_ENCRYPTION_KEYS, a starter without). ValueError: a
    # memo of another leadflow version (pydantic's ValidationError).
    except (RPCError, RuntimeError, KeyError, ValueError) as exc:
        log.debug("no config published for %s: %s", task_queue, exc)
        return None
