"""lc_identity: who is calling (from the access key id) and which organization an account is in.

moto picks the account from the access key id (IAM user keys and STS session keys belong to the
account that issued them); this module also recovers the principal, which AWS uses to match key
policy principals and grants (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
"""
from moto.iam.models import iam_backends

PARTITION = "aws"


class Caller:
    """The principal behind a request.

    arn: the ARN policies match on (user ARN, role ARN for a role session, or the account root);
    session_arn: `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION` for role sessions;
    display_arn: what AWS prints in AccessDenied messages.
    """

    def __init__(self, account, arn, session_arn=None, service=None):
        self.account = account
        self.arn = arn
        self.session_arn = session_arn
        self.service = service

    @property
    def display_arn(self):
        return self.session_arn or self.arn


def root_arn(account):
    return f"arn:{PARTITION}:iam::{account}:root"


def caller(account, access_key_id):
    """Returns the Caller for a request made in `account` with `access_key_id`."""
    iam = iam_backends[account][PARTITION]
    key = iam.access_keys.get(access_key_id)
    if key is not None and key.role_arn:
        session = None
        from moto.sts.models import sts_backends
        for assumed in sts_backends[account][PARTITION].assumed_roles:
            if assumed.access_key_id == access_key_id:
                session = assumed.arn
                break
        return Caller(account, key.role_arn, session)
    if key is not None and key.user_name:
        try:
            return Caller(account, iam.get_user(key.user_name).arn)
        except Exception:  # noqa: BLE001 (user deleted since: act as the account)
            pass
    return Caller(account, root_arn(account))


def org_id(account):
    """Returns the id of the organization `account` belongs to (moto's organizations backend), or None."""
    from moto.organizations.models import organizations_backends
    master = organizations_backends.master_accounts.get(account, (account, PARTITION))[0]
    if master not in organizations_backends:
        return None
    backend = organizations_backends[master][PARTITION]
    if backend.org is None:
        return None
    if master == account or any(a.id == account for a in backend.accounts):
        return backend.org.id
    return None


def join_org(master, members):
    """Makes `master` an organization's management account with `members` in it; returns the org id.

    moto's CreateAccount invents account ids; the scenario needs fixed ones (e.g. 222222222222),
    so members are added as accounts whose id is then set.
    """
    from moto.organizations.models import organizations_backends
    backend = organizations_backends[master][PARTITION]
    if backend.org is None:
        backend.create_organization(region="us-east-1", FeatureSet="ALL")
    for member in members:
        if any(a.id == member for a in backend.accounts):
            continue
        backend.create_account(AccountName=f"member-{member}", Email=f"{member}@example.com")
        created = backend.accounts[-1]
        organizations_backends.master_accounts.pop(created.id, None)
        created.id = member
        organizations_backends.master_accounts[member] = (master, PARTITION)
    return backend.org.id


def role_exists(role_arn):
    """True when the IAM role named by `role_arn` exists in its account."""
    try:
        account = role_arn.split(":")[4]
    except IndexError:
        return False
    iam = iam_backends[account][PARTITION]
    return any(role.arn == role_arn for role in iam.roles.values())
