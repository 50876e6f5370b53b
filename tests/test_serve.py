"""vzgym serve: the tiny model behind the OpenAI API, driven as lmms-eval's openai_compatible
model drives it (text + base64 PNG data URL, max_tokens, temperature)."""

import base64
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from PIL import Image

VZGYM = shutil.which("vzgym", path=str(Path(sys.executable).parent)) or "vzgym"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from vzgym.agents.tiny_model import build_tiny_model

    model = build_tiny_model(tmp_path_factory.mktemp("serve") / "model")
    proc = subprocess.Popen(
        [VZGYM, "serve", f"hf:{model}", "--port", "0", "--model-name", "vzgym-tiny"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )  # fmt: skip
    line = proc.stdout.readline()
    if " at http" not in line:
        proc.kill()
        pytest.fail(f"server did not start: {line!r} {proc.stderr.read()}")
    url = line.rsplit(" at ", 1)[1].strip()
    yield proc, url
    proc.terminate()
    proc.wait(timeout=30)


def _png_data_url() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_lmms_eval_style_requests_and_a_bad_one(served):
    proc, url = served
    assert url.startswith("http://127.0.0.1:")  # loopback by default
    client = openai.OpenAI(base_url=url, api_key="EMPTY", max_retries=0, timeout=120)
    payload = {
        "model": "vzgym-tiny",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What colour is the image?"},
                    {"type": "image_url", "image_url": {"url": _png_data_url()}},
                ],
            }
        ],
        "max_tokens": 8,
        "temperature": 0,
    }
    response = client.chat.completions.create(**payload)
    assert isinstance(response.choices[0].message.content, str)
    assert 1 <= response.usage.completion_tokens <= 8
    # a malformed image: a clean 400, and the server keeps serving
    bad = dict(payload)
    bad["messages"] = [
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,!!"}}],
        }
    ]
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(**bad)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(**{**payload, "model": "other"})
    again = client.chat.completions.create(**payload)
    assert again.choices[0].finish_reason in ("stop", "length")
    assert proc.poll() is None


def test_serve_refuses_bad_input():
    for args in (["runs/does-not-exist"], ["scripted"], ["tiny", "--port", "70000"]):
        proc = subprocess.run(
            [VZGYM, "serve", *args], capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )  # fmt: skip
        assert proc.returncode != 0 and proc.stderr.strip().startswith("Error:"), proc.stderr
        assert "Traceback" not in proc.stderr
