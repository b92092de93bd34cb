"""Vendor secrets with no distinctive prefix, recognised by the name they are
assigned to (``BAIDU_SECRET_KEY: ...``, ``huaweicloudSdkAk = "..."``) and
by the exact alphabet and length the vendor documents."""

from __future__ import annotations

import re

from stockade.dlp.assign import assignment, separator_ok
from stockade.dlp.rule import PRIORITY_CONTEXT, PRIORITY_VENDOR, Check, Rule
from stockade.dlp.suppress import (
    is_documented_example,
    is_hex,
    is_placeholder,
    plausible_secret,
)
from stockade.dlp.validators import shannon

_S = r"[_.\-]?"  # separator inside a key name: snake, kebab, dotted or camel


def _ok(value: str, m: re.Match[str]) -> bool:
    if "sep" in m.re.groupindex and m.start("sep") >= 0 and not separator_ok(m):
        return False
    if is_documented_example(value) or is_placeholder(value):
        return False
    if all(c in "0123456789abcdefABCDEF" for c in value):
        floor = 2.7  # hex: at most 4 bits a character
    else:
        floor = 2.9 if len(value) <= 24 else 3.2
    return shannon(value) >= floor and len(set(value)) >= 8


# (rule id, title, key regex, value regex, anchors)
CONTEXT: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("aws_secret_access_key", "AWS secret access key",
     rf"(?:aws|amazon|s3)?{_S}secret{_S}access{_S}key|aws{_S}secret(?:{_S}key)?|aws{_S}sk",
     r"[A-Za-z0-9/+]{40}", ("secret_access", "secretaccess", "secret-access", "secret.access",
                            "aws_secret", "aws-secret", "awssecret", "aws_sk", "aws.secret")),
    ("azure_storage_key", "Azure storage account key",
     (rf"account{_S}key|azure{_S}(?:storage{_S})?(?:account{_S})?key|storage{_S}(?:account{_S})?key|"
      rf"(?:primary|secondary){_S}(?:access{_S})?key|shared{_S}key|cosmos{_S}(?:db{_S})?key"),
     r"[A-Za-z0-9+/]{86}==", ("accountkey", "account_key", "account-key", "account.key", "azure",
                              "storage_key", "storagekey", "storage-key", "primary", "secondary",
                              "sharedkey", "shared_key", "cosmos")),
    ("alibaba_access_key_secret", "Alibaba Cloud AccessKey secret",
     (rf"(?:ali(?:baba|yun|cloud)?|oss|acs)?[A-Za-z0-9_.\-]{{0,24}}?access{_S}key{_S}secret|"
      rf"(?:alibaba|aliyun|alicloud|oss|acs){_S}(?:cloud{_S})?(?:secret(?:{_S}key)?|sk)"),
     r"[A-Za-z0-9]{30}", ("access_key_secret", "accesskeysecret", "access-key-secret",
                          "access.key.secret", "alibaba", "aliyun",
                          "alicloud", "oss_", "oss.", "acs_")),
    ("tencent_secret_key", "Tencent Cloud SecretKey",
     rf"(?:tencent(?:cloud)?|qcloud|tc|cos|tccli){_S}(?:cloud{_S})?(?:secret{_S}key|sk)",
     r"[A-Za-z0-9]{32}", ("tencent", "qcloud", "tc_", "cos_", "tccli", "tc.", "cos.")),
    ("huawei_access_key", "Huawei Cloud access key (AK)",
     rf"(?:huawei(?:cloud)?|hwcloud|hw|obs){_S}(?:cloud{_S})?(?:sdk{_S})?(?:access{_S}key(?:{_S}id)?|ak)",
     r"[A-Z0-9]{20}", ("huawei", "hwcloud", "hw_", "obs_", "obs.", "hw.")),
    ("huawei_secret_key", "Huawei Cloud secret key (SK)",
     (rf"(?:huawei(?:cloud)?|hwcloud|hw|obs){_S}(?:cloud{_S})?(?:sdk{_S})?"
      rf"(?:secret{_S}(?:access{_S})?key|sk)"),
     r"[A-Za-z0-9]{40}", ("huawei", "hwcloud", "hw_", "obs_", "obs.", "hw.")),
    ("baidu_api_key", "Baidu Cloud / Qianfan API key (AK)",
     (rf"(?:baidu|bce|qianfan|ernie|wenxin|bd){_S}(?:cloud{_S}|ai{_S})?"
      rf"(?:api{_S}key|ak|access{_S}key(?:{_S}id)?|client{_S}id)"),
     r"[A-Za-z0-9]{24,32}", ("baidu", "bce", "qianfan", "ernie", "wenxin", "bd_")),
    ("baidu_secret_key", "Baidu Cloud / Qianfan secret key (SK)",
     (rf"(?:baidu|bce|qianfan|ernie|wenxin|bd){_S}(?:cloud{_S}|ai{_S})?"
      rf"(?:secret{_S}(?:access{_S})?key|sk|client{_S}secret)"),
     r"[A-Za-z0-9]{32}", ("baidu", "bce", "qianfan", "ernie", "wenxin", "bd_")),
    ("wechat_app_secret", "WeChat official account / mini program AppSecret",
     rf"(?:wechat|weixin|wx|mp|miniprogram|wxapp|wxa){_S}(?:app{_S}|mp{_S})?secret",
     r"[a-f0-9]{32}", ("wechat", "weixin", "wx", "mp_", "miniprogram")),
    ("wechat_pay_api_key", "WeChat Pay merchant API key",
     rf"(?:mch|wxpay|wechat{_S}pay|weixin{_S}pay){_S}(?:api{_S})?key(?:{_S}v3)?",
     r"[A-Za-z0-9]{32}", ("mch", "wxpay", "wechat", "weixin")),
    ("wecom_corp_secret", "WeCom (企业微信) corp / app secret",
     rf"(?:wecom|wework|qywx|qyweixin|corp){_S}(?:corp{_S}|app{_S}|agent{_S})?secret|corpsecret",
     r"[A-Za-z0-9_\-]{43}", ("wecom", "wework", "qywx", "qyweixin", "corp")),
    ("feishu_app_secret", "Feishu / Lark app secret",
     rf"(?:feishu|lark){_S}(?:app{_S})?secret", r"[A-Za-z0-9]{32}", ("feishu", "lark")),
    ("dingtalk_app_secret", "DingTalk app secret",
     rf"(?:dingtalk|dingding|dd){_S}(?:app{_S}|client{_S})?secret", r"[A-Za-z0-9_\-]{64}",
     ("dingtalk", "dingding", "dd_")),
    ("twilio_auth_token", "Twilio auth token",
     rf"twilio{_S}(?:auth{_S})?(?:token|secret)", r"[a-f0-9]{32}", ("twilio",)),
    ("cloudflare_api_token", "Cloudflare API token / global key",
     rf"(?:cloudflare|cf){_S}(?:api{_S})?(?:token|key)", r"[A-Za-z0-9_\-]{37,40}",
     ("cloudflare", "cf_", "cf.")),
    ("qiniu_key", "Qiniu access / secret key",
     rf"(?:qiniu|qn){_S}(?:access|secret){_S}key", r"[A-Za-z0-9_\-]{40}", ("qiniu", "qn_")),
    ("datadog_api_key", "Datadog API / application key",
     rf"(?:datadog|dd){_S}(?:api|app(?:lication)?){_S}key", r"[a-f0-9]{32}|[a-f0-9]{40}",
     ("datadog", "dd_")),
    ("azure_devops_pat", "Azure DevOps personal access token",
     rf"(?:azure{_S}devops|ado|vsts|azdo|devops){_S}(?:pat|token)", r"[a-z2-7]{52}|[A-Za-z0-9]{84}",
     ("devops", "ado_", "vsts", "azdo")),
    ("okta_api_token", "Okta API token", rf"okta{_S}(?:api{_S})?token", r"00[A-Za-z0-9_\-]{40}", ("okta",)),
    ("algolia_admin_key", "Algolia admin API key",
     rf"algolia{_S}(?:admin{_S})?(?:api{_S})?key", r"[a-f0-9]{32}", ("algolia",)),
)


