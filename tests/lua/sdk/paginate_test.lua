-- paginate_test: luaws.sdk.paginate follows botocore paginators: JMESPath tokens, more_results,
-- several and nested result keys, non_aggregate_keys, limits, repeated tokens, full results.
local T = require "testing"
local fakeserver = require "fakeserver"
local paginate = require "luaws.sdk.paginate"

local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = deep_copy(x) end
  return out
end

-- A client stand-in: pages (fresh copies) from a list, requests recorded.
local function scripted(config, pages)
  local sent, n = {}, 0
  local client = { service_name = "svc", service = {
    paginator = function(_, op) return config and { raw = config, operation = op } or nil end } }
  function client.call(_, op, params)
    n = n + 1
    local copy = {}
    for k, v in pairs(params) do copy[k] = v end
    sent[#sent + 1] = { op = op, params = copy }
    return deep_copy(assert(pages[n], "asked for a page too many"))
  end
  return client, sent
end

local S3_LIST = { input_token = "Marker", output_token = "NextMarker || Contents[-1].Key",
  more_results = "IsTruncated", limit_key = "MaxKeys", result_key = { "Contents", "CommonPrefixes" } }

T.test("S3 ListObjects: token from NextMarker or the last key, two result keys, more_results", function()
  local client, sent = scripted(S3_LIST, {
    { IsTruncated = true, Contents = { { Key = "a" }, { Key = "b" } }, CommonPrefixes = { { Prefix = "p/" } } },
    { IsTruncated = true, NextMarker = "m2", Contents = { { Key = "c" } } },
    { IsTruncated = false, NextMarker = "ignored", Contents = { { Key = "d" } },
      CommonPrefixes = { { Prefix = "q/" } } },
  })
  local items = {}
  for item in paginate.items(client, "ListObjects", { Bucket = "b" }, { page_size = 2 }) do
    items[#items + 1] = item.Key or item.Prefix
  end
  T.same(items, { "a", "b", "p/", "c", "d", "q/" })
  T.eq(#sent, 3)
  T.same(sent[1].params, { Bucket = "b", MaxKeys = 2 })
  T.same(sent[2].params, { Bucket = "b", MaxKeys = 2, Marker = "b" }, "Contents[-1].Key when no NextMarker")
  T.same(sent[3].params, { Bucket = "b", MaxKeys = 2, Marker = "m2" })
end)

T.test("a page without the first result key still yields the second's items", function()
  local client = scripted(S3_LIST, {
    { IsTruncated = true, NextMarker = "m1", Contents = { { Key = "a" } } },
    { IsTruncated = false, CommonPrefixes = { { Prefix = "q/" } } },  -- S3's last page, no Contents
  })
  local items = {}
  for item in paginate.items(client, "ListObjects", { Bucket = "b" }) do items[#items + 1] = item.Key or item.Prefix end
  T.same(items, { "a", "q/" })
end)

T.test("nested and projected result keys; several input tokens", function()
  local config = { input_token = { "NextToken", "Start" }, output_token = { "Page.Next", "Page.Start" },
    result_key = { "Reservations[].Instances[]", "Summary.Items" } }
  local client, sent = scripted(config, {
    { Page = { Next = "n1", Start = 5 }, Reservations = { { Instances = { { Id = "i-1" }, { Id = "i-2" } } },
      { Instances = {} } }, Summary = { Items = { "s1" } } },
    { Page = {}, Reservations = { { Instances = { { Id = "i-3" } } } } },
  })
  local ids = {}
  for item in paginate.items(client, "DescribeThings", {}) do ids[#ids + 1] = item.Id or item end
  T.same(ids, { "i-1", "i-2", "s1", "i-3" })
  T.same(sent[2].params, { NextToken = "n1", Start = 5 })
  local full = paginate.full_result(scripted(config, {
    { Page = { Next = "n1" }, Summary = { Items = { "a" } } },
    { Summary = { Items = { "b", "c" } } } }), "DescribeThings", {})
  T.same(full, { Summary = { Items = { "a", "b", "c" } } })
end)

T.test("full result: lists joined, numbers added, non_aggregate_keys from the first page", function()
  local config = { input_token = "Marker", output_token = "Marker", result_key = { "Users", "Count" },
    non_aggregate_keys = { "Group", "Meta.Owner" } }
  local full = paginate.full_result(scripted(config, {
    { Marker = "m", Users = { "u1" }, Count = 1, Group = { Name = "g" }, Meta = { Owner = "o", X = 1 } },
    { Users = { "u2", "u3" }, Count = 2, Group = { Name = "changed" } } }), "GetGroup", {})
  T.same(full, { Users = { "u1", "u2", "u3" }, Count = 3, Group = { Name = "g" }, Meta = { Owner = "o" } })
end)

T.test("empty tokens end paging; a repeated token is PaginationError after its page", function()
  local config = { input_token = "NextToken", output_token = "NextToken", result_key = "Items" }
  local client = scripted(config, { { NextToken = "", Items = { 1 } } })
  local n = 0
  for _ in paginate.pages(client, "List", {}) do n = n + 1 end
  T.eq(n, 1)
  client = scripted(config, { { NextToken = "t", Items = { 1 } }, { NextToken = "t", Items = { 2 } } })
  local got = {}
  local e = T.raises(function() for item in paginate.items(client, "List", {}) do got[#got + 1] = item end end)
  T.eq(e.code, "PaginationError")
  T.match(e.message, "NextToken=\"t\"")
  T.same(got, { 1, 2 }, "the repeated page is still delivered, as botocore does")
end)

T.test("max_items and max_pages stop early; no paginator is OperationNotPageable", function()
  local config = { input_token = "NextToken", output_token = "NextToken", result_key = "Items" }
  local client, sent = scripted(config, { { NextToken = "a", Items = { 1, 2 } },
    { NextToken = "b", Items = { 3, 4 } } })
  local got = {}
  for item in paginate.items(client, "List", {}, { max_items = 3 }) do got[#got + 1] = item end
  T.same(got, { 1, 2, 3 })
  T.eq(#sent, 2)
  client, sent = scripted(config, { { NextToken = "a", Items = {} }, { NextToken = "b", Items = {} } })
  for _ in paginate.pages(client, "List", {}, { max_pages = 1 }) do end
  T.eq(#sent, 1)
  local e = T.raises(function() paginate.pages(scripted(nil, {}), "Nope", {}) end)
  T.eq(e.code, "OperationNotPageable")
  e = T.raises(function() paginate.pages(scripted(config, {}), "List", {}, { page_size = 5 }) end)
  T.eq(e.code, "PaginationError")
  T.match(e.message, "no page size parameter")
end)

T.test("max_items cuts the last page and gives botocore's resume token; starting_token resumes", function()
  local config = { input_token = "NextToken", output_token = "NextToken", result_key = "Items" }
  local pages = { { NextToken = "a", Items = { 1, 2 } }, { NextToken = "b", Items = { 3, 4 } }, { Items = { 5 } } }
  local next_page, info = paginate.pages(scripted(config, pages), "List", {}, { max_items = 3 })
  local got = {}
  for page in next_page do for _, v in ipairs(page.Items) do got[#got + 1] = v end end
  T.same(got, { 1, 2, 3 })
  -- what botocore's TokenEncoder gives for {"NextToken": "a", "boto_truncate_amount": 1}
  T.eq(info.resume_token, "eyJOZXh0VG9rZW4iOiAiYSIsICJib3RvX3RydW5jYXRlX2Ftb3VudCI6IDF9")
  local client, sent = scripted(config, { pages[2], pages[3] })
  got = {}
  for item in paginate.items(client, "List", {}, { starting_token = info.resume_token }) do got[#got + 1] = item end
  T.same(got, { 4, 5 }, "the item already given is skipped")
  T.same(sent[1].params, { NextToken = "a" })
  local first = paginate.full_result(scripted(config, pages), "List", {}, { max_items = 2 })
  T.same(first.Items, { 1, 2 })
  T.eq(first.NextToken, "eyJOZXh0VG9rZW4iOiAiYSJ9", "a page boundary: no truncate amount")
  local tokens, amount = paginate.decode_token(
    "eyJOZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAyfQ==", { "NextToken" })
  T.same(tokens, {})
  T.eq(amount, 2)
  local e = T.raises(function() paginate.decode_token("not a token", { "A", "B" }) end)
  T.eq(e.code, "InvalidStartingToken")
end)

T.test("through a real client: iam GetAccountAuthorizationDetails, four result keys (query XML)", function()
  local function page(marker, truncated, user, role)
    return { status = 200, headers = { ["Content-Type"] = "text/xml" }, body =
      "<GetAccountAuthorizationDetailsResponse><GetAccountAuthorizationDetailsResult>"
      .. "<IsTruncated>" .. tostring(truncated) .. "</IsTruncated>"
      .. (marker and ("<Marker>" .. marker .. "</Marker>") or "")
      .. "<UserDetailList>" .. (user and ("<member><UserName>" .. user .. "</UserName></member>") or "")
      .. "</UserDetailList><GroupDetailList/><RoleDetailList>"
      .. (role and ("<member><RoleName>" .. role .. "</RoleName></member>") or "")
      .. "</RoleDetailList><Policies/></GetAccountAuthorizationDetailsResult>"
      .. "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetAccountAuthorizationDetailsResponse>" }
  end
  local pages = { page("m1", true, "alice", "r1"), page(nil, false, "bob", nil) }
  local server = fakeserver.start { routes = { ["/"] = pages } }
  local iam = aws.client("iam", { region = "us-east-1", endpoint_url = server.url,
    credentials = { access_key = "AKIDEXAMPLE", secret_key = "secretsecretsecretsecret" } })
  local names = {}
  for item in iam:paginate("GetAccountAuthorizationDetails", {}, { items = true, page_size = 1 }) do
    names[#names + 1] = item.UserName or item.RoleName
  end
  T.same(names, { "alice", "r1", "bob" })
  local log = server.log()
  T.eq(#log, 2)
  T.match(log[2].body, "Marker=m1")
  T.match(log[1].body, "MaxItems=1")
  server.script { routes = { ["/"] = pages } }
  local full = iam:paginate_all("GetAccountAuthorizationDetails", {})
  T.eq(#full.UserDetailList, 2)
  T.eq(#full.RoleDetailList, 1)
  server.stop()
end)

T.done()
