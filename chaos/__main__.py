"""`python -m chaos [--short] [--only NAME ...] [--keep DIR]`: see chaos/__init__.py."""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import sys
import tempfile
import time
from pathlib import Path

from chaos import check, scenarios
from chaos.stack import ChaosStack, free_block


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the short CI version")
    parser.add_argument("--only", nargs="+", choices=sorted(scenarios.ALL), help="these scenarios only")
    parser.add_argument("--dir", type=Path, help="keep the stack's data and logs here")
    args = parser.parse_args(argv)
    size = scenarios.SHORT if args.short else scenarios.FULL
    names = args.only or (scenarios.SHORT_RUN if args.short else list(scenarios.ALL))
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="leadflow-chaos-"))
    return asyncio.run(_run(workdir, names, size, keep=args.dir is not None))


async def _run(workdir: Path, names: list[str], size: scenarios.Size, keep: bool) -> int:
    stack = ChaosStack(workdir, free_block(6))
    failed = False
    started = time.monotonic()
    try:
        stack.start()
        print(f"chaos: stack up in {time.monotonic() - started:.0f}s (logs in {workdir})", flush=True)
        for name in names:
            client = await check.connect(stack)
            try:
                result = await scenarios.ALL[name](stack, client, size)
            except Exception as exc:  # noqa: BLE001  a scenario that could not finish is a failure
                result = scenarios.Result(name, note=f"did not finish: {type(exc).__name__}: {exc}")
                result.behind = 1
            print(result.line(), flush=True)
            failed |= not result.ok and not result.expected_to_fail
            del client
            gc.collect()
    finally:
        stack.close()
        await asyncio.sleep(0.1)
        if not keep and not failed:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"chaos: {'FAILED' if failed else 'passed'} in {time.monotonic() - started:.0f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
