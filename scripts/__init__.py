"""Command-line tools around a deployed pose-labeling stack.

Run them from the repository root as ``.venv/bin/python -m scripts.<name>``; each prints
its own ``--help``. They read the stack's outputs with ``pulumi stack output
--json`` (or ``--stack-outputs FILE``) and share the annotation model in
``handlers/``.
"""
