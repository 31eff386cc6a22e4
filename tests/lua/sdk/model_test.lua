-- model_test: service models load from the committed data, resolve shapes and forgive typos helpfully.
-- luacheck: no max line length (fixtures: AWS bodies, ARNs and expected messages read best unbroken)
local T = require "testing"
local model = require "luaws.sdk.model"
local errors = require "luaws.core.errors"

T.test("the six services load with their metadata", function()
  local expect = {
    kms = { "json", "kms", "kms", "2014-11-01", "KMS" },
    sts = { "query", "sts", "sts", "2011-06-15", "STS" },
    iam = { "query", "iam", "iam", "2010-05-08", "IAM" },
    autoscaling = { "query", "autoscaling", "autoscaling", "2011-01-01", "Auto Scaling" },
    ec2 = { "ec2", "ec2", "ec2", "2016-11-15", "EC2" },
    organizations = { "json", "organizations", "organizations", "2016-11-28", "Organizations" },
  }
  for name, e in pairs(expect) do
    local svc = model.load(name)
    T.eq(svc.name, name)
    T.eq(svc.protocol, e[1], name)
    T.eq(svc.signing_name, e[2], name)
    T.eq(svc.endpoint_prefix, e[3], name)
    T.eq(svc.api_version, e[4], name)
    T.eq(svc.service_id, e[5], name)
  end
  T.eq(model.load("kms").target_prefix, "TrentService")
  T.eq(model.load("kms").json_version, "1.1")
  T.eq(model.load("organizations").target_prefix, "AWSOrganizationsV20161128")
  local names = model.services()
  T.ok(#names >= 400, "every botocore service is shipped: " .. #names)
  local sorted = { table.unpack(names) }
  table.sort(sorted)
  T.same(names, sorted)
  local set = {}
  for _, n in ipairs(names) do set[n] = true end
  for _, n in ipairs({ "s3", "ssm", "dynamodb", "lambda", "route53", "cloudtrail", "sso-oidc", "kms", "ec2" }) do
    T.ok(set[n], n .. " is in model.services()")
  end
end)

T.test("global endpoint hints", function()
  T.eq(model.load("sts").global_endpoint, "sts.amazonaws.com")
  local iam = model.load("iam").partition_endpoints
  T.same(iam.aws, { name = "aws-global", hostname = "iam.amazonaws.com", region = "us-east-1" })
  T.eq(iam["aws-cn"].hostname, "iam.cn-north-1.amazonaws.com.cn")
  T.eq(iam["aws-us-gov"].region, "us-gov-west-1")
  T.eq(model.load("organizations").partition_endpoints.aws.hostname, "organizations.us-east-1.amazonaws.com")
  T.eq(model.load("kms").partition_endpoints, nil)
end)

T.test("load is cached", function()
  T.eq(model.load("kms"), model.load("kms"))
end)

T.test("operations: shapes, http, errors, tokens, auth", function()
  local kms = model.load("kms")
  local op = kms:operation("CreateGrant")
  T.eq(op.name, "CreateGrant")
  T.eq(op.input.name, "CreateGrantRequest")
  T.eq(op.output.name, "CreateGrantResponse")
  T.same(op.http, { method = "POST", path = "/" })
  T.ok(#op.errors > 3)
  T.eq(op.deprecated, false)
  T.same(op.input.required, { "KeyId", "GranteePrincipal", "Operations" })
  T.ok(op.input.required_set.KeyId)
  T.eq(op.input.by_name.Operations.shape.type, "list")
  T.eq(op.input.by_name.Operations.shape.member.shape.type, "string")
  T.eq(op.input.by_name.Constraints.shape.by_name.EncryptionContextSubset.shape.type, "map")

  local ec2 = model.load("ec2")
  T.same(ec2:operation("RunInstances").idempotency_tokens, { "ClientToken" })
  T.eq(ec2:operation("RunInstances").output.name, "Reservation")
  T.eq(model.load("sts"):operation("AssumeRoleWithWebIdentity").auth, "none")
  T.eq(model.load("sts"):operation("AssumeRole").auth, nil)
  T.eq(model.load("sts"):operation("AssumeRole").result_wrapper, "AssumeRoleResult")
  T.eq(kms:operation("CreateAlias").output, nil, "operations without output")
end)

-- None of the six services has a deprecated operation today; a model written the way the
-- generator writes one (tools/gen_services.py s3 would give GetBucketLifecycle) shows the flag.
T.test("deprecated operations are flagged", function()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir .. "/luaws/sdk/services"))
  local f = assert(io.open(dir .. "/luaws/sdk/services/legacytest.lua", "w"))
  f:write([==[return {
metadata={apiVersion="2020-01-01",endpointPrefix="legacy",protocol="json",serviceId="Legacy",signingName="legacy"},
operations={Old={deprecated=true,input="OldRequest"},New={input="OldRequest"}},
shapes={OldRequest=[[{members={{"A","string"}},type="structure"}]]},
paginators={},
}
]==])
  f:close()
  local saved = package.path
  package.path = dir .. "/?.lua;" .. package.path
  local ok, svc = pcall(model.load, "legacytest")
  package.path = saved
  os.execute("rm -rf " .. dir)
  T.ok(ok, tostring(svc))
  T.eq(svc:operation("Old").deprecated, true)
  T.eq(svc:operation("New").deprecated, false)
  T.eq(svc.signing_name, "legacy")
end)

