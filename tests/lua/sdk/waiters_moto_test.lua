-- waiters_moto_test: client:wait on the local cloud (moto, SigV4 checking on) with the shipped
-- waiter definitions (svc:waiters()): EC2 instances running, stopped, terminated; image
-- available; an instance that never appears (timeout), one that is terminated (failure state);
-- DynamoDB tables that exist and stop existing.
local T = require "testing"
local cjson = require "cjson"
local localcloud = require "localcloud"

local BOOTSTRAP_REQUESTS = 3
local cloud = localcloud.start { auth = BOOTSTRAP_REQUESTS }
local REGION = "us-east-1"

local function client(service, credentials)
  return aws.client(service, { region = REGION, endpoint_url = cloud.url, credentials = credentials,
    max_attempts = 1 })
end

local CREDS
do
  local boot = { access_key = "AKIABOOTSTRAPEXAMPLE", secret_key = "bootstrapbootstrapbootstrapbootstrap" }
  local iam = client("iam", boot)
  iam:CreateUser { UserName = "luaws-waiter" }
  iam:PutUserPolicy { UserName = "luaws-waiter", PolicyName = "everything",
    PolicyDocument = cjson.encode { Version = "2012-10-17",
      Statement = { { Effect = "Allow", Action = "*", Resource = "*" } } } }
  local key = iam:CreateAccessKey { UserName = "luaws-waiter" }.AccessKey
  CREDS = { access_key = key.AccessKeyId, secret_key = key.SecretAccessKey }
end

local ec2 = client("ec2", CREDS)
local image_id, instance_id

T.test("image_available and instance_running succeed on real responses", function()
  image_id = ec2:RegisterImage { Name = "luaws-waiter-ami", RootDeviceName = "/dev/xvda",
    Architecture = "x86_64", VirtualizationType = "hvm" }.ImageId
  local last, attempts = ec2:wait("image_available", { ImageIds = { image_id } }, { delay = 0.05 })
  T.eq(last.Images[1].State, "available")
  T.ok(attempts >= 1)
  instance_id = ec2:RunInstances { ImageId = image_id, MinCount = 1, MaxCount = 1,
    InstanceType = "t3.micro" }.Instances[1].InstanceId
  last = ec2:wait("InstanceRunning", { InstanceIds = { instance_id } }, { delay = 0.05, max_attempts = 20 })
  T.eq(last.Reservations[1].Instances[1].State.Name, "running")
  T.eq(last.ResponseMetadata.HTTPStatusCode, 200)
end)

T.test("instance_stopped and instance_terminated follow the instance's state", function()
  ec2:StopInstances { InstanceIds = { instance_id } }
  ec2:wait("instance_stopped", { InstanceIds = { instance_id } }, { delay = 0.05, max_attempts = 20 })
  ec2:TerminateInstances { InstanceIds = { instance_id } }
  local last = ec2:wait("instance_terminated", { InstanceIds = { instance_id } }, { delay = 0.05, max_attempts = 20 })
  T.eq(last.Reservations[1].Instances[1].State.Name, "terminated")
end)

T.test("a terminated instance puts InstanceRunning in its failure state", function()
  local e = T.raises(function()
    ec2:wait("InstanceRunning", { InstanceIds = { instance_id } }, { delay = 0.05 })
  end)
  T.eq(e.code, "WaiterFailure")
  T.eq(e.waiter, "InstanceRunning")
  T.eq(e.acceptor.expected, "terminated")
  T.eq(e.attempts, 1)
  T.match(tostring(e), "^ec2 DescribeInstances: WaiterFailure: waiter InstanceRunning reached a failure state")
end)

T.test("an instance that never exists: retry on InvalidInstanceID.NotFound, then WaiterTimeout", function()
  local started = aws.now()
  local e = T.raises(function()
    ec2:wait("InstanceExists", { InstanceIds = { "i-0123456789abcdef0" } }, { delay = 0.05, max_attempts = 3 })
  end)
  T.eq(e.code, "WaiterTimeout")
  T.eq(e.attempts, 3)
  T.eq(e.last_response.Error.Code, "InvalidInstanceID.NotFound")
  T.ok(aws.now() - started >= 0.1, "slept between attempts")
end)

