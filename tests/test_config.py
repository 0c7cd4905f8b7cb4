"""`smschat-bridge` refuses a bad configuration with one clear line, and never shows a secret."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.cli import main
from bridge.config import Settings, load_settings

BOT_TOKEN = "xoxb-1111-2222-config-test-token"
SIGNING_SECRET = "5c1e0f9a1b2c3d4e5f60718293a4b5c6"
APP_TOKEN = "xapp-1-A0APP-3333-app-level-secret"
VONAGE_SECRET = "v0nage-Secret-9876"
SIGNATURE_SECRET = "sig-secret-ABCDEF0123456789"
PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDprivatebits"
    "\\n-----END PRIVATE KEY-----"
)
DB_PASSWORD = "db-pa55-word-7f3e"
REDIS_PASSWORD = "redis-pa55-word-91ab"

# What a deployment sets: valid, HTTP mode, SMS API credentials.
VALID = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "SLACK_CHANNEL": "C0INBOX",
    "VONAGE_API_KEY": "abcd1234",
    "VONAGE_API_SECRET": VONAGE_SECRET,
    "VONAGE_NUMBERS": "+447700900000,+447700900001",
    # Should a case be wrongly accepted, `run` fails to listen here and returns 1 at once
    # instead of serving until the test times out.
    "HOST": "203.0.113.1",
}


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`run` configures the root logger once it accepts a configuration; undo that."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A clean environment in an empty directory (so no stray `.env` is read)."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)

    def set_env(values: dict[str, str | None]) -> None:
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)

    return set_env


def run_command(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


CONFIG_ERRORS = [
    ({"SLACK_BOT_TOKEN": None}, "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxp-user-token-not-a-bot"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_CHANNEL": "#general"}, "SLACK_CHANNEL"),
    ({"VONAGE_NUMBERS": "07700 900000"}, "VONAGE_NUMBERS"),
    ({"VONAGE_NUMBERS": "+447700900000,447700900001"}, "VONAGE_NUMBERS"),
    ({"VONAGE_API_KEY": None, "VONAGE_API_SECRET": None}, "VONAGE_API_SECRET"),
    (
        {"VONAGE_API_KEY": None, "VONAGE_API_SECRET": None, "VONAGE_APPLICATION_ID": "app-1"},
        "VONAGE_PRIVATE_KEY",
    ),
    ({"PORT": "eighty"}, "PORT"),
    ({"PORT": "70000"}, "PORT"),
    ({"DATABASE_URL": "mysql://bridge@db/bridge"}, "DATABASE_URL"),
    ({"SLACK_SIGNING_SECRET": "changeme"}, "SLACK_SIGNING_SECRET"),
    ({"VONAGE_API_SECRET": "CHANGEME"}, "VONAGE_API_SECRET"),
    ({"SLACK_BOT_TOKEN": "xoxb-your-token"}, "SLACK_BOT_TOKEN"),
    ({"VONAGE_API_KEY": "changeme"}, "VONAGE_API_KEY"),
    ({"SLACK_SIGNING_SECRET": None}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_SIGNING_SECRET": "   "}, "SLACK_SIGNING_SECRET"),
    ({"VONAGE_SIGNATURE_SECRET": ""}, "VONAGE_SIGNATURE_SECRET"),
    ({"VONAGE_API_SECRET": " "}, "VONAGE_API_SECRET"),
    ({"SLACK_APP_TOKEN": ""}, "SLACK_APP_TOKEN"),
    ({"EMAIL_ADDRESS": "help@example.org", "EMAIL_SMTP_LISTEN": "2525"}, "EMAIL_SMTP_LISTEN"),
    (
        {"EMAIL_ADDRESS": "help@example.org", "EMAIL_SMTP_LISTEN": "0.0.0.0:99999"},
        "EMAIL_SMTP_LISTEN",
    ),
    ({"EMAIL_SMTP_LISTEN": "0.0.0.0:2525"}, "EMAIL_ADDRESS"),
]
CONFIG_ERROR_IDS = [
    "missing-bot-token",
    "user-token-instead-of-bot-token",
    "channel-given-as-name",
    "number-not-e164",
    "second-number-without-plus",
    "no-vonage-credentials",
    "application-id-without-private-key",
    "port-not-a-number",
    "port-out-of-range",
    "database-scheme-unsupported",
    "placeholder-signing-secret",
    "placeholder-api-secret-uppercase",
    "placeholder-bot-token",
    "placeholder-api-key",
    "http-mode-without-signing-secret",
    "signing-secret-empty",
    "signing-secret-blank",
    "signature-secret-empty",
    "api-secret-blank",
    "app-token-empty",
    "smtp-listen-without-host",
    "smtp-listen-port-out-of-range",
    "smtp-listen-without-our-address",
]


@pytest.mark.parametrize(("change", "variable"), CONFIG_ERRORS, ids=CONFIG_ERROR_IDS)
def test_run_refuses_a_bad_configuration_with_one_line_naming_the_variable(
    environment, capsys: pytest.CaptureFixture[str], change: dict, variable: str
) -> None:
    environment(VALID | change)

    code, out, err = run_command(capsys, "run")

    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("smschat-bridge: configuration error: ")
    assert variable in lines[0]


def test_the_console_script_exits_2(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("smschat-bridge")
    env = {"PATH": str(script.parent), **VALID, "SLACK_CHANNEL": "#general"}
    done = subprocess.run(
        [str(script), "run"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("smschat-bridge: configuration error: SLACK_CHANNEL")


def test_socket_mode_needs_no_signing_secret(environment) -> None:
    environment(VALID | {"SLACK_SIGNING_SECRET": None, "SLACK_APP_TOKEN": APP_TOKEN})

    settings = load_settings()

    assert settings.socket_mode
    assert settings.slack_signing_secret is None


ALL_SECRETS = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "SLACK_APP_TOKEN": APP_TOKEN,
    "VONAGE_API_SECRET": VONAGE_SECRET,
    "VONAGE_SIGNATURE_SECRET": SIGNATURE_SECRET,
}


@pytest.mark.parametrize(
    ("change", "also_secret"),
    [
        ({"SLACK_CHANNEL": "#general"}, []),
        ({"SLACK_APP_TOKEN": "xoxb-misplaced-app-token-secret"}, ["misplaced-app-token"]),
        ({"SLACK_BOT_TOKEN": "xoxp-misplaced-user-token-secret"}, ["misplaced-user-token"]),
        ({"VONAGE_PRIVATE_KEY": PRIVATE_KEY}, ["BEGIN PRIVATE KEY", "MIIEvQIBADAN"]),
        ({"SLACK_SIGNING_SECRET": "changeme"}, []),
        ({"DATABASE_URL": f"mysql://bridge:{DB_PASSWORD}@db/bridge"}, [DB_PASSWORD]),
    ],
    ids=[
        "bad-channel",
        "bad-app-token-prefix",
        "bad-bot-token-prefix",
        "private-key-without-application-id",
        "placeholder-beside-real-secrets",
        "database-url-with-password",
    ],
)
def test_a_refused_configuration_does_not_print_its_secrets(
    environment, capsys: pytest.CaptureFixture[str], change: dict, also_secret: list[str]
) -> None:
    environment(VALID | ALL_SECRETS | change)

    code, out, err = run_command(capsys, "run")

    assert code == 2
    assert len(err.splitlines()) == 1
    for secret in [*ALL_SECRETS.values(), *also_secret]:
        assert secret not in out + err


SECRETS_IN_SETTINGS = {
    "bot-token": BOT_TOKEN,
    "signing-secret": SIGNING_SECRET,
    "app-token": APP_TOKEN,
    "vonage-api-secret": VONAGE_SECRET,
    "vonage-private-key": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDprivatebits",
    "vonage-signature-secret": SIGNATURE_SECRET,
    "database-password": DB_PASSWORD,
    "redis-password": REDIS_PASSWORD,
}


@pytest.fixture(scope="module")
def full_settings() -> Settings:
    values: dict[str, Any] = {k.lower(): v for k, v in (VALID | ALL_SECRETS).items()}
    values |= {
        "vonage_application_id": "0f1e2d3c-aaaa-bbbb-cccc-123456789abc",
        "vonage_private_key": PRIVATE_KEY,
        "database_url": f"postgresql+asyncpg://bridge:{DB_PASSWORD}@db.internal/bridge",
        "redis_url": f"redis://:{REDIS_PASSWORD}@cache.internal:6379/0",
    }
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize(
    "secret", list(SECRETS_IN_SETTINGS.values()), ids=list(SECRETS_IN_SETTINGS)
)
@pytest.mark.parametrize("show", [repr, str], ids=["repr", "str"])
def test_settings_never_show_a_secret(full_settings: Settings, show, secret: str) -> None:
    assert secret not in show(full_settings)


def test_settings_are_read_from_a_dotenv_file(environment, tmp_path: Path) -> None:
    environment({})
    lines = [f"{name}={value}" for name, value in VALID.items()]
    lines += ["PORT=8123", "LOG_LEVEL=DEBUG", f"DATABASE_URL=sqlite+aiosqlite:///{tmp_path}/x.db"]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")

    settings = load_settings()

    assert settings.slack_bot_token.get_secret_value() == BOT_TOKEN
    assert settings.slack_channel == "C0INBOX"
    assert settings.vonage_numbers == ["+447700900000", "+447700900001"]
    assert settings.port == 8123
    assert settings.log_level == "DEBUG"
    assert settings.database_url.endswith("/x.db")


def test_the_environment_wins_over_dotenv(environment, tmp_path: Path) -> None:
    environment({"SLACK_CHANNEL": "C0FROMENV"})
    lines = [f"{name}={value}" for name, value in VALID.items()]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert load_settings().slack_channel == "C0FROMENV"


def test_run_reports_a_bad_value_from_dotenv(
    environment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environment({})
    lines = [f"{name}={value}" for name, value in (VALID | {"SLACK_CHANNEL": "#inbox"}).items()]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")

    code, _out, err = run_command(capsys, "run")

    assert code == 2
    assert err.startswith("smschat-bridge: configuration error: SLACK_CHANNEL")


def _urls(node: Any) -> list[str]:
    """Every value of a `url` or `request_url` key, anywhere in the manifest."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k in ("url", "request_url")]
        return found + [u for v in node.values() for u in _urls(v)]
    if isinstance(node, list):
        return [u for v in node for u in _urls(v)]
    return []


