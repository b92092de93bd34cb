"""Fake, well-formed values for every built-in rule, generated on demand.

Tests (here and in other layers: redaction, the gateway, ``stockade scan``)
need realistic secrets and personal data without committing any: call
:func:`sample` with a seeded ``random.Random``.  Each sample is a short text
in which the rule must find exactly ``value``.  Nothing here is a real
credential: the random parts come from ``rng``; checksums are computed.
"""

from __future__ import annotations

import base64
import datetime as _dt
import random
import string
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from stockade.dlp.validators import IBAN_LENGTHS, base62

B62 = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UPPER_DIGITS = string.ascii_uppercase + string.digits
B64 = B62 + "+/"
URLSAFE = B62 + "-_"


@dataclass(frozen=True, slots=True)
class Sample:
    rule_id: str
    text: str   # the value in a realistic context
    value: str  # what the finding must cover exactly


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def varied(rng: random.Random, alphabet: str, n: int) -> str:
    """Random, with a fair share of each class the alphabet has (at least
    n/8, two at the least): a value that is nearly all lowercase reads as a
    word, and the detectors rightly let words pass."""
    classes = [c for c in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
               if any(ch in c for ch in alphabet)]
    need = min(max(2, n // 8), n // max(1, len(classes)))
    while True:
        s = rand(rng, alphabet, n)
        if all(sum(ch in c for ch in s) >= need for c in classes):
            return s


def crc_token(rng: random.Random, prefix: str) -> str:
    body = varied(rng, B62, 30)
    return prefix + body + base62(zlib.crc32(body.encode()), 6)


def luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    digits = prefix + rand(rng, string.digits, length - len(prefix) - 1)
    for d in string.digits:
        cand = digits + d
        total = 0
        for i, ch in enumerate(reversed(cand)):
            v = int(ch) * (2 if i % 2 else 1)
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            return cand
    raise AssertionError("unreachable")


def cn_resident_id(rng: random.Random) -> str:
    region = rng.choice(["110101", "310104", "440305", "510107", "330106", "320102"])
    born = _dt.date(1950, 1, 1) + _dt.timedelta(days=rng.randrange(0, 365 * 50))
    body = region + born.strftime("%Y%m%d") + rand(rng, string.digits, 3)
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(body, weights))
    return body + "10X98765432"[total % 11]


def iban(rng: random.Random, country: str = "DE") -> str:
    length = IBAN_LENGTHS[country]
    bban = rand(rng, string.digits, length - 4)
    num = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(num) % 97
    return f"{country}{check:02d}{bban}"


def us_ssn(rng: random.Random) -> str:
    while True:  # the validator refuses numbers of three distinct digits or fewer
        v = f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
        if len(set(v.replace("-", ""))) > 3:
            return v


def jwt(rng: random.Random) -> str:
    def enc(obj: str) -> str:
        return base64.urlsafe_b64encode(obj.encode()).rstrip(b"=").decode()

    head = enc('{"alg":"HS256","typ":"JWT"}')
    body = enc('{"sub":"%s","iat":%d}' % (rand(rng, string.digits, 8), rng.randint(1_600_000_000, 1_800_000_000)))
    return f"{head}.{body}.{rand(rng, URLSAFE, 43)}"


def _pem(rng: random.Random, label: str, escaped: bool = False) -> str:
    nl = "\\n" if escaped else "\n"
    lines = [rand(rng, B64, 64) for _ in range(8)]
    return f"-----BEGIN {label}-----{nl}" + nl.join(lines) + f"{nl}-----END {label}-----"


Gen = Callable[[random.Random], tuple[str, str]]  # -> (text, value)


def _ctx(template: str, make: Callable[[random.Random], str]) -> Gen:
    def gen(rng: random.Random) -> tuple[str, str]:
        v = make(rng)
        return template.format(v=v), v

    return gen


def _pw(rng: random.Random) -> str:
    return varied(rng, B62, 16)


GENERATORS: dict[str, Gen] = {
    "aws_access_key_id": _ctx("aws_access_key_id = {v}", lambda r: "AKIA" + rand(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
    "aws_secret_access_key": _ctx("AWS_SECRET_ACCESS_KEY={v}", lambda r: varied(r, B64, 40)),
    "aws_session_token": _ctx("aws_session_token = {v}", lambda r: "IQoJb3JpZ2luX2Vj" + rand(r, B64, 300)),
    "github_pat_classic": _ctx("GH_TOKEN={v}", lambda r: crc_token(r, "ghp_")),
    "github_oauth_app_token": _ctx("oauth: {v}", lambda r: crc_token(r, "gho_")),
    "github_user_to_server_token": _ctx("t = '{v}'", lambda r: crc_token(r, "ghu_")),
    "github_app_installation_token": _ctx("t = '{v}'", lambda r: crc_token(r, "ghs_")),
    "github_refresh_token": _ctx("refresh {v}", lambda r: "ghr_" + varied(r, B62, 76)),
    "github_fine_grained_pat": _ctx("token: {v}", lambda r: "github_pat_" + varied(r, B62, 22) + "_" + varied(r, B62, 59)),
    "gitlab_pat": _ctx("GITLAB_TOKEN={v}", lambda r: "glpat-" + varied(r, B62, 20)),
    "gitlab_deploy_token": _ctx("pw {v}", lambda r: "gldt-" + varied(r, B62, 20)),
    "gitlab_pipeline_trigger_token": _ctx("trigger={v}", lambda r: "glptt-" + varied(r, HEX, 40)),
    "gitlab_runner_token": _ctx("token = {v}", lambda r: "glrt-" + varied(r, B62, 20)),
    "gitlab_oauth_secret": _ctx("secret {v}", lambda r: "gloas-" + varied(r, HEX, 64)),
    "gitlab_other_token": _ctx("t {v}", lambda r: "glimt-" + varied(r, B62, 25)),
    "slack_bot_token": _ctx("SLACK_BOT_TOKEN={v}", lambda r: f"xoxb-{rand(r, string.digits, 12)}-{rand(r, string.digits, 13)}-{varied(r, B62, 24)}"),
    "slack_user_token": _ctx("slack: {v}", lambda r: f"xoxp-{rand(r, string.digits, 12)}-{rand(r, string.digits, 12)}-{rand(r, string.digits, 13)}-{varied(r, HEX, 32)}"),
    "slack_other_token": _ctx("slack: {v}", lambda r: f"xoxr-{rand(r, string.digits, 12)}-{varied(r, B62, 40)}"),
    "slack_app_token": _ctx("SLACK_APP_TOKEN={v}", lambda r: f"xapp-1-A{rand(r, UPPER_DIGITS, 10)}-{rand(r, string.digits, 13)}-{varied(r, HEX, 64)}"),
    "slack_webhook_url": _ctx("url: {v}", lambda r: f"https://hooks.slack.com/services/T{rand(r, UPPER_DIGITS, 8)}/B{rand(r, UPPER_DIGITS, 10)}/{varied(r, B62, 24)}"),
    "stripe_secret_key": _ctx("stripe.api_key = '{v}'", lambda r: "sk_live_" + varied(r, B62, 24)),
    "stripe_restricted_key": _ctx("key: {v}", lambda r: "rk_live_" + varied(r, B62, 24)),
    "stripe_webhook_secret": _ctx("STRIPE_WEBHOOK_SECRET={v}", lambda r: "whsec_" + varied(r, B62, 32)),
    "google_api_key": _ctx("key={v}", lambda r: "AIza" + varied(r, URLSAFE, 35)),
    "google_oauth_client_secret": _ctx('"client_secret": "{v}"', lambda r: "GOCSPX-" + varied(r, URLSAFE, 28)),
    "google_oauth_access_token": _ctx("Bearer {v}", lambda r: "ya29." + varied(r, URLSAFE, 80)),
    "azure_ad_client_secret": _ctx("AZURE_CLIENT_SECRET={v}", lambda r: varied(r, B62, 3) + "8Q~" + varied(r, B62, 34)),
    "azure_storage_key": _ctx("AccountKey: {v}", lambda r: varied(r, B64, 86) + "=="),
    "azure_storage_connection_string": _ctx(
        "DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey={v};EndpointSuffix=core.windows.net",
        lambda r: varied(r, B64, 86) + "=="),
    "azure_sas_connection_string": _ctx(
        "Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={v}",
        lambda r: varied(r, B64, 43) + "="),
    "azure_sas_token": _ctx("https://a.blob.core.windows.net/c?sv=2022-11-02&ss=b&sp=r&sig={v}",
                            lambda r: varied(r, B62, 52) + "%3D"),
    "alibaba_access_key_id": _ctx("ALIBABA_CLOUD_ACCESS_KEY_ID={v}", lambda r: "LTAI" + varied(r, B62, 20)),
    "alibaba_access_key_secret": _ctx("ALIBABA_CLOUD_ACCESS_KEY_SECRET={v}", lambda r: varied(r, B62, 30)),
    "tencent_secret_id": _ctx("TENCENTCLOUD_SECRET_ID={v}", lambda r: "AKID" + varied(r, B62, 32)),
    "tencent_secret_key": _ctx("TENCENTCLOUD_SECRET_KEY={v}", lambda r: varied(r, B62, 32)),
    "volcengine_access_key_id": _ctx("VOLC_ACCESSKEY={v}", lambda r: "AKLT" + varied(r, B62, 44)),
    "huawei_access_key": _ctx("HUAWEICLOUD_SDK_AK={v}", lambda r: varied(r, UPPER_DIGITS, 20)),
    "huawei_secret_key": _ctx("HUAWEICLOUD_SDK_SK={v}", lambda r: varied(r, B62, 40)),
    "baidu_api_key": _ctx("QIANFAN_AK: {v}", lambda r: varied(r, B62, 24)),
    "baidu_secret_key": _ctx('BAIDU_SECRET_KEY: "{v}"', lambda r: varied(r, B62, 32)),
    "dingtalk_webhook": _ctx("webhook: {v}", lambda r: "https://oapi.dingtalk.com/robot/send?access_token=" + varied(r, HEX, 64)),
    "dingtalk_sign_secret": _ctx("sign_secret = '{v}'", lambda r: "SEC" + varied(r, HEX, 64)),
    "dingtalk_app_secret": _ctx("DINGTALK_APP_SECRET={v}", lambda r: varied(r, URLSAFE, 64)),
    "feishu_webhook": _ctx("hook = '{v}'", lambda r: "https://open.feishu.cn/open-apis/bot/v2/hook/" + _uuid(r)),
    "feishu_app_secret": _ctx("FEISHU_APP_SECRET={v}", lambda r: varied(r, B62, 32)),
    "wecom_webhook": _ctx("robot: {v}", lambda r: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + _uuid(r)),
    "wecom_corp_secret": _ctx("WECOM_CORP_SECRET={v}", lambda r: varied(r, URLSAFE, 43)),
    "wechat_app_secret": _ctx('"wx_app_secret": "{v}"', lambda r: varied(r, HEX, 32)),
    "wechat_pay_api_key": _ctx("mch_api_key = {v}", lambda r: varied(r, B62, 32)),
    "openai_project_key": _ctx("OPENAI_API_KEY={v}", lambda r: "sk-proj-" + varied(r, URLSAFE, 74) + "T3BlbkFJ" + varied(r, URLSAFE, 74)),
    "openai_api_key": _ctx("openai_key: {v}", lambda r: "sk-" + varied(r, B62, 20) + "T3BlbkFJ" + varied(r, B62, 20)),
    "anthropic_api_key": _ctx("ANTHROPIC_API_KEY={v}", lambda r: "sk-ant-api03-" + varied(r, URLSAFE, 93) + "AA"),
    "anthropic_admin_key": _ctx("key: {v}", lambda r: "sk-ant-admin01-" + varied(r, URLSAFE, 93) + "AA"),
    "anthropic_oauth_token": _ctx("token {v}", lambda r: "sk-ant-oat01-" + varied(r, URLSAFE, 93) + "AA"),
    "cloud_ak_sk": _ctx("huaweicloud:\n  region: cn-north-4\n  sk: {v}\n", lambda r: varied(r, B62, 40)),
    "llm_api_key": _ctx("DEEPSEEK_API_KEY={v}", lambda r: "sk-" + varied(r, HEX, 32)),
    "huggingface_token": _ctx("HF_TOKEN={v}", lambda r: "hf_" + varied(r, string.ascii_letters, 34)),
    "npm_token": _ctx("//registry.npmjs.org/:_authToken={v}", lambda r: crc_token(r, "npm_")),
    "pypi_token": _ctx("password = {v}", lambda r: "pypi-AgEIcHlwaS5vcmc" + varied(r, URLSAFE, 70)),
    "sendgrid_api_key": _ctx("SENDGRID_API_KEY={v}", lambda r: "SG." + varied(r, URLSAFE, 22) + "." + varied(r, URLSAFE, 43)),
    "twilio_api_key": _ctx("sid {v}", lambda r: "SK" + varied(r, HEX, 32)),
    "twilio_auth_token": _ctx("TWILIO_AUTH_TOKEN={v}", lambda r: varied(r, HEX, 32)),
    "mailgun_api_key": _ctx("MAILGUN_KEY={v}", lambda r: "key-" + varied(r, HEX, 32)),
    "telegram_bot_token": _ctx("TG_TOKEN={v}", lambda r: rand(r, string.digits, 10) + ":AA" + varied(r, URLSAFE, 33)),
    "discord_webhook_url": _ctx("{v}", lambda r: f"https://discord.com/api/webhooks/{rand(r, string.digits, 18)}/{varied(r, URLSAFE, 68)}"),
    "shopify_token": _ctx("token {v}", lambda r: "shpat_" + varied(r, HEX, 32)),
    "digitalocean_token": _ctx("DO_TOKEN={v}", lambda r: "dop_v1_" + varied(r, HEX, 64)),
    "databricks_token": _ctx("token {v}", lambda r: "dapi" + varied(r, HEX, 32)),
    "atlassian_api_token": _ctx("jira: {v}", lambda r: "ATATT3" + varied(r, URLSAFE, 186)),
    "notion_token": _ctx("NOTION={v}", lambda r: "ntn_" + rand(r, string.digits, 11) + varied(r, B62, 35)),
    "linear_api_key": _ctx("k {v}", lambda r: "lin_api_" + varied(r, B62, 40)),
    "postman_api_key": _ctx("k {v}", lambda r: "PMAK-" + varied(r, HEX, 24) + "-" + varied(r, HEX, 34)),
    "doppler_token": _ctx("k {v}", lambda r: "dp.st." + varied(r, B62, 43)),
    "vault_token": _ctx("VAULT_TOKEN={v}", lambda r: "hvs." + varied(r, URLSAFE, 90)),
    "terraform_cloud_token": _ctx("token = \"{v}\"", lambda r: varied(r, B62, 14) + ".atlasv1." + varied(r, URLSAFE, 67)),
    "grafana_token": _ctx("k {v}", lambda r: "glsa_" + varied(r, B62, 32) + "_" + varied(r, HEX, 8)),
    "newrelic_user_api_key": _ctx("k {v}", lambda r: "NRAK-" + varied(r, UPPER_DIGITS, 27)),
    "sentry_token": _ctx("k {v}", lambda r: "sntryu_" + varied(r, HEX, 64)),
    "supabase_token": _ctx("k {v}", lambda r: "sbp_" + varied(r, HEX, 40)),
    "groq_api_key": _ctx("k {v}", lambda r: "gsk_" + varied(r, B62, 52)),
    "xai_api_key": _ctx("k {v}", lambda r: "xai-" + varied(r, B62, 80)),
    "replicate_api_token": _ctx("k {v}", lambda r: "r8_" + varied(r, B62, 37)),
    "perplexity_api_key": _ctx("k {v}", lambda r: "pplx-" + varied(r, B62, 48)),
    "heroku_api_key": _ctx("k {v}", lambda r: "HRKU-" + varied(r, URLSAFE, 60)),
    "planetscale_token": _ctx("k {v}", lambda r: "pscale_tkn_" + varied(r, B62, 43)),
    "age_secret_key": _ctx("{v}", lambda r: "AGE-SECRET-KEY-1" + rand(r, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)),
    "firebase_fcm_server_key": _ctx("k={v}", lambda r: "AAAAb" + varied(r, URLSAFE, 6) + ":APA91b" + varied(r, URLSAFE, 134)),
    "mapbox_secret_token": _ctx("k={v}", lambda r: "sk.eyJ1Ijoi" + varied(r, URLSAFE, 40) + "." + varied(r, URLSAFE, 22)),
    "dropbox_token": _ctx("k={v}", lambda r: "sl." + varied(r, URLSAFE, 140)),
    "jfrog_token": _ctx("k={v}", lambda r: "AKCp" + varied(r, B62, 69)),
    "square_token": _ctx("k={v}", lambda r: "sq0csp-" + varied(r, URLSAFE, 43)),
    "teams_webhook_url": _ctx("{v}", lambda r: f"https://acme.webhook.office.com/webhookb2/{_uuid(r)}@{_uuid(r)}/IncomingWebhook/{varied(r, HEX, 32)}/{_uuid(r)}"),
    "cloudflare_api_token": _ctx("CLOUDFLARE_API_TOKEN={v}", lambda r: varied(r, URLSAFE, 40)),
    "qiniu_key": _ctx("QINIU_SECRET_KEY={v}", lambda r: varied(r, URLSAFE, 40)),
    "datadog_api_key": _ctx("DD_API_KEY={v}", lambda r: varied(r, HEX, 32)),
    "azure_devops_pat": _ctx("AZURE_DEVOPS_PAT={v}", lambda r: varied(r, "abcdefghijklmnopqrstuvwxyz234567", 52)),
    "okta_api_token": _ctx("OKTA_API_TOKEN={v}", lambda r: "00" + varied(r, URLSAFE, 40)),
    "algolia_admin_key": _ctx("ALGOLIA_ADMIN_KEY={v}", lambda r: varied(r, HEX, 32)),
    "jwt": _ctx("Authorization: Bearer {v}", jwt),
    "postgres_url": _ctx("DATABASE_URL=postgres://app:{v}@db.internal:5432/app", _pw),
    "mysql_url": _ctx("url: mysql://root:{v}@10.1.2.3/shop", _pw),
    "mongodb_url": _ctx("MONGO=mongodb://svc:{v}@mongo-0:27017/db", _pw),
    "mongodb_srv_url": _ctx("uri = 'mongodb+srv://svc:{v}@cluster0.ab1cd.mongodb.net/db'", _pw),
    "redis_url": _ctx("REDIS_URL=redis://:{v}@cache:6379/0", _pw),
    "amqp_url": _ctx("broker_url = 'amqp://worker:{v}@mq:5672//'", _pw),
    "database_url": _ctx("jdbc:sqlserver://sa:{v}@sql1:1433", _pw),
    "basic_auth_url": _ctx("git clone https://deploy:{v}@git.corp.net/repo.git", _pw),
    "docker_config_auth": lambda r: _docker(r),
    "generic_password": _ctx("REDIS_PASSWORD={v}", _pw),
    "generic_secret": _ctx('client_secret = "{v}"', lambda r: varied(r, B62, 32)),
    "generic_token": _ctx("x_auth_token: {v}", lambda r: varied(r, B62, 40)),
    "generic_api_key": _ctx('apiKey := "{v}"', lambda r: varied(r, B62, 32)),
    "http_bearer_token": _ctx("Authorization: Bearer {v}", lambda r: varied(r, URLSAFE, 40)),
    "http_basic_auth": lambda r: _basic(r),
    "sql_password": _ctx("CREATE USER app IDENTIFIED BY '{v}';", _pw),
    "powershell_plaintext_password": _ctx('$pw = ConvertTo-SecureString "{v}" -AsPlainText -Force', _pw),
    "cli_basic_auth": _ctx("curl -u admin:{v} https://api.internal/", _pw),
    "cn_resident_id": _ctx("身份证号：{v}", cn_resident_id),
    "cn_mobile": _ctx("手机：{v}", lambda r: r.choice(["139", "138", "150", "186", "177", "199", "166"])
                      + rand(r, string.digits, 8)),
    "bank_card": _ctx("card_number={v}", lambda r: luhn_complete(r, "622202", 16)),
    "iban": _ctx("IBAN: {v}", iban),
    "us_ssn": _ctx("ssn: {v}", us_ssn),
    "email": _ctx("contact: {v}", lambda r: rand(r, string.ascii_lowercase, 8) + "." + rand(r, string.ascii_lowercase, 6) + "@gmail.com"),
    "phone_number": _ctx("phone: {v}", lambda r: "+44 20 7946 " + rand(r, "23456789", 4)),
    "passport_number": _ctx("护照号码：{v}", lambda r: "E" + rand(r, string.digits, 8)),
}


def _uuid(rng: random.Random) -> str:
    h = varied(rng, HEX, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _docker(rng: random.Random) -> tuple[str, str]:
    v = base64.b64encode(f"ci:{varied(rng, B62, 20)}".encode()).decode()
    return '{"auths": {"registry.corp.net": {"auth": "%s"}}}' % v, v


def _basic(rng: random.Random) -> tuple[str, str]:
    v = base64.b64encode(f"admin:{varied(rng, B62, 16)}".encode()).decode()
    return f"Authorization: Basic {v}", v


def _key_block(label: str, template: str = "{v}", escaped: bool = False) -> Gen:
    def gen(rng: random.Random) -> tuple[str, str]:
        v = _pem(rng, label, escaped)
        return template.format(v=v), v

    return gen


GENERATORS.update(
    {
        "rsa_private_key": _key_block("RSA PRIVATE KEY", "key: |\n{v}\n"),
        "ec_private_key": _key_block("EC PRIVATE KEY"),
        "dsa_private_key": _key_block("DSA PRIVATE KEY"),
        "openssh_private_key": _key_block("OPENSSH PRIVATE KEY", 'DEPLOY_KEY="{v}"', escaped=True),
        "pkcs8_private_key": _key_block("PRIVATE KEY"),
        "encrypted_private_key": _key_block("ENCRYPTED PRIVATE KEY"),
        "pgp_private_key": _key_block("PGP PRIVATE KEY BLOCK"),
        "ssh2_private_key": _key_block("SSH2 ENCRYPTED PRIVATE KEY"),
        "gcp_service_account": _key_block(
            "PRIVATE KEY", '{{"type": "service_account", "private_key": "{v}\\n", "client_email": "x"}}', escaped=True),
        "putty_private_key": lambda r: _putty(r),
        "k8s_secret_data": lambda r: _k8s(r),
        "k8s_secret_data_json": lambda r: _k8s_json(r),
    }
)


def _putty(rng: random.Random) -> tuple[str, str]:
    v = ("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy\nPublic-Lines: 2\n"
         + rand(rng, B64, 64) + "\n" + rand(rng, B64, 20) + "\nPrivate-Lines: 1\n" + rand(rng, B64, 44)
         + "\nPrivate-MAC: " + rand(rng, HEX, 64))
    return v + "\n", v


def _k8s(rng: random.Random) -> tuple[str, str]:
    v = base64.b64encode(varied(rng, B62, 18).encode()).decode()
    text = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  db-pass: {v}\n"
    return text, v


def _k8s_json(rng: random.Random) -> tuple[str, str]:
    v = base64.b64encode(varied(rng, B62, 18).encode()).decode()
    text = '{"apiVersion": "v1", "kind": "Secret", "data": {"db-pass": "%s"}}' % v
    return text, v


def sample(rule_id: str, rng: random.Random) -> Sample:
    """A text in which ``rule_id`` must find exactly one value."""
    text, value = GENERATORS[rule_id](rng)
    return Sample(rule_id, text, value)
