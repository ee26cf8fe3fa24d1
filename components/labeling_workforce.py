"""``LabelingWorkforce``: a team of invited members, for Ground Truth or the self-hosted runner.

A team is a Cognito user group in a user pool, with one Cognito user per member
(Cognito e-mails each an invitation with a temporary password). The component
always creates the group, the users and their memberships; which pool they are in,
and what else exists, depends on the runner and on ``createWorkforce``:

* **Ground Truth** (``runner: groundtruth``, the default): the team is also a
  SageMaker work team, named in its member definition with the pool and the private
  workforce's app client (a region's private workforce is one pool per account).

  - existing workforce (the default): the pool and client are the account's, given
    by ID. They are only referenced, never resources of this stack, so
    ``pulumi destroy`` removes the team, its group and the users it invited, and
    leaves the workforce and everyone else in it alone.
  - created workforce (``createWorkforce``): also the pool, its domain, an app
    client with a secret, and the workforce bound to them. The portal's sign-in
    address exists only once the workforce does, so the client's OAuth settings
    (callback and sign-out URLs on the portal) are applied after it, by a
    ``ManagedUserPoolClient`` over the same client; the client itself ignores those
    fields, so the two never undo each other.

* **self-hosted** (``runner: self-hosted``): no ``aws:sagemaker/*`` resource at all,
  so the stack deploys in an account Ground Truth is closed to. ``createWorkforce``
  creates the pool and its domain only (the runner's ``JobRunner`` adds the portal's
  own app client); otherwise the pool is the account's, given by ID, with its domain
  prefix (``workforceAuthDomain``). The runner signs workers in through the pool and
  asks the group who is a member: the component reports the pool, the group and the
  domain prefix.

No IAM: workers sign in through Cognito, and Ground Truth needs no role for a team.
"""

from __future__ import annotations

import hashlib
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
    #: Makes a created pool's Cognito domain prefix unique (``domain_prefix``).
    account_id: pulumi.Input[str]


def domain_prefix(account_id: pulumi.Input[str], stack: str | None) -> pulumi.Output[str]:
    """The domain prefix of a pool the stack creates, unique where it has to be.

    Cognito prefixes are unique in a region across all accounts. A Ground Truth
    workforce is one per account and region, so the account ID is enough
    (``stack=None``). A self-hosted pool is one per stack, so its prefix adds a digest
    of ``stack`` (``<project>/<stack>``): several stacks share an account and region.
    """
    prefix = pulumi.Output.concat("pose-labeling-", account_id)
    return prefix if stack is None else pulumi.Output.concat(prefix, "-", stack_digest(stack))


