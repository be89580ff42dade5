"""Secret redaction: what the audit trail stores never holds a credential.

`redact(value)` walks dicts, lists and tuples (returning new ones; the input is not changed) and
replaces secrets with ``[REDACTED]``; `redact_text` does it for one string. Every text the audit
trail stores goes through one of them, dict keys included. Three rules apply:

- **By key.** A value stored under a key naming a secret is replaced whole, whatever its type (a
  nested dict or list too). A key names a secret when it contains (case-insensitive, ``-`` read
  as ``_``) ``token``, ``password``, ``passwd``, ``passphrase``, ``secret``, ``api_key``,
  ``apikey``, ``access_key``, ``accesskey``, ``private_key``, ``privatekey``, ``authorization``,
  ``cookie``, ``session`` or ``credential``, or has one of the words ``key``, ``auth``, ``pwd``,
  ``pass``, ``creds`` as a whole word (``db_pass``, ``sshKey``; not ``keyboard``, ``author`` or
  ``passed``). ``None``, booleans and empty strings are kept (they hide nothing), and so are
  numbers under keys containing ``tokens`` (``max_tokens``: counts, not credentials). In
  ``{"name": "GITHUB_TOKEN", "value": ...}`` the value goes too. In a list of command-line
  arguments, the element after a flag such as ``--password`` or ``--token`` is redacted, and so
  are ``curl -u user:PASSWORD`` and ``mysql -pPASSWORD``.
- **By shape**, in every string, wherever it sits: private-key blocks (PEM, OpenSSH and PGP, to
  the matching ``END`` line or to the end of the text when cut off); passwords in URLs
  (``scheme://user:[REDACTED]@host``, also with no user: ``redis://:[REDACTED]@host``);
  ``Authorization: ...`` values; ``Bearer <token>``; ``curl -u user:pw``, ``mysql -ppw``,
  ``sshpass -p pw``, ``redis-cli -a pw``; and tokens recognisable by their prefix (after
  gitleaks' rules): AWS (``AKIA``, ``ASIA``, ...), GitHub (``ghp_``, ``github_pat_``, ...), GitLab
  (``glpat-``, ``glrt-``, ...), Slack (``xoxb-``, ``xapp-``, webhook URLs), Stripe (``sk_live_``,
  ``rk_test_``, ...), OpenAI and Anthropic (``sk-``), Google (``AIza``, ``GOCSPX-``), Hugging Face
  (``hf_``), npm, PyPI, SendGrid, Twilio, DigitalOcean, Shopify, Databricks, Vault, Grafana,
  Sentry, Linear, Perplexity, age keys, JWTs.
- **By assignment**: ``NAME=value`` (shell variables, ``--flag=value``, URL query parameters
  such as ``?token=...``), ``--flag value``, quoted values (``password = "..."``,
  ``"token": "..."``) and, when the name starts the line, ``name: value`` / ``name = value``
  (YAML, INI, ``.env``), where the name contains one of the key words above. The whole words
  (``key``, ``auth``, ``pwd``, ``pass``, ``creds``), being common in code, count only in an
  environment variable's upper-case name (``DB_PASS=``, ``MYSQL_PWD=``, not ``PWD`` itself), as
  a flag (``--pass x``; not ``--key``, a sort key), a URL parameter, or before a quoted value:
  ``sorted(x, key=len)`` and ``key: str`` are left alone.
  Names and quotes are kept, only the value goes: ``export API_TOKEN=[REDACTED]``.

Redaction errs on the side of hiding: a line of code such as ``token: str`` at the start of a
line loses its ``str``. It is idempotent (redacting twice gives the same text) and fast: the
patterns are compiled once, token shapes are one alternation scanned in one pass, and no pattern
backtracks over long runs of text. This module imports only the standard library, as the agent
hook uses it.
"""

import os
import re
from typing import Any

REDACTED = "[REDACTED]"

_KEY_WORDS = (
    "token",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "api_key",
    "apikey",
    "access_key",
    "accesskey",
    "private_key",
    "privatekey",
    "authorization",
    "cookie",
    "session",
    "credential",
)
# Secret only as a whole word of a name: as substrings they are in "keyboard" and "author".
_WHOLE_WORDS = frozenset({"key", "auth", "pwd", "pass", "creds"})
_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")

