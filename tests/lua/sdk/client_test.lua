-- client_test: aws.client against a scripted local server: request shape, signing headers,
-- decoding, errors (unknown operation, bad parameters, AWS errors), unsigned calls, paging.
local T = require "testing"
local cjson = require "cjson"
local fakeserver = require "fakeserver"

local server = fakeserver.start {}
local CREDS = { access_key = "AKIDEXAMPLE", secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  session_token = "SESSIONTOKENEXAMPLE0123456789" }

local function json_reply(status, body, extra_headers)
  local headers = { ["Content-Type"] = "application/x-amz-json-1.1", ["x-amzn-RequestId"] = "req-" .. status }
  for k, v in pairs(extra_headers or {}) do headers[k] = v end
  return { status = status, headers = headers, body = type(body) == "string" and body or cjson.encode(body) }
end

local function kms_client(opts)
  opts = opts or {}
  return aws.client("kms", { region = opts.region or "eu-west-1", endpoint_url = server.url,
    credentials = opts.credentials == nil and CREDS or opts.credentials, max_attempts = opts.max_attempts })
end

T.test("a JSON call: request shape, SigV4 headers, decoded result", function()
  server.script { default = json_reply(200, { Truncated = false,
    Keys = { { KeyId = "k-1", KeyArn = "arn:aws:kms:eu-west-1:111122223333:key/k-1" } } }) }
  local kms = kms_client()
  local result = kms:ListKeys { Limit = 5 }
  T.eq(result.Keys[1].KeyId, "k-1")
  T.eq(result.Truncated, false)
  T.eq(result.ResponseMetadata.RequestId, "req-200")
  T.eq(result.ResponseMetadata.HTTPStatusCode, 200)
  T.eq(result.ResponseMetadata.RetryAttempts, 0)

  local seen = server.log()
  T.eq(#seen, 1)
  local req = seen[1]
  T.eq(req.method, "POST")
  T.eq(req.path, "/")
  T.eq(req.headers["x-amz-target"], "TrentService.ListKeys")
  T.eq(req.headers["content-type"], "application/x-amz-json-1.1")
  T.same(cjson.decode(req.body), { Limit = 5 })
  T.match(req.headers["x-amz-date"], "^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$")
  T.eq(req.headers["x-amz-security-token"], CREDS.session_token)
  T.eq(req.headers["amz-sdk-request"], "attempt=1; max=3")
  local auth = req.headers["authorization"]
  T.match(auth, "^AWS4%-HMAC%-SHA256 Credential=AKIDEXAMPLE/%d+/eu%-west%-1/kms/aws4_request, ")
  T.match(auth, "SignedHeaders=[%w;-]*host[%w;-]*x%-amz%-date")
  T.match(auth, "SignedHeaders=[%w;-]*x%-amz%-target")
  T.match(auth, "Signature=%x+$")
  T.ok(not auth:find(CREDS.secret_key, 1, true))
end)

T.test("operations are methods named as in AWS, cached, with a colon hint", function()
  local kms = kms_client()
  T.eq(type(kms.ListKeys), "function")
  T.eq(kms.ListKeys, kms.ListKeys)
  T.match(tostring(kms), "^luaws%.Client%(kms, eu%-west%-1, http://127%.0%.0%.1:%d+%)$")
  local e = T.raises(function() kms.ListKeys { Limit = 1 } end)
  T.match(e.message, "kms:ListKeys{...}")
end)

T.test("an unknown operation names the close ones", function()
  local kms = kms_client()
  local e = T.raises(function() return kms:ListGrant { KeyId = "k" } end)
  T.eq(e.code, "UnknownOperation")
  T.match(e.message, "ListGrants")
  T.match(tostring(e), "^[^\n]+$")
end)

T.test("invalid parameters fail before anything is sent", function()
  server.reset()
  local kms = kms_client()
  local e = T.raises(function() return kms:CreateGrant { KeyId = 5, Operations = "Decrypt" } end)
  T.eq(e.code, "ParamValidation")
  T.match(e.message, "GranteePrincipal")
  e = T.raises(function() return kms:ListKeys "oops" end)
  T.eq(e.code, "InvalidParameter")
  T.eq(#server.log(), 0)
end)

T.test("an AWS error becomes an error table with service, operation, status, request id", function()
  server.script { default = json_reply(400, { __type = "AccessDeniedException",
    message = "User is not authorized to perform kms:CreateKey" }) }
  local kms = kms_client()
  local e = T.raises(function() return kms:CreateKey {} end)
  T.eq(e.code, "AccessDeniedException")
  T.match(e.message, "not authorized")
  T.eq(e.status, 400)
  T.eq(e.service, "kms")
  T.eq(e.operation, "CreateKey")
  T.eq(e.request_id, "req-400")
  T.eq(e.retryable, false)
  T.eq(e.attempts, 1)
  T.eq(tostring(e), "kms CreateKey: AccessDeniedException: User is not authorized to perform "
    .. "kms:CreateKey (HTTP 400, request req-400)")
  T.eq(#server.log(), 1, "a client error is not retried")
end)

T.test("a JSON service answering an XML error (as KMS does for bad signatures)", function()
  server.script { default = { status = 403, headers = { ["Content-Type"] = "text/xml" },
    body = "<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>"
      .. "The request signature we calculated does not match</Message></Error>"
      .. "<RequestId>xml-req</RequestId></ErrorResponse>" } }
  local e = T.raises(function() return kms_client():ListKeys {} end)
  T.eq(e.code, "SignatureDoesNotMatch")
  T.eq(e.status, 403)
end)

T.test("a 200 with a body the protocol cannot read is a clear error, not a crash", function()
  server.script { default = { status = 200, headers = { ["Content-Type"] = "text/html" },
    body = "<html><body>Proxy login required</body></html>" } }
  local e = T.raises(function() return kms_client():ListKeys {} end)
  T.eq(type(e), "table")
  T.ok(e.code and e.code ~= "", "has a code")
  T.eq(e.operation, "ListKeys")
  T.eq(e.attempts, 1)
  T.match(tostring(e), "^[^\n]+$")
end)

T.test("credentials = false sends an unsigned request", function()
  server.script { default = json_reply(200, { Keys = {} }) }
  kms_client({ credentials = false }):ListKeys {}
  local req = server.log()[1]
  T.eq(req.headers["authorization"], nil)
  T.eq(req.headers["x-amz-security-token"], nil)
end)

T.test("a credentials provider is asked on every attempt", function()
  server.script { default = json_reply(200, { Keys = {} }) }
  local asked = 0
  local provider = { get = function()
    asked = asked + 1
    return { access_key = "AKIDPROVIDER", secret_key = "providersecretprovidersecret" }
  end }
  local kms = kms_client { credentials = provider }
  kms:ListKeys {}
  kms:ListKeys {}
  T.eq(asked, 2)
  T.match(server.log()[1].headers["authorization"], "Credential=AKIDPROVIDER/")
end)

T.test("paginate follows Marker/NextMarker/Truncated pages and items", function()
  local pages = {
    json_reply(200, { Grants = { { GrantId = "g1" }, { GrantId = "g2" } }, Truncated = true, NextMarker = "m1" }),
    json_reply(200, { Grants = { { GrantId = "g3" } }, Truncated = true, NextMarker = "m2" }),
    json_reply(200, { Grants = {}, Truncated = false }),
  }
  server.script { routes = { ["/"] = pages } }
  local kms = kms_client()
  local ids = {}
  for grant in kms:paginate("ListGrants", { KeyId = "k" }, { items = true, page_size = 2 }) do
    ids[#ids + 1] = grant.GrantId
  end
  T.same(ids, { "g1", "g2", "g3" })
  local sent = server.log()
  T.eq(#sent, 3)
  T.same(cjson.decode(sent[1].body), { KeyId = "k", Limit = 2 })
  T.same(cjson.decode(sent[2].body), { KeyId = "k", Limit = 2, Marker = "m1" })
  T.same(cjson.decode(sent[3].body), { KeyId = "k", Limit = 2, Marker = "m2" })

  server.script { routes = { ["/"] = pages } }
  local count = 0
  for page in kms:paginate("ListGrants", { KeyId = "k" }) do
    count = count + 1
    T.eq(type(page.Grants), "table")
  end
  T.eq(count, 3)
end)

T.test("paginate stops on a repeated token and refuses operations that do not page", function()
  server.script { default = json_reply(200, { Keys = { { KeyId = "k" } }, Truncated = true, NextMarker = "same" }) }
  local kms = kms_client()
  local e = T.raises(function()
    for _ in kms:paginate("ListKeys", {}) do end
  end)
  T.eq(e.code, "PaginationError")
  T.ok(#server.log() <= 3, "stopped at once")
  e = T.raises(function() return kms:paginate("CreateKey", {}) end)
  T.eq(e.code, "OperationNotPageable")
end)

T.test("region and endpoint come from the environment through luaws.config", function()
  server.script { default = json_reply(200, { Keys = {} }) }
  local config = require "luaws.sdk.config"
  config.set_env { AWS_REGION = "ap-southeast-2", AWS_ENDPOINT_URL_KMS = server.url, AWS_MAX_ATTEMPTS = "4" }
  local ok, kms_or_err = pcall(aws.client, "kms", { credentials = CREDS })
  config.set_env(nil)
  T.ok(ok, tostring(kms_or_err))
  local kms = kms_or_err
  T.eq(kms.region, "ap-southeast-2")
  T.eq(kms.max_attempts, 4)
  kms:ListKeys {}
  T.match(server.log()[1].headers["authorization"], "/ap%-southeast%-2/kms/aws4_request")
end)

T.test("calls inside aws.parallel overlap", function()
  local reply = json_reply(200, { Keys = {} })
  reply.delay = 0.3
  server.script { default = reply }
  local kms = kms_client()
  local tasks = {}
  for i = 1, 5 do tasks[i] = function() return kms:ListKeys {}.ResponseMetadata.HTTPStatusCode end end
  local results, errs = aws.parallel(tasks)
  for i = 1, 5 do
    T.eq(results[i], 200)
    T.eq(errs and errs[i], nil)
  end
  -- sequential calls reuse one connection; overlapping calls need one each
  local connections = {}
  for _, req in ipairs(server.log()) do connections[req.conn] = true end
  local count = 0
  for _ in pairs(connections) do count = count + 1 end
  T.eq(count, 5)
end)

server.stop()
T.done()