# An AWS secret access key written right after its access key id, with no
# key name: the console's CSV download (``AKIA...,<secret>``), ``id secret``,
# ``id:secret``, ``id|secret``, quoted pairs.  The secret gets its own span.
_AWS_PAIR = (
    r"(?<![A-Za-z0-9_])(?:AKIA|ASIA)[A-Z2-7]{16}[\s,:;|\"'=]{1,16}"
    r"(?P<vp>[A-Za-z0-9/+]{40})(?![A-Za-z0-9+/=_\-])"
)
# The CSV download's header names the column (``Access key ID,Secret access
# key``); the secret is the cell under it in the next line, in any column order.
_AWS_CSV = r"(?i:secret[ ]access[ ]key)(?=[^\r\n]{0,400}\r?\n(?P<vc>[^\r\n]{1,2000}))"
_CSV_HEAD_MAX = 1000


def _aws_secret_shape(value: str) -> bool:
    """A 40-character base64 secret, not a 40-character hex digest (git sha):
    random base64 has an upper-case letter or ``/`` / ``+`` and a non-hex
    character."""
    return any(c.isupper() or c in "/+" for c in value) and not is_hex(value)


def _cells(line: str, delim: str) -> list[tuple[int, int]]:
    """(start, end) of each cell of one delimited line; quotes keep delimiters in."""
    out, start, quoted = [], 0, False
    for i, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        elif c == delim and not quoted:
            out.append((start, i))
            start = i + 1
    out.append((start, len(line)))
    return out


