"""The OS sandbox behind ``stockade run``.

Data flows one way: ``deps`` (policy, ledger, DLP, gateway seams) ->
``layout``/``envscrub``/``seccomp``/``hosts`` (pure: what the sandbox sees
and reaches), ``verdicts`` (the DLP engine's say, cached) and ``viewcache``
(the policy view, cached) -> ``launcher`` (the I/O: bubblewrap through
``spawn``, the ``recorder`` process that writes the ledger, the proxy ports
opened in the sandbox's network namespace from outside (``netns``) and served
here (``ports``), the egress ``proxy`` and the session's own gateway,
``sessiongw``).

Nothing is imported here: ``stockade run`` start-up time is part of every
agent session.
"""