T.test("refs carry serialisation traits (EC2 locationName/queryName, sensitive)", function()
  local ec2 = model.load("ec2")
  local req = ec2:operation("DescribeImages").input
  T.eq(req.by_name.ImageIds.locationName, "ImageId")
  T.eq(req.by_name.DryRun.locationName, "dryRun")
  local image = ec2:shape("Image")
  T.eq(image.by_name.BlockDeviceMappings.locationName, "blockDeviceMapping")
  T.eq(image.by_name.BlockDeviceMappings.shape.member.locationName, "item")
  local creds = model.load("sts"):shape("Credentials")
  T.eq(creds.by_name.SecretAccessKey.sensitive, true)
  T.eq(creds.by_name.Expiration.shape.type, "timestamp")
  T.eq(model.load("ec2"):operation("RunInstances").input.by_name.ClientToken.idempotencyToken, true)
end)

T.test("operation lookup forgives case and snake_case", function()
  local kms = model.load("kms")
  T.eq(kms:operation("create_grant").name, "CreateGrant")
  T.eq(kms:operation("creategrant").name, "CreateGrant")
  T.eq(kms:operation("CREATE_GRANT").name, "CreateGrant")
  T.eq(model.load("ec2"):operation("describe_images").name, "DescribeImages")
  T.ok(kms:has_operation("list_grants"))
  T.ok(not kms:has_operation("ListGrnts"))
end)

T.test("unknown operations name the close ones", function()
  local kms = model.load("kms")
  local e = T.raises(function() kms:operation("CreateGrnt") end)
  T.ok(errors.is(e, "UnknownOperation"))
  T.eq(e.message, "kms has no operation 'CreateGrnt' (did you mean CreateGrant?)")
  T.eq(tostring(e), "KMS: UnknownOperation: kms has no operation 'CreateGrnt' (did you mean CreateGrant?)")
  local e2 = T.raises(function() kms:operation("ListGrant") end)
  T.match(e2.message, "did you mean ListGrants")
  local e3 = T.raises(function() kms:operation("Frobnicate") end)
  T.eq(e3.message, "kms has no operation 'Frobnicate'")
  local e4 = T.raises(function() model.load("ec2"):operation("describe_image") end)
  T.match(e4.message, "did you mean DescribeImages")
  local e5 = T.raises(function() model.load("iam"):operation("Role") end)
  T.match(e5.message, "did you mean ")
end)