def _aws_csv_cell(m: re.Match[str]) -> tuple[int, int] | None:
    text = m.string
    head_start = text.rfind("\n", max(0, m.start() - _CSV_HEAD_MAX), m.start()) + 1
    if head_start == 0 and m.start() > _CSV_HEAD_MAX:
        return None  # not a credentials CSV; parsing so long a line per anchor is quadratic
    head_end = m.start("vc") - 1
    if text[head_end - 1 : head_end] == "\r":
        head_end -= 1
    header = text[head_start:head_end]
    delim = next((d for d in ",\t;|" if d in header), None)
    if delim is None:
        return None
    col = [i for i, (a, b) in enumerate(_cells(header, delim)) if a <= m.start() - head_start < b]
    row = _cells(m.group("vc"), delim)
    if len(col) != 1 or col[0] >= len(row):
        return None
    a, b = row[col[0]]
    cell = m.group("vc")[a:b]
    lead = len(cell) - len(cell.lstrip(" \t\"'"))
    value = cell.strip(" \t\"'")
    if not re.fullmatch(r"[A-Za-z0-9/+]{40}", value):
        return None
    start = m.start("vc") + a + lead
    return start, start + len(value)


def _aws_secret(value: str, m: re.Match[str]) -> bool | tuple[int, int]:
    if m.start("vc") >= 0:
        span = _aws_csv_cell(m)
        if span is None:
            return False
        value = m.string[span[0] : span[1]]
        return span if _aws_secret_shape(value) and _ok(value, m) else False
    if m.start("vp") >= 0:
        return _aws_secret_shape(value) and _ok(value, m)
    return _ok(value, m)


# Extra forms for a context rule: (regex alternatives tried before the
# assignment, anchors, check).
_EXTRA: dict[str, tuple[str, tuple[str, ...], Check]] = {
    "aws_secret_access_key": (rf"{_AWS_PAIR}|{_AWS_CSV}", ("AKIA", "ASIA", "secret access key"), _aws_secret),
}