# The same words as patterns; a match starts at the word (never at a free-length prefix) so
# that a long run of word characters cannot make the search quadratic.
_STRONG = (
    r"pass(?:word|wd|phrase)|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|cookie|session|credential"
)
# A whole word: no letter or digit right before it (`_`, `-` are fine: DB_PASS) or after it.
# Each starts with its literal first letter, then looks back: the search keeps skipping fast
# to the letters a name can start with.
_WEAK = (
    "(?:"
    + "|".join(f"{w[0]}(?<![a-z0-9]{w[0]}){w[1:]}" for w in ("key", "auth", "pwd", "pass", "creds"))
    + r")(?![a-z0-9])"
)

_ASSIGNMENT = re.compile(
    r"(?P<name>(?:(?P<strong>" + _STRONG + r")|" + _WEAK + r")[\w.-]*)(?P<quote>[\"']?)"
    r"(?P<sep>[ \t]*[:=][ \t]*|[ \t]+)(?!=)"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"'&;|,]+)",
    re.IGNORECASE,
)
_LINE_KEY_PREFIX = re.compile(r"[ \t-]*[\"']?[\w.-]*")
_FLAG = re.compile(
    r"--?[\w-]*(?:" + _STRONG + r")[\w-]*|--(?:pass|pwd|auth|creds)(?:[_-][\w-]*)?",
    re.IGNORECASE,
)
# Words of an upper-case name that are not credentials: the working directory.
_NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD"})

# Tokens known by their prefix, one alternation (one pass over the text). After gitleaks'
# rules, lengths relaxed to "at least" so that a format's next revision is still caught.
_TOKENS = (
    r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}"  # GitHub
    r"|gl(?:pat|ptt|dt|rt|ft|imt|oas|soat|cbt|agent|ffct)-[\w-]{20,}"  # GitLab
    r"|xox[abeoprs]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,}"  # Slack
    r"|(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,}"  # Stripe
    r"|sk-[\w-]{20,}"  # OpenAI, Anthropic (sk-ant-...), and the like
    r"|AIza[\w-]{35}|GOCSPX-[\w-]{24,}"  # Google API key, OAuth client secret
    r"|hf_[A-Za-z0-9]{30,}|api_org_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|npm_[A-Za-z0-9]{36}|pypi-AgEIcHlwaS5vcmc[\w-]{20,}"  # npm, PyPI
    r"|SG\.[\w-]{16,}\.[\w-]{16,}|SK[0-9a-fA-F]{32}\b"  # SendGrid, Twilio
    r"|do[opr]_v1_[a-f0-9]{64}|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"  # DigitalOcean, Shopify
    r"|dapi[a-f0-9]{32}|hv[sb]\.[\w-]{24,}"  # Databricks, Vault
    r"|gl(?:c|sa)_[A-Za-z0-9+/_]{32,}|sntry[su]_[\w+/=]{40,}"  # Grafana, Sentry
    r"|lin_api_[A-Za-z0-9]{40}|pplx-[A-Za-z0-9]{40,}"  # Linear, Perplexity
    r"|AGE-SECRET-KEY-1[0-9A-Z]{58}"  # age
    r"|eyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]*"  # JWT
)
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.DOTALL,
        ),
        REDACTED,
    ),
    (re.compile(r"(://[^\s/:@]*:)[^\s/@]+@"), r"\1" + REDACTED + "@"),
    (
        re.compile(r"\b(authorization[\"']?[ \t]*[:=][ \t]*[\"']?)[^\r\n\"']+", re.IGNORECASE),
        r"\1" + REDACTED,
    ),
    (re.compile(r"\b(bearer[ \t]+)[\w.~+/-]{8,}=*", re.IGNORECASE), r"\1" + REDACTED),
    (re.compile(r"\b(?:" + _TOKENS + ")"), REDACTED),
    (re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/[\w+/]{20,}"), REDACTED),
)


def _scoped(pattern: re.Pattern[str]) -> str:
    """`pattern` as a group of its own that keeps its flags, to join with others."""
    flags = "i" * bool(pattern.flags & re.IGNORECASE) + "s" * bool(pattern.flags & re.DOTALL)
    return f"(?{flags}:{pattern.pattern})" if flags else f"(?:{pattern.pattern})"


