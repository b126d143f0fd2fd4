"""alerts/runbooks.md has a real section for every alert, where its runbook_url points."""

from __future__ import annotations

import re

import pytest

from alerts import RUNBOOKS_PATH, Rule, alert_names, alert_rules
from alerts.promql import parse

TEXT = RUNBOOKS_PATH.read_text(encoding="utf-8")
PARTS = ("**Meaning.**", "**First queries", "**Likely causes.**", "**Mitigation.**")


def github_anchor(heading: str) -> str:
    """The anchor GitHub (and most Markdown renderers) give a heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def sections() -> dict[str, str]:
    """Level-2 heading anchor -> the section's text."""
    found: dict[str, str] = {}
    chunks = re.split(r"^## (.+)$", TEXT, flags=re.MULTILINE)
    for heading, body in zip(chunks[1::2], chunks[2::2], strict=True):
        found[github_anchor(heading)] = body
    return found


@pytest.mark.parametrize("name", alert_names())
def test_alert_has_a_complete_section(name: str) -> None:
    body = sections().get(name.lower())
    assert body is not None, f"no '## {name}' section in runbooks.md"
    for part in PARTS:
        assert part in body, f"{name}: missing {part}"
    assert "```promql" in body, f"{name}: no query to run first"
    assert len(body.split()) > 80, f"{name}: section too thin to help at 3 a.m."


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule.name)
def test_runbook_url_anchor_resolves(rule: Rule) -> None:
    url = rule.annotations["runbook_url"]
    path, anchor = url.split("#")
    assert path == "alerts/runbooks.md"
    assert anchor in sections()


def test_no_section_for_an_alert_that_does_not_exist() -> None:
    assert set(sections()) == {name.lower() for name in alert_names()}


def test_every_runbook_query_is_valid_promql() -> None:
    blocks = re.findall(r"```promql\n(.*?)```", TEXT, flags=re.DOTALL)
    assert len(blocks) >= len(alert_names())
    for block in blocks:
        # one query per line, or a query continued on indented lines; comments start with #
        queries: list[str] = []
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.startswith(" ") and queries:
                queries[-1] += " " + line.strip()
            else:
                queries.append(line.strip())
        for query in queries:
            parse(query)
