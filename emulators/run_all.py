"""Start the vendor emulators together: `python -m emulators.run_all` for a local stack."""

from __future__ import annotations

import argparse
import importlib
import time
from typing import Any

DEFAULT_PORTS = {"hubspot": 8701, "salesforce": 8702, "segment": 8703}
# Settings field each emulator's URL belongs in, for emulators that do not say themselves.
URL_ENV = {
    "hubspot": "HUBSPOT_BASE_URL",
    "salesforce": "SALESFORCE_BASE_URL",
    "segment": "SEGMENT_HOST",
}


def run_all(
    hubspot: bool, salesforce: bool, segment: bool, ports: dict[str, int] | None = None
) -> dict[str, Any]:
    """Start the chosen emulators (ephemeral ports unless given); all or none are left running."""
    wanted = [
        n
        for n, on in (("hubspot", hubspot), ("salesforce", salesforce), ("segment", segment))
        if on
    ]
    started: dict[str, Any] = {}
    try:
        for name in wanted:
            # Imported lazily: each vendor package is optional until it is asked for.
            module = importlib.import_module(f"emulators.{name}")
            if not hasattr(module, "start"):
                raise RuntimeError(f"emulators.{name} has no start(port, **options)")
            started[name] = module.start(port=(ports or {}).get(name, 0))
    except BaseException:
        stop_all(started)
        raise
    return started


def stop_all(running: dict[str, Any]) -> None:
    for emulator in running.values():
        emulator.stop()


def env_for(running: dict[str, Any]) -> dict[str, str]:
    """Environment variables pointing leadflow at the running emulators."""
    env: dict[str, str] = {}
    for name, emulator in running.items():
        env.update(getattr(emulator, "env", None) or {URL_ENV[name]: emulator.url})
        if name == "hubspot":
            env["HUBSPOT_ACCESS_TOKEN"] = emulator.token
    return env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the vendor emulators on fixed ports.")
    parser.add_argument("--skip", action="append", default=[], choices=sorted(DEFAULT_PORTS))
    parser.add_argument("--first-port", type=int, default=DEFAULT_PORTS["hubspot"],
                        help="hubspot's port; salesforce and segment take the next two")
    args = parser.parse_args(argv)
    on = {name: name not in args.skip for name in DEFAULT_PORTS}
    ports = {name: args.first_port + i for i, name in enumerate(DEFAULT_PORTS)}
    running = run_all(on["hubspot"], on["salesforce"], on["segment"], ports)
    try:
        for name, emulator in running.items():
            print(f"{name:<11} {emulator.url}", flush=True)
        print("\nPoint leadflow at them with:")
        for key, value in env_for(running).items():
            print(f"export {key}={value}", flush=True)
        print("\nCtrl-C to stop.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop_all(running)


if __name__ == "__main__":
    main()
