"""Credentials with a vendor prefix or a distinctive published format.

Each entry: rule id, title, value regex, anchors (caseless literals), how
many prefix characters the preview may show, and an optional extra check.
Formats follow the vendors' own documentation of their token schemes.
"""

from __future__ import annotations

import re

from stockade.dlp.rule import PRIORITY_VENDOR, Check, Rule
from stockade.dlp.suppress import is_documented_example, is_placeholder, token_body_ok
from stockade.dlp.validators import crc32_base62_tail, shannon

_B = r"(?<![A-Za-z0-9_])"   # left boundary
_E = r"(?![A-Za-z0-9_])"    # right boundary


def _body(min_entropy: float = 3.0) -> Check:
    def check(value: str, m: re.Match[str]) -> bool:
        return not is_documented_example(value) and token_body_ok(value, min_entropy=min_entropy)

    return check


def _crc_tail(prefix_len: int) -> Check:
    """GitHub/npm: 30 random base62 characters then their CRC32 in base62."""

    def check(value: str, m: re.Match[str]) -> bool:
        rest = value[prefix_len:]
        return crc32_base62_tail(rest[:-6], rest[-6:]) and not is_placeholder(rest)

    return check


def _aws_key_id(value: str, m: re.Match[str]) -> bool:
    body = value[4:]
    return not is_documented_example(value) and not is_placeholder(body) and len(set(body)) >= 6


def _slack(value: str, m: re.Match[str]) -> bool:
    return not is_placeholder(value) and "not-a-real" not in value and shannon(value) >= 3.0


_T = tuple[str, str, str, tuple[str, ...], int, "Check | None"]

