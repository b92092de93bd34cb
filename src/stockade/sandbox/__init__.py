"""The OS sandbox behind ``stockade run``.

Data flows one way: ``deps`` (policy, ledger, DLP, gateway seams) ->
``layout``/``envscrub``/``seccomp``/``hosts`` (pure: what the sandbox sees
and reaches) and ``verdicts`` (the DLP engine's say, cached) -> ``launcher``
(the only I/O: bubblewrap, the egress ``proxy`` and the bridges to the
in-sandbox ``forwarder``).

Nothing is imported here: ``stockade run`` start-up time is part of every
agent session.
"""
