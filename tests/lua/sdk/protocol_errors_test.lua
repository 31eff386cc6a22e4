-- protocol_errors_test: luaws.errors, and error replies in every shape AWS (and moto, and proxies) send.
-- luacheck: no max line length (fixtures: AWS bodies, ARNs and expected messages read best unbroken)
local T = require "testing"
local errors = require "luaws.core.errors"
local model = require "luaws.sdk.model"
local protocol = require "luaws.sdk.protocol"

if require("xml_lite").install() then
  print("note: luaws.xml has no decode yet; using the test reader luaws.protocol.xml_lite")
end

local function parse_error(service, op_name, status, body, headers)
  local svc = model.load(service)
  local op = svc:operation(op_name)
  return protocol.for_service(svc).parse_error(svc, op, { status = status, headers = headers or {}, body = body })
end

---------------------------------------------------------------------------------------------
-- luaws.errors

T.test("errors.new prints one line with service, operation, code, message, status, request", function()
  local e = errors.new { code = "AccessDeniedException", service = "KMS", operation = "CreateGrant",
    message = "User: arn:aws:iam::2:user/x is not authorized\nto perform: kms:CreateGrant",
    status = 400, request_id = "8c1d2b7e" }
  T.eq(tostring(e), "KMS CreateGrant: AccessDeniedException: User: arn:aws:iam::2:user/x is not authorized"
    .. " to perform: kms:CreateGrant (HTTP 400, request 8c1d2b7e)")
  T.eq(e.retryable, false)
  T.eq(getmetatable(e).__name, "luaws.Error")
  T.eq(debug.getregistry()["luaws.Error"], getmetatable(e), "C code can find the metatable")
end)

T.test("errors.new without service or status stays readable", function()
  T.eq(tostring(errors.new { code = "ConnectionRefused", message = "connect to 127.0.0.1:1 failed", retryable = true }),
    "ConnectionRefused: connect to 127.0.0.1:1 failed")
  T.eq(tostring(errors.new {}), "Error")
end)

T.test("errors.is and is_error", function()
  local e = errors.new { code = "ThrottlingException" }
  T.ok(errors.is(e, "ThrottlingException"))
  T.ok(errors.is(e, "Throttling", "ThrottlingException"))
  T.ok(errors.is(e))
  T.ok(not errors.is(e, "Other"))
  T.ok(not errors.is({ code = "ThrottlingException" }, "ThrottlingException"), "plain tables are not luaws errors")
  T.ok(not errors.is("ThrottlingException", "ThrottlingException"))
  T.ok(errors.is_error(e))
end)

T.test("errors.raise raises the table itself; pcall users test e.code", function()
  local ok, e = pcall(errors.raise, { code = "X", message = "m", status = 500, retryable = true })
  T.eq(ok, false)
  T.eq(e.code, "X")
  T.eq(e.retryable, true)
  T.eq(tostring(e), "X: m (HTTP 500)")
end)

T.test("errors.wrap gives transport tables the same identity and fills context", function()
  local e = errors.wrap({ code = "Timeout", message = "no answer in 5 s", retryable = true },
    { service = "EC2", operation = "DescribeImages" })
  T.ok(errors.is(e, "Timeout"))
  T.eq(tostring(e), "EC2 DescribeImages: Timeout: no answer in 5 s")
  local s = errors.wrap("plain failure")
  T.eq(s.message, "plain failure")
  T.eq(errors.wrap(e), e)
end)

---------------------------------------------------------------------------------------------
-- JSON services

T.test("JSON __type with a namespace prefix, message, request id header", function()
  local e = parse_error("kms", "DescribeKey", 400,
    '{"__type":"com.amazonaws.kms#NotFoundException","message":"Key \'arn:aws:kms:us-east-1:1:key/x\' does not exist"}',
    { ["x-amzn-RequestId"] = "a1b2" })
  T.eq(e.code, "NotFoundException")
  T.eq(e.message, "Key 'arn:aws:kms:us-east-1:1:key/x' does not exist")
  T.eq(e.request_id, "a1b2")
  T.eq(e.status, 400)
  T.eq(e.type, "Sender")
end)

T.test("JSON code from x-amzn-ErrorType with its :suffix stripped, Message capitalised", function()
  local e = parse_error("organizations", "ListAccounts", 400, '{"Message":"You don\'t have permissions"}',
    { { "X-Amzn-ErrorType", "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/" } })
  T.eq(e.code, "AccessDeniedException")
  T.eq(e.message, "You don't have permissions")
end)

T.test("JSON __type with a :suffix", function()
  local e = parse_error("kms", "ListKeys", 400, '{"__type":"ThrottlingException:http://x","message":"Rate exceeded"}')
  T.eq(e.code, "ThrottlingException")
end)

T.test("a JSON service answering with an XML error (moto's KMS)", function()
  local body = '<?xml version="1.0" encoding="utf-8"?>\n<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code>'
    .. '<Message>The request signature we calculated does not match the signature you provided.</Message>'
    .. '<Type>Sender</Type></Error></Errors></ErrorResponse>'
  local e = parse_error("kms", "ListKeys", 403, body, { ["x-amzn-requestid"] = "moto-1" })
  T.eq(e.code, "SignatureDoesNotMatch")
  T.match(e.message, "^The request signature we calculated")
  T.eq(e.type, "Sender")
  T.eq(e.request_id, "moto-1")
end)

