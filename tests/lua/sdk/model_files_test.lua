-- model_files_test: botocore-format models in AWS_DATA_PATH and ~/.aws/models are used with botocore's precedence.
local T = require "testing"
local config = require "luaws.sdk.config"
local errors = require "luaws.core.errors"

local cjson = require "cjson"

local function mkdir(path) assert(os.execute("mkdir -p '" .. path .. "'")) end

local function write(path, text)
  mkdir(path:match("^(.*)/[^/]*$"))
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- A small botocore service-2 model; `extra_op` names one more operation (tells versions apart).
local function service2(endpoint_prefix, api_version, extra_op)
  local ops = {
    ListThings = { name = "ListThings", http = { method = "POST", requestUri = "/" },
                   input = { shape = "ListThingsRequest" }, output = { shape = "ListThingsResponse" },
                   errors = { { shape = "Boom" } }, documentation = "<p>Lists the <b>things</b>. More text.</p>" },
  }
  if extra_op then
    ops[extra_op] = { name = extra_op, http = { method = "GET", requestUri = "/x/{Id}", responseCode = 201 },
                      input = { shape = "ListThingsRequest" } }
  end
  return cjson.encode({
    version = "2.0",
    metadata = { apiVersion = api_version, endpointPrefix = endpoint_prefix, protocol = "json",
                 jsonVersion = "1.1", serviceId = "Tiny", signatureVersion = "v4",
                 targetPrefix = "Tiny_" .. api_version:gsub("-", ""), uid = "tiny-" .. api_version },
    operations = ops,
    shapes = {
      ListThingsRequest = { type = "structure", members = {
        NextToken = { shape = "Token" }, Id = { shape = "Token", location = "uri", locationName = "Id" } } },
      ListThingsResponse = { type = "structure", members = {
        Things = { shape = "ThingList", documentation = "The things." }, NextToken = { shape = "Token" } } },
      ThingList = { type = "list", member = { shape = "Token" } },
      Token = { type = "string", max = 64, enum = { "a", "b" } },
      Boom = { type = "structure", members = {}, exception = true, error = { httpStatusCode = 409 } },
    },
  })
end

local PAGES = cjson.encode({ pagination = { ListThings = {
  input_token = "NextToken", output_token = "NextToken", result_key = "Things" } } })
local WAITERS = cjson.encode({ version = 2, waiters = { ThingsExist = {
  operation = "ListThings", delay = 5, maxAttempts = 3,
  acceptors = { { state = "success", matcher = "path", argument = "length(Things) > `0`", expected = true } } } } })
local RULES = cjson.encode({ version = "1.0", parameters = { Region = { type = "String", builtIn = "AWS::Region" } },
  rules = { { type = "endpoint", conditions = {},
              endpoint = { url = "https://tiny.example", properties = {}, headers = {} } } } })

-- Runs fn(model) with a fresh luaws.sdk.model module and the environment `env`.
local function with_env(env, fn)
  local saved = package.loaded["luaws.sdk.model"]
  package.loaded["luaws.sdk.model"] = nil
  config.set_env(env)
  local ok, err = pcall(fn, require "luaws.sdk.model")
  config.set_env(nil)
  package.loaded["luaws.sdk.model"] = saved
  if not ok then error(err, 0) end
end

local root = T.tempdir()
local home, data1, data2 = root .. "/home", root .. "/data1", root .. "/data2"

-- tinysvc: only in AWS_DATA_PATH (data2), with paginators, waiters and rules beside it.
write(data2 .. "/tinysvc/2020-01-01/service-2.json", service2("tiny", "2020-01-01"))
write(data2 .. "/tinysvc/2020-01-01/paginators-1.json", PAGES)
write(data2 .. "/tinysvc/2020-01-01/waiters-2.json", WAITERS)
write(data2 .. "/tinysvc/2020-01-01/endpoint-rule-set-1.json", RULES)
-- homesvc: only in ~/.aws/models, two versions: the newest wins.
write(home .. "/.aws/models/homesvc/2019-01-01/service-2.json", service2("home", "2019-01-01", "OldOp"))
write(home .. "/.aws/models/homesvc/2021-06-30/service-2.json", service2("home", "2021-06-30", "NewOp"))
-- kms: a newer preview in ~/.aws/models wins over the shipped 2014-11-01; sts: an older one loses.
write(home .. "/.aws/models/kms/2099-01-01/service-2.json", service2("kms", "2099-01-01", "PreviewOp"))
write(home .. "/.aws/models/sts/2000-01-01/service-2.json", service2("sts", "2000-01-01", "AncientOp"))
-- samesvc in both: AWS_DATA_PATH (data1) comes before ~/.aws/models for the same version.
write(data1 .. "/samesvc/2020-01-01/service-2.json", service2("same", "2020-01-01", "FromDataPath"))
write(home .. "/.aws/models/samesvc/2020-01-01/service-2.json", service2("same", "2020-01-01", "FromHome"))

local ENV = { HOME = home, AWS_DATA_PATH = data1 .. ":" .. data2 }

T.test("search paths: AWS_DATA_PATH entries, then ~/.aws/models", function()
  with_env({ HOME = home, AWS_DATA_PATH = "~/a:/b" }, function(model)
    T.same(model.search_paths(), { home .. "/a", "/b", home .. "/.aws/models" })
  end)
end)

