"""Generic password/secret/token/API-key assignments in the syntaxes of many
languages and config formats; values generated at test time."""

from __future__ import annotations

import random

import pytest

from stockade.dlp import Engine
from stockade.dlp.fakes import B62, varied

ENGINE = Engine.default()
RNG = random.Random(77)
PW = varied(RNG, B62, 16)   # a short human-style password, e.g. REDIS_PASSWORD=...
TOK = varied(RNG, B62, 32)

FLAG = [
    ("generic_password", "shell/.env", "REDIS_PASSWORD={pw}"),
    ("generic_password", "shell export", 'export DB_PASSWORD="{pw}"'),
    ("generic_password", "yaml", "db:\n  password: {pw}\n"),
    ("generic_password", "yaml quoted", "  password: '{pw}'"),
    ("generic_password", "json", '{{"password": "{pw}"}}'),
    ("generic_password", "json in json string", '"content": "{{\\"password\\": \\"{pw}\\"}}"'),
    ("generic_password", "toml/ini", "[database]\npassword = {pw}\n"),
    ("generic_password", "properties", "spring.datasource.password={pw}"),
    ("generic_password", "python", 'PASSWORD = "{pw}"'),
    ("generic_password", "python kwarg", 'connect(host="db", password="{pw}")'),
    ("generic_api_key", "javascript", 'const apiKey = "{tok}";'),
    ("generic_api_key", "typescript typed", 'const apiKey: string = "{tok}";'),
    ("generic_api_key", "go", 'apiKey := "{tok}"'),
    ("generic_api_key", "rust", 'let api_key: &str = "{tok}";'),
    ("generic_password", "java", 'private static final String DB_PASSWORD = "{pw}";'),
    ("generic_password", "c# connection string", 'var cs = "Server=db;User Id=sa;Password={pw};";'),
    ("generic_password", "ruby hash", "password: '{pw}',"),
    ("generic_password", "ruby rocket", ':password => "{pw}"'),
    ("generic_password", "php array", "'password' => '{pw}',"),
    ("generic_password", "php variable", "$password = '{pw}';"),
    ("generic_password", "php define", "define('DB_PASSWORD', '{pw}');"),
    ("generic_password", "terraform", 'resource "x" "y" {{\n  password = "{pw}"\n}}'),
    ("generic_password", "xml element", "<password>{pw}</password>"),
    ("generic_password", "xml attribute", '<server password="{pw}"/>'),
    ("generic_password", ".net appSettings", '<add key="DbPassword" value="{pw}" />'),
    ("generic_password", "dockerfile ENV", "ENV DB_PASSWORD {pw}"),
    ("generic_password", "dockerfile ARG", "ARG DB_PASSWORD={pw}"),
    ("generic_password", "cli flag =", "mysql -u root --password={pw} shop"),
    ("generic_token", "cli flag space", "deploy --token {tok}"),
    ("sql_password", "sql identified by", "CREATE USER 'app'@'%' IDENTIFIED BY '{pw}';"),
    ("sql_password", "sql with password", "ALTER ROLE app WITH PASSWORD '{pw}';"),
    ("cli_basic_auth", "curl -u", "curl -u admin:{pw} https://api.internal/"),
    ("generic_password", "k8s env name/value", "- name: DB_PASSWORD\n  value: \"{pw}\""),
    ("generic_password", "ecs name/value", '{{"name": "DB_PASSWORD", "value": "{pw}"}}'),
    ("generic_password", "chinese label", "数据库密码：{pw}"),
    ("generic_secret", "client secret", 'client_secret = "{tok}"'),
    ("generic_secret", "rails secret key base", "SECRET_KEY_BASE={tok}"),
    ("generic_token", "log line", "2024-01-01 DEBUG using auth_token {tok}"),
    ("generic_password", "prose", "my password is {pw}"),
    ("generic_password", "redis.conf", "requirepass {pw}"),
    ("generic_password", "powershell", '$env:DB_PASSWORD = "{pw}"'),
    ("powershell_plaintext_password", "powershell securestring",
     '$p = ConvertTo-SecureString "{pw}" -AsPlainText -Force'),
    ("generic_password", "markdown table", "| DB_PASSWORD | {pw} |"),
    ("generic_password", "csv key,value", "name,value\nDB_PASSWORD,{pw}\n"),
    ("generic_password", "tsv", "DB_PASSWORD\t{pw}"),
    ("generic_secret", "yaml block scalar", "client_secret: >-\n  {tok}\n"),
    ("generic_password", "xml entry", '<entry key="db.password">{pw}</entry>'),
    ("generic_password", "c define", '#define DB_PASSWORD "{pw}"'),
    ("generic_password", ".netrc", "machine api.corp.net login deploy password {pw}"),
    ("generic_password", "german", "Passwort: {pw}"),
    ("generic_password", "russian", "ПАРОЛЬ: {pw}"),
    ("generic_password", "japanese", "パスワード：{pw}"),
    ("generic_password", "chinese prose", "数据库密码是{pw}"),
    ("cloud_ak_sk", "nested vendor yaml", "huawei:\n  sk: {tok}\n"),
]


@pytest.mark.parametrize(("rule_id", "syntax", "template"), FLAG, ids=[f[1] for f in FLAG])
def test_assignment_flagged(rule_id: str, syntax: str, template: str) -> None:
    text = template.format(pw=PW, tok=TOK)
    value = PW if "{pw}" in template else TOK
    found = [(f.rule_id, text[f.start:f.end]) for f in ENGINE.scan(text)]
    assert found == [(rule_id, value)], syntax


NOT_FLAG = [
    "password = getpass.getpass()",
    "token = self._next_token()",
    "password: ${DB_PASSWORD}",
    "DB_PASSWORD=${DB_PASSWORD:-}",
    'password: "{{ vault_db_password }}"',
    "api_key = settings.API_KEY",
    "token_type: bearer",
    "secretName: app-tls",
    "password_min_length = 12",
    "PASSWORD_FILE=/run/secrets/db_password",
    'timeit(stmt="pass", setup="pass", timer=default_timer)',
    "you can pass `spec=True` to the mock",
    "if token == START_ELEMENT:",
    "passwd: files systemd",
    "auth_token: !vault |",
    "api_key: ''",
    "r'(batch|emit|filter|pass|put|read|reduce)'",      # a regex alternation, not a table
    "warn(f\"Token '{conditional}' is not a valid name\")",
    "pk: USER#123\nsk: ORDER#2024-01-01",               # DynamoDB sort key, not a secret key
    "secret_keyword = r'(?:key|pwd|pw|password|pass|token)'",
]


@pytest.mark.parametrize("text", NOT_FLAG)
def test_non_literal_assignment_not_flagged(text: str) -> None:
    assert ENGINE.scan(text) == []
