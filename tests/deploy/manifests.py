"""Where the deployment files live, how they are read, and what their published schemas say
about them: the Kubernetes API schemas bundled by kubernetes-validate, and the Compose
Specification's JSON Schema as shipped by check-jsonschema (both work offline)."""

from __future__ import annotations

import importlib.resources
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from kubernetes_validate import utils as kubernetes_schemas

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
K8S_DIR = REPO / "deploy" / "k8s"
KUSTOMIZATION = "kustomization.yaml"
# Holds secrets, so it is created out of band and kustomize does not list it; it is still a
# manifest an operator applies, so it is validated like the others.
EXAMPLE_SECRET = "secret.example.yaml"
# The Kubernetes minors upstream supports as this is written; raise them with the
# kubernetes-validate pin in pyproject.toml (it bundles one schema set per minor).
KUBERNETES_VERSIONS = ("1.35", "1.36", "1.37")
# Custom resources whose CRD schemas kubernetes-validate does not bundle (KEDA's ScaledObject);
# test_manifests.py checks the fields of these that the code depends on.
CUSTOM_KINDS = frozenset({"ScaledObject"})


def load_documents(path: Path) -> list[dict[str, Any]]:
    """The non-empty YAML documents of one file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def kustomize_resources(directory: Path = K8S_DIR) -> list[Path]:
    """The resource files `kubectl apply -k` applies, in the kustomization's order."""
    kustomization = yaml.safe_load((directory / KUSTOMIZATION).read_text())
    return [directory / name for name in kustomization["resources"]]


def manifest_files(directory: Path = K8S_DIR) -> list[Path]:
    """Every Kubernetes manifest an operator applies: kustomize's resources and the Secret."""
    return [*kustomize_resources(directory), directory / EXAMPLE_SECRET]


def kubernetes_problems(path: Path, version: str) -> list[str]:
    """What the Kubernetes `version` API schema rejects in the manifests of one file.

    The strict schemas are used: they refuse unknown fields, so a misspelt key is an error
    rather than a field the API server silently drops."""
    problems = []
    for doc in load_documents(path):
        kind = doc.get("kind", "?")
        if kind in CUSTOM_KINDS:
            continue
        where = f"{path.name} {kind}/{doc.get('metadata', {}).get('name', '?')}"
        if "apiVersion" not in doc or "kind" not in doc:
            problems.append(f"{where}: no apiVersion or kind")
            continue
        try:
            checked = kubernetes_schemas.validate(doc, version, strict=True)
            if checked != version:
                problems.append(f"{where}: no schemas for {version}, only for {checked}")
        except kubernetes_schemas.ValidationError as error:
            problems.append(f"{where}: {_located(error)}")
        except kubernetes_schemas.SchemaNotFoundError as error:
            problems.append(f"{where}: {error.message}")
    return problems


@cache
def compose_validator() -> jsonschema.protocols.Validator:
    """A validator for the Compose Specification, from the schema check-jsonschema ships
    (its `vendor.compose-spec` builtin, refreshed from the compose-spec repository)."""
    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor").joinpath(
        "compose-spec.json"
    )
    schema = json.loads(schema_file.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator: jsonschema.protocols.Validator = validator_class(
        schema, format_checker=validator_class.FORMAT_CHECKER
    )
    return validator


def _located(error: jsonschema.ValidationError) -> str:
    return (
        f"{'.'.join(str(part) for part in error.absolute_path) or '(top level)'}: {error.message}"
    )


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """Of the alternatives a value failed (anyOf/oneOf), the one that got furthest into it:
    "condition: 'x' is not one of [...]" rather than "is not valid under any of the schemas"."""
    while error.context:
        error = max(error.context, key=lambda alternative: len(alternative.absolute_path))
    return error


def compose_problems(data: dict[str, Any]) -> list[str]:
    """What the Compose Specification rejects in a parsed compose file."""
    return sorted(_located(_deepest(error)) for error in compose_validator().iter_errors(data))
