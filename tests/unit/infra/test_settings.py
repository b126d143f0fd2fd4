"""load_settings: stack config to typed settings, secrets stay secret, stack files build."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from infra import outputs as out
from infra.fast_timings import FAST
from infra.settings import Settings, load_settings
from tests.unit.infra.program import run_program

ROOT = Path(__file__).resolve().parents[3]
PROJECT = "observability-stack"


def set_config(values: dict[str, Any], secret: tuple[str, ...] = ()) -> None:
    """Install stack config the way the Pulumi engine hands it to a program."""
    config = {
        f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()
    }
    pulumi.runtime.set_all_config(config, [f"{PROJECT}:{k}" for k in secret])


def stack_file_config(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())
    return {k.split(":", 1)[1]: v for k, v in doc["config"].items()}


@pytest.fixture(autouse=True)
def clean_config() -> Any:
    yield
    pulumi.runtime.set_all_config({})


def load(values: dict[str, Any], secret: tuple[str, ...] = ()) -> Settings:
    holder: dict[str, Settings] = {}

    def make() -> Settings:
        set_config(values, secret)
        holder["settings"] = load_settings()
        return holder["settings"]

    run_program(make)
    return holder["settings"]


def test_defaults_without_config() -> None:
    settings = load({})
    assert settings == Settings()


def test_values_are_typed() -> None:
    settings = load(
        {
            "namespace": "obs-test",
            "appReplicas": "3",
            "tracingBackend": "jaeger",
            "storageClass": "fast",
            "resources": {"prometheus": {"requests": {"memory": "2Gi"}, "limits": {"cpu": "2"}}},
        }
    )
    assert settings.namespace == "obs-test"
    assert settings.app_replicas == 3
    assert settings.tracing_backend == "jaeger"
    assert settings.storage_class == "fast"
    prom = settings.resources["prometheus"]
    assert (prom.memory_request, prom.cpu_limit, prom.cpu_request) == ("2Gi", "2", "100m")


def test_secrets_are_secret_outputs() -> None:
    holder: dict[str, Any] = {}

    def make() -> Settings:
        set_config(
            {"alertWebhookUrl": "https://hook.example/x", "databaseUrl": "postgresql://a:b@c/d"},
            secret=("alertWebhookUrl", "databaseUrl"),
        )
        settings = load_settings()
        holder["outputs"] = [settings.receivers.webhook_url, settings.database_url]
        return settings

    run = run_program(make)

    async def secretness() -> list[bool]:
        return [await o.is_secret() for o in holder["outputs"]]

    assert asyncio.get_event_loop().run_until_complete(secretness()) == [True, True]
    assert "postgres" not in run.outputs[out.SERVICES]


def test_bad_values_rejected() -> None:
    with pytest.raises(ValueError):
        Settings(tracing_backend="zipkin")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Settings(scrape_interval="fast")
    with pytest.raises(ValueError):
        Settings(app_replicas=0)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_committed_stack_files_build(stack: str) -> None:
    values = stack_file_config(stack)
    secret: tuple[str, ...] = ()
    if values.get("requireReceivers"):
        values["pagerdutyRoutingKey"] = "placeholder-routing-key"
        secret = ("pagerdutyRoutingKey",)
    settings = load(values, secret)
    assert settings.namespace == "observability"
    if stack == "prod":
        assert settings.alertmanager_replicas == 3
        assert settings.resources["prometheus"].memory_limit == "8Gi"
        assert settings.storage_class == "standard"


def test_prod_requires_a_receiver() -> None:
    values = stack_file_config("prod")
    with pytest.raises(Exception, match="requireReceivers"):
        load(values)


def test_e2e_test_mode_takes_the_fast_intervals() -> None:
    assert load({}).e2e_test_mode is False
    settings = load({"e2eTestMode": "true", "scrapeInterval": "30s", "evaluationInterval": "1m"})
    assert settings.e2e_test_mode is True
    assert settings.scrape_interval == FAST.scrape_interval
    assert settings.evaluation_interval == FAST.evaluation_interval
    direct = Settings(e2e_test_mode=True)
    assert (direct.scrape_interval, direct.evaluation_interval) == ("1s", "1s")


def test_e2e_test_mode_refused_with_require_receivers() -> None:
    values = {**stack_file_config("prod"), "e2eTestMode": True}
    values["pagerdutyRoutingKey"] = "placeholder-routing-key"
    with pytest.raises(ValueError, match="e2eTestMode and requireReceivers"):
        load(values, ("pagerdutyRoutingKey",))
    # Even before the missing receiver is reported: the clearer mistake comes first.
    with pytest.raises(ValueError, match="e2eTestMode and requireReceivers"):
        load({"requireReceivers": True, "e2eTestMode": True})
