"""Prompt-injection heuristics for tool output (PostToolUse).

Text a tool returns (a web page, a file, a command's output) reaches the
model as if trusted.  These checks look for text addressed to the model
rather than to a reader: "ignore previous instructions", role markers, hidden
characters (Unicode tag characters U+E0000-E007F, zero-width and bidi
controls) and requests to send data somewhere.  Heuristics, so a hit warns
by default (``tools.post_tool_use.injection``); reports carry positions and
a rule id, never the hidden text itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SCAN = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class InjectionHit:
    rule_id: str
    line: int
    column: int
    what: str


_PHRASES: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (rid, what, re.compile(rx, re.IGNORECASE)) for rid, what, rx in (
        ("injection.override", "asks the model to ignore its instructions",
         r"\b(ignore|disregard|forget|override|bypass)\s+(all\s+|any\s+|the\s+|your\s+|every\s+)*"
         r"(previous|prior|above|earlier|preceding|original|system|safety)?\s*"
         r"(instructions?|directions?|prompts?|rules|guidelines|guardrails|context)\b"),
        ("injection.role", "claims a new role or system prompt for the model",
         r"(^|\n)\s*(system|assistant)\s*:\s|<\s*/?\s*(system|im_start|im_end)\b|\[/?INST\]|"
         r"\byou\s+are\s+now\s+(a|an|in|the|DAN)\b|\bnew\s+(system\s+)?instructions\s*:|"
         r"\bdeveloper\s+mode\s+(enabled|on)\b"),
        ("injection.addressed", "gives orders to the AI agent reading it",
         r"\b(attention|note|important|instruction)s?\s*(to|for)\s+(the\s+)?(ai|llm|assistant|"
         r"agent|model|claude|codex|chatgpt)\b|\b(ai|llm)\s+(agents?|assistants?|models?)\s*"
         r"(reading|processing)\s+this\b|\bif\s+you\s+are\s+an?\s+(ai|llm|language\s+model|"
         r"assistant|agent)\b"),
        ("injection.secrecy", "asks the model to hide what it does from the user",
         r"\b(do\s+not|don't|never)\s+(tell|inform|mention\s+(this\s+)?to|show|alert|notify)\s+"
         r"(the\s+)?(user|human|developer|operator)\b|\bwithout\s+(telling|informing|asking)\s+"
         r"(the\s+)?(user|human)\b|\bsilently\b.{0,40}\b(run|execute|send|upload)\b"),
        ("injection.exfiltration", "asks for data to be sent somewhere",
         r"\b(send|post|upload|exfiltrate|forward|transmit|email|leak|copy)\b[^\n]{0,80}?"
         r"(\.env\b|\b(credentials?|secrets?|api[\s_-]?keys?|tokens?|passwords?|ssh\s+keys?|"
         r"id_rsa|private\s+keys?|env(ironment)?\s+variables?|cookies?)\b)[^\n]{0,80}?"
         r"(https?://|\bto\s+[a-z0-9.-]+\.[a-z]{2,}|webhook|@[a-z0-9-]+\.)|"
         r"\b(curl|wget)\b[^\n]{0,120}(-d\s*@|--data[^\s]*\s+@|-F\s*\S*=@|--upload-file)[^\n]{0,40}"
         r"(\.env|credentials|id_rsa|\.ssh|\.aws|secret)|"
         r"\bbase64\b[^\n]{0,80}\|\s*(curl|wget|nc)\b"),
    )
)

_TAGS = re.compile("[\U000E0000-\U000E007F]+")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064"
                         "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u180e]+|"
                         "(?<!^)\ufeff")


def _pos(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def scan(text: str) -> list[InjectionHit]:
    """Heuristic hits in ``text``, first per rule, in order of position."""
    text = text[:MAX_SCAN]
    hits: list[InjectionHit] = []
    m = _TAGS.search(text)
    if m:
        n = sum(len(x) for x in _TAGS.findall(text))
        hits.append(InjectionHit("injection.unicode_tags", *_pos(text, m.start()),
                                 f"contains {n} invisible Unicode tag characters (text hidden "
                                 "from people but read by models)"))
    zw = _ZERO_WIDTH.findall(text)
    n_zw = sum(len(x) for x in zw)
    # a stray zero-width joiner is common in emoji; many of them are not
    if n_zw >= 3 or (zw and any(ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                                for x in zw for ch in x)):
        m2 = _ZERO_WIDTH.search(text)
        hits.append(InjectionHit("injection.invisible_chars",
                                 *_pos(text, m2.start() if m2 else 0),
                                 f"contains {n_zw} zero-width or bidirectional control "
                                 "characters"))
    # Hidden characters also hide phrases: look at the text without them.
    visible = _ZERO_WIDTH.sub("", _TAGS.sub("", text)) if (m or zw) else text
    for rid, what, rx in _PHRASES:
        pm = rx.search(visible)
        if pm:
            hits.append(InjectionHit(rid, *_pos(visible, pm.start()), what))
    hits.sort(key=lambda h: (h.line, h.column))
    return hits


def decode_tags(text: str) -> str:
    """The ASCII a run of tag characters spells (for tests and forensics
    only; never put it in a reason or the ledger)."""
    return "".join(chr(ord(c) - 0xE0000) for c in text if 0xE0020 <= ord(c) <= 0xE007E)


__all__ = ["InjectionHit", "decode_tags", "scan"]