_ANY_SHAPE = re.compile("|".join(_scoped(pattern) for pattern, _ in _SHAPES))
_SHORT_TEXT = 512
_MYSQL_COMMANDS = frozenset(
    {"mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlcheck", "mysqlshow", "mariadb"}
)
# In a list of arguments: the flags whose next argument is a password, per program.
_PASSWORD_FLAGS: dict[str, tuple[str, ...]] = {"sshpass": ("-p",), "redis-cli": ("-a",)}
# A password given on a command line: `-u user:PW` (curl), `-pPW` (mysql), `-p PW` (sshpass),
# `-a PW` (redis-cli). The flag is found first; `_cli_password` then looks back, within the same
# command and at most `_COMMAND_LOOKBACK` characters, for the program that reads it that way.
_CLI_PASSWORD = re.compile(
    r"-(?<=[ \t]-)(?:(?P<user>u[ \t]*|-user[ \t=]+)[\"']?[^\s:\"']*:|(?P<p>p)(?P<gap>[ \t]*)"
    r"|(?P<a>a)[ \t]+)(?P<secret>[^\s\"'-][^\s\"']*)"
)
_COMMAND_LOOKBACK = 1024
_COMMAND_END = re.compile(r"[|;&\n]")
_CLI_PROGRAMS = {
    "user": re.compile(r"\bcurl\b"),
    "mysql": re.compile(r"\b(?:" + "|".join(sorted(_MYSQL_COMMANDS)) + r"|mariadb-dump)[ \t]"),
    "sshpass": re.compile(r"\bsshpass[ \t]+$"),
    "a": re.compile(r"\bredis-cli\b"),
}

# Keys seen to hold no secret shape: most payloads repeat the same few keys. Cleared when full.
_CLEAN_KEYS: dict[str, None] = {}
_CLEAN_KEYS_MAX = 4096
_CACHED_KEY_CHARS = 48
_KEY_VERDICTS: dict[str, bool] = {}


def is_secret_key(key: object) -> bool:
    """Whether values stored under this dict key are secrets (see the module docstring)."""
    name = str(key)
    verdict = _KEY_VERDICTS.get(name)
    if verdict is None:
        lowered = name.lower().replace("-", "_")
        verdict = any(word in lowered for word in _KEY_WORDS) or any(
            word.lower() in _WHOLE_WORDS for word in _NAME_WORDS.findall(name)
        )
        if len(name) <= _CACHED_KEY_CHARS:  # short: a name, not a credential used as a key
            if len(_KEY_VERDICTS) >= _CLEAN_KEYS_MAX:
                _KEY_VERDICTS.clear()
            _KEY_VERDICTS[name] = verdict
    return verdict


def redact_text(text: str) -> str:
    """`text` with every secret-shaped part replaced by ``[REDACTED]``."""
    # A short text (a title, a key) most often holds no shape: one pass of their union finds
    # out sooner than six. A long one is faster through each pattern's own fast prefix scan.
    if len(text) > _SHORT_TEXT or _ANY_SHAPE.search(text) is not None:
        for pattern, replacement in _SHAPES:
            text = pattern.sub(replacement, text)
    if "-" in text:
        text = _CLI_PASSWORD.sub(_cli_password, text)
    return _ASSIGNMENT.sub(_assignment, text)


def redact_optional(text: str | None) -> str | None:
    """`redact_text` for an optional field."""
    return None if text is None else redact_text(text)


