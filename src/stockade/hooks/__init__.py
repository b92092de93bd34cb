"""Tool-call policy inside the agent: Claude Code and Codex hooks.

Layout (data flows down the list):

* ``protocol``   the clients' hook JSON in, their answers out (pure)
* ``shell``      parser for the POSIX shell subset agents write (pure)
* ``commands``   syntax tree -> every program it starts, words expanded
* ``paths``      ~, $HOME, .., symlinks, /proc/<pid>/root -> real paths
* ``shellrules`` / ``rules``  per-command and per-tool rules -> Verdict
* ``injection``  prompt-injection heuristics for tool output
* ``depcheck``   the dependency-check seam for package installs
* ``view`` / ``deps``  the policy as the hooks see it; the only imports of
  config, ledger and dlp (lazy, cached)
* ``journal``    events into the ledger without slowing the hook
* ``runner``     one hook call, wrapped so any failure denies
* ``install``    writing and removing the clients' hook settings

Nothing is imported here: `stockade hook` start-up time matters.
"""
