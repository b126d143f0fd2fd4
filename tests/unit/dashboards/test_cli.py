"""`python -m dashboards build DIR`, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from dashboards import build_all
from dashboards.uids import DASHBOARD_UIDS

REPO = Path(__file__).resolve().parents[3]


def _assert_keys_sorted(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _value in pairs]
    assert keys == sorted(keys), keys
    return dict(pairs)


def test_build_writes_one_sorted_json_file_per_dashboard(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "dashboards"
    result = subprocess.run(
        [sys.executable, "-m", "dashboards", "build", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{uid}.json" for uid in DASHBOARD_UIDS)
    assert result.stdout.split() == [str(out / f"{uid}.json") for uid in DASHBOARD_UIDS]
    expected = build_all()
    for uid in DASHBOARD_UIDS:
        text = (out / f"{uid}.json").read_text(encoding="utf-8")
        # Every object's keys are sorted, at every depth, with two-space indentation.
        model = json.loads(text, object_pairs_hook=_assert_keys_sorted)
        assert model == expected[uid]
        assert text == json.dumps(expected[uid], indent=2, sort_keys=True) + "\n"


def test_build_without_a_directory_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dashboards", "build"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "directory" in result.stderr
