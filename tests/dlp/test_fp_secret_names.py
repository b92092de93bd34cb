"""False positives of the generic assignment rules: names that contain a
secret word but hold no secret -- CloudFormation / C++ type paths
(``AWS::ApiGateway::ApiKey``), ARNs (``arn:aws:secretsmanager:...:secret:``),
pagination and concurrency tokens (``nextToken``, ``LockToken``) -- and
numbers (``PASSWORD: Final = -2146893773``).  The same values under a real
secret name are still found.  Values are generated at run time."""

from __future__ import annotations

import random
import string

import pytest

from stockade.dlp import Engine

ENGINE = Engine.default()
PLAIN = Engine(accelerate=False)


def _value(seed: str) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(28))


def _secrets(text: str) -> list[str]:
    found = ENGINE.scan(text)
    assert [f.to_dict() for f in PLAIN.scan(text)] == [f.to_dict() for f in found]
    return [text[f.start:f.end] for f in found if f.label == "secret"]


NOT_SECRETS = [
    ("cfn_type_path", '    "AWS::ApiGateway::ApiKey": "{v}",\n'),
    ("cpp_type_path", "Foo::SecretKey = \"{v}\";\n"),
    ("arn", '"Resource": "arn:aws:secretsmanager:us-west-2:000000000000:secret:{v}"\n'),
    ("next_token", '    "NextToken": "{v}"\n'),
    ("page_token", "page_token = '{v}'\n"),
    ("lock_token", '{{"LockToken": "{v}"}}\n'),
    ("change_token_flag", "aws waf update --change-token {v} --updates file://x.json\n"),
]
STILL_SECRETS = [
    ("api_key", '    "ApiKey": "{v}",\n'),
    ("secret_key", 'SecretKey = "{v}";\n'),
    ("token", '    "Token": "{v}"\n'),
    ("access_token", "access_token = '{v}'\n"),
    ("auth_token", '{{"AuthToken": "{v}"}}\n'),
]


@pytest.mark.parametrize(("name", "template"), NOT_SECRETS, ids=[n for n, _ in NOT_SECRETS])
def test_secret_word_in_a_name_that_holds_no_secret(name: str, template: str) -> None:
    assert _secrets(template.format(v=_value(name))) == []


@pytest.mark.parametrize(("name", "template"), STILL_SECRETS, ids=[n for n, _ in STILL_SECRETS])
def test_same_value_under_a_secret_name_is_found(name: str, template: str) -> None:
    v = _value(name)
    assert _secrets(template.format(v=v)) == [v]


@pytest.mark.parametrize("number", ["-2146893773", "2146893773", "3.14159265358", "-1.5e10"])
def test_a_number_is_not_a_password(number: str) -> None:
    assert _secrets(f"NTE_INCORRECT_PASSWORD: Final = {number}\npassword = {number}\n") == []
