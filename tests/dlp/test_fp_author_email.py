"""False positives: contributors' addresses published in source headers,
package metadata, AUTHORS files, changelogs and commit trailers are not
personal data leaking; a customer's address in data, logs or tool output
still is.  Addresses are generated at run time (the repo scans clean)."""

from __future__ import annotations

import json
import random

import pytest

from stockade.dlp import Engine
from stockade.dlp.fakes import sample

ENGINE = Engine.default()
PLAIN = Engine(accelerate=False)


def _address(seed: str) -> str:
    return sample("email", random.Random(seed)).value


def _emails(text: str) -> list[str]:
    found = ENGINE.scan(text)
    assert [f.to_dict() for f in PLAIN.scan(text)] == [f.to_dict() for f in found]
    return [text[f.start:f.end] for f in found if f.rule_id == "email" and f.suppressed_by is None]


def _roster(a: str) -> str:
    return "".join(f"Person {i} Name <p{i}.{a}>\n" for i in range(3))


# (name, template with {a} for the address)
PUBLIC = [
    ("python_header", "# Author: Jane Roe <{a}>\n\nimport os\n"),
    ("header_continuation", "# Authors: Al Bo <x{a}>\n#          Jane Roe <{a}>\n#\n# License: BSD\n"),
    ("dunder_author_email", '__author__ = "Jane Roe"\n__author_email__ = "{a}"\n'),
    ("setup_py", 'setup(\n    name="pkg",\n    author="Jane Roe",\n    author_email="{a}",\n)\n'),
    ("setup_cfg_maintainer", "[metadata]\nmaintainer_email = {a}\n"),
    ("pkg_info", "Metadata-Version: 2.1\nName: pkg\nAuthor-email: Jane Roe <{a}>\n"),
    ("package_json_author_object",
     '{{\n  "name": "pkg",\n  "author": {{\n    "name": "Jane Roe",\n    "email": "{a}"\n  }},\n'
     '  "license": "MIT"\n}}\n'),
    ("package_json_contributors",
     '{{\n  "contributors": [\n    {{\n      "name": "A",\n      "email": "x{a}"\n    }},\n'
     '    {{\n      "name": "Jane",\n      "email": "{a}"\n    }}\n  ]\n}}\n'),
    ("package_json_author_string", '{{"name": "pkg", "author": "Jane Roe <{a}> (https://jane.dev)"}}\n'),
    ("pyproject_authors", '[project]\nname = "pkg"\nauthors = [\n  {{ name = "Jane Roe", email = "{a}" }},\n]\n'),
    ("cargo_authors", '[package]\nname = "pkg"\nauthors = [\n    "Jane Roe <{a}>",\n]\n'),
    ("pom_developers",
     "<developers>\n  <developer>\n    <name>Jane</name>\n    <email>{a}</email>\n  </developer>\n</developers>\n"),
    ("python_release_dict", "authors = {{'Jane': ('Jane Roe', 'x{a}'),\n           'Al': ('Al Bo', '{a}'),\n}}\n"),
    ("signed_off_by", "Fix the parser\n\nSigned-off-by: Jane Roe <{a}>\n"),
    ("co_authored_by", "Fix\n\nCo-authored-by: Jane Roe <{a}>\n"),
    ("git_log_author", "commit 1f2e3d\nAuthor: Jane Roe <{a}>\nDate:   Mon Jan 1 2024\n"),
    ("copyright_line", "/*\n * Copyright (c) 2019-2024 Jane Roe <{a}>\n */\n"),
    ("javadoc_author", "/**\n * Parser.\n * @author Jane Roe ({a})\n */\n"),
    ("authors_file", "Main Authors\n============\n\nAl Bo <x{a}>\nJane Roe (@jroe) <{a}>\n"),
    ("contributors_file_bullets", "Contributors\n------------\n\n- Al Bo <x{a}>\n- Jane Roe <{a}>\n"),
    ("authors_long_roster", "People who contributed to pkg:\n\n{roster}Jane Roe <{a}>\n"),
    ("gnu_changelog", "2020-01-02  Jane Roe  <{a}>\n\n\t* parser.c: Fix.\n"),
    ("debian_changelog", "pkg (1.0-1) unstable; urgency=low\n\n  * Fix.\n\n -- Jane Roe <{a}>  Mon, 01 Jan 2024 00:00:00 +0000\n"),
    ("rpm_changelog", "%changelog\n* Mon Jan 01 2024 Jane Roe <{a}> - 1.0-1\n- Fix.\n"),
    ("sphinx_moduleauthor", ".. moduleauthor:: Jane Roe <{a}>\n"),
    ("chinese_header", "# 作者：张三 <{a}>\n"),
    ("sbom_author_list", '{{"author": "{many}, Jane Roe <{a}>", "name": "crate"}}\n'),
]

PERSONAL = [
    ("csv_record", "id,name,email,plan\n1,Li Wei,{a},pro\n"),
    ("json_record", '{{"customer": {{"name": "Li Wei", "email": "{a}"}}}}\n'),
    ("log_line", "2024-05-01T10:00:00Z INFO login ok user={a} ip=10.0.0.1\n"),
    ("tool_output", "$ psql -c 'select * from users'\n 1 | Li Wei | {a}\n"),
    ("mail_header", "From: Li Wei <{a}>\nTo: support\nSubject: refund\n"),
    ("prose", "The failing record belongs to {a}, can you see why it is rejected?\n"),
    ("author_key_far_back_on_a_long_line",
     '{{"author": "bot", "note": "' + "x" * 200 + '", "customer_email": "{a}"}}\n'),
    ("after_the_authors_block_closed",
     '{{\n  "author": {{\n    "name": "Jane"\n  }},\n  "support_contact": "{a}"\n}}\n'),
    ("name_addr_line_without_a_people_heading", "Customers to call back:\nLi Wei <{a}>\n"),
    ("escaped_json_in_a_request",
     json.dumps({"messages": [{"role": "user", "content": "Customer: Li Wei <@A@>\nPlease refund."}]})
     .replace("{", "{{").replace("}", "}}").replace("@A@", "{a}") + "\n"),
]


def _fill(template: str, a: str) -> str:
    many = ", ".join(f"N{i} M <n{i}.{a}>" for i in range(20))
    return template.format(a=a, roster=_roster(a), many=many)


@pytest.mark.parametrize(("name", "template"), PUBLIC, ids=[n for n, _ in PUBLIC])
def test_published_attribution_address_is_not_personal_data(name: str, template: str) -> None:
    a = _address(f"public-{name}")
    assert _emails(_fill(template, a)) == []


@pytest.mark.parametrize(("name", "template"), PERSONAL, ids=[n for n, _ in PERSONAL])
def test_customer_address_is_still_found(name: str, template: str) -> None:
    a = _address(f"personal-{name}")
    text = _fill(template, a)
    assert _emails(text) == [a]
