"""`stockade repos`: which git repositories hold regulated data.

    find (roots -> repositories) -> classify (DLP over each working tree:
    counts per label and rule, top files) -> suggest (a policy snippet that
    routes the sensitive repositories to a local model and blocks secrets)

Like every report here, nothing holds a value: counts, rule ids and paths.
"""