T.test("unknown services name the close ones", function()
  local e = T.raises(function() model.load("kmss") end)
  T.ok(errors.is(e, "UnknownService"))
  T.match(e.message, "^no service model named 'kmss' %(did you mean kms[,?]")
  T.eq(e.suggestions[1], "kms")
  T.match(T.raises(function() model.load("ssooidc") end).message, "did you mean sso%-oidc%?")
  T.match(T.raises(function() model.load("dynamo") end).message, "did you mean dynamodb")
  T.match(T.raises(function() model.load("secretmanager") end).message, "did you mean secretsmanager")
  local e2 = T.raises(function() model.load("../etc/passwd") end)
  T.ok(errors.is(e2, "UnknownService"))
  T.ok(errors.is(T.raises(function() model.load("index") end), "UnknownService"), "the index is no service")
  T.ok(errors.is(T.raises(function() model.load("s3.rules") end), "UnknownService"))
end)

T.test("paginators are normalised to arrays", function()
  local p = model.load("kms"):paginator("ListGrants")
  T.same(p.input_token, { "Marker" })
  T.same(p.output_token, { "NextMarker" })
  T.same(p.result_key, { "Grants" })
  T.eq(p.more_results, "Truncated")
  T.eq(p.limit_key, "Limit")
  local d = model.load("ec2"):paginator("describe_images")
  T.same(d.output_token, { "NextToken" })
  T.same(d.result_key, { "Images" })
  T.same(model.load("autoscaling"):paginator("DescribeScalingActivities").result_key, { "Activities" })
  T.same(model.load("iam"):paginator("ListRoles").input_token, { "Marker" })
  T.eq(model.load("kms"):paginator("CreateGrant"), nil)
end)

T.test("modeled errors by code", function()
  local s = model.load("kms"):error_shape("NotFoundException")
  T.eq(s.exception, true)
  T.eq(s.error.code, "NotFoundException")
  local iam = model.load("iam"):error_shape("NoSuchEntity")
  T.eq(iam.name, "NoSuchEntityException")
  T.eq(iam.error.status, 404)
  T.eq(iam.error.sender, true)
  T.eq(model.load("kms"):error_shape("Nope"), nil)
  local cw = model.load("cloudwatch")
  local by_code = cw:error_shape("InternalServiceError")
  T.eq(by_code and by_code.name, "InternalServiceFault")
  T.eq(cw:error_shape("InternalServiceFault"), by_code, "and by shape name (__type)")
  T.eq(cw:error_shape("ResourceNotFound").name, "ResourceNotFound", "a shape named as the code wins")
  T.eq(cw:error_shape("DashboardNotFoundError").error.code, "ResourceNotFound")
end)

