"""The OS sandbox behind ``stockade run``.

Data flows one way: ``deps`` (policy, ledger, DLP, gateway seams) ->
``mounts``/``envscrub``/``seccomp`` (pure: what the sandbox sees) ->
``bwrap`` (pure argv) -> ``launcher`` (the only I/O: bubblewrap, the egress
``proxy`` and the bridges to the in-sandbox ``forwarder``).

Nothing is imported here: ``stockade run`` start-up time is part of every
agent session.
"""
