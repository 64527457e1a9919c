"""Reading the policy file (SCE_POLICY) without trusting it: a regular file of at most 1 MiB, UTF-8, YAML
read within the same bounds as a scenario (no alias or merge-key bomb expands, no nesting runs deep),
no key written twice in one mapping (YAML would keep the last one, so a second ``web:`` would silently
replace the first rule), and then the format of ``bot/gameday/policy/model``. Every mistake is
``file:line: field: sentence``, one line each.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from bot.gameday.policy.model import Policy
from bot.gameday.scenario.file_reading import UnsafeFile, read_regular_file
from bot.gameday.scenario.limits import MIB, ScenarioLimits
from bot.gameday.scenario.loading import ScenarioError, ScenarioProblem, read_yaml, validation_problems

POLICY_LIMITS = ScenarioLimits(max_bytes=MIB, max_depth=16, max_expansion=10_000, max_steps=0, max_text=None)
"""A policy is a few rules: 1 MiB is generous, and nothing in it nests more than a few levels."""

SHAPE = "a policy must be a YAML mapping (version, namespaces, attack_images, ceilings, approvals)"
UNKNOWN = "is not a field of the policy file format v1 (check the spelling)"


class PolicyError(ValueError):
    """A policy file that cannot be used; ``problems`` holds one line per mistake."""

    def __init__(self, problems: list[ScenarioProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Validate policy YAML text; PolicyError naming file, line and field on any mistake."""
    try:
        node, data = read_yaml(text, source, POLICY_LIMITS, SHAPE)
    except ScenarioError as exc:
        raise PolicyError(exc.problems) from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(validation_problems(exc, node, source, UNKNOWN)) from None


def load_policy_file(path: Path) -> Policy:
    """The policy in ``path``; PolicyError for a file that is not one (not there, too large, not UTF-8)."""
    shown = str(path)
    try:
        raw = read_regular_file(path, POLICY_LIMITS.max_bytes, what="a policy file")
    except UnsafeFile as exc:
        raise PolicyError([ScenarioProblem(shown, 1, "", str(exc))]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PolicyError([ScenarioProblem(shown, line, "", "is not UTF-8 text")]) from None
    return parse_policy(text, shown)
