import pytest
from aegisd_audit.redact import REDACTED, is_secret_key, redact, redact_text

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "-----END RSA PRIVATE KEY-----"
)
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5" * 3 + "A1b2C3"  # 36 characters after the prefix


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # AWS access key id, and the secret key in its usual contexts
        ("key AKIAIOSFODNN7EXAMPLE in text", f"key {REDACTED} in text"),
        ("ASIAIOSFODNN7EXAMPLE", REDACTED),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            f"aws_secret_access_key = {REDACTED}",
        ),
        (
            "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            f"export AWS_SECRET_ACCESS_KEY={REDACTED}",
        ),
        # GitHub tokens
        (
            f"git push https://{GITHUB_TOKEN}@github.com/o/r",
            f"git push https://{REDACTED}@github.com/o/r",
        ),
        ("gho_" + "x" * 36, REDACTED),
        ("ghu_" + "x" * 36, REDACTED),
        ("ghs_" + "x" * 36, REDACTED),
        ("ghr_" + "x" * 36, REDACTED),
        ("token github_pat_11ABCDEFG0123456789_abcdefghijKLMNOP", f"token {REDACTED}"),
        # Slack
        ("xoxb-123456789012-abcdefABCDEF", REDACTED),
        ("use xoxp-1234-5678-abcdef now", f"use {REDACTED} now"),
        # Bearer tokens and Authorization headers
        ("Bearer abc.def-ghi_jkl", f"Bearer {REDACTED}"),
        (
            'curl -H "Authorization: Basic dXNlcjpwYXNz" https://api.example.com',
            f'curl -H "Authorization: {REDACTED}" https://api.example.com',
        ),
        ("authorization=Token 0123456789", f"authorization={REDACTED}"),
        # private-key blocks, also when cut off
        (f"before\n{PEM}\nafter", f"before\n{REDACTED}\nafter"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk", REDACTED),
        # JWT
        (
            "jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9",
            f"jwt={REDACTED}",
        ),
        # provider keys
        ("OPENAI sk-proj-abcdefghijklmnopqrstuvwx", f"OPENAI {REDACTED}"),
        ("AIzaSyA1234567890abcdefghijklmnopqrstuv", REDACTED),
        # generic assignments in command lines, URLs, config files and code
        (
            "export API_TOKEN=sk-live-0000000000000000 && ./deploy.sh",
            f"export API_TOKEN={REDACTED} && ./deploy.sh",
        ),
        ("PGPASSWORD=hunter2 psql", f"PGPASSWORD={REDACTED} psql"),
        ("mysql --password=hunter2 db", f"mysql --password={REDACTED} db"),
        ("mysql --password hunter2 -u root", f"mysql --password {REDACTED} -u root"),
        ('tool --token "two words" x', f'tool --token "{REDACTED}" x'),
        (
            "https://api.example.com/v1?api_key=abc123&page=2",
            f"https://api.example.com/v1?api_key={REDACTED}&page=2",
        ),
        ("postgres://app:s3cr3t@db:5432/shop", f"postgres://app:{REDACTED}@db:5432/shop"),
        ("db:\n  password: hunter2\n", f"db:\n  password: {REDACTED}\n"),
        ("SECRET_KEY = django-insecure-abc", f"SECRET_KEY = {REDACTED}"),
        ('password = "correct horse"', f'password = "{REDACTED}"'),
        ('{"client_secret": "abc"}', f'{{"client_secret": "{REDACTED}"}}'),
        ("curl -b session=8f14e45f https://x", f"curl -b session={REDACTED} https://x"),
    ],
)
def test_secret_shapes_are_redacted(text: str, expected: str) -> None:
    assert redact_text(text) == expected
    assert redact_text(expected) == expected  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "pytest -q tests/test_checkout.py",
        "Session started (startup)",
        'git commit -m "fix password reset flow"',
        "token = tokens[0]",
        "password = get_password()",
        "def login(password: str) -> bool:",
        "if token == expected:",
        "docker login --password-stdin -u bob",
        "https://example.com:8080/path?page=2",
        "Bearer of bad news",
        "AKIA is a prefix",
        "import secrets; secrets.token_hex(16)",
        "the session ended",
        "a3f5c2e1b4d6" * 8,
    ],
)
def test_non_secrets_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_keys_are_matched_case_insensitively_by_containment() -> None:
    for key in (
        "token",
        "X-Api-Key",
        "apikey",
        "DB_PASSWORD",
        "passwd",
        "client_secret",
        "Authorization",
        "aws_access_key_id",
        "private_key",
        "Cookie",
        "session_id",
        "credentials",
    ):
        assert is_secret_key(key), key
    for key in ("author", "command", "path", "key", "cwd", "tool_use_id", "description"):
        assert not is_secret_key(key), key


def test_redact_walks_nested_data_without_changing_the_input() -> None:
    data = {
        "headers": {"Authorization": "Basic abc", "Accept": "text/html"},
        "env": [{"name": "GITHUB_TOKEN", "value": "x"}, "HOME=/home/dev"],
        "auth": {"password": {"nested": "value"}, "user": "bob"},
        "cmd": ("curl", "--token", "abc123", "-v", "https://x"),
        "usage": {"max_tokens": 4096, "input_tokens": 12},
        "flags": {"has_password": True, "api_key": None, "token": ""},
        "count": 3,
        "note": "export TOKEN=abc",
    }
    out = redact(data)
    assert out == {
        "headers": {"Authorization": REDACTED, "Accept": "text/html"},
        "env": [{"name": "GITHUB_TOKEN", "value": "x"}, "HOME=/home/dev"],
        "auth": {"password": REDACTED, "user": "bob"},
        "cmd": ("curl", "--token", REDACTED, "-v", "https://x"),
        "usage": {"max_tokens": 4096, "input_tokens": 12},
        "flags": {"has_password": True, "api_key": None, "token": ""},
        "count": 3,
        "note": f"export TOKEN={REDACTED}",
    }
    assert data["headers"] == {"Authorization": "Basic abc", "Accept": "text/html"}
    assert redact(out) == out


def test_numbers_under_secret_keys_are_redacted_unless_they_count_tokens() -> None:
    assert redact({"pin_password": 1234, "total_tokens": 99}) == {
        "pin_password": REDACTED,
        "total_tokens": 99,
    }


def test_long_texts_without_separators_are_handled() -> None:
    blob = "token" + "a" * 200_000  # would be quadratic with a free-length name prefix
    assert redact_text(blob) == blob
    assert (
        redact_text("x" * 100_000 + " password=hunter2") == "x" * 100_000 + f" password={REDACTED}"
    )