@pytest.mark.parametrize(
    "url", ["https://x.example", "https://x.example/"], ids=["bare", "trailing-slash"]
)
def test_manifest_is_printed_with_the_url_everywhere(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, out, err = run_command(capsys, "manifest", "--url", url)

    assert (code, err) == (0, "")
    manifest = yaml.safe_load(out)
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"] == "https://x.example/slack/events"
    assert settings["interactivity"]["request_url"] == "https://x.example/slack/events"
    commands = manifest["features"]["slash_commands"]
    assert [c["url"] for c in commands] == ["https://x.example/slack/events"] * len(commands)
    found = _urls(manifest)
    assert len(found) >= 3
    assert all(u == "https://x.example/slack/events" for u in found)
    assert "bridge.example.org" not in out


@pytest.mark.parametrize(
    "url",
    ["http://x.example", "x.example", "ftp://x.example"],
    ids=["plain-http", "no-scheme", "other-scheme"],
)
def test_manifest_refuses_a_url_that_is_not_https(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, out, err = run_command(capsys, "manifest", "--url", url)

    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and "https" in err


def test_every_missing_setting_is_named_at_once(environment, capsys) -> None:
    environment({"VONAGE_API_KEY": "abcd1234", "VONAGE_API_SECRET": VONAGE_SECRET})

    code, _out, err = run_command(capsys, "run")

    assert code == 2
    [line] = err.splitlines()
    assert line.startswith("smschat-bridge: configuration error: ")
    for name in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL", "VONAGE_NUMBERS"):
        assert name in line
    assert "are required" in line


@pytest.mark.parametrize(
    ("change", "variable", "says"),
    [
        (
            {"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/none"},
            "DATABASE_URL",
            "does not answer",
        ),
        (
            {"DATABASE_URL": "sqlite+aiosqlite:///no/such/folder/bridge.db"},
            "DATABASE_URL",
            "does not exist",
        ),
        ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "REDIS_URL", "does not answer"),
    ],
    ids=["database-unreachable", "sqlite-folder-missing", "redis-unreachable"],
)
def test_a_store_that_cannot_be_used_stops_run_with_one_line(
    environment, capsys: pytest.CaptureFixture[str], change: dict, variable: str, says: str
) -> None:
    environment(VALID | change)

    code, out, err = run_command(capsys, "run")

    assert code == 2
    [line] = err.splitlines()
    assert line.startswith(f"smschat-bridge: {variable}: ") and says in line, err
    assert "Traceback" not in out + err
