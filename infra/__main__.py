"""Pulumi entry point: read the settings once, build the stack, export the outputs."""

import sys
from pathlib import Path

import pulumi

# `pulumi up` runs this file from infra/; make the repo root importable (alerts/, dashboards/).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.settings import load_settings
from infra.stack import build_stack

stack = build_stack(load_settings())
for name, value in stack.outputs.items():
    pulumi.export(name, value)