T.test("JSON error with an empty body and only the header", function()
  local e = parse_error("kms", "ListKeys", 400, "", { ["x-amzn-errortype"] = "UnrecognizedClientException:" })
  T.eq(e.code, "UnrecognizedClientException")
end)

---------------------------------------------------------------------------------------------
-- Query and EC2 services

T.test("query XML: ErrorResponse/Error with Type and RequestId", function()
  local body = [[<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <Error>
    <Type>Sender</Type>
    <Code>NoSuchEntity</Code>
    <Message>The role with name AWSServiceRoleForAutoScaling cannot be found.</Message>
  </Error>
  <RequestId>4d4a4c2a-EXAMPLE</RequestId>
</ErrorResponse>]]
  local e = parse_error("iam", "GetRole", 404, body)
  T.eq(e.code, "NoSuchEntity")
  T.eq(e.message, "The role with name AWSServiceRoleForAutoScaling cannot be found.")
  T.eq(e.type, "Sender")
  T.eq(e.request_id, "4d4a4c2a-EXAMPLE")
end)

T.test("query XML: throttling from Auto Scaling", function()
  local e = parse_error("autoscaling", "DescribeScalingActivities", 400,
    "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    .. "<RequestId>r9</RequestId></ErrorResponse>")
  T.eq(e.code, "Throttling")
  T.eq(e.request_id, "r9")
end)

T.test("EC2 XML: Response/Errors/Error and RequestID", function()
  local body = [[<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code><Message>The image id '[ami-0123]' does not exist</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>]]
  local e = parse_error("ec2", "DescribeImages", 400, body)
  T.eq(e.code, "InvalidAMIID.NotFound")
  T.eq(e.message, "The image id '[ami-0123]' does not exist")
  T.eq(e.request_id, "ea966190-f9aa-478e-9ede-example")
  T.eq(e.type, "Sender")
end)

T.test("EC2 AuthFailure as moto sends it (401)", function()
  local e = parse_error("ec2", "DescribeImages", 401,
    '<?xml version="1.0" encoding="utf-8"?>\n<ErrorResponse><Errors><Error><Code>AuthFailure</Code>'
    .. '<Message>AWS was not able to validate the provided access credentials</Message><Type>Sender</Type>'
    .. '</Error></Errors></ErrorResponse>', { ["x-amzn-requestid"] = "m2" })
  T.eq(e.code, "AuthFailure")
  T.eq(e.request_id, "m2")
end)

---------------------------------------------------------------------------------------------
-- Things that are not AWS errors at all

T.test("an HTML page from a proxy: HTTP<status> and the first bytes, clearly", function()
  local e = parse_error("sts", "GetCallerIdentity", 503,
    "<html><body><b>Http/1.1 Service Unavailable</b>\n\n</body></html>")
  T.eq(e.code, "HTTP503")
  T.eq(e.message, "HTTP 503 Service Unavailable, not an AWS error document: <html><body><b>Http/1.1 Service Unavailable</b> </body></html>")
  T.eq(e.type, "Receiver")
end)

T.test("an empty body", function()
  local e = parse_error("kms", "ListKeys", 500, "")
  T.eq(e.code, "HTTP500")
  T.eq(e.message, "HTTP 500 Internal Server Error with an empty body")
  local q = parse_error("ec2", "DescribeImages", 502, "  \n")
  T.eq(q.code, "HTTP502")
end)

T.test("plain text and broken JSON/XML are quoted, truncated to 200 bytes", function()
  local e = parse_error("iam", "ListRoles", 500, "Traceback (most recent call last):\n" .. string.rep("x", 400))
  T.eq(e.code, "HTTP500")
  T.match(e.message, "^HTTP 500 Internal Server Error, not an AWS error document: Traceback")
  T.ok(#e.message < 300)
  local j = parse_error("kms", "ListKeys", 400, "{not json")
  T.eq(j.code, "HTTP400")
  T.match(j.message, "unreadable JSON error: {not json")
  local x = parse_error("sts", "GetCallerIdentity", 400, "<ErrorResponse><Error><Code>")
  T.eq(x.code, "HTTP400")
end)

T.test("no secret is echoed from a request: parse_error reads only the response", function()
  local e = parse_error("sts", "AssumeRole", 403,
    "<ErrorResponse><Error><Code>AccessDenied</Code><Message>denied</Message></Error></ErrorResponse>")
  local line = tostring(errors.new { code = e.code, message = e.message, status = e.status, service = "STS",
    operation = "AssumeRole" })
  T.eq(line, "STS AssumeRole: AccessDenied: denied (HTTP 403)")
end)

T.test("unsupported protocols fail clearly", function()
  local svc = { name = "future", service_id = "Future", protocol = "rest-yaml", metadata = { protocols = { "rest-yaml" } } }
  local e = T.raises(function() protocol.for_service(svc) end)
  T.eq(e.code, "UnsupportedProtocol")
  T.match(e.message, "future speaks the rest%-yaml protocol, which luaws does not implement yet")
  local stub = protocol.unsupported("rest-yaml")
  local e2 = T.raises(function() stub.build(svc, {}, {}) end)
  T.eq(e2.code, "UnsupportedProtocol")
end)

T.done()
