"""The one policy interface (re-exported from :mod:`vzgym.core.policy`, where it lives).

Plugins and policies may keep importing ``Completion``, ``Policy`` and
``SamplingParams`` from here.
"""

from vzgym.core.policy import Completion, Policy, SamplingParams

__all__ = ["Completion", "Policy", "SamplingParams"]
