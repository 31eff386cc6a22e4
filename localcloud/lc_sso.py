"""lc_sso: an IAM Identity Center emulator: the SSO portal and SSO OIDC, next to moto (which has neither).

Speaks the real wire shapes (rest-json, unsigned) on the paths AWS uses, so botocore's `sso` and
`sso-oidc` clients and luaws both work against it:

  OIDC   POST /client/register, POST /device_authorization, POST /token, GET /authorize
  portal GET /federation/credentials?role_name=&account_id= (header x-amz-sso_bearer_token),
         POST /logout

Tokens are short-lived (seed `token_ttl`), refresh tokens are single use (each refresh returns a
new one, as a rotating IdP does), expired or unknown ones are rejected with AWS's error shapes
(UnauthorizedException, ExpiredTokenException/expired_token, InvalidGrantException/invalid_grant,
AuthorizationPendingException, SlowDownException). Role credentials come from moto's own
sts AssumeRole into the assigned account, so moto accepts them as that account.

Test-only endpoints under /localcloud-api/sso/: seed (assignments, lifetimes), approve (the
browser step of the device flow), expire (every access token now expired), state.
"""
import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse

_lock = threading.Lock()
_DEFAULTS = {"token_ttl": 3600, "refresh_ttl": 8 * 3600, "registration_ttl": 90 * 86400,
             "role_ttl": 3600, "interval": 1, "device_ttl": 600}
_config = dict(_DEFAULTS)
_assignments = set()   # (account, role_name)
_clients = {}          # clientId -> {secret, expires, grant_types, redirect_uris}
_devices = {}          # deviceCode -> {client, user_code, expires, approved, last_poll, interval}
_codes = {}            # authorization code -> {client, redirect_uri, challenge, expires}
_access = {}           # accessToken -> expires (epoch seconds)
_refresh = {}          # refreshToken -> {client, expires}
_counts = {"register": 0, "token": 0, "refresh": 0, "role_credentials": 0}

OIDC_PATHS = {"/client/register", "/device_authorization", "/token", "/authorize"}
PORTAL_PATHS = {"/federation/credentials", "/logout"}