def stack_digest(stack: str) -> str:
    """Eight hex digits naming ``stack``: never one of the words Cognito refuses in a
    prefix (``aws``, ``amazon``, ``cognito``), whatever the stack is called."""
    return hashlib.sha256(stack.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class _Pool:
    """The Cognito user pool the team's members live in."""

    user_pool_id: pulumi.Input[str]
    #: The same ID, read from the pool's domain where the stack creates one, so whatever
    #: is given it waits for the domain (Ground Truth's workforce needs it first).
    id_with_domain: pulumi.Input[str]
    #: The pool's domain prefix, when known (always for a created pool).
    domain: pulumi.Input[str] | None


@dataclass(frozen=True)
class _Workforce:
    """The Ground Truth workforce the team joins: its app client, and its name when created."""

    client_id: pulumi.Input[str]
    #: None for the account's existing workforce: a team without a name joins the
    #: region's only private workforce.
    workforce_name: pulumi.Input[str] | None


class LabelingWorkforce(pulumi.ComponentResource):
    #: The SageMaker work team and its labeling portal; None with the self-hosted runner.
    workteam_arn: pulumi.Output[str] | None
    labeling_portal_url: pulumi.Output[str] | None
    #: The Cognito user pool the team's members sign in to.
    user_pool_id: pulumi.Output[str]
    #: The Cognito group whose members are the team.
    group_name: pulumi.Output[str]
    #: The pool's sign-in domain prefix; None for an existing pool without
    #: ``workforceAuthDomain`` (only the self-hosted runner needs it).
    cognito_domain: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: LabelingWorkforceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pose-labeling:workforce:LabelingWorkforce", name, {}, opts)
        team = args.team
        if team.create_workforce:
            stack = None if team.ground_truth else f"{pulumi.get_project()}/{pulumi.get_stack()}"
            pool = self._create_pool(name, domain_prefix(args.account_id, stack))
        else:
            assert team.user_pool_id, "settings require the existing pool"
            pool = _Pool(team.user_pool_id, team.user_pool_id, team.auth_domain)
        # Only Ground Truth has workforces and work teams; the self-hosted runner uses the group.
        workforce: _Workforce | None = None
        if team.ground_truth and team.create_workforce:
            workforce = self._create_workforce(name, pool)
        elif team.ground_truth:
            assert team.client_id, "settings require the existing workforce's client"
            workforce = _Workforce(team.client_id, workforce_name=None)

        child = pulumi.ResourceOptions(parent=self)
        group = aws.cognito.UserGroup(
            f"{name}-group",
            user_pool_id=pool.user_pool_id,
            name=team.name,
            description=f"Members of the {team.name} labeling work team",
            opts=child,
        )
        for address in team.members:
            # Logical names follow the address, so removing one member touches only them.
            user = aws.cognito.User(
                f"{name}-member-{address.lower()}",
                user_pool_id=pool.user_pool_id,
                username=address,
                attributes={"email": address, "email_verified": "true"},
                desired_delivery_mediums=["EMAIL"],
                opts=child,
            )
            aws.cognito.UserInGroup(
                f"{name}-membership-{address.lower()}",
                user_pool_id=pool.user_pool_id,
                group_name=group.name,
                username=user.username,
                opts=child,
            )

        self.workteam_arn = None
        self.labeling_portal_url = None
        if workforce is not None:
            workteam = aws.sagemaker.Workteam(
                f"{name}-team",
                workteam_name=team.name,
                workforce_name=workforce.workforce_name,
                description=f"Pose labeling: {team.name}",
                member_definitions=[
                    aws.sagemaker.WorkteamMemberDefinitionArgs(
                        cognito_member_definition=aws.sagemaker.WorkteamMemberDefinitionCognitoMemberDefinitionArgs(
                            user_pool=pool.user_pool_id,
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
        self.user_pool_id = pulumi.Output.from_input(pool.user_pool_id)
        self.group_name = group.name
        self.cognito_domain = (
            pulumi.Output.from_input(pool.domain) if pool.domain is not None else None
        )
        outputs: dict[str, pulumi.Output[str]] = {
            "user_pool_id": self.user_pool_id,
            "group_name": self.group_name,
        }
        if self.workteam_arn and self.labeling_portal_url:
            outputs |= {
                "workteam_arn": self.workteam_arn,
                "labeling_portal_url": self.labeling_portal_url,
            }
        self.register_outputs(outputs)

    def _create_pool(self, name: str, domain_prefix: pulumi.Input[str]) -> _Pool:
        """The team's pool, admitting invited workers only, and its domain (the sign-in pages)."""
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
        # Ground Truth requires the pool to have a domain before the workforce is created;
        # the self-hosted portal sends workers to its sign-in pages.
        domain = aws.cognito.UserPoolDomain(
            f"{name}-domain",
            domain=domain_prefix,
            user_pool_id=pool.id,
            opts=child,
        )
        return _Pool(pool.id, domain.user_pool_id, domain.domain)

    def _create_workforce(self, name: str, pool: _Pool) -> _Workforce:
        """Ground Truth's private workforce on the pool: its app client, the workforce, the
        client's sign-in settings."""
        client = aws.cognito.UserPoolClient(
            f"{name}-client",
            name=CLIENT_NAME,
            user_pool_id=pool.user_pool_id,
            generate_secret=True,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=list(PORTAL_CLIENT_FIELDS)),
        )
        workforce = aws.sagemaker.Workforce(
            f"{name}-workforce",
            workforce_name=WORKFORCE_NAME,
            cognito_config=aws.sagemaker.WorkforceCognitoConfigArgs(
                client_id=client.id,
                # From the domain, so the workforce waits for it.
                user_pool=pool.id_with_domain,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        portal = pulumi.Output.concat("https://", workforce.subdomain)
        aws.cognito.ManagedUserPoolClient(
            f"{name}-portal-sign-in",
            user_pool_id=pool.user_pool_id,
            name_pattern=f"^{CLIENT_NAME}$",
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=list(PORTAL_OAUTH_FLOWS),
            allowed_oauth_scopes=list(PORTAL_OAUTH_SCOPES),
            supported_identity_providers=["COGNITO"],
            callback_urls=[pulumi.Output.concat(portal, "/oauth2/idpresponse")],
            logout_urls=[pulumi.Output.concat(portal, "/logout")],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[client]),
        )
        return _Workforce(client.id, workforce.workforce_name)
