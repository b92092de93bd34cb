"""A self-contained HTML report: inline CSS, SVG and script, no network.

Every value from a transcript is attacker-controlled (a project name, a file
path, a command): each one is escaped with :func:`html.escape` where it is
written, and a Content-Security-Policy forbids every fetch and any script
but this file's own (nonce), so that even an escaping mistake could neither
run a script nor call out.  The report works without its script; the script
only filters the exposure table and opens a session from the charts.
"""

from __future__ import annotations

import datetime as _dt
import html
import re
import secrets
from collections import Counter
from typing import IO

from stockade.history.audit import Report
from stockade.history.records import Action, Exposure, Session

# Controls, line separators, bidirectional overrides (a path that reads
# backwards) and lone surrogates (which cannot be encoded and would end the
# report half-written).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                      r"\ud800-\udfff]")
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:#667085}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{background:#fff;border:1px solid #e4e7ec;border-radius:8px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:22px}
table{border-collapse:collapse;background:#fff;width:100%;margin:6px 0}
th,td{border:1px solid #e4e7ec;padding:4px 8px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f2f4f7}td.num{text-align:right}td:first-child{white-space:nowrap}code{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
.secret{color:#b42318;font-weight:600}.pii{color:#b54708;font-weight:600}
details{background:#fff;border:1px solid #e4e7ec;border-radius:8px;margin:6px 0;padding:6px 12px}
details[open]{border-color:#98a2b3}summary{cursor:pointer}
svg text{font-size:10px;fill:#475467}.bar{fill:#d92d20}.bar:hover{fill:#912018}.sbar{fill:#98a2b3}
input[type=search]{padding:4px 8px;width:320px;margin:4px 0}
.verdict-deny,.verdict-block,.verdict-error{color:#b42318;font-weight:600}.verdict-ask,.verdict-warn{color:#b54708}
"""

_JS = """
(function(){
  var box=document.getElementById('filter');
  if(box){box.addEventListener('input',function(){
    var q=box.value.toLowerCase();
    document.querySelectorAll('#exposures tbody tr').forEach(function(tr){
      tr.style.display=tr.textContent.toLowerCase().indexOf(q)<0?'none':'';});});}
  document.querySelectorAll('[data-session]').forEach(function(el){
    el.addEventListener('click',function(ev){
      var d=document.getElementById(el.getAttribute('data-session'));
      if(d){d.open=true;d.scrollIntoView();ev.preventDefault();}});});
  document.body.setAttribute('data-ready','1');
})();
"""


def e(value: object) -> str:
    """Escaped for HTML, and without control characters: a terminal that
    `cat`s the report must not run a transcript's escape sequence either."""
    return html.escape(_CONTROL.sub("\ufffd", "" if value is None else str(value)), quote=True)


def _timeline(rep: Report, index: dict[str, str]) -> str:
    """Exposures per day (red) over sessions per day (grey), as inline SVG."""
    exp_days = Counter((x.timestamp or "")[:10] for x in rep.exposures if x.timestamp)
    ses_days = Counter((s.start or "")[:10] for s in rep.sessions if s.start)
    days = sorted(d for d in set(exp_days) | set(ses_days) if _is_day(d))
    if not days:
        return '<p class="muted">No dated activity.</p>'
    first = _dt.date.fromisoformat(days[0])
    last = _dt.date.fromisoformat(days[-1])
    n = (last - first).days + 1
    width, height, pad = 900, 160, 30
    bw = min(40.0, max(1.0, (width - 2 * pad) / n))
    top = max(max(exp_days.values(), default=0), max(ses_days.values(), default=0), 1)
    parts = [(f'<svg id="timeline" role="img" aria-label="exposures per day" width="{width}" '
              f'height="{height + 30}" viewBox="0 0 {width} {height + 30}">')]
    for i in range(n):
        day = (first + _dt.timedelta(days=i)).isoformat()
        x = pad + i * bw
        sc = ses_days.get(day, 0)
        ec = exp_days.get(day, 0)
        if sc:
            h = (height - 10) * sc / top
            parts.append(f'<rect class="sbar" x="{x:.1f}" y="{height - h:.1f}" width="{max(bw / 2, 1):.1f}" '
                         f'height="{h:.1f}"><title>{e(day)}: {sc} sessions</title></rect>')
        if ec:
            h = (height - 10) * ec / top
            parts.append(f'<rect class="bar" x="{x + bw / 2:.1f}" y="{height - h:.1f}" '
                         f'width="{max(bw / 2, 1):.1f}" height="{h:.1f}"><title>{e(day)}: {ec} '
                         f'exposures</title></rect>')
    parts.append(f'<line x1="{pad}" y1="{height}" x2="{width - pad}" y2="{height}" stroke="#98a2b3"/>')
    parts.append(f'<text x="{pad}" y="{height + 16}">{e(days[0])}</text>')
    parts.append(f'<text x="{width - pad}" y="{height + 16}" text-anchor="end">{e(days[-1])}</text>')
    parts.append(f'<text x="{pad}" y="10">max {top}/day; grey: sessions, red: exposures</text>')
    parts.append("</svg>")
    return "".join(parts)


def _is_day(d: str) -> bool:
    try:
        _dt.date.fromisoformat(d)
    except ValueError:
        return False
    return True


def _exposure_rows(items: list[Exposure], index: dict[str, str], *, with_session: bool) -> str:
    rows = []
    for x in items:
        sess = (f'<td><a href="#{index.get(x.session_id, "")}" data-session="{index.get(x.session_id, "")}">'
                f'<code>{e(x.session_id)}</code></a></td>') if with_session else ""
        rows.append(f'<tr><td>{e((x.timestamp or "")[:19])}</td>{sess}<td><code>{e(x.rule_id)}</code></td>'
                    f'<td class="{e(x.label)}">{e(x.label)}</td><td>{e(x.source)}</td>'
                    f'<td><code>{e(x.path or "")}</code></td><td><code>{e(x.preview)}</code></td></tr>')
    return "".join(rows)


def _action_rows(items: list[Action]) -> str:
    rows = []
    for a in items:
        extra = ""
        if a.kind == "package":
            extra = (f' <span class="verdict-{e(a.verdict)}">[{e(a.verdict)}]</span> '
                     f'<span class="muted">{e(a.reason or "")}</span>')
        rows.append(f'<tr><td>{e((a.timestamp or "")[:19])}</td><td>{e(a.kind)}</td>'
                    f'<td><code>{e(a.target)}</code>{extra}</td><td class="num">{a.count}</td></tr>')
    return "".join(rows)


def _session_block(s: Session, anchor: str, exps: list[Exposure], acts: list[Action]) -> str:
    head = (f'<details id="{anchor}" class="session"><summary><code>{e(s.id)}</code> '
            f'<b>{e(s.agent)}</b> {e(s.project or "?")} <span class="muted">{e((s.start or "")[:19])}'
            f'</span> &middot; {len(exps)} exposures &middot; {len(acts)} actions</summary>')
    meta = (f'<table><tr><th>user</th><td>{e(s.user)}</td><th>branch</th><td>{e(s.branch)}</td></tr>'
            f'<tr><th>start</th><td>{e(s.start)}</td><th>end</th><td>{e(s.end)}</td></tr>'
            f'<tr><th>models</th><td>{e(", ".join(s.models))}</td><th>transcript</th>'
            f'<td><code>{e(s.file)}</code></td></tr></table>')
    body = ""
    if exps:
        body += ('<h4>Exposures</h4><table><thead><tr><th>time</th><th>rule</th><th>label</th>'
                 '<th>source</th><th>path</th><th>preview</th></tr></thead><tbody>'
                 + _exposure_rows(exps, {}, with_session=False) + "</tbody></table>")
    if acts:
        body += ('<h4>Actions</h4><table><thead><tr><th>time</th><th>kind</th><th>target</th>'
                 '<th>times</th></tr></thead><tbody>' + _action_rows(acts) + "</tbody></table>")
    return head + meta + body + "</details>"


def write_html(rep: Report, out: IO[str], *, title: str = "stockade history") -> None:
    nonce = secrets.token_urlsafe(16)
    index = {s.id: f"s{i}" for i, s in enumerate(rep.sessions)}
    by_session_e: dict[str, list[Exposure]] = {}
    for x in rep.exposures:
        by_session_e.setdefault(x.session_id, []).append(x)
    by_session_a: dict[str, list[Action]] = {}
    for a in rep.actions:
        by_session_a.setdefault(a.session_id, []).append(a)
    rules = Counter((x.rule_id, x.label) for x in rep.exposures)
    proj = {s.id: s.project or "?" for s in rep.sessions}
    by_project = Counter(proj.get(x.session_id, "?") for x in rep.exposures)
    generated = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    # The page's own style and script by nonce, nothing inline besides: an
    # escaping mistake could not even restyle the page to hide a row.
    csp = (f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    w = out.write
    w("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      f'<meta http-equiv="Content-Security-Policy" content="{e(csp)}">'
      f'<meta name="referrer" content="no-referrer"><title>{e(title)}</title>'
      f'<style nonce="{nonce}">{_CSS}</style></head><body>')
    w(f"<h1>{e(title)}</h1><p class=\"muted\">Generated {e(generated)}"
      + (f", sessions active since {e(rep.since[:10])}" if rep.since else "")
      + f"; {rep.files} transcript files, {rep.bytes / 1e6:.1f} MB. Values are never shown: "
      "each exposure has its rule, where it came from and a masked preview.</p>")
    n_pkg_bad = sum(1 for a in rep.actions if a.kind == "package" and a.verdict not in (None, "allow"))
    w('<div class="cards">'
      f'<div class="card"><b id="n-sessions">{len(rep.sessions)}</b>sessions</div>'
      f'<div class="card"><b id="n-exposures">{len(rep.exposures)}</b>exposures</div>'
      f'<div class="card"><b>{len({x.session_id for x in rep.exposures})}</b>sessions with exposures</div>'
      f'<div class="card"><b>{sum(1 for a in rep.actions if a.kind == "network")}</b>network destinations</div>'
      f'<div class="card"><b>{n_pkg_bad}</b>installs not allowed</div>'
      f'<div class="card"><b>{len(rep.skipped)}</b>lines skipped</div></div>')
    w("<h2>Timeline</h2>" + _timeline(rep, index))
    w('<h2>Exposures by rule</h2><table id="by-rule"><thead><tr><th>rule</th><th>label</th>'
      "<th>count</th></tr></thead><tbody>")
    w("".join(f'<tr><td><code>{e(r)}</code></td><td class="{e(lab)}">{e(lab)}</td>'
              f'<td class="num">{c}</td></tr>' for (r, lab), c in rules.most_common()))
    w('</tbody></table><h2>Exposures by project</h2><table id="by-project"><thead><tr>'
      "<th>project</th><th>count</th></tr></thead><tbody>")
    w("".join(f'<tr><td><code>{e(p)}</code></td><td class="num">{c}</td></tr>'
              for p, c in by_project.most_common(50)))
    w('</tbody></table><h2>All exposures</h2><input type="search" id="filter" '
      'placeholder="filter (rule, session, path ...)"><table id="exposures"><thead><tr>'
      "<th>time</th><th>session</th><th>rule</th><th>label</th><th>source</th><th>path</th>"
      "<th>preview</th></tr></thead><tbody>")
    w(_exposure_rows(rep.exposures, index, with_session=True))
    w('</tbody></table><h2>Sessions</h2><div id="sessions">')
    for s in sorted(rep.sessions, key=lambda s: (-len(by_session_e.get(s.id, [])), s.start or "")):
        w(_session_block(s, index[s.id], by_session_e.get(s.id, []), by_session_a.get(s.id, [])))
    w("</div>")
    if rep.skipped:
        w('<h2>Skipped</h2><table id="skipped"><thead><tr><th>file</th><th>line</th><th>reason</th>'
          "</tr></thead><tbody>")
        w("".join(f'<tr><td><code>{e(k.file)}</code></td><td class="num">{k.line}</td>'
                  f"<td>{e(k.reason)}</td></tr>" for k in rep.skipped[:2000]))
        w("</tbody></table>")
    w(f'<script nonce="{nonce}">{_JS}</script></body></html>\n')