ADMIN_POLICY = json.dumps({"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


class Error(Exception):
    """An AWS error answer: HTTP status, x-amzn-ErrorType and the JSON body."""

    def __init__(self, status, code, body):
        super().__init__(code)
        self.status, self.code, self.body = status, code, body


def _oidc_error(status, code, error, description):
    return Error(status, code, {"error": error, "error_description": description})


def _portal_error(status, code, message):
    return Error(status, code, {"message": message})


def handles(environ):
    """Whether this request is for the emulator: an SSO/OIDC path and no SigV4 signature."""
    if environ.get("HTTP_AUTHORIZATION"):
        return False
    return environ.get("PATH_INFO", "") in OIDC_PATHS | PORTAL_PATHS


def _token():
    return secrets.token_urlsafe(32)


def _client(body):
    client = _clients.get(body.get("clientId"))
    if client is None or client["secret"] != body.get("clientSecret"):
        raise _oidc_error(401, "InvalidClientException", "invalid_client", "Invalid client")
    if client["expires"] <= time.time():
        raise _oidc_error(401, "InvalidClientException", "invalid_client", "Client registration expired")
    return client


def _issue(client_id):
    now = time.time()
    access, refresh = "aoa" + _token(), "aor" + _token()
    _access[access] = now + _config["token_ttl"]
    _refresh[refresh] = {"client": client_id, "expires": now + _config["refresh_ttl"]}
    return {"accessToken": access, "tokenType": "Bearer", "expiresIn": int(_config["token_ttl"]),
            "refreshToken": refresh}


def register_client(body):
    if not body.get("clientName") or body.get("clientType") != "public":
        raise _oidc_error(400, "InvalidRequestException", "invalid_request",
                          "clientName and clientType=public are required")
    client_id, secret = "cid" + _token()[:22], "csec" + _token()
    now = int(time.time())
    _clients[client_id] = {"secret": secret, "expires": now + _config["registration_ttl"],
                           "grant_types": body.get("grantTypes") or [],
                           "redirect_uris": body.get("redirectUris") or []}
    _counts["register"] += 1
    return {"clientId": client_id, "clientSecret": secret, "clientIdIssuedAt": now,
            "clientSecretExpiresAt": now + _config["registration_ttl"]}


def device_authorization(body, base_url):
    client_id = _client(body) and body["clientId"]
    device_code = "dev" + _token()
    user_code = "-".join(secrets.token_hex(2).upper() for _ in range(2))
    _devices[device_code] = {"client": client_id, "user_code": user_code, "approved": False,
                             "expires": time.time() + _config["device_ttl"], "last_poll": 0,
                             "interval": _config["interval"]}
    verify = base_url + "/localcloud-api/sso/device"
    return {"deviceCode": device_code, "userCode": user_code, "verificationUri": verify,
            "verificationUriComplete": verify + "?user_code=" + user_code,
            "expiresIn": int(_config["device_ttl"]), "interval": int(_config["interval"])}


def _s256(verifier):
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def create_token(body):
    _client(body)
    grant = body.get("grantType")
    now = time.time()
    if grant == "urn:ietf:params:oauth:grant-type:device_code":
        device = _devices.get(body.get("deviceCode"))
        if device is None or device["client"] != body["clientId"]:
            raise _oidc_error(400, "InvalidGrantException", "invalid_grant", "Invalid device code")
        if device["expires"] <= now:
            raise _oidc_error(400, "ExpiredTokenException", "expired_token", "Device code expired")
        too_soon = now - device["last_poll"] < device["interval"] * 0.5
        device["last_poll"] = now
        if not device["approved"]:
            if too_soon:
                device["interval"] += 1
                raise _oidc_error(400, "SlowDownException", "slow_down", "Client is polling too fast")
            raise _oidc_error(400, "AuthorizationPendingException", "authorization_pending",
                              "Authorization is still pending")
        del _devices[body["deviceCode"]]
        _counts["token"] += 1
        return _issue(body["clientId"])
    if grant == "authorization_code":
        code = _codes.pop(body.get("code"), None)
        if code is None or code["client"] != body["clientId"] or code["expires"] <= now:
            raise _oidc_error(400, "InvalidGrantException", "invalid_grant", "Invalid authorization code")
        if body.get("redirectUri") != code["redirect_uri"]:
            raise _oidc_error(400, "InvalidGrantException", "invalid_grant", "redirect_uri does not match")
        if _s256(body.get("codeVerifier") or "") != code["challenge"]:
            raise _oidc_error(400, "InvalidGrantException", "invalid_grant", "PKCE verification failed")
        _counts["token"] += 1
        return _issue(body["clientId"])
    if grant == "refresh_token":
        refresh = _refresh.pop(body.get("refreshToken"), None)  # single use: rotated
        if refresh is None or refresh["client"] != body["clientId"]:
            raise _oidc_error(400, "InvalidGrantException", "invalid_grant", "Invalid refresh token")
        if refresh["expires"] <= now:
            raise _oidc_error(400, "ExpiredTokenException", "expired_token", "Refresh token expired")
        _counts["refresh"] += 1
        return _issue(body["clientId"])
    raise _oidc_error(400, "UnsupportedGrantTypeException", "unsupported_grant_type",
                      f"Unsupported grant type {grant}")


def authorize(query):
    """The browser's visit to /authorize: the user is signed in and approves at once; returns the
    redirect URL carrying the code and state."""
    client = _clients.get(query.get("client_id"))
    redirect = query.get("redirect_uri", "")
    if client is None or query.get("response_type") != "code" or not redirect.startswith("http://127.0.0.1"):
        raise _oidc_error(400, "InvalidRequestException", "invalid_request", "Bad authorization request")
    if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
        raise _oidc_error(400, "InvalidRequestException", "invalid_request", "PKCE S256 is required")
    code = "code" + _token()
    _codes[code] = {"client": query["client_id"], "redirect_uri": redirect,
                    "challenge": query["code_challenge"], "expires": time.time() + 300}
    return redirect + "?" + urllib.parse.urlencode({"code": code, "state": query.get("state", "")})


def _bearer(environ):
    token = environ.get("HTTP_X_AMZ_SSO_BEARER_TOKEN")
    expires = _access.get(token)
    if expires is None or expires <= time.time():
        raise _portal_error(401, "UnauthorizedException", "Session token not found or invalid")
    return token


def role_credentials(environ, query):
    _bearer(environ)
    account, role = query.get("account_id", ""), query.get("role_name", "")
    if not account or not role:
        raise _portal_error(400, "InvalidRequestException", "role_name and account_id are required")
    if (account, role) not in _assignments:
        raise _portal_error(403, "ForbiddenException", "No access")
    from moto.sts.models import sts_backends
    assumed = sts_backends[account]["aws"].assume_role(
        region_name="us-east-1", role_session_name="sso-user", policy=None,
        role_arn=f"arn:aws:iam::{account}:role/{role}", duration=int(_config["role_ttl"]),
        external_id=None)
    _counts["role_credentials"] += 1
    expiration_ms = int((time.time() + _config["role_ttl"]) * 1000)
    return {"roleCredentials": {"accessKeyId": assumed.access_key_id,
                                "secretAccessKey": assumed.secret_access_key,
                                "sessionToken": assumed.session_token, "expiration": expiration_ms}}


def logout(environ):
    token = environ.get("HTTP_X_AMZ_SSO_BEARER_TOKEN")
    _access.pop(token, None)
    return None


def _respond(start_response, status, payload, headers=()):
    body = b"" if payload is None else json.dumps(payload).encode()
    reason = {200: "OK", 302: "Found", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
              404: "Not Found"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(body))), *headers])
    return [body]


