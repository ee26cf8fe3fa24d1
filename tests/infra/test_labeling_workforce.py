"""The optional labeling workforce: its three setups under mocks, and its configuration.

The whole program runs with each setup: the default (no team: nothing created), a
team in the account's existing workforce (only the team, its group and the users
it invites are resources), and a new workforce with a team. The tests look at the
resources' real inputs, how they link, the outputs, tags and IAM; bad settings
stop the program before the first resource, with one line naming the key. The same
team with the self-hosted runner (its Cognito side only, no SageMaker resource) is
tested with the runner, in ``test_job_runner.py``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.session
import pulumi
import pulumi_aws as aws
import pytest

from components import labeling_workforce, settings
from components.stack_outputs import StackOutputs
from tests.infra import harness

POOL_ID = f"{harness.REGION}_AbCdEf123"
CLIENT_ID = "4h7k2j9s0d8f6g5h3j1k2l3m4n"
TEAM = "pose-team"
MEMBERS = ["ana@example.com", "Bo.Lee+labels@Example.org"]
EXISTING = {
    "workteamName": TEAM,
    "workteamMembers": MEMBERS,
    "workforceUserPoolId": POOL_ID,
    "workforceClientId": CLIENT_ID,
}
CREATED = {"workteamName": TEAM, "workteamMembers": MEMBERS, "createWorkforce": True}

COMPONENT = "pose-labeling:workforce:LabelingWorkforce"
USER_POOL = "aws:cognito/userPool:UserPool"
DOMAIN = "aws:cognito/userPoolDomain:UserPoolDomain"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
SIGN_IN = "aws:cognito/managedUserPoolClient:ManagedUserPoolClient"
GROUP = "aws:cognito/userGroup:UserGroup"
USER = "aws:cognito/user:User"
MEMBERSHIP = "aws:cognito/userInGroup:UserInGroup"
WORKFORCE = "aws:sagemaker/workforce:Workforce"
WORKTEAM = "aws:sagemaker/workteam:Workteam"


@pytest.fixture(scope="module")
def existing() -> harness.StackRun:
    return harness.run_main(harness.stack_config(**EXISTING))


@pytest.fixture(scope="module")
def created() -> harness.StackRun:
    return harness.run_main(harness.stack_config(**CREATED))


def added(run: harness.StackRun, base: harness.StackRun) -> dict[str, int]:
    """Resource counts the setup adds to ``base``; negative for what it has fewer of."""
    before, after = base.type_counts(), run.type_counts()
    return {
        t: after.get(t, 0) - before.get(t, 0)
        for t in sorted(before.keys() | after.keys())
        if after.get(t, 0) != before.get(t, 0)
    }


def member_definition(run: harness.StackRun) -> dict[str, Any]:
    (definition,) = run.one(WORKTEAM).inputs["memberDefinitions"]
    return definition["cognitoMemberDefinition"]


# -- the default: nothing ------------------------------------------------------------------


def test_default_stack_has_no_workforce_team_or_cognito(default_stack: harness.StackRun) -> None:
    types = {r.type for r in default_stack.resources}
    assert COMPONENT not in types
    assert not [t for t in types if t.startswith(("aws:cognito/", "aws:sagemaker/"))]
    assert not {"workteam_arn", "labeling_portal_url"} & set(default_stack.exports)


# -- a team in the account's existing workforce -----------------------------------------


def test_existing_workforce_setup_creates_only_the_team_its_group_and_members(
    existing: harness.StackRun, default_stack: harness.StackRun
) -> None:
    assert added(existing, default_stack) == {GROUP: 1, USER: 2, MEMBERSHIP: 2, WORKTEAM: 1}


def test_existing_workforce_is_never_a_resource_of_the_stack(existing: harness.StackRun) -> None:
    # Not registered means `pulumi destroy` cannot delete or change it.
    types = {r.type for r in existing.resources}
    assert not types & {WORKFORCE, USER_POOL, DOMAIN, CLIENT, SIGN_IN}


def test_existing_workforce_team_uses_its_pool_client_and_the_new_group(
    existing: harness.StackRun,
) -> None:
    group = existing.one(GROUP)
    team = existing.one(WORKTEAM)
    assert group.inputs["userPoolId"] == POOL_ID and group.inputs["name"] == TEAM
    assert member_definition(existing) == {
        "userPool": POOL_ID,
        "clientId": CLIENT_ID,
        "userGroup": group.outputs["name"],
    }
    assert team.property_dependencies["memberDefinitions"] == [group.urn]
    assert team.inputs["workteamName"] == TEAM
    # Without a name, the team joins the region's only private workforce.
    assert "workforceName" not in team.inputs


@pytest.mark.parametrize("setup", ["existing", "created"])
def test_every_member_is_invited_by_email_and_added_to_the_group(
    setup: str, request: pytest.FixtureRequest
) -> None:
    run: harness.StackRun = request.getfixturevalue(setup)
    pool_id = run.one(GROUP).inputs["userPoolId"]
    users = {u.inputs["username"]: u for u in run.of_type(USER)}
    assert sorted(users) == sorted(MEMBERS), "exactly the configured members, nobody else"
    for address, user in users.items():
        assert user.inputs == {
            "userPoolId": pool_id,
            "username": address,
            "attributes": {"email": address, "email_verified": "true"},
            "desiredDeliveryMediums": ["EMAIL"],
        }
    memberships = {m.inputs["username"]: m for m in run.of_type(MEMBERSHIP)}
    assert sorted(memberships) == sorted(MEMBERS)
    group = run.one(GROUP)
    for address, membership in memberships.items():
        assert membership.inputs["groupName"] == TEAM
        assert membership.inputs["userPoolId"] == pool_id
        assert membership.property_dependencies["groupName"] == [group.urn]
        assert membership.property_dependencies["username"] == [users[address].urn]


@pytest.mark.parametrize("setup", ["existing", "created"])
def test_outputs_name_the_team_and_its_portal_and_read_back(
    setup: str, request: pytest.FixtureRequest
) -> None:
    run: harness.StackRun = request.getfixturevalue(setup)
    team = run.one(WORKTEAM).outputs
    assert run.exports["workteam_arn"] == team["arn"]
    assert run.exports["labeling_portal_url"] == f"https://{team['subdomain']}"
    outputs = StackOutputs.from_mapping(json.loads(json.dumps(run.exports)))
    assert outputs.workteam_arn == team["arn"]
    assert outputs.labeling_portal_url == f"https://{team['subdomain']}"


# -- a new workforce with a team ----------------------------------------------------------


def test_created_workforce_setup_adds_pool_domain_client_workforce_and_team(
    created: harness.StackRun, default_stack: harness.StackRun
) -> None:
    assert added(created, default_stack) == {
        USER_POOL: 1,
        DOMAIN: 1,
        CLIENT: 1,
        SIGN_IN: 1,
        WORKFORCE: 1,
        GROUP: 1,
        USER: 2,
        MEMBERSHIP: 2,
        WORKTEAM: 1,
    }


def test_created_workforce_is_bound_to_the_pool_through_its_domain_and_client(
    created: harness.StackRun,
) -> None:
    pool = created.one(USER_POOL)
    domain = created.one(DOMAIN)
    client = created.one(CLIENT)
    workforce = created.one(WORKFORCE)
    assert domain.inputs == {"userPoolId": pool.id, "domain": f"pose-labeling-{harness.ACCOUNT}"}
    assert client.inputs["userPoolId"] == pool.id
    assert client.inputs["generateSecret"] is True, "the portal's sign-in needs a client secret"
    assert workforce.inputs["cognitoConfig"] == {"clientId": client.id, "userPool": pool.id}
    # The pool comes from the domain, so the workforce is created after the domain.
    assert set(workforce.property_dependencies["cognitoConfig"]) == {client.urn, domain.urn}
    assert workforce.inputs["workforceName"] == labeling_workforce.WORKFORCE_NAME


def test_created_workforce_team_uses_the_new_pool_client_group_and_workforce(
    created: harness.StackRun,
) -> None:
    team = created.one(WORKTEAM)
    assert member_definition(created) == {
        "userPool": created.one(USER_POOL).id,
        "clientId": created.one(CLIENT).id,
        "userGroup": TEAM,
    }
    assert team.inputs["workforceName"] == labeling_workforce.WORKFORCE_NAME
    assert created.one(WORKFORCE).urn in team.property_dependencies["workforceName"]
    assert created.one(GROUP).inputs["userPoolId"] == created.one(USER_POOL).id


def test_portal_sign_in_is_set_on_the_workforce_client_after_the_workforce(
    created: harness.StackRun,
) -> None:
    client = created.one(CLIENT)
    sign_in = created.one(SIGN_IN)
    workforce = created.one(WORKFORCE)
    portal = f"https://{workforce.outputs['subdomain']}"
    assert re.fullmatch(sign_in.inputs["namePattern"], client.inputs["name"])
    assert sign_in.inputs["userPoolId"] == client.inputs["userPoolId"]
    assert sign_in.inputs["callbackUrls"] == [f"{portal}/oauth2/idpresponse"]
    assert sign_in.inputs["logoutUrls"] == [f"{portal}/logout"]
    assert sign_in.inputs["allowedOauthFlowsUserPoolClient"] is True
    assert sign_in.inputs["allowedOauthFlows"] == ["code"]
    assert sign_in.inputs["allowedOauthScopes"] == ["email", "openid", "profile"]
    assert sign_in.inputs["supportedIdentityProviders"] == ["COGNITO"]
    assert workforce.urn in sign_in.property_dependencies["callbackUrls"]


def test_workforce_client_ignores_exactly_the_fields_the_sign_in_settings_own(
    created: harness.StackRun,
) -> None:
    # Otherwise a `pulumi up --refresh` would reset the portal's sign-in to nothing.
    client = created.one(CLIENT)
    sign_in = created.one(SIGN_IN)
    owned = set(sign_in.inputs) - {"userPoolId", "namePattern"}
    assert set(client.ignore_changes) == owned
    assert not owned & set(client.inputs)


def test_the_portal_is_the_workforces(created: harness.StackRun) -> None:
    workforce = created.one(WORKFORCE).outputs
    assert created.exports["labeling_portal_url"] == f"https://{workforce['subdomain']}"


def test_created_pool_admits_invited_workers_only(created: harness.StackRun) -> None:
    pool = created.one(USER_POOL).inputs
    assert pool["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}
    # Cognito's own e-mail sends the invitations: it allows no custom text or sender
    # (EmailMessage/EmailSubject need EmailSendingAccount DEVELOPER, i.e. SES).
    assert "emailConfiguration" not in pool
    assert pool["usernameConfiguration"] == {"caseSensitive": False}
    assert pool["accountRecoverySetting"] == {
        "recoveryMechanisms": [{"name": "verified_email", "priority": 1}]
    }
    assert pool.get("deletionProtection", "INACTIVE") == "INACTIVE", "destroy must be able to"


def test_a_created_workforces_domain_prefix_is_the_accounts(created: harness.StackRun) -> None:
    """One private workforce per account and region: the account ID makes the prefix unique."""
    prefix = created.one(DOMAIN).inputs["domain"]
    assert prefix == f"pose-labeling-{harness.ACCOUNT}"
    assert settings.COGNITO_DOMAIN.fullmatch(prefix)


@pytest.mark.parametrize(
    "stack", ["pose-labeling/dev", "pose-labeling/aws-amazon-cognito", "x" * 200]
)
def test_a_stack_digest_fits_any_domain_prefix_and_spells_no_reserved_word(stack: str) -> None:
    digest = labeling_workforce.stack_digest(stack)
    assert re.fullmatch(r"[0-9a-f]{8}", digest)
    # The longest prefix the stack makes: a 12-digit account ID and the digest.
    longest = f"pose-labeling-{harness.ACCOUNT}-{digest}"
    assert settings.COGNITO_DOMAIN.fullmatch(longest)
    # Cognito refuses these words anywhere in a prefix.
    assert not [word for word in ("aws", "amazon", "cognito") if word in longest]


def test_stacks_get_different_digests_and_one_stack_always_the_same() -> None:
    stacks = [f"pose-labeling/{name}" for name in ("dev", "prod", "Dev", "dev2", "dev_2", "dev.2")]
    digests = [labeling_workforce.stack_digest(stack) for stack in stacks]
    assert len(set(digests)) == len(stacks)
    assert digests == [labeling_workforce.stack_digest(stack) for stack in stacks]


# -- tags, IAM, ownership -----------------------------------------------------------------


@pytest.mark.parametrize("setup", ["existing", "created"])
def test_workforce_resources_are_children_of_the_component_on_the_default_provider(
    setup: str, request: pytest.FixtureRequest
) -> None:
    run: harness.StackRun = request.getfixturevalue(setup)
    component = run.one(COMPONENT)
    new = [r for r in run.custom() if r.type.startswith(("aws:cognito/", "aws:sagemaker/"))]
    assert new
    for resource in new:
        assert resource.parent == component.urn, resource.name
        # The default provider carries the stack's aws:* settings, aws:defaultTags included.
        assert not resource.provider, resource.name
        # The default tags apply unchanged: no resource sets its own.
        assert "tags" not in resource.inputs, resource.name


def test_the_taggable_workforce_resources_are_the_pool_and_the_team() -> None:
    # Which of them take tags, per pulumi-aws: the provider's default tags reach these.
    taggable = {
        cls.__name__
        for cls in (
            aws.cognito.UserPoolArgs,
            aws.cognito.UserPoolDomainArgs,
            aws.cognito.UserPoolClientArgs,
            aws.cognito.UserGroupArgs,
            aws.cognito.UserArgs,
            aws.cognito.UserInGroupArgs,
            aws.sagemaker.WorkforceArgs,
            aws.sagemaker.WorkteamArgs,
        )
        if hasattr(cls, "tags")
    }
    assert taggable == {"UserPoolArgs", "WorkteamArgs"}


@pytest.mark.parametrize("setup", ["existing", "created"])
def test_the_workforce_adds_no_iam_and_changes_none(
    setup: str, request: pytest.FixtureRequest, default_stack: harness.StackRun
) -> None:
    run: harness.StackRun = request.getfixturevalue(setup)

    def iam(stack: harness.StackRun) -> list[tuple[str, str, str]]:
        return [f for f in stack.fingerprint() if f[0].startswith("aws:iam/")]

    assert iam(run) == iam(default_stack)


def test_a_team_without_members_is_only_the_group_and_team(
    default_stack: harness.StackRun,
) -> None:
    run = harness.run_main(harness.stack_config(**{**EXISTING, "workteamMembers": []}))
    assert added(run, default_stack) == {GROUP: 1, WORKTEAM: 1}


def test_removing_a_member_touches_only_that_member(existing: harness.StackRun) -> None:
    fewer = harness.run_main(harness.stack_config(**{**EXISTING, "workteamMembers": MEMBERS[:1]}))
    before = {r.name: harness.canonical(r.inputs) for r in existing.resources}
    after = {r.name: harness.canonical(r.inputs) for r in fewer.resources}
    gone = set(before) - set(after)
    assert gone == {
        f"workforce-member-{MEMBERS[1].lower()}",
        f"workforce-membership-{MEMBERS[1].lower()}",
    }
    assert all(before[name] == after[name] for name in after), "the others are unchanged"


# -- configuration: one line naming the key, before anything is created ------------------


def model_pattern(service: str, shape: str) -> str:
    model = botocore.session.get_session().get_service_model(service)
    return str(model.shape_for(shape).metadata["pattern"])


@pytest.mark.parametrize(
    ("rule", "service", "shape"),
    [
        (settings.WORKTEAM_NAME, "sagemaker", "WorkteamName"),
        (settings.USER_POOL_ID, "cognito-idp", "UserPoolIdType"),
        (settings.USER_POOL_ID, "sagemaker", "CognitoUserPool"),
        (settings.CLIENT_ID, "cognito-idp", "ClientIdType"),
    ],
)
def test_name_and_id_rules_are_the_service_models(
    rule: re.Pattern[str], service: str, shape: str
) -> None:
    assert rule.pattern == model_pattern(service, shape)


def test_length_limits_are_the_service_models() -> None:
    cognito = botocore.session.get_session().get_service_model("cognito-idp")
    assert cognito.shape_for("UserPoolIdType").metadata["max"] == settings.USER_POOL_ID_MAX
    assert cognito.shape_for("ClientIdType").metadata["max"] == settings.CLIENT_ID_MAX
    assert cognito.shape_for("UsernameType").metadata["max"] == settings.EMAIL_MAX


BAD_SETTINGS = [
    ({"workteamName": "pose_team"}, r"pose-labeling:workteamName: 'pose_team' is not a work team name"),
    ({"workteamName": "a" * 64}, r"pose-labeling:workteamName: 'a{64}' is not a work team name"),
    ({"workteamName": "-team"}, r"pose-labeling:workteamName: '-team' is not"),
    ({"workteamMembers": ["ana@example.com", "bo"]}, r"pose-labeling:workteamMembers\[1\]: 'bo' is not an e-mail address"),
    ({"workteamMembers": ["ana@localhost"]}, r"pose-labeling:workteamMembers\[0\]: 'ana@localhost' is not an e-mail"),
    ({"workteamMembers": ["ana @example.com"]}, r"pose-labeling:workteamMembers\[0\]: 'ana @example.com' is not"),
    ({"workteamMembers": [f"{'a' * 120}@example.com"]}, r"pose-labeling:workteamMembers\[0\]: .* at most 128 characters"),
    ({"workteamMembers": ["ana@example.com", "ANA@example.com"]}, r"pose-labeling:workteamMembers\[1\]: 'ANA@example.com' repeats pose-labeling:workteamMembers\[0\]"),
    ({"workteamMembers": {"ana": "ana@example.com"}}, r"pose-labeling:workteamMembers: expected a list"),
    ({"createWorkforce": True}, r"pose-labeling:createWorkforce: true, but pose-labeling:workforceUserPoolId names an existing workforce"),
    ({"workforceUserPoolId": ""}, r"pose-labeling:workforceUserPoolId: required to add the team to the account's existing workforce: find them with `aws sagemaker describe-workforce"),
    ({"workforceClientId": ""}, r"pose-labeling:workforceClientId: required"),
    ({"workforceUserPoolId": "AbCdEf123"}, r"pose-labeling:workforceUserPoolId: 'AbCdEf123' is not a Cognito user pool ID"),
    ({"workforceUserPoolId": "us-east-1_AbCdEf123"}, r"pose-labeling:workforceUserPoolId: 'us-east-1_AbCdEf123' is a user pool in us-east-1, the stack is in eu-west-1"),
    ({"workforceClientId": "abc-def"}, r"pose-labeling:workforceClientId: 'abc-def' is not a Cognito app client ID"),
    ({"workteamName": "", "workteamMembers": ["ana@example.com"]}, r"pose-labeling:workteamMembers: set, but pose-labeling:workteamName is empty"),
    ({"workteamName": "", "workteamMembers": [], "createWorkforce": True, "workforceUserPoolId": "", "workforceClientId": ""}, r"pose-labeling:createWorkforce: set, but pose-labeling:workteamName is empty"),
    ({"workteamName": "", "workteamMembers": []}, r"pose-labeling:workforceUserPoolId: set, but pose-labeling:workteamName is empty"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"), BAD_SETTINGS, ids=[m[15:60] for _, m in BAD_SETTINGS]
)
def test_bad_workforce_setting_stops_before_any_resource_with_one_line(
    change: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered: list[str] = []
    register = harness.RecordingMonitor.RegisterResource

    def spy(self: harness.RecordingMonitor, request: Any) -> Any:
        registered.append(request.type)
        return register(self, request)

    monkeypatch.setattr(harness.RecordingMonitor, "RegisterResource", spy)
    with pytest.raises(pulumi.RunError, match=message) as raised:
        harness.run_main(harness.stack_config(**{**EXISTING, **change}))
    assert "\n" not in str(raised.value)
    assert [t for t in registered if t != "pulumi:pulumi:Stack"] == []


@pytest.mark.parametrize(
    "address",
    ["ana@example.com", "a.b+c@sub.example.co.uk", "o'neil@example.ie", "x_y-z@e-x.io"],
)
def test_ordinary_addresses_are_accepted(address: str) -> None:
    assert settings.EMAIL.fullmatch(address)
