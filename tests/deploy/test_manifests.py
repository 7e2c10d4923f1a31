"""docker-compose.yml and deploy/k8s say what the code expects: every service, real setting
names, matching ports, a scorer that scales. (test_manifest_schemas.py checks them against the
Kubernetes and Compose schemas.)"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from services.categorizer.service import CategorizerSettings
from services.common.commands import SERVICES
from services.common.config import DatabaseSettings, KafkaSettings, RuntimeSettings
from services.exporter.settings import ExporterSettings
from services.scorer.settings import ScorerSettings
from tests.deploy.manifests import load_compose, load_documents, manifest_files

SETTINGS: list[type[BaseSettings]] = [
    KafkaSettings,
    DatabaseSettings,
    RuntimeSettings,
    ScorerSettings,
    ExporterSettings,
    CategorizerSettings,
]


def env_names(settings: type[BaseSettings]) -> set[str]:
    """Every environment variable a settings class reads."""
    prefix = str(settings.model_config.get("env_prefix", "")).upper()
    names = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice).upper() for choice in alias.choices if str(choice).isupper()}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


KNOWN_ENV = set().union(*(env_names(s) for s in SETTINGS)) | {"POSTGRES_PASSWORD"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    services: dict[str, Any] = load_compose()["services"]
    return services


@pytest.fixture(scope="module")
def k8s() -> list[dict[str, Any]]:
    return [doc for path in manifest_files() for doc in load_documents(path)]


def _deployments(k8s: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s if d["kind"] == "Deployment"}


def test_every_service_runs_in_compose_and_kubernetes(
    compose: dict[str, Any], k8s: list[dict[str, Any]]
) -> None:
    deployments = _deployments(k8s)
    for service in SERVICES:
        assert compose[service]["command"] == ["run", service]
        container = deployments[f"leadstream-{service}"]["spec"]["template"]["spec"]["containers"][
            0
        ]
        assert container["args"] == ["run", service]


def test_environment_names_are_ones_the_settings_classes_read(
    compose: dict[str, Any], k8s: list[dict[str, Any]]
) -> None:
    used: set[str] = set()
    for service in compose.values():
        used |= set(service.get("environment", {}))
    for doc in k8s:
        if doc["kind"] in ("ConfigMap", "Secret"):
            used |= set(doc.get("data", {})) | set(doc.get("stringData", {}))
    unknown = {name for name in used if name.startswith(("LEADSTREAM_", "KAFKA_B", "DATABASE"))}
    assert unknown - KNOWN_ENV == set()


def test_ports_match_the_settings_and_the_probes(
    compose: dict[str, Any], k8s: list[dict[str, Any]]
) -> None:
    config = next(d for d in k8s if d["kind"] == "ConfigMap")["data"]
    metrics_port = int(config["LEADSTREAM_METRICS_PORT"])
    api_port = int(config["LEADSTREAM_API_PORT"])
    for name, deployment in _deployments(k8s).items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        # Every service serves /metrics on the metrics port; the exporter its API beside it.
        expected = {api_port, metrics_port} if name == "leadstream-exporter" else {metrics_port}
        assert set(ports.values()) == expected, name
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        if "prometheus.io/port" in annotations:
            assert int(annotations["prometheus.io/port"]) == metrics_port, name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert "cpu" in container["resources"]["requests"]
    assert compose["categorizer"]["environment"]["LEADSTREAM_METRICS_PORT"] == str(metrics_port)
    assert "9100/healthz" in " ".join(compose["store"]["healthcheck"]["test"])
    assert compose["exporter"]["environment"]["LEADSTREAM_API_PORT"] == str(api_port)
    assert any(p.endswith(f":{api_port}") for p in compose["exporter"]["ports"])


def test_the_scorer_scales(compose: dict[str, Any], k8s: list[dict[str, Any]]) -> None:
    scorer = compose["scorer"]
    assert "container_name" not in scorer and "ports" not in scorer, "--scale needs both absent"
    scaled = next(d for d in k8s if d["kind"] == "ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "leadstream-scorer"
    partitions = int(
        next(d for d in k8s if d["kind"] == "ConfigMap")["data"]["LEADSTREAM_PARTITIONS"]
    )
    assert scaled["spec"]["maxReplicaCount"] == partitions, "replicas beyond partitions sit idle"
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["consumerGroup"] == f"{KafkaSettings().group_prefix}.scorer"


def test_secrets_come_from_the_environment_not_the_files(compose: dict[str, Any]) -> None:
    exporter_env = compose["exporter"]["environment"]
    assert exporter_env["LEADSTREAM_ADMIN_KEY"].startswith("${")
    assert compose["scorer"]["environment"]["LEADSTREAM_LLM_API_KEY"].startswith("${")
