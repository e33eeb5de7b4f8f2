"""Every feature line binds to exactly one step definition, and every step definition is used.

pytest-bdd finds an unbound line only when its scenario runs — and a capability tag may skip
that scenario on the sandbox. This reads the feature files and the step modules statically.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

from pytest_bdd.feature import get_features
from pytest_bdd.parser import Step
from pytest_bdd.steps import StepFunctionContext, step_function_context_registry

ROOT = Path(__file__).resolve().parents[2]


def step_definitions() -> list[StepFunctionContext]:
    for path in sorted((ROOT / "steps").glob("*.py")):
        importlib.import_module(f"steps.{path.stem}")
    return [c for c in step_function_context_registry.values() if c.step_func.__module__.startswith("steps.")]


def feature_steps() -> Iterator[tuple[str, Step]]:
    """Every step of every scenario, outlines rendered once per example row."""
    for feature in get_features([str(ROOT / "features")]):
        for template in feature.scenarios.values():
            contexts = [c for examples in template.examples for c in examples.as_contexts()] or [{}]
            for context in contexts:
                for step in template.render(context).steps:
                    yield f"{Path(feature.filename).name}: {template.name}", step


def _matches(definition: StepFunctionContext, step: Step) -> bool:
    return definition.type == step.type and definition.parser.is_matching(step.name)


def test_every_feature_line_binds_to_exactly_one_step_definition() -> None:
    definitions = step_definitions()
    problems = []
    for where, step in feature_steps():
        bound = [d for d in definitions if _matches(d, step)]
        if len(bound) != 1:
            problems.append(f"{where}: {step.type} {step.name!r} binds to {len(bound)} definitions")
    assert problems == []


def test_every_step_definition_is_used_by_a_feature() -> None:
    steps = [step for _, step in feature_steps()]
    unused = [
        f"{d.step_func.__module__}: {d.type} {d.parser.name!r}"
        for d in step_definitions()
        if not any(_matches(d, step) for step in steps)
    ]
    assert unused == []
