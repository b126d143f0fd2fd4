"""Run the Pulumi program under pulumi.runtime.set_mocks and record every resource it declares."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.settings import Settings
from infra.stack import StackResult, build_stack

# Pulumi's wire marker for a secret value: {SIG_KEY: SECRET_SIG, "value": ...}.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def unwrap(value: Any) -> Any:
    """Replace pulumi secret wrappers by their plain values (the tests look for leaks)."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return unwrap(value["value"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]
    provider: str | None

    @property
    def kind(self) -> str:
        return str(self.inputs.get("kind", ""))

    @property
    def manifest(self) -> dict[str, Any]:
        """The Kubernetes object as the API server sees it (pulumi's wire format has only
        doubles, so whole numbers are turned back into integers)."""
        result: dict[str, Any] = integers(self.inputs)
        return result


def integers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integers(v) for v in value]
    return value


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Recorded] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = unwrap(args.inputs)
        self.resources.append(Recorded(args.typ, args.name, inputs, args.provider))
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = f"generated-{args.name}-Zq8Xw2"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


@dataclass
class ProgramRun:
    result: StackResult
    resources: list[Recorded]
    outputs: dict[str, Any]
    secret_outputs: set[str] = field(default_factory=set)
    settings: Settings | None = None

    def k8s(self) -> list[Recorded]:
        return [r for r in self.resources if r.type.startswith("kubernetes:") and r.kind]

    def of_kind(self, kind: str) -> list[Recorded]:
        return [r for r in self.k8s() if r.kind == kind]

    def named(self, kind: str, name: str) -> Recorded:
        matches = [r for r in self.of_kind(kind) if r.inputs["metadata"]["name"] == name]
        assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
        return matches[0]

    def pod_specs(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (f"{r.kind}/{r.inputs['metadata']['name']}", r.inputs["spec"]["template"]["spec"])
            for r in self.k8s()
            if r.kind in ("Deployment", "StatefulSet", "DaemonSet", "Job")
        ]


def run_program(make_settings: Callable[[], Settings]) -> ProgramRun:
    """Build the stack with mocks; settings are made inside the run (Outputs need its loop)."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="observability-stack", stack="test", preview=False)
    holder: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        settings = make_settings()
        holder["settings"] = settings
        result = build_stack(settings)
        holder["result"] = result
        outs = {k: pulumi.Output.from_input(v) for k, v in result.outputs.items()}
        holder["outs"] = outs
        return pulumi.Output.all(**outs).apply(lambda values: holder.__setitem__("values", values))

    program()

    async def secrets() -> set[str]:
        return {k for k, out in holder["outs"].items() if await out.is_secret()}

    loop = asyncio.get_event_loop()
    secret_names = loop.run_until_complete(secrets())
    return ProgramRun(
        holder["result"], mocks.resources, holder["values"], secret_names, holder["settings"]
    )
