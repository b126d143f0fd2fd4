"""Prometheus alerting and recording rules of the stack, as source files, and helpers to read them.

The rule files (`*.rules.yml`, one per concern), their promtool tests (`tests/*.test.yml`) and the
runbooks (`runbooks.md`) live next to this module. Infra code only packages them
(infra.config_files.rule_files); tunable numbers are documented in alerts.thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

RULES_DIR: Final[Path] = Path(__file__).resolve().parent
RUNBOOKS_PATH: Final[Path] = RULES_DIR / "runbooks.md"
PROMTOOL_TESTS_DIR: Final[Path] = RULES_DIR / "tests"

# Fixed order: the packaging and the promtool tests refer to the files by these names.
RULE_FILE_NAMES: Final[tuple[str, ...]] = (
    "mission.rules.yml",
    "api.rules.yml",
    "slo.rules.yml",
    "stack.rules.yml",
)


def rule_file_paths() -> list[Path]:
    """Paths of the rule files, in RULE_FILE_NAMES order."""
    return [RULES_DIR / name for name in RULE_FILE_NAMES]


def promtool_test_paths() -> list[Path]:
    """Paths of the promtool unit test files (alerts/tests/*.test.yml), sorted."""
    return sorted(PROMTOOL_TESTS_DIR.glob("*.test.yml"))


@dataclass(frozen=True)
class Rule:
    """One alerting or recording rule as written in a rule file."""

    file: str  # rule file name, e.g. "api.rules.yml"
    group: str
    expr: str
    alert: str | None = None  # set for alerting rules
    record: str | None = None  # set for recording rules
    for_: str | None = None  # the `for` of an alert, verbatim
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The alert name or the recorded metric name."""
        return self.alert or self.record or ""


def load_rule_file(path: Path) -> dict[str, Any]:
    """The parsed YAML document of one rule file."""
    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    if not isinstance(doc, dict) or "groups" not in doc:
        raise ValueError(f"{path}: not a Prometheus rule file (no 'groups')")
    return doc


def load_rules(paths: list[Path] | None = None) -> list[Rule]:
    """Every rule of the given rule files (default: all of ours), in file order."""
    rules: list[Rule] = []
    for path in paths if paths is not None else rule_file_paths():
        for group in load_rule_file(path)["groups"]:
            for raw in group["rules"]:
                rules.append(
                    Rule(
                        file=path.name,
                        group=group["name"],
                        expr=str(raw["expr"]).strip(),
                        alert=raw.get("alert"),
                        record=raw.get("record"),
                        for_=None if raw.get("for") is None else str(raw["for"]),
                        labels={k: str(v) for k, v in (raw.get("labels") or {}).items()},
                        annotations={k: str(v) for k, v in (raw.get("annotations") or {}).items()},
                    )
                )
    return rules


def alert_rules() -> list[Rule]:
    """Only the alerting rules of all rule files."""
    return [rule for rule in load_rules() if rule.alert]


def recording_rules() -> list[Rule]:
    """Only the recording rules of all rule files."""
    return [rule for rule in load_rules() if rule.record]


def alert_names() -> list[str]:
    """Names of all alerts, in file order."""
    return [rule.name for rule in alert_rules()]
