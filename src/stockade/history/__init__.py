"""`stockade history`: what past agent sessions sent to model vendors.

The data flows one way::

    discover (homes -> transcript files)
      -> readers (claude / codex / aider: one file -> a stream of records)
      -> worker (records -> DLP findings, deduplicated; actions, masked)
      -> aggregate (files -> sessions, exposures, actions, skipped)
      -> renderers (table / json / html)

Transcripts are attacker-controlled text (a prompt, a file the agent read, a
web page it fetched): readers never trust a field's type, a bad line is a
:class:`~stockade.history.records.Skip` (file, line, reason), and every
string that reaches a report is masked (DLP) and, in HTML, escaped.
No report ever holds a protected value: rule id, masked preview, location.
"""