T.test("a wrong secret is a failure at once (no acceptor expects AuthFailure)", function()
  local wrong = client("ec2", { access_key = CREDS.access_key, secret_key = "wrongwrongwrongwrongwrong" })
  local e = T.raises(function() wrong:wait("InstanceExists", { InstanceIds = { instance_id } }) end)
  T.eq(e.code, "WaiterFailure")
  T.eq(e.error.code, "AuthFailure")
  T.eq(e.attempts, 1)
end)

T.test("dynamodb table_exists and table_not_exists", function()
  local ddb = client("dynamodb", CREDS)
  ddb:CreateTable { TableName = "luaws-waiter", BillingMode = "PAY_PER_REQUEST",
    AttributeDefinitions = { { AttributeName = "id", AttributeType = "S" } },
    KeySchema = { { AttributeName = "id", KeyType = "HASH" } } }
  local last = ddb:wait("table_exists", { TableName = "luaws-waiter" }, { delay = 0.05, max_attempts = 20 })
  T.eq(last.Table.TableStatus, "ACTIVE")
  ddb:DeleteTable { TableName = "luaws-waiter" }
  local _, attempts = ddb:wait("TableNotExists", { TableName = "luaws-waiter" }, { delay = 0.05 })
  T.eq(attempts, 1)
  local e = T.raises(function()
    ddb:wait("TableExists", { TableName = "luaws-waiter" }, { delay = 0, max_attempts = 2 })
  end)
  T.eq(e.code, "WaiterTimeout")
  T.eq(e.last_response.Error.Code, "ResourceNotFoundException")
end)

T.test("dynamodb Scan pages on a map token (LastEvaluatedKey); paginate_all adds up Count", function()
  local ddb = client("dynamodb", CREDS)
  ddb:CreateTable { TableName = "luaws-pages", BillingMode = "PAY_PER_REQUEST",
    AttributeDefinitions = { { AttributeName = "id", AttributeType = "S" } },
    KeySchema = { { AttributeName = "id", KeyType = "HASH" } } }
  ddb:wait("TableExists", { TableName = "luaws-pages" }, { delay = 0.05 })
  for i = 1, 7 do ddb:PutItem { TableName = "luaws-pages", Item = { id = { S = "item-" .. i } } } end
  local ids, pages = {}, 0
  for page in ddb:paginate("Scan", { TableName = "luaws-pages" }, { page_size = 3 }) do
    pages = pages + 1
    for _, item in ipairs(page.Items) do ids[#ids + 1] = item.id.S end
  end
  table.sort(ids)
  T.eq(#ids, 7)
  T.eq(ids[1], "item-1")
  T.ok(pages >= 3, "pages of 3: " .. pages)
  local full = ddb:paginate_all("Scan", { TableName = "luaws-pages" }, { page_size = 2 })
  T.eq(#full.Items, 7)
  T.eq(full.Count, 7, "Count is a result key: summed over the pages")
  local some = {}
  for item in ddb:paginate("Scan", { TableName = "luaws-pages" }, { items = true, page_size = 3, max_items = 4 }) do
    some[#some + 1] = item
  end
  T.eq(#some, 4)
end)

T.test("iam role_exists (query protocol, a status matcher) and a NoSuchEntity timeout", function()
  local iam = client("iam", CREDS)
  iam:CreateRole { RoleName = "luaws-waited", AssumeRolePolicyDocument = cjson.encode { Version = "2012-10-17",
    Statement = { { Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" } } } }
  local last, attempts = iam:wait("role_exists", { RoleName = "luaws-waited" })
  T.eq(attempts, 1)
  T.eq(last.Role.RoleName, "luaws-waited")
  local e = T.raises(function() iam:wait("RoleExists", { RoleName = "nobody" }, { delay = 0, max_attempts = 2 }) end)
  T.eq(e.code, "WaiterTimeout")
  T.eq(e.last_response.Error.Code, "NoSuchEntity")
  T.eq(e.last_response.ResponseMetadata.HTTPStatusCode, 404)
end)

cloud.stop()
T.done()