T.test("rules, waiters and docs load on demand", function()
  local s3 = model.load("s3")
  T.eq(s3._siblings.rules, nil, "not loaded with the model")
  local rules = s3:rules()
  T.eq(rules.version, "1.0")
  T.eq(rules.parameters.Bucket.type, "string")
  T.ok(#rules.rules > 0)
  T.eq(s3:rules(), rules, "cached")
  local host = require "luaws.host"
  if host.models_dir then
    T.eq(model.loaded_from["s3.rules"], host.models_dir .. "/s3.rules.luac", "rules from build-time bytecode")
  end
  local w = s3:waiters()
  T.eq(w.version, 2)
  T.eq(w.waiters.BucketExists.operation, "HeadBucket")
  T.eq(model.load("sts"):waiters(), nil, "STS has no waiters")
  local docs = model.load("kms"):docs()
  T.match(docs.operations.CreateGrant, "^Adds a grant to a KMS key%.")
  T.ok(not docs.operations.CreateGrant:find("<", 1, true), "HTML stripped")
  T.match(docs.shapes.CreateGrantRequest.members.KeyId, "^Identifies the KMS key")
  local spec = docs.shapes.KeySpec
  T.ok(spec and #spec.enum > 5, "enums in docs")
  T.eq(docs.shapes.GrantNameType.max, 256)
  -- Scalars are inlined in the model; the docs name the shape behind a member (or list member).
  T.eq(docs.shapes.CreateGrantRequest.targets.KeyId, "KeyIdType")
  T.eq(docs.shapes.CreateGrantRequest.targets.Name, "GrantNameType")
  T.eq(docs.shapes.GrantOperationList.targets.member, "GrantOperation")
  T.ok(#docs.shapes.GrantOperation.enum > 10)
  T.eq(docs.shapes.CreateKeyRequest.targets.KeySpec, nil, "not when the shape has the member's name")
end)

T.test("the model keeps the traits the protocols need", function()
  local s3 = model.load("s3")
  local put = s3:operation("PutObject")
  T.same({ put.http.method, put.http.path }, { "PUT", "/{Bucket}/{Key+}" })
  T.eq(put.http_checksum.requestAlgorithmMember, "ChecksumAlgorithm")
  T.eq(put.input.by_name.Body.streaming, true)
  T.eq(put.input.by_name.Bucket.location, "uri")
  T.eq(put.input.by_name.Bucket.contextParam.name, "Bucket")
  T.eq(put.input.by_name.Metadata.location, "headers")
  T.eq(put.input.by_name.Metadata.locationName, "x-amz-meta-")
  T.eq(put.input.payload, "Body")
  T.eq(s3:operation("DeleteObjects").http_checksum.requestChecksumRequired, true)
  T.eq(s3.metadata.clientContextParams.ForcePathStyle.type, "boolean")
  T.eq(s3:operation("ListObjectsV2").static_context_params, nil)
  T.same(s3:operation("CreateBucket").static_context_params.DisableAccessPoints, { value = true })
  T.eq(s3:operation("CreateBucket").input.by_name.CreateBucketConfiguration.xmlNamespace.uri,
       "http://s3.amazonaws.com/doc/2006-03-01/")
  local r53 = model.load("route53"):operation("ChangeResourceRecordSets")
  T.eq(r53.input_traits.locationName, "ChangeResourceRecordSetsRequest")
  T.eq(r53.input_traits.xmlNamespace.uri, "https://route53.amazonaws.com/doc/2013-04-01/")
  T.eq(model.load("sqs").metadata.awsQueryCompatible, true)
  T.eq(model.load("sqs").query_compatible, true)
  local bedrock = model.load("bedrock-runtime"):operation("ConverseStream")
  local stream = bedrock.output.by_name.stream
  T.eq(stream.shape.eventstream, true)
  local lambda = model.load("lambda"):operation("Invoke")
  T.eq(lambda.http.path, "/2015-03-31/functions/{FunctionName}/invocations")
  T.eq(lambda.input.by_name.InvocationType.locationName, "X-Amz-Invocation-Type")
  T.eq(model.load("s3control"):operation("GetAccessPoint").host_prefix, "{AccountId}.")
  T.eq(model.load("s3control"):operation("GetAccessPoint").input.by_name.AccountId.hostLabel, true)
  T.eq(model.load("cloudwatch").protocol, "smithy-rpc-v2-cbor")
  T.eq(model.load("sso-oidc").signing_name, "sso-oauth")
  T.eq(model.load("sso-oidc"):operation("CreateToken").auth, "none")
end)

T.test("paginators keep botocore's full definition", function()
  local p = model.load("s3"):paginator("ListObjectsV2")
  T.same(p.result_key, { "Contents", "CommonPrefixes" })
  T.eq(p.limit_key, "MaxKeys")
  T.same(p.raw.result_key, { "Contents", "CommonPrefixes" })
  local parts = model.load("s3"):paginator("ListParts")
  T.ok(#parts.non_aggregate_keys > 0, "non_aggregate_keys kept")
  T.eq(model.load("s3"):paginator("ListObjects").more_results, "IsTruncated")
end)

T.test("ec2 loads lazily and quickly enough (measured)", function()
  package.loaded["luaws.sdk.model"] = nil
  local fresh = require "luaws.sdk.model"
  local t0 = os.clock()
  local ec2 = fresh.load("ec2")
  local loaded = os.clock() - t0
  ec2:operation("DescribeImages")
  local n = 0
  for _ in pairs(ec2._data.shapes) do n = n + 1 end
  local decoded = 0
  for _ in pairs(ec2._shapes) do decoded = decoded + 1 end
  print(string.format("  ec2: %d shapes, load %.1f ms CPU, %d shapes decoded for DescribeImages", n, loaded * 1000, decoded))
  T.ok(decoded < n / 10, "shapes are decoded on demand")
  T.eq(type(ec2._data.shapes.Image), "string")
  package.loaded["luaws.sdk.model"] = model
end)

T.done()
