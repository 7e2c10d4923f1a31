"""deploy/k8s and docker-compose.yml are valid for the tools that will read them: the Kubernetes
API schemas of every supported minor, and the Compose Specification — and a broken copy of
either is refused, so the checks are real."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.deploy.manifests import (
    COMPOSE_FILE,
    EXAMPLE_SECRET,
    K8S_DIR,
    KUBERNETES_VERSIONS,
    KUSTOMIZATION,
    compose_problems,
    kubernetes_problems,
    kustomize_resources,
    load_compose,
    manifest_files,
)


def _break(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer contains {old!r}: pick another mistake"
    path.write_text(text.replace(old, new, 1))


def test_every_manifest_is_applied_by_kustomize_or_is_the_example_secret() -> None:
    # A file kustomize does not list is neither applied nor schema-checked below.
    listed = kustomize_resources()
    assert all(path.is_file() for path in listed), "kustomization.yaml lists a missing file"
    assert set(K8S_DIR.glob("*.yaml")) == {K8S_DIR / KUSTOMIZATION, *manifest_files()}
    assert K8S_DIR / EXAMPLE_SECRET not in listed, "the Secret is created out of band"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_manifests_match_the_kubernetes_api_schemas(version: str) -> None:
    problems = [p for path in manifest_files() for p in kubernetes_problems(path, version)]
    assert problems == []


def test_a_broken_manifest_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "k8s"
    shutil.copytree(K8S_DIR, broken)
    # One mistake per file: the schema check stops at a resource's first error.
    _break(broken / "enricher.yaml", "          resources:", "          resource:")
    _break(broken / "scorer.yaml", "containerPort: 9100", "containerPort: nine-one-hundred")
    _break(broken / "configmap.yaml", "kind: ConfigMap", "kind: Configmap")
    _break(broken / EXAMPLE_SECRET, "stringData:", "stringdata:")

    problems = [p for path in manifest_files(broken) for p in kubernetes_problems(path, "1.37")]

    assert sorted(problems) == [
        "configmap.yaml Configmap/leadstream-config: kind: 'Configmap' is not one of ['ConfigMap']",
        "enricher.yaml Deployment/leadstream-enricher: spec.template.spec.containers.0: "
        "Additional properties are not allowed ('resource' was unexpected)",
        "scorer.yaml Deployment/leadstream-scorer: spec.template.spec.containers.0.ports.0."
        "containerPort: 'nine-one-hundred' is not of type 'integer'",
        "secret.example.yaml Secret/leadstream-secrets: (top level): Additional properties are "
        "not allowed ('stringdata' was unexpected)",
    ]


def test_docker_compose_matches_the_compose_specification() -> None:
    assert compose_problems(load_compose()) == []


def test_a_broken_compose_file_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    shutil.copy(COMPOSE_FILE, broken)
    _break(broken, "    entrypoint:", "    entrypont:")
    _break(broken, "condition: service_healthy", "condition: service_ready")
    _break(broken, "volumes:\n", "volume:\n")

    problems = compose_problems(load_compose(broken))

    assert "(top level): 'volume' does not match any of the regexes: '^x-'" in problems
    assert (
        "services.init.depends_on.kafka.condition: 'service_ready' is not one of "
        "['service_started', 'service_healthy', 'service_completed_successfully']" in problems
    )
    assert any(
        p.startswith("services.init: Unevaluated properties are not allowed") and "'entrypont'" in p
        for p in problems
    ), problems
    assert len(problems) == 3, problems
