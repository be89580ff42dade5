"""Config layers: shipped < user file < environment < flags, each validated by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from aegisd.config import ConfigError, load_config


def test_layers_in_order(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text('log_level = "warning"\nmax_body_bytes = 2048\n[cache]\nmax_entries = 5\n')
    env = {"AEGISD_LOG_LEVEL": "debug", "AEGISD_CACHE__MAX_BYTES": "4096"}
    config = load_config({"log_level": "error"}, config_file=user, environ=env)
    assert config.log_level == "ERROR"  # flag beats env
    assert config.max_body_bytes == 2048  # user file beats shipped
    assert config.cache.max_entries == 5 and config.cache.max_bytes == 4096
    assert load_config({}, config_file=user, environ=env).log_level == "DEBUG"  # env beats file


def test_defaults_come_from_the_shipped_file() -> None:
    config = load_config({}, environ={})
    assert config.max_body_bytes == 4 * 1024 * 1024
    assert config.log_format == "text"


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ('log_format = "xml"\n', "log_format"),
        ("unknown_key = 1\n", "unknown_key"),
        ('tcp = "0.0.0.0:80"\n', "tcp"),
        ("[plugins]\ndisabled = 3\n", "plugins.disabled"),
    ],
)
def test_invalid_values_name_the_key_and_the_file(tmp_path: Path, content: str, key: str) -> None:
    user = tmp_path / "c.toml"
    user.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_config({}, config_file=user, environ={})
    assert key in str(info.value) and str(user) in str(info.value)


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    user = tmp_path / "c.toml"
    user.write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config({}, config_file=user, environ={})


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config({}, config_file=tmp_path / "nope.toml", environ={})
