#!/usr/bin/env python3
"""localcloud_sso_test: the SSO portal + OIDC emulator (localcloud/lc_sso.py) as botocore sees it.

botocore's own `sso-oidc` and `sso` clients run the device flow, refresh, fetch role credentials
and meet the error shapes; the role credentials act as the assigned account on moto, with
signature checking on.
"""
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))

import testkit  # noqa: E402
import boto3  # noqa: E402
from botocore import UNSIGNED  # noqa: E402
from botocore.config import Config  # noqa: E402

checks = testkit.Checks()
cloud = testkit.Cloud()
ACCOUNT = "333333333333"
cloud.api("/localcloud-api/sso/seed", {"assignments": [{"account": ACCOUNT, "role_name": "Admin"}],
                                       "interval": 1, "token_ttl": 3600})
cloud.set_auth(0)

session = boto3.session.Session(region_name="us-east-1")
unsigned = Config(signature_version=UNSIGNED, retries={"max_attempts": 1, "mode": "standard"})
oidc = session.client("sso-oidc", endpoint_url=cloud.url, config=unsigned)
portal = session.client("sso", endpoint_url=cloud.url, config=unsigned)
state = {}


def code_of(call, *args, **kwargs):
    return testkit.error_code(call, *args, **kwargs)[0]


@checks.case("device flow: pending, slow_down when too fast, token once approved")
def _():
    reg = oidc.register_client(clientName="test", clientType="public", scopes=["sso:account:access"])
    auth = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                                           startUrl="https://example.awsapps.com/start")
    grant = dict(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                 grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=auth["deviceCode"])
    assert code_of(oidc.create_token, **grant) == "AuthorizationPendingException"
    assert code_of(oidc.create_token, **grant) == "SlowDownException"
    cloud.api("/localcloud-api/sso/approve", {"user_code": auth["userCode"]})
    time.sleep(1.1)
    token = oidc.create_token(**grant)
    assert token["accessToken"] and token["refreshToken"] and token["expiresIn"] == 3600, token
    state.update(reg=reg, token=token)


@checks.case("role credentials act as the assigned account on moto (signatures checked)")
def _():
    creds = portal.get_role_credentials(roleName="Admin", accountId=ACCOUNT,
                                        accessToken=state["token"]["accessToken"])["roleCredentials"]
    assert creds["expiration"] > time.time() * 1000
    sts = session.client("sts", endpoint_url=cloud.url, aws_access_key_id=creds["accessKeyId"],
                         aws_secret_access_key=creds["secretAccessKey"],
                         aws_session_token=creds["sessionToken"])
    assert sts.get_caller_identity()["Account"] == ACCOUNT


@checks.case("a role not assigned is ForbiddenException; a bad token UnauthorizedException")
def _():
    assert code_of(portal.get_role_credentials, roleName="Nope", accountId=ACCOUNT,
                   accessToken=state["token"]["accessToken"]) == "ForbiddenException"
    assert code_of(portal.get_role_credentials, roleName="Admin", accountId=ACCOUNT,
                   accessToken="bogus") == "UnauthorizedException"


@checks.case("refresh tokens rotate: the old one is invalid_grant afterwards")
def _():
    reg, token = state["reg"], state["token"]
    grant = dict(clientId=reg["clientId"], clientSecret=reg["clientSecret"], grantType="refresh_token",
                 refreshToken=token["refreshToken"])
    fresh = oidc.create_token(**grant)
    assert fresh["accessToken"] != token["accessToken"]
    assert code_of(oidc.create_token, **grant) == "InvalidGrantException"
    state["token"] = fresh


@checks.case("expired access tokens are rejected")
def _():
    cloud.api("/localcloud-api/sso/expire", {})
    assert code_of(portal.get_role_credentials, roleName="Admin", accountId=ACCOUNT,
                   accessToken=state["token"]["accessToken"]) == "UnauthorizedException"


@checks.case("auth-code flow with PKCE: /authorize redirects with code and state")
def _():
    import base64
    import hashlib
    import urllib.parse
    reg = oidc.register_client(clientName="pkce", clientType="public", grantTypes=["authorization_code"],
                               redirectUris=["http://127.0.0.1/oauth/callback"])
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    redirect = "http://127.0.0.1:9/oauth/callback"
    query = urllib.parse.urlencode({"response_type": "code", "client_id": reg["clientId"],
                                    "redirect_uri": redirect, "state": "xyz", "code_challenge": challenge,
                                    "code_challenge_method": "S256", "scopes": "sso:account:access"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(cloud.url + "/authorize?" + query)
        raise AssertionError("no redirect")
    except urllib.error.HTTPError as answer:
        location = answer.headers["Location"]
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert location.startswith(redirect) and params["state"] == "xyz", location
    base = dict(clientId=reg["clientId"], clientSecret=reg["clientSecret"], grantType="authorization_code",
                code=params["code"], redirectUri=redirect)
    token = oidc.create_token(codeVerifier=verifier, **base)
    assert token["accessToken"]
    assert code_of(oidc.create_token, codeVerifier=verifier, **base) == "InvalidGrantException"


cloud.stop()
sys.exit(checks.done())