def app(environ, start_response):
    """WSGI handler for the emulator's paths (see handles())."""
    path = environ.get("PATH_INFO", "")
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    request_id = secrets.token_hex(16)
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise _oidc_error(400, "InvalidRequestException", "invalid_request", "Body is not JSON")
        base_url = f"http://{environ.get('HTTP_HOST', '127.0.0.1')}"
        with _lock:
            if path == "/client/register":
                result = register_client(body)
            elif path == "/device_authorization":
                result = device_authorization(body, base_url)
            elif path == "/token":
                result = create_token(body)
            elif path == "/authorize":
                location = authorize(query)
                return _respond(start_response, 302, None, [("Location", location)])
            elif path == "/federation/credentials":
                result = role_credentials(environ, query)
            else:
                result = logout(environ)
    except Error as error:
        return _respond(start_response, error.status, error.body,
                        [("x-amzn-ErrorType", error.code), ("x-amzn-RequestId", request_id)])
    return _respond(start_response, 200, result, [("x-amzn-RequestId", request_id)])


def _ensure_role(account, role):
    from moto.iam.models import iam_backends
    iam = iam_backends[account]["aws"]
    try:
        iam.get_role(role)
        return
    except Exception:  # noqa: BLE001 (moto raises its own NotFound)
        pass
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{account}:saml-provider/AWSSSO"},
        "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}]})
    iam.create_role(role, trust, "/aws-reserved/sso.amazonaws.com/", None, f"SSO {role}", [], None)
    iam.put_role_policy(role, "admin", ADMIN_POLICY)


def api(path, options):
    """The /localcloud-api/sso/* endpoints; returns the JSON answer or None for an unknown path."""
    with _lock:
        if path == "/localcloud-api/sso/seed":
            for key in _DEFAULTS:
                if key in options:
                    _config[key] = options[key]
            for entry in options.get("assignments", []):
                _ensure_role(entry["account"], entry["role_name"])
                _assignments.add((entry["account"], entry["role_name"]))
            return {"config": dict(_config), "assignments": sorted(_assignments)}
        if path == "/localcloud-api/sso/approve":
            for device in _devices.values():
                if device["user_code"] == options.get("user_code"):
                    device["approved"] = True
                    return {"approved": True}
            return {"approved": False}
        if path == "/localcloud-api/sso/expire":
            for token in _access:
                _access[token] = 0
            if options.get("refresh_tokens"):
                _refresh.clear()
            return {"expired": len(_access)}
        if path == "/localcloud-api/sso/state":
            return dict(_counts, clients=len(_clients), live_tokens=sum(
                1 for t in _access.values() if t > time.time()))
    return None
