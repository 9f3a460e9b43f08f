"""`make run` encrypts payloads and points the dev server's Web UI at its codec server: the UI's
own settings name the endpoint, and a browser at the UI's origin decodes through it."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request

import pytest

from tests.support.local_stack import BIN, Stack


@pytest.fixture
def stack(tmp_path):
    running = Stack(tmp_path)
    yield running
    running.close()


def test_the_web_ui_decodes_payloads_through_the_stacks_codec_server(stack):
    stack.start()
    sent = stack.leadflow("event", "ada@acme.io", "demo_requested", "--prop", "company=Acme Rockets")
    assert sent.returncode == 0, sent.stderr
    shown = stack.leadflow("show", "ada@acme.io")  # another process reads the local key file
    assert shown.returncode == 0 and json.loads(shown.stdout)["stage"] == "MQL", shown.stderr

    # What Temporal stores is sealed...
    history = subprocess.run([str(BIN / "temporal"), "workflow", "show", "--workflow-id", "lead:ada@acme.io",
                              "--address", f"127.0.0.1:{stack.port}", "--output", "json"],
                             capture_output=True, text=True, check=True).stdout
    events = json.loads(history)["events"]
    signaled = next(e for e in events if "workflowExecutionSignaledEventAttributes" in e)
    sealed = signaled["workflowExecutionSignaledEventAttributes"]["input"]
    assert "Acme Rockets" not in history
    assert base64.b64decode(sealed["payloads"][0]["metadata"]["encoding"]) == b"binary/encrypted"

    # ...and the UI is configured to decode it at the codec server, as a browser would call it.
    ui = f"http://127.0.0.1:{stack.ui_port}"
    settings = json.load(urllib.request.urlopen(f"{ui}/api/v1/settings"))
    endpoint = settings["Codec"]["Endpoint"]
    assert endpoint.startswith(f"http://127.0.0.1:{stack.codec_port}/")
    request = urllib.request.Request(f"{endpoint}/decode", data=json.dumps(sealed).encode(),
                                     headers={"Content-Type": "application/json", "Origin": ui,
                                              "X-Namespace": "default"})
    with urllib.request.urlopen(request) as answer:
        assert answer.headers["Access-Control-Allow-Origin"] == ui
        decoded = json.load(answer)["payloads"][0]
    assert json.loads(base64.b64decode(decoded["data"]))["properties"]["company"] == "Acme Rockets"
    assert stack.stop() == 0
