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


def test_keys_are_matched_by_containment_or_as_whole_words() -> None:
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
        # whole words, in any case and in snake, kebab and camel case
        "key",
        "auth",
        "pwd",
        "pass",
        "DB_PASS",
        "mysql-pwd",
        "sshKey",
        "basicAuth",
        "creds",
    ):
        assert is_secret_key(key), key
    for key in (
        "author",
        "authors",
        "keyboard",
        "keys",
        "monkey",
        "passed",
        "passenger",
        "bypass",
        "command",
        "path",
        "cwd",
        "tool_use_id",
        "description",
    ):
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
        "env": [{"name": "GITHUB_TOKEN", "value": REDACTED}, "HOME=/home/dev"],
        "auth": REDACTED,
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


# Fake credentials in the shapes of real ones, assembled so that no scanner mistakes this file
# for a leak. Each shape has a positive case and a near miss that must be left alone.
A40 = "aB3dE6gH9k" * 4
HEX64 = "0123456789abcdef" * 4
PGP = (
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF0AAAABCAC1\n=abcd\n"
    "-----END PGP PRIVATE KEY BLOCK-----"
)
SHAPES = {
    "pgp private key": (f"key:\n{PGP}\ndone", f"key:\n{REDACTED}\ndone"),
    "url with empty user": ("redis://:hunter2@cache:6379/0", f"redis://:{REDACTED}@cache:6379/0"),
    "DB_PASS=": ("export DB_PASS=hunter2", f"export DB_PASS={REDACTED}"),
    "MYSQL_PWD=": ("MYSQL_PWD=hunter2 mysql -u root", f"MYSQL_PWD={REDACTED} mysql -u root"),
    "AUTH=": ("AUTH=abc123 ./run", f"AUTH={REDACTED} ./run"),
    "key as a URL parameter": ("GET /v1?key=abc123&page=2", f"GET /v1?key={REDACTED}&page=2"),
    "key before a literal": ('{"key": "abc123"}', f'{{"key": "{REDACTED}"}}'),
    "--pass flag": ("tool --pass hunter2 -v", f"tool --pass {REDACTED} -v"),
    "curl -u": ("curl -s -u bob:hunter2 https://x", f"curl -s -u bob:{REDACTED} https://x"),
    "curl --user=": ("curl --user=bob:hunter2 x", f"curl --user=bob:{REDACTED} x"),
    "mysql -p": ("mysql -u root -phunter2 shop", f"mysql -u root -p{REDACTED} shop"),
    "sshpass -p": ("sshpass -p hunter2 ssh host", f"sshpass -p {REDACTED} ssh host"),
    "redis-cli -a": (
        "redis-cli -h cache -a hunter2 ping",
        f"redis-cli -h cache -a {REDACTED} ping",
    ),
    "stripe secret": ("sk_live_" + A40[:24], REDACTED),
    "stripe restricted": ("rk_test_" + A40[:24], REDACTED),
    "gitlab pat": ("GITLAB=glpat-" + A40[:20], f"GITLAB={REDACTED}"),
    "gitlab runner": ("glrt-" + A40[:20], REDACTED),
    "hugging face": ("login hf_" + "abcdefghij" * 3 + "abcd", f"login {REDACTED}"),
    "anthropic": ("sk-ant-api03-" + A40, REDACTED),
    "openai project": ("sk-proj-" + A40, REDACTED),
    "google oauth secret": ("GOCSPX-" + A40[:28], REDACTED),
    "slack app": ("xapp-1-A0123456789-0123456789-" + HEX64[:20], REDACTED),
    "slack webhook": (
        "post to https://hooks.slack.com/services/T0000/B0000/" + A40[:24],
        f"post to https://{REDACTED}",
    ),
    "npm": ("//registry.npmjs.org/:_authToken=npm_" + A40[:36], None),
    "pypi": ("pypi-AgEIcHlwaS5vcmc" + A40, REDACTED),
    "sendgrid": ("SG." + A40[:22] + "." + A40[:43], REDACTED),
    "twilio": ("SK" + HEX64[:32], REDACTED),
    "digitalocean": ("dop_v1_" + HEX64, REDACTED),
    "shopify": ("shpat_" + HEX64[:32], REDACTED),
    "databricks": ("dapi" + HEX64[:32], REDACTED),
    "vault": ("hvs." + A40, REDACTED),
    "grafana": ("glc_" + A40, REDACTED),
    "age": ("AGE-SECRET-KEY-1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2, None),
    "aws temporary key id": ("ASIA" + "IOSFODNN7EXAMPL1", REDACTED),
}
NEAR_MISSES = {
    "pgp public key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQENBF0\n-----END PGP PUBLIC KEY BLOCK-----",
    "url with a port": "redis://cache:6379/0 and https://example.com:8443/x",
    "a word holding pass": "passenger_count=2 BYPASS=1 compass = north",
    "the working directory": "PWD=/home/dev OLDPWD=/tmp",
    "author": 'author = "Jane Doe"',
    "key as a keyword argument": "sorted(files, key=len)",
    "key as an annotation": "    key: str\n    keys: list[str] = []",
    "keyword parameter": "GET /v1?keyword=abc&page=2",
    "keys in JSON": '{"keys": ["a", "b"], "monkey": "x"}',
    "--passes flag": "tool --passes 3 -v",
    "sort key": "sort --key 2 file.txt",
    "docker -u uid:gid": "docker run -u 1000:1000 image",
    "mysql asking for the password": "mysql -u root -p shop",
    "compiler flag": "gcc -pthread -print-file-name=x main.c",
    "ssh port": "ssh -p 2222 host",
    "ls -a": "ls -a /tmp && git log -a:b",
    "short stripe-like word": "sk_live_x mask_live_" + A40[:24],
    "short gitlab-like word": "glpat-short",
    "hugging face model name": "hf_model_v2 hf_hub_download",
    "sk- in a word": "task-management-system-overview risk-assessment-v2",
    "sendgrid-like": "SG.module.name",
    "twilio-like": "SKU1234 SKIP",
    "databricks client": "dapi_client databricks_api",
    "vault-like": "hvs.short",
    "npm config": "npm_config_cache=/tmp/npm",
    "slack hooks host": "see https://hooks.slack.com/ for docs",
}


@pytest.mark.parametrize(("text", "expected"), SHAPES.values(), ids=SHAPES)
def test_each_secret_shape_is_redacted(text: str, expected: str | None) -> None:
    out = redact_text(text)
    if expected is None:  # only that the secret is gone
        assert REDACTED in out and A40[:20] not in out and "QPZRY9X8" not in out
    else:
        assert out == expected
    assert redact_text(out) == out  # idempotent


@pytest.mark.parametrize("text", NEAR_MISSES.values(), ids=NEAR_MISSES)
def test_near_misses_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["curl", "-u", "bob:pw", "x"], ["curl", "-u", f"bob:{REDACTED}", "x"]),
        (["/usr/bin/curl", "-ubob:pw"], ["/usr/bin/curl", f"-ubob:{REDACTED}"]),
        (["mysql", "-uroot", "-ppw", "db"], ["mysql", "-uroot", f"-p{REDACTED}", "db"]),
        (["sshpass", "-p", "pw", "ssh", "h"], ["sshpass", "-p", REDACTED, "ssh", "h"]),
        (["redis-cli", "-a", "pw"], ["redis-cli", "-a", REDACTED]),
        (["tool", "--pass", "pw"], ["tool", "--pass", REDACTED]),
        # near misses
        (["docker", "run", "-u", "1000:1000"], ["docker", "run", "-u", "1000:1000"]),
        (["mysql", "-p", "db"], ["mysql", "-p", "db"]),
        (["ssh", "-p", "2222", "h"], ["ssh", "-p", "2222", "h"]),
        (["sort", "--key", "2"], ["sort", "--key", "2"]),
    ],
)
def test_passwords_in_argument_lists(args: list[str], expected: list[str]) -> None:
    assert redact(args) == expected


def test_keys_are_redacted_too_and_never_merged() -> None:
    token = "ghp_" + A40[:36]
    other = "glpat-" + A40[:20]
    out = redact({token: 1, other: 2, f"note {token}": 3, "plain": 4})
    assert out == {REDACTED: 1, f"{REDACTED}#": 2, f"note {REDACTED}": 3, "plain": 4}
