"""OpenRLHF agent module for vzgym: pass this file to ``--train.agent_func_path``.

OpenRLHF loads it by file path (``importlib.util.spec_from_file_location``) in
every vLLM engine actor and instantiates ``AgentExecutor()``, which must be a
subclass of ``openrlhf.utils.agent.AgentExecutorBase``.  All the game logic is
in :class:`vzgym.trainers.openrlhf.executor.GameExecutor` (vzgym must be
installed on every Ray node).

Without OpenRLHF installed the module still imports (``AgentExecutor`` then
derives from ``GameExecutor`` alone), so vzgym never needs OpenRLHF unless
this trainer is used.
"""

from __future__ import annotations

from vzgym.trainers.openrlhf.executor import GameExecutor

try:  # OpenRLHF is only present where this trainer runs.
    from openrlhf.utils.agent import AgentExecutorBase
except ImportError:  # pragma: no cover - exercised where OpenRLHF is absent
    AgentExecutorBase = None  # type: ignore[assignment,misc]

if AgentExecutorBase is not None:

    class AgentExecutor(GameExecutor, AgentExecutorBase):  # type: ignore[misc,valid-type]
        """vzgym's game executor as an OpenRLHF ``AgentExecutorBase``.

        ``execute(prompt, label, sampling_params, max_length, hf_tokenizer,
        llm_engine, images=None)`` returns one seat-turn of the prompt's game
        row (see :mod:`vzgym.trainers.openrlhf.executor`).
        """

else:  # pragma: no cover

    class AgentExecutor(GameExecutor):  # type: ignore[no-redef]
        """vzgym's game executor (OpenRLHF is not installed here)."""
