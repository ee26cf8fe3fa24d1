"""Entry point the Pulumi CLI runs for ``--policy-pack policy``: one pack, every rule mandatory."""

from guardrails import POLICIES, workforce
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="pose-labeling-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[*POLICIES, *workforce.POLICIES],
)
