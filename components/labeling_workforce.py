"""``LabelingWorkforce``: a Ground Truth work team of invited members, and optionally its workforce.

A private workforce is one Cognito user pool per account and region; a work team
is a user group in that pool, named in the team's member definition with the
pool and the workforce's app client. So the component always creates the group,
one Cognito user per member (Cognito e-mails each an invitation with a temporary
password) and the SageMaker work team, and then, depending on the setup:

* **existing workforce** (the default): the pool and client are the account's,
  given by ID. They are only referenced, never resources of this stack, so
  ``pulumi destroy`` removes the team, its group and the users it invited, and
  leaves the workforce and everyone else in it alone.
* **created workforce** (``createWorkforce``): also the pool, its domain, an app
  client with a secret, and the workforce bound to them. The portal's sign-in
  address exists only once the workforce does, so the client's OAuth settings
  (callback and sign-out URLs on the portal) are applied after it, by a
  ``ManagedUserPoolClient`` over the same client; the client itself ignores those
  fields, so the two never undo each other.

No IAM: workers sign in through Cognito, and Ground Truth needs no role for a team.

The self-hosted runner signs the same workers in through the same pool, and asks
the group who is a member: the component reports the pool, the group and the
pool's domain prefix (the one it created, or ``workforceAuthDomain`` for an
existing workforce).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.settings import WorkteamSettings

#: The created workforce's name (a region holds one, so a fixed name cannot collide).
WORKFORCE_NAME = "pose-labeling"
#: Name of the created pool's app client: the managed sign-in settings find it by it.
CLIENT_NAME = "pose-labeling-portal"
#: What the portal's sign-in needs from the app client: Ground Truth signs workers in
#: through an Application Load Balancer, which uses the authorization-code grant with
#: the client's secret and returns to ``/oauth2/idpresponse`` on the portal.
PORTAL_OAUTH_FLOWS = ("code",)
PORTAL_OAUTH_SCOPES = ("email", "openid", "profile")
#: The client fields the managed sign-in settings own (Pulumi's names, for ignore_changes).
PORTAL_CLIENT_FIELDS = (
    "allowed_oauth_flows_user_pool_client",
    "allowed_oauth_flows",
    "allowed_oauth_scopes",
    "callback_urls",
    "logout_urls",
    "supported_identity_providers",
)


@dataclass(frozen=True)
class LabelingWorkforceArgs:
    team: WorkteamSettings
    #: Makes a created workforce's Cognito domain prefix unique: ``pose-labeling-<account>``.
    account_id: pulumi.Input[str]


@dataclass(frozen=True)
class _Workforce:
    """Where the team's members live: the pool, the workforce's app client, its name."""

    user_pool_id: pulumi.Input[str]
    client_id: pulumi.Input[str]
    workforce_name: pulumi.Input[str] | None
    #: The pool's domain prefix, when known (always for a created workforce).
    domain: pulumi.Input[str] | None


class LabelingWorkforce(pulumi.ComponentResource):
    workteam_arn: pulumi.Output[str]
    labeling_portal_url: pulumi.Output[str]
    #: The Cognito user pool the team's members sign in to.
    user_pool_id: pulumi.Output[str]
    #: The Cognito group whose members are the team.
    group_name: pulumi.Output[str]
    #: The pool's sign-in domain prefix; None for an existing workforce without
    #: ``workforceAuthDomain`` (only the self-hosted runner needs it).
    cognito_domain: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: LabelingWorkforceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pose-labeling:workforce:LabelingWorkforce", name, {}, opts)
        team = args.team
        if team.create_workforce:
            workforce = self._create_workforce(name, args.account_id)
        else:
            assert team.user_pool_id and team.client_id, "settings require both"
            workforce = _Workforce(
                team.user_pool_id, team.client_id, workforce_name=None, domain=team.auth_domain
            )
        child = pulumi.ResourceOptions(parent=self)

        group = aws.cognito.UserGroup(
            f"{name}-group",
            user_pool_id=workforce.user_pool_id,
            name=team.name,
            description=f"Members of the {team.name} labeling work team",
            opts=child,
        )
        for address in team.members:
            # Logical names follow the address, so removing one member touches only them.
            user = aws.cognito.User(
                f"{name}-member-{address.lower()}",
                user_pool_id=workforce.user_pool_id,
                username=address,
                attributes={"email": address, "email_verified": "true"},
                desired_delivery_mediums=["EMAIL"],
                opts=child,
            )
            aws.cognito.UserInGroup(
                f"{name}-membership-{address.lower()}",
                user_pool_id=workforce.user_pool_id,
                group_name=group.name,
                username=user.username,
                opts=child,
            )
        workteam = aws.sagemaker.Workteam(
            f"{name}-team",
            workteam_name=team.name,
            workforce_name=workforce.workforce_name,
            description=f"Pose labeling: {team.name}",
            member_definitions=[
                aws.sagemaker.WorkteamMemberDefinitionArgs(
                    cognito_member_definition=aws.sagemaker.WorkteamMemberDefinitionCognitoMemberDefinitionArgs(
                        user_pool=workforce.user_pool_id,
                        client_id=workforce.client_id,
                        user_group=group.name,
                    )
                )
            ],
            opts=child,
        )

        self.workteam_arn = workteam.arn
        # Every private team of a workforce shares its portal; the team reports it too.
        self.labeling_portal_url = pulumi.Output.concat("https://", workteam.subdomain)
        self.user_pool_id = pulumi.Output.from_input(workforce.user_pool_id)
        self.group_name = group.name
        self.cognito_domain = (
            pulumi.Output.from_input(workforce.domain) if workforce.domain is not None else None
        )
        self.register_outputs(
            {
                "workteam_arn": self.workteam_arn,
                "labeling_portal_url": self.labeling_portal_url,
                "user_pool_id": self.user_pool_id,
                "group_name": self.group_name,
            }
        )

    def _create_workforce(self, name: str, account_id: pulumi.Input[str]) -> _Workforce:
        child = pulumi.ResourceOptions(parent=self)
        pool = aws.cognito.UserPool(
            f"{name}-user-pool",
            # Only this stack adds workers: no self sign-up on the public sign-in page.
            # Invitations are Cognito's own e-mail (user name and temporary password): a
            # custom text is allowed only with an SES sending configuration.
            admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(
                allow_admin_create_user_only=True
            ),
            auto_verified_attributes=["email"],
            account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(
                recovery_mechanisms=[
                    aws.cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs(
                        name="verified_email", priority=1
                    )
                ]
            ),
            password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
                minimum_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_numbers=True,
                require_symbols=True,
                temporary_password_validity_days=7,
            ),
            username_configuration=aws.cognito.UserPoolUsernameConfigurationArgs(
                case_sensitive=False
            ),
            opts=child,
        )
        # Ground Truth requires the pool to have a domain before the workforce is created.
        domain = aws.cognito.UserPoolDomain(
            f"{name}-domain",
            domain=pulumi.Output.concat("pose-labeling-", account_id),
            user_pool_id=pool.id,
            opts=child,
        )
        client = aws.cognito.UserPoolClient(
            f"{name}-client",
            name=CLIENT_NAME,
            user_pool_id=pool.id,
            generate_secret=True,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=list(PORTAL_CLIENT_FIELDS)),
        )
        workforce = aws.sagemaker.Workforce(
            f"{name}-workforce",
            workforce_name=WORKFORCE_NAME,
            cognito_config=aws.sagemaker.WorkforceCognitoConfigArgs(
                client_id=client.id,
                # From the domain, so the workforce waits for it.
                user_pool=domain.user_pool_id,
            ),
            opts=child,
        )
        portal = pulumi.Output.concat("https://", workforce.subdomain)
        aws.cognito.ManagedUserPoolClient(
            f"{name}-portal-sign-in",
            user_pool_id=pool.id,
            name_pattern=f"^{CLIENT_NAME}$",
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=list(PORTAL_OAUTH_FLOWS),
            allowed_oauth_scopes=list(PORTAL_OAUTH_SCOPES),
            supported_identity_providers=["COGNITO"],
            callback_urls=[pulumi.Output.concat(portal, "/oauth2/idpresponse")],
            logout_urls=[pulumi.Output.concat(portal, "/logout")],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[client]),
        )
        return _Workforce(pool.id, client.id, workforce.workforce_name, domain.domain)