T.test("a model under AWS_DATA_PATH is used, with its paginators, waiters and rules", function()
  with_env(ENV, function(model)
    local svc = model.load("tinysvc")
    T.eq(model.loaded_from.tinysvc, data2 .. "/tinysvc/2020-01-01/service-2.json")
    T.eq(svc.protocol, "json")
    T.eq(svc.signing_name, "tiny")
    T.eq(svc.target_prefix, "Tiny_20200101")
    local op = svc:operation("list_things")
    T.eq(op.name, "ListThings")
    T.eq(op.output.by_name.Things.shape.member.target, "string")
    T.eq(op.input.by_name.NextToken.target, "string")
    T.eq(svc:error_shape("Boom").error.status, 409)
    T.same(svc:paginator("ListThings").result_key, { "Things" })
    T.eq(svc:waiters().waiters.ThingsExist.maxAttempts, 3)
    T.eq(svc:rules().rules[1].endpoint.url, "https://tiny.example")
    local docs = svc:docs()
    T.eq(docs.operations.ListThings, "Lists the things.")
    T.eq(docs.shapes.ListThingsResponse.members.Things, "The things.")
    T.same(docs.shapes.Token.enum, { "a", "b" })
    T.eq(docs.shapes.Token.max, 64)
  end)
end)

T.test("a model under ~/.aws/models is used; the newest api version wins", function()
  with_env(ENV, function(model)
    local svc = model.load("homesvc")
    T.eq(svc.api_version, "2021-06-30")
    T.ok(svc:has_operation("NewOp") and not svc:has_operation("OldOp"))
    local op = svc:operation("NewOp")
    T.same({ op.http.method, op.http.path, op.http.status }, { "GET", "/x/{Id}", 201 })
    T.eq(op.input.by_name.Id.location, "uri")
    T.eq(svc:paginator("ListThings"), nil, "no paginators-1.json beside it")
    T.eq(svc:waiters(), nil)
    T.eq(svc:rules(), nil)
  end)
end)

T.test("user models against the shipped ones: newer wins, older loses, AWS_DATA_PATH first", function()
  with_env(ENV, function(model)
    local kms = model.load("kms")
    T.eq(kms.api_version, "2099-01-01")
    T.ok(kms:has_operation("PreviewOp"))
    local sts = model.load("sts")
    T.eq(sts.api_version, "2011-06-15", "the shipped sts is newer than the user's")
    T.ok(not sts:has_operation("AncientOp"))
    T.ok(sts:rules() ~= nil, "shipped siblings")
    T.ok(model.load("samesvc"):has_operation("FromDataPath"))
    local names = model.services()
    local set = {}
    for _, n in ipairs(names) do set[n] = true end
    T.ok(set.tinysvc and set.homesvc and set.samesvc and set.ec2, "services() lists user models too")
  end)
  with_env({ HOME = home }, function(model)
    T.ok(model.load("samesvc"):has_operation("FromHome"), "without AWS_DATA_PATH, ~/.aws/models")
    local e = T.raises(function() model.load("tinysvc") end)
    T.ok(errors.is(e, "UnknownService"))
  end)
end)

T.test("a broken model file is a one-line error naming the file", function()
  local dir = T.tempdir()
  write(dir .. "/brokensvc/2020-01-01/service-2.json", '{"metadata": {"apiVersion": "2020-01-01", ')
  write(dir .. "/badshape/2020-01-01/service-2.json", service2("bad", "2020-01-01"):gsub('"ThingList"', '"Nope"', 1))
  write(dir .. "/badpages/2020-01-01/service-2.json", service2("pages", "2020-01-01"))
  write(dir .. "/badpages/2020-01-01/paginators-1.json", "{nope")
  write(dir .. "/gzsvc/2020-01-01/service-2.json.gz", "\31\139")
  with_env({ HOME = home, AWS_DATA_PATH = dir }, function(model)
    for name, file in pairs({ brokensvc = "service-2.json", badshape = "service-2.json",
                              badpages = "paginators-1.json", gzsvc = "service-2.json.gz" }) do
      local e = T.raises(function() model.load(name) end)
      T.ok(errors.is(e, "InvalidModel"), name .. ": " .. tostring(e))
      local path = dir .. "/" .. name .. "/2020-01-01/" .. file
      T.ok(e.message:find(path, 1, true), name .. " names " .. path .. ": " .. e.message)
      T.ok(not tostring(e):find("\n"), "one line")
    end
  end)
end)

T.test("the JSON reader keeps member order and rejects malformed text with a message", function()
  local convert = require "luaws.sdk.model_convert"
  local v = assert(convert.decode_json('{"z":1,"a":[1e3,-0.5,"\\u00e9\\ud83d\\ude00",true,false,null],"m":{}}'))
  T.same(convert.keys(v), { "z", "a", "m" })
  T.eq(v.a[1], 1000)
  T.eq(v.a[3], "\u{e9}\u{1F600}")
  T.eq(v.a[5], false)
  for _, bad in ipairs({ "1.5e", "-", "[1,", '{"a":}', '"\\u12"', '"\\x"', '{"a":1}x', "", string.rep("[", 300) }) do
    local value, err = convert.decode_json(bad)
    T.eq(value, nil, bad)
    T.eq(type(err), "string", bad)
  end
end)

T.test("end to end: luaws with HOME and AWS_DATA_PATH set", function()
  local bin = os.getenv("LUAWS_BIN")
  if not bin then print("  skipped: LUAWS_BIN is not set"); return end
  local script = root .. "/probe.lua"
  write(script, [[
local aws = require "luaws"
local model = require "luaws.sdk.model"
local names = {}
for _, n in ipairs(aws.services()) do names[n] = true end
io.write(tostring(names.tinysvc), " ", tostring(names.homesvc), " ",
         model.load("tinysvc"):operation("ListThings").name, " ", model.load("homesvc").api_version)
]])
  local cmd = string.format("HOME='%s' AWS_DATA_PATH='%s' '%s' '%s' 2>&1", home, data2, bin, script)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  T.eq(out, "true true ListThings 2021-06-30")
end)

os.execute("rm -rf '" .. root .. "'")
T.done()
