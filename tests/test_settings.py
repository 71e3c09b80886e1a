"""One settings object per process kind: the server's settings are the library's plus its own."""

from __future__ import annotations

import pytest

from radixagent.server import ServerSettings
from radixagent.settings import Settings


def test_server_settings_extend_the_library_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADIXAGENT_DATABASE_URL", "postgresql://u@db/radix")
    monkeypatch.setenv("RADIXAGENT_SLOTS", "3")
    monkeypatch.setenv("RADIXAGENT_PORT", "9001")
    server = ServerSettings()
    assert isinstance(server, Settings)
    assert (server.database_url, server.slots, server.port) == ("postgresql://u@db/radix", 3, 9001)
    assert Settings().database_url == server.database_url
    assert ServerSettings(database_url="x.db").database_url == "x.db"  # a flag wins over the environment
    assert "database_url" not in ServerSettings.__annotations__  # declared once, by Settings
