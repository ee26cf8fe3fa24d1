"""The pose-labeling policy pack (``pulumi preview --policy-pack policy``).

The rules live in ``policy.guardrails`` so tests import them without the CLI;
``__main__.py`` is what the Pulumi CLI runs.
"""