def redact(value: Any) -> Any:
    """A copy of `value` (JSON-like data) with secrets replaced by ``[REDACTED]``."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            clean = _redact_key(key)
            while clean in out:  # two keys redacted alike: keep both
                clean = f"{clean}#"
            out[clean] = _redact_under_key(key, item)
        if "value" in value and _names_a_secret(value):
            out["value"] = _hidden(value["value"])
        return out
    if isinstance(value, list | tuple):
        return type(value)(_redact_args(value))
    return value


def _redact_key(key: Any) -> Any:
    if not isinstance(key, str) or key in _CLEAN_KEYS:
        return key
    clean = redact_text(key)
    if clean == key:
        if len(_CLEAN_KEYS) >= _CLEAN_KEYS_MAX:
            _CLEAN_KEYS.clear()
        _CLEAN_KEYS[key] = None
    return clean


def _names_a_secret(pair: dict[Any, Any]) -> bool:
    """`{"name": "GITHUB_TOKEN", "value": ...}`, the shape of environment lists."""
    name = pair.get("name")
    return isinstance(name, str) and is_secret_key(name)


def _redact_under_key(key: object, value: Any) -> Any:
    if not is_secret_key(key):
        return redact(value)
    if isinstance(value, int | float) and "tokens" in str(key).lower():
        return value
    return _hidden(value)


def _hidden(value: Any) -> Any:
    if value is None or isinstance(value, bool) or value == "":
        return value
    return REDACTED


def _redact_args(items: list[Any] | tuple[Any, ...]) -> list[Any]:
    command = os.path.basename(items[0]) if items and isinstance(items[0], str) else ""
    password_flags = _PASSWORD_FLAGS.get(command, ())
    out: list[Any] = []
    after_flag = after_user = False
    for item in items:
        if not isinstance(item, str):
            out.append(redact(item))
        elif after_flag and not item.startswith("-"):
            out.append(REDACTED)
        elif command == "curl" and _curl_user(item, after_user):
            out.append(item.split(":", 1)[0] + ":" + REDACTED)
        elif command in _MYSQL_COMMANDS and item.startswith("-p") and item[2:3] not in ("", "-"):
            out.append("-p" + REDACTED)
        else:
            out.append(redact_text(item))
        after_flag = isinstance(item, str) and (
            item in password_flags or _FLAG.fullmatch(item) is not None
        )
        after_user = command == "curl" and item in ("-u", "--user")
    return out


def _curl_user(item: str, after_user: bool) -> bool:
    """Whether `item` is curl's `user:password` (after -u, or attached: -uU:P, --user=U:P)."""
    if ":" not in item:
        return False
    return after_user or item.startswith("--user=") or (item.startswith("-u") and len(item) > 2)


def _cli_password(m: re.Match[str]) -> str:
    text, start = m.string, m.start()
    command = text[max(0, start - _COMMAND_LOOKBACK) : start]
    ends = [found.end() for found in _COMMAND_END.finditer(command)]
    command = command[ends[-1] :] if ends else command
    if m["user"] is not None:
        hit = _CLI_PROGRAMS["user"].search(command)
    elif m["a"] is not None:
        hit = _CLI_PROGRAMS["a"].search(command)
    elif m["gap"]:  # `-p PW`: sshpass; mysql's `-p` followed by a space asks for it instead
        hit = _CLI_PROGRAMS["sshpass"].search(command)
    else:
        hit = _CLI_PROGRAMS["mysql"].search(command)
    if hit is None:
        return m[0]
    return text[start : m.start("secret")] + REDACTED


def _assignment(m: re.Match[str]) -> str:
    value = m["value"]
    if _is_secret_assignment(m):
        quoted = value[0] in "\"'"
        value = value[0] + REDACTED + value[0] if quoted else REDACTED
    return m.string[m.start() : m.start("value")] + value


def _is_secret_assignment(m: re.Match[str]) -> bool:
    sep, value = m["sep"], m["value"]
    if m["strong"] is None and not _weak_name_counts(m):
        return False
    if not sep.strip():  # `word value`: only a command-line flag takes its value this way
        flag = _token_before(m).lstrip("\"'").startswith("-")
        return flag and value[0] not in "-<>"
    if sep == "=":  # NAME=value, --name=value, ?name=value
        return True
    if value[0] in "\"'":  # a literal: password = "...", "token": "..."
        return True
    # A bare value after `name: ` or `name = ` counts when the name starts the line (YAML, INI,
    # .env) and the value is not an expression such as `tokens[0]` or `get_password()`.
    line_start = m.string.rfind("\n", 0, m.start()) + 1
    return _LINE_KEY_PREFIX.fullmatch(m.string, line_start, m.start()) is not None and not any(
        c in value for c in "([{"
    )


def _weak_name_counts(m: re.Match[str]) -> bool:
    """A whole-word name (key, auth, pwd, pass, creds) is a secret's name only in an upper-case
    environment name, as a flag other than --key, as a URL parameter, or before a literal."""
    if m["value"][0] in "\"'" and m["sep"].strip():
        return True
    word = _token_before(m).lstrip("\"'")
    if word.startswith("-"):
        return not word.lstrip("-").lower().startswith("key")
    before = m.string[m.start() - 1 : m.start()]
    if before in ("?", "&"):
        return True
    name = word.split("=", 1)[0]
    return name.isupper() and name not in _NOT_SECRET_NAMES and "(" not in m["value"]


def _token_before(m: re.Match[str]) -> str:
    """The whitespace-delimited word that holds the matched name, up to the name's end."""
    text, start = m.string, m.start()
    begin = max(text.rfind(" ", 0, start), text.rfind("\t", 0, start), text.rfind("\n", 0, start))
    return text[begin + 1 : m.end("name")]
