"""Settings: defaults, validation and the production guard."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config import SETTINGS, SettingsError, load_settings


def test_a_fresh_machine_gets_sqlite_and_generated_secrets(tmp_path: Path) -> None:
    settings = load_settings({"LUMO_INSTANCE_PATH": str(tmp_path)})

    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'lumo.sqlite3'}"
    Fernet(settings["LUMO_ENCRYPTION_KEY"].encode())
    # A restart reads the same generated secrets, so sessions and stored tokens survive.
    again = load_settings({"LUMO_INSTANCE_PATH": str(tmp_path)})
    assert again["SECRET_KEY"] == settings["SECRET_KEY"]
    assert again["LUMO_ENCRYPTION_KEY"] == settings["LUMO_ENCRYPTION_KEY"]


def test_production_names_every_missing_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"LUMO_ENV": "production", "LUMO_INSTANCE_PATH": str(tmp_path)})

    message = str(error.value)
    for name in ("DATABASE_URL", "SECRET_KEY", "LUMO_ENCRYPTION_KEY", "SHOPIFY_API_SECRET"):
        assert name in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://localhost/lumo"),
        ("REDIS_URL", "http://localhost"),
        ("LUMO_ENCRYPTION_KEY", "not-a-key"),
        ("SHOPIFY_API_VERSION", "latest"),
        ("LUMO_ENV", "staging"),
        ("LUMO_SYNC_BATCH_SIZE", "-5"),
        ("LUMO_TRACE_HOOKS", "maybe"),
    ],
)
def test_an_invalid_value_is_refused_with_its_name(name: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value, "LUMO_INSTANCE_PATH": str(tmp_path)})


@pytest.mark.parametrize("value", ["abc", "1.5", "0", ""])
def test_a_count_that_is_not_a_whole_number_above_zero_says_so(value: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="LUMO_SYNC_BATCH_SIZE.*whole number above zero"):
        load_settings({"LUMO_SYNC_BATCH_SIZE": value, "LUMO_INSTANCE_PATH": str(tmp_path)})


def test_postgres_urls_use_the_psycopg_driver(tmp_path: Path) -> None:
    settings = load_settings(
        {"DATABASE_URL": "postgres://u@h/db", "LUMO_INSTANCE_PATH": str(tmp_path)}
    )

    assert settings["DATABASE_URL"] == "postgresql+psycopg://u@h/db"


def test_every_setting_has_help() -> None:
    assert all(setting.help for setting in SETTINGS)
    assert len({setting.name for setting in SETTINGS}) == len(SETTINGS)


PRODUCTION = {
    "LUMO_ENV": "production",
    "DATABASE_URL": "postgresql://lumo@db/lumo",
    "SECRET_KEY": "s" * 64,
    "LUMO_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "SHOPIFY_API_KEY": "real-key",
    "SHOPIFY_API_SECRET": "real-secret",
    "LUMO_PUBLIC_URL": "https://lumo.example.com",
}


def test_a_complete_production_configuration_starts(tmp_path: Path) -> None:
    settings = load_settings({**PRODUCTION, "LUMO_INSTANCE_PATH": str(tmp_path)})

    assert settings["LUMO_ENV"] == "production"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SHOPIFY_API_SECRET", "lumo-dev-secret"),
        ("SHOPIFY_API_KEY", "lumo-dev-app"),
        ("SECRET_KEY", "short"),
        ("LUMO_PUBLIC_URL", "http://lumo.example.com"),
    ],
)
def test_production_refuses_unsafe_values(name: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({**PRODUCTION, name: value, "LUMO_INSTANCE_PATH": str(tmp_path)})
