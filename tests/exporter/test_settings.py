"""Start-up settings of the exporter: refused early, with a message an operator can act on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.exporter import service
from services.exporter.settings import MIN_ADMIN_KEY_LENGTH, ExporterSettings


def test_an_admin_key_shorter_than_32_characters_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        ExporterSettings(admin_key="x" * (MIN_ADMIN_KEY_LENGTH - 1))
    assert MIN_ADMIN_KEY_LENGTH == 32
    long_enough = ExporterSettings(admin_key="x" * MIN_ADMIN_KEY_LENGTH)
    assert long_enough.admin_key is not None
    assert ExporterSettings(admin_key=None).admin_key is None


def test_the_service_refuses_to_start_with_a_short_admin_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADSTREAM_ADMIN_KEY", "local-admin-key")
    with pytest.raises(SystemExit) as exited:
        service.main()
    message = str(exited.value.code)
    assert "LEADSTREAM_ADMIN_KEY" in message and "at least 32 characters" in message
    assert "local-admin-key" not in message  # the secret is not echoed to the logs