def build() -> list[Rule]:
    rules: list[Rule] = []
    for rule_id, title, key, value, anchors in CONTEXT:
        bounded = rf"(?<![A-Za-z0-9+/_\-])(?:{value})(?![A-Za-z0-9+/=_\-])"
        extra, more, check = _EXTRA.get(rule_id, ("", (), _ok))
        rules.append(
            Rule(
                id=rule_id,
                title=title,
                pattern=(f"{extra}|" if extra else "") + assignment(key, bounded),
                keywords=anchors + more,
                check=check,
                priority=PRIORITY_CONTEXT,
                confidence=0.85,
                before=0,
                after=400,
                anchored=True,
            )
        )
    rules += [
        Rule(
            id="aws_session_token",
            title="AWS temporary session token",
            pattern=(
                r"(?<![A-Za-z0-9+/])(?P<vp>(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+]{80,3000}={0,2})"
                r"|" + assignment(rf"(?:aws{_S})?session{_S}token|x-amz-security-token|security{_S}token",
                                  r"[A-Za-z0-9/+]{100,3000}={0,2}(?![A-Za-z0-9/+=])")
            ),
            keywords=("IQoJb3JpZ2luX2Vj", "FwoGZXIvYXdz", "FQoGZXIvYXdz", "session_token", "sessiontoken",
                      "session-token", "security-token", "security_token", "securitytoken"),
            check=_ok,
            priority=PRIORITY_VENDOR - 5,
            confidence=0.9,
            before=0,
            after=3300,
            keep_prefix=4,
            anchored=True,
        ),
        Rule(
            id="azure_storage_connection_string",
            title="Azure Storage connection string with account key",
            pattern=(
                r"DefaultEndpointsProtocol=https?;(?:[A-Za-z]+=[^;\s\"']*;)*?AccountKey=(?P<v>[A-Za-z0-9+/]{86}==)"
            ),
            keywords=("DefaultEndpointsProtocol",),
            check=_ok,
            priority=PRIORITY_VENDOR,
            confidence=0.95,
            before=0,
            after=600,
        ),
        Rule(
            id="azure_sas_connection_string",
            title="Azure Service Bus / Event Hubs / IoT Hub shared access key",
            pattern=(
                r"SharedAccessKeyName=[^;\s\"']+;\s*SharedAccessKey=(?P<v>[A-Za-z0-9+/]{42,44}={0,2})"
            ),
            keywords=("SharedAccessKey",),
            check=_ok,
            priority=PRIORITY_VENDOR,
            confidence=0.95,
            before=300,
            after=300,
        ),
        Rule(
            id="azure_sas_token",
            title="Azure shared access signature (SAS) token",
            pattern=(
                r"(?:[?&]|^|[\"'\s])sv=\d{4}-\d{2}-\d{2}&[^\s\"'<>]{0,400}?(?<=[?&])sig=(?P<v>[A-Za-z0-9%+/]{40,120}(?:=|%3D){0,2})"
            ),
            keywords=("sig=",),
            check=_ok,
            priority=PRIORITY_VENDOR,
            confidence=0.9,
            before=500,
            after=200,
        ),
        Rule(
            id="cloud_ak_sk",
            title="Cloud access key / secret key under a bare ak / sk key (nested vendor config)",
            pattern=assignment(r"[^A-Za-z0-9]?(?:ak|sk)",
                               r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9/+_\-]{16,64}={0,2}(?![A-Za-z0-9+/=_\-])"),
            patterns=(r"[^A-Za-z0-9][AaSs][Kk][:=]", r"[^A-Za-z0-9][AaSs][Kk][ \"'\]][ :=]"),
            check=lambda v, m: _ok(v, m) and plausible_secret(v, kind="token", quoted=True),
            priority=PRIORITY_CONTEXT - 5,
            confidence=0.75,
            before=0,
            after=120,
            anchored=True,
        ),
        Rule(
            id="llm_api_key",
            title="LLM provider API key (sk- format: DeepSeek, DashScope, Moonshot, ...)",
            pattern=(r"(?<![A-Za-z0-9_\-])(?P<v>sk-[A-Za-z0-9]{32,64})(?![A-Za-z0-9_\-])"),
            patterns=(r"sk-[A-Za-z0-9]{32}",),
            check=lambda v, m: _ok(v[3:], m),
            priority=PRIORITY_CONTEXT,
            confidence=0.8,
            before=8,
            after=80,
            keep_prefix=3,
        ),
    ]
    return rules