TOKENS: tuple[_T, ...] = (
    ("aws_access_key_id", "AWS access key ID",
     r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}", ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"), 4,
     _aws_key_id),
    ("github_pat_classic", "GitHub personal access token (classic)",
     r"ghp_[A-Za-z0-9]{36}", ("ghp_",), 4, _crc_tail(4)),
    ("github_oauth_app_token", "GitHub OAuth access token",
     r"gho_[A-Za-z0-9]{36}", ("gho_",), 4, _crc_tail(4)),
    ("github_user_to_server_token", "GitHub App user-to-server token",
     r"ghu_[A-Za-z0-9]{36}", ("ghu_",), 4, _crc_tail(4)),
    ("github_app_installation_token", "GitHub App installation (server-to-server) token",
     r"ghs_[A-Za-z0-9]{36}", ("ghs_",), 4, _crc_tail(4)),
    ("github_refresh_token", "GitHub App refresh token",
     r"ghr_[A-Za-z0-9]{36,76}", ("ghr_",), 4, _body()),
    ("github_fine_grained_pat", "GitHub fine-grained personal access token",
     r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}", ("github_pat_",), 11, _body()),
    ("gitlab_pat", "GitLab personal access token",
     r"glpat-[A-Za-z0-9_\-]{20,64}(?:\.[0-9a-z]{2}\.[0-9a-z]{9})?", ("glpat-",), 6, _body()),
    ("gitlab_deploy_token", "GitLab deploy token", r"gldt-[A-Za-z0-9_\-]{20,64}", ("gldt-",), 5, _body()),
    ("gitlab_pipeline_trigger_token", "GitLab pipeline trigger token",
     r"glptt-[A-Za-z0-9_\-]{20,64}", ("glptt-",), 6, _body()),
    ("gitlab_runner_token", "GitLab runner authentication or registration token",
     r"(?:glrt-[A-Za-z0-9_\-]{20,64}|GR1348941[A-Za-z0-9_\-]{20,})", ("glrt-", "GR1348941"), 5, _body()),
    ("gitlab_oauth_secret", "GitLab OAuth application secret",
     r"gloas-[A-Za-z0-9_\-]{64}", ("gloas-",), 6, _body()),
    ("gitlab_other_token", "GitLab CI job / feed / incoming-mail / agent / SCIM token",
     r"(?:glcbt-[0-9a-zA-Z]{1,5}_[A-Za-z0-9_\-]{20}|glimt-[A-Za-z0-9_\-]{25}|glagent-[A-Za-z0-9_\-]{50}|"
     r"glsoat-[A-Za-z0-9_\-]{20}|glffct-[A-Za-z0-9_\-]{20}|glft-[A-Za-z0-9_\-]{20})",
     ("glcbt-", "glimt-", "glagent-", "glsoat-", "glffct-", "glft-"), 5, _body()),
    ("slack_bot_token", "Slack bot token",
     r"xoxb-[0-9]{8,14}-[0-9]{8,14}(?:-[A-Za-z0-9]{20,40})", ("xoxb-",), 5, _slack),
    ("slack_user_token", "Slack user token",
     r"xoxp-[0-9]{8,14}-[0-9]{8,14}-[0-9]{8,14}-[A-Za-z0-9]{28,40}", ("xoxp-",), 5, _slack),
    ("slack_other_token", "Slack workspace / refresh / config token",
     r"xox[aorse]-(?:[0-9]+-)?[0-9A-Za-z][0-9A-Za-z\-]{20,200}|xoxe\.xox[bp]-1-[A-Za-z0-9]{100,300}",
     ("xoxa-", "xoxo-", "xoxr-", "xoxs-", "xoxe-", "xoxe."), 5, _slack),
    ("slack_app_token", "Slack app-level token",
     r"xapp-[0-9]-[A-Z0-9]{8,14}-[0-9]{8,16}-[a-z0-9]{32,80}", ("xapp-",), 5, _slack),
    ("stripe_secret_key", "Stripe live secret key",
     r"sk_live_[0-9a-zA-Z]{24,247}", ("sk_live_",), 8, _body()),
    ("stripe_restricted_key", "Stripe live restricted key",
     r"rk_live_[0-9a-zA-Z]{24,247}", ("rk_live_",), 8, _body()),
    ("stripe_webhook_secret", "Stripe webhook signing secret",
     r"whsec_[A-Za-z0-9+/]{32,64}={0,2}", ("whsec_",), 6, _body()),
    ("google_api_key", "Google API key",
     r"AIza[0-9A-Za-z_\-]{35}", ("AIza",), 4, _body()),
    ("google_oauth_client_secret", "Google OAuth client secret",
     r"GOCSPX-[A-Za-z0-9_\-]{28}", ("GOCSPX-",), 7, _body()),
    ("google_oauth_access_token", "Google OAuth access token",
     r"ya29\.[0-9A-Za-z_\-]{30,512}", ("ya29.",), 5, _body()),
    ("azure_ad_client_secret", "Azure AD (Entra ID) client secret",
     r"[A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}", ("Q~",), 0, _body()),
    ("alibaba_access_key_id", "Alibaba Cloud AccessKey ID",
     r"LTAI[A-Za-z0-9]{12,20}", ("LTAI",), 4, _body(2.8)),
    ("tencent_secret_id", "Tencent Cloud SecretId",
     r"AKID[A-Za-z0-9]{32}", ("AKID",), 4, _body()),
    ("volcengine_access_key_id", "Volcengine (ByteDance) access key ID",
     r"AKLT[A-Za-z0-9_\-]{40,60}", ("AKLT",), 4, _body()),
    ("dingtalk_sign_secret", "DingTalk robot signing secret",
     r"SEC[a-f0-9]{64}", ("re:SEC[a-f0-9]{64}",), 3, _body()),
    ("openai_project_key", "OpenAI project / service-account / admin key",
     r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,200}(?:T3BlbkFJ[A-Za-z0-9_\-]{20,200})?",
     ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-None-"), 8, _body()),
    ("openai_api_key", "OpenAI API key (legacy user key)",
     r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}", ("T3BlbkFJ",), 3, _body()),
    ("anthropic_api_key", "Anthropic API key",
     r"sk-ant-api03-[A-Za-z0-9_\-]{80,120}", ("sk-ant-api",), 13, _body()),
    ("anthropic_admin_key", "Anthropic Admin API key",
     r"sk-ant-admin01-[A-Za-z0-9_\-]{80,120}", ("sk-ant-admin",), 15, _body()),
    ("anthropic_oauth_token", "Anthropic OAuth token",
     r"sk-ant-o(?:at|rt)01-[A-Za-z0-9_\-]{80,120}", ("sk-ant-oat", "sk-ant-ort"), 13, _body()),
    ("huggingface_token", "Hugging Face access token",
     r"(?:hf_|api_org_)[A-Za-z0-9]{34,40}", ("hf_", "api_org_"), 3, _body()),
    ("npm_token", "npm access token", r"npm_[A-Za-z0-9]{36}", ("npm_",), 4, _crc_tail(4)),
    ("pypi_token", "PyPI upload token",
     r"pypi-Ag(?:EIcHlwaS5vcmc|ENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,300}", ("pypi-Ag",), 5, _body()),
    ("sendgrid_api_key", "SendGrid API key",
     r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}", ("SG.",), 3, _body()),
    ("twilio_api_key", "Twilio API key SID",
     r"SK[0-9a-f]{32}", ("re:SK[0-9a-f]{32}",), 2, _body()),
    ("mailgun_api_key", "Mailgun API key",
     r"key-[0-9a-f]{32}|[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8}",
     ("re:key-[0-9a-f]{32}", "re:[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8}"), 4, _body()),
    ("telegram_bot_token", "Telegram bot token",
     r"[0-9]{8,10}:AA[A-Za-z0-9_\-]{33}", ("re::AA[A-Za-z0-9_\\-]{33}",), 0, _body()),
    ("discord_webhook_url", "Discord webhook URL",
     r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_\-]{60,70}",
     ("discord",), 0, _body()),
    ("shopify_token", "Shopify access token / shared secret",
     r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", ("shpat_", "shpss_", "shpca_", "shppa_"), 6, _body()),
    ("digitalocean_token", "DigitalOcean personal / OAuth / refresh token",
     r"do[opr]_v1_[a-f0-9]{64}", ("dop_v1_", "doo_v1_", "dor_v1_"), 7, _body()),
    ("databricks_token", "Databricks personal access token",
     r"dapi[a-f0-9]{32}(?:-[0-9])?", ("re:dapi[a-f0-9]{32}",), 4, _body()),
    ("atlassian_api_token", "Atlassian API token",
     r"ATATT3[A-Za-z0-9_\-=]{180,200}", ("ATATT3",), 6, _body()),
    ("notion_token", "Notion integration token",
     r"(?:secret_[A-Za-z0-9]{43}|ntn_[0-9]{11}[A-Za-z0-9]{35})", ("re:secret_[A-Za-z0-9]{43}", "ntn_"), 4, _body()),
    ("linear_api_key", "Linear API key", r"lin_api_[A-Za-z0-9]{40}", ("lin_api_",), 8, _body()),
    ("postman_api_key", "Postman API key",
     r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}", ("PMAK-",), 5, _body()),
    ("doppler_token", "Doppler token",
     r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9_\-]{40,44}", ("dp.pt.", "dp.st.", "dp.sa.", "dp.ct."),
     6, _body()),
    ("vault_token", "HashiCorp Vault token",
     r"hv[sb]\.[A-Za-z0-9_\-]{24,200}", ("hvs.", "hvb."), 4, _body()),
    ("terraform_cloud_token", "Terraform Cloud / Enterprise API token",
     r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,70}", (".atlasv1.",), 0, _body()),
    ("grafana_token", "Grafana Cloud / service-account token",
     r"(?:glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})", ("glc_", "glsa_"), 4,
     _body()),
    ("newrelic_user_api_key", "New Relic user API key", r"NRAK-[A-Z0-9]{27}", ("NRAK-",), 5, _body()),
    ("sentry_token", "Sentry auth token",
     r"(?:sntrys_[A-Za-z0-9+/=_]{60,300}|sntryu_[a-f0-9]{64})", ("sntrys_", "sntryu_"), 7, _body()),
    ("supabase_token", "Supabase access token", r"sbp_[a-f0-9]{40}", ("sbp_",), 4, _body()),
    ("groq_api_key", "Groq API key", r"gsk_[A-Za-z0-9]{52}", ("gsk_",), 4, _body()),
    ("xai_api_key", "xAI API key", r"xai-[A-Za-z0-9]{80}", ("xai-",), 4, _body()),
    ("replicate_api_token", "Replicate API token", r"r8_[A-Za-z0-9]{37}", ("r8_",), 3, _body()),
    ("perplexity_api_key", "Perplexity API key", r"pplx-[A-Za-z0-9]{48}", ("pplx-",), 5, _body()),
    ("heroku_api_key", "Heroku API key", r"HRKU-[A-Za-z0-9_\-]{60}", ("HRKU-",), 5, _body()),
    ("planetscale_token", "PlanetScale token / password",
     r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.\-]{32,64}", ("pscale_",), 7, _body()),
    ("age_secret_key", "age encryption secret key",
     r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", ("AGE-SECRET-KEY-1",), 15, _body()),
    ("firebase_fcm_server_key", "Firebase Cloud Messaging server key",
     r"AAAA[A-Za-z0-9_\-]{7}:APA91b[A-Za-z0-9_\-]{134}", (":APA91b",), 4, _body()),
    ("mapbox_secret_token", "Mapbox secret access token",
     r"sk\.eyJ1Ijoi[A-Za-z0-9_\-]{10,100}\.[A-Za-z0-9_\-]{22}", ("sk.eyJ1Ijoi",), 3, _body()),
    ("dropbox_token", "Dropbox short-lived access token", r"sl\.[A-Za-z0-9_\-]{130,160}", ("re:sl\\.[A-Za-z0-9_\\-]{130}",), 3, _body()),
    ("jfrog_token", "JFrog Artifactory API key / identity token",
     r"(?:AKCp[A-Za-z0-9]{69}|cmVmdGtuOjAxOj[A-Za-z0-9]{40,80})", ("AKCp", "cmVmdGtuOjAxOj"), 4, _body()),
    ("square_token", "Square access token / OAuth secret",
     r"(?:EAAA[A-Za-z0-9_\-]{60}|sq0csp-[A-Za-z0-9_\-]{43}|sq0atp-[A-Za-z0-9_\-]{22})",
     ("re:EAAA[A-Za-z0-9_\\-]{60}", "sq0csp-", "sq0atp-"), 4, _body()),
    ("dingtalk_webhook", "DingTalk robot webhook URL",
     r"https://oapi\.dingtalk\.com/robot/send\?access_token=[a-f0-9]{64}", ("oapi.dingtalk.com",), 0,
     _body()),
    ("feishu_webhook", "Feishu / Lark bot webhook URL",
     r"https://open\.(?:feishu\.cn|larksuite\.com|larkoffice\.com)/open-apis/bot/v2/hook/[0-9a-fA-F\-]{36}",
     ("open-apis/bot",), 0, _body()),
    ("wecom_webhook", "WeCom (企业微信) robot webhook URL",
     r"https://qyapi\.weixin\.qq\.com/cgi-bin/webhook/send\?key=[0-9a-fA-F\-]{36}", ("qyapi.weixin",), 0,
     _body()),
    ("slack_webhook_url", "Slack incoming webhook URL",
     r"https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,12}/[A-Z0-9]{6,14}/"
     r"[A-Za-z0-9]{20,40}", ("hooks.slack.com",), 0, _body()),
    ("teams_webhook_url", "Microsoft Teams incoming webhook URL",
     r"https://[a-z0-9\-]+\.webhook\.office\.com/webhookb2/[0-9a-f\-]{36}@[0-9a-f\-]{36}/IncomingWebhook/"
     r"[0-9a-f]{32}/[0-9a-f\-]{36}", ("webhook.office.com",), 0, _body()),
)


def build() -> list[Rule]:
    rules = []
    for rule_id, title, value, anchors, keep, check in TOKENS:
        rules.append(
            Rule(
                id=rule_id,
                title=title,
                pattern=(_B + "(?P<v>" + value + ")" + _E),
                keywords=tuple(a for a in anchors if not a.startswith("re:")),
                patterns=tuple(a[3:] for a in anchors if a.startswith("re:")),
                cased=True,
                check=check,
                priority=PRIORITY_VENDOR,
                confidence=0.95,
                before=64,
                after=320,
                keep_prefix=keep,
            )
        )
    return rules
