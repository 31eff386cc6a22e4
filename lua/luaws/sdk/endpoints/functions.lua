-- endpoints.functions: the endpoint rule-set standard library (botocore's RuleSetStandardLibrary
-- plus split/coalesce/ite from the Smithy rules spec), keyed by the names rule sets use.
--
-- Values follow the rule-set data model: nil for unset, booleans, strings, arrays and records
-- (Lua tables). A function that botocore makes raise (stringEquals on a non-string, ...) raises
-- an error table {code="EndpointResolutionError", message=}.
local uri = require "luaws.core.uri"

local M = {}

--- functions.error(message) raises the error table rule evaluation uses (never returns).
function M.error(message)
  error(require("luaws.core.errors").new { code = "EndpointResolutionError", message = message, retryable = false }, 0)
end
local fail = M.error

-- The partitions table (array of {id, region_regex, region_patterns, dns_suffix, ...}); tests
-- may set functions.partitions before the first aws.partition call.
M.partitions = nil

local function partition_data()
  if not M.partitions then
    M.partitions = require "luaws.sdk.endpoints.partitions"
  end
  return M.partitions
end

-- Partition outputs as the rule sets see them, built once per partition and per region.
local outputs_cache = setmetatable({}, { __mode = "k" })

local function outputs_of(p)
  local o = outputs_cache[p]
  if not o then
    o = { name = p.id, dnsSuffix = p.dns_suffix, dualStackDnsSuffix = p.dualstack_dns_suffix,
      implicitGlobalRegion = p.implicit_global_region,
      supportsFIPS = p.supports_fips ~= false, supportsDualStack = p.supports_dualstack ~= false }
    outputs_cache[p] = o
    if not p.region_set then
      local set = {}
      for _, r in ipairs(p.regions or {}) do set[r] = true end
      p.region_set = set
    end
  end
  return o
end

local partition_by_region = {}

--- aws.partition(region) -> the partition outputs record {name, dnsSuffix, dualStackDnsSuffix,
--- supportsFIPS, supportsDualStack, implicitGlobalRegion}: the first partition that lists the
--- region or whose region regex matches it, else the first partition ("aws").
function M.partition(region)
  local parts = partition_data()
  if region == nil then return outputs_of(parts[1]) end
  local hit = partition_by_region[region]
  if hit then return hit end
  for _, p in ipairs(parts) do
    local o = outputs_of(p)
    local found = p.region_set[region]
    if not found then
      for _, pattern in ipairs(p.region_patterns) do
        if region:match(pattern) then found = true break end
      end
    end
    if found then hit = o break end
  end
  hit = hit or outputs_of(parts[1])
  partition_by_region[region] = hit
  return hit
end

--- isSet(value) -> value ~= nil.
function M.isSet(value) return value ~= nil end

-- Python truthiness, for `not`: nil, false, "" and empty tables are false.
local function truthy(v)
  if v == nil or v == false or v == "" or v == 0 then return false end
  if type(v) == "table" and next(v) == nil then return false end
  return true
end

--- not(value) -> the logical negation (of Python truthiness, as botocore).
M["not"] = function(value) return not truthy(value) end

--- getAttr(value, path) -> the member at path ("a.b", "resourceId[1]", "[0]" with 0-based
--- indexes) or nil when a member is absent or an index out of range.
function M.getAttr(value, path)
  for part in path:gmatch("[^.]+") do
    local name, index = part:match("^([%w_]*)%[(%d+)%]$")
    if name then
      if name ~= "" then value = type(value) == "table" and value[name] or nil end
      if type(value) ~= "table" then return nil end
      return value[tonumber(index) + 1]
    end
    if type(value) ~= "table" then return nil end
    value = value[part]
  end
  return value
end

--- stringEquals(a, b) -> a == b; raises unless both are strings.
function M.stringEquals(a, b)
  if type(a) ~= "string" or type(b) ~= "string" then
    fail(string.format("Both values must be strings, not %s and %s.", type(a), type(b)))
  end
  return a == b
end

--- booleanEquals(a, b) -> a == b; raises unless both are booleans.
function M.booleanEquals(a, b)
  if type(a) ~= "boolean" or type(b) ~= "boolean" then
    fail(string.format("Both arguments must be bools, not %s and %s.", type(a), type(b)))
  end
  return a == b
end

-- One RFC 1123 label: 1-63 letters, digits or '-', not starting or ending with '-'.
local function host_label(s)
  local n = #s
  return n >= 1 and n <= 63 and not s:find("[^%w%-]") and s:byte(1) ~= 45 and s:byte(n) ~= 45
end

--- isValidHostLabel(value, allow_subdomains) -> whether value is a DNS label (or, with
--- allow_subdomains, dot-separated labels).
function M.isValidHostLabel(value, allow_subdomains)
  if type(value) ~= "string" then return false end
  if allow_subdomains == true then
    for label in (value .. "."):gmatch("([^.]*)%.") do
      if not host_label(label) then return false end
    end
    return true
  end
  return host_label(value)
end

local function is_ipv4(s)
  local a, b, c, d = s:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
  return a ~= nil and b ~= nil and c ~= nil and d ~= nil
end

--- aws.isVirtualHostableS3Bucket(value, allow_subdomains) -> whether value can be the first
--- label(s) of a virtual-hosted S3 host: a host label of 3+ characters, lower case, not an IP.
M["aws.isVirtualHostableS3Bucket"] = function(value, allow_subdomains)
  if type(value) ~= "string" or #value < 3 or value:lower() ~= value or is_ipv4(value) then
    return false
  end
  return M.isValidHostLabel(value, allow_subdomains)
end

--- aws.parseArn(value) -> {partition, service, region, accountId, resourceId={...}} or nil.
M["aws.parseArn"] = function(value)
  if type(value) ~= "string" or value:sub(1, 4) ~= "arn:" then return nil end
  local partition, service, region, account, resource =
    value:match("^arn:([^:]*):([^:]*):([^:]*):([^:]*):(.*)$")
  if not partition or partition == "" or service == "" or resource == "" then return nil end
  local ids = {}
  for id in (resource:gsub(":", "/") .. "/"):gmatch("([^/]*)/") do ids[#ids + 1] = id end
  return { partition = partition, service = service, region = region, accountId = account,
    resourceId = ids }
end


--- uriEncode(value) -> value percent-encoded except letters, digits and -_.~ (nil stays nil).
function M.uriEncode(value)
  if value == nil then return nil end
  return uri.encode(value)
end

-- botocore's remove_dot_segments: drops ".", "..", and empty segments.
local function remove_dot_segments(path)
  if path == "" then return "/" end
  local out = {}
  for seg in (path .. "/"):gmatch("([^/]*)/") do
    if seg == ".." then
      out[#out] = nil
    elseif seg ~= "" and seg ~= "." then
      out[#out + 1] = seg
    end
  end
  local first = path:sub(1, 1) == "/" and "/" or ""
  local last = (path:sub(-1) == "/" and #out > 0) and "/" or ""
  return first .. table.concat(out, "/") .. last
end

local function is_ipv6_host(host)
  local inner = host:match("^%[([%x:%.]+)%]$") or host:match("^%[([%x:%.]+)%%25[%w%-%._~%%]+%]$")
      or host:match("^%[([%x:%.]+)%%[%w%-%._~]+%]$")
  return inner ~= nil and inner:find(":", 1, true) ~= nil
end

-- parseURL without the one-entry cache.
local function parse_url(value)
  local scheme, rest = value:match("^([%a][%w+%-.]*):(.*)$")
  if not scheme then return nil end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then return nil end
  rest = rest:gsub("#.*$", "")
  if rest:find("?", 1, true) then
    if rest:match("%?(.*)$") ~= "" then return nil end
    rest = rest:gsub("%?.*$", "")
  end
  local authority, path = "", rest
  if rest:sub(1, 2) == "//" then
    authority, path = rest:match("^//([^/]*)(.*)$")
  end
  local hostport = authority:gsub("^.*@", "")
  local host, port
  if hostport:sub(1, 1) == "[" then
    host, port = hostport:match("^(%b[])(.*)$")
    if not host then return nil end
  else
    host, port = hostport:match("^([^:]*)(.*)$")
  end
  if port ~= "" then
    local digits = port:match("^:(%d*)$")
    if not digits then return nil end
    if digits ~= "" and tonumber(digits) > 65535 then return nil end
  end
  local normalized = uri.encode(remove_dot_segments(path), true)
  if normalized:sub(-1) ~= "/" then normalized = normalized .. "/" end
  return { scheme = scheme, authority = authority, path = path, normalizedPath = normalized,
    isIp = is_ipv4(host) or is_ipv6_host(host) }
end

-- The last URL parseURL was given and its answer: a rule set parses the same Endpoint in
-- several branches (S3: six times an evaluation), and nothing modifies the answer.
local last_url, last_parsed

--- parseURL(value) -> {scheme, authority, path, normalizedPath, isIp} for an http(s) URL with no
--- query and a numeric port, else nil.
function M.parseURL(value)
  if type(value) ~= "string" then return nil end
  if value == last_url then return last_parsed end
  last_url, last_parsed = value, parse_url(value)
  return last_parsed
end

--- substring(value, start, stop, reverse) -> value's characters [start, stop) (0-based; counted
--- from the end when reverse), or nil when out of range or value is not ASCII.
function M.substring(value, start, stop, reverse)
  if type(value) ~= "string" then fail("Input must be a string, not " .. type(value) .. ".") end
  if start >= stop or #value < stop or value:find("[\128-\255]") then return nil end
  if reverse == true then
    return value:sub(#value - stop + 1, #value - start)
  end
  return value:sub(start + 1, stop)
end

--- split(value, delimiter, limit) -> array of the parts (limit 0: all; n: at most n parts).
function M.split(value, delimiter, limit)
  if type(value) ~= "string" or type(delimiter) ~= "string" or delimiter == "" then
    fail("split needs a string and a non-empty delimiter")
  end
  limit = limit or 0
  local parts, pos = {}, 1
  while limit == 0 or #parts < limit - 1 do
    local i, j = value:find(delimiter, pos, true)
    if not i then break end
    parts[#parts + 1] = value:sub(pos, i - 1)
    pos = j + 1
  end
  parts[#parts + 1] = value:sub(pos)
  return parts
end

--- coalesce(...) -> the first argument that is set, else nil.
function M.coalesce(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil then return v end
  end
  return nil
end

--- ite(condition, when_true, when_false) -> when_true if condition is true, else when_false.
function M.ite(condition, when_true, when_false)
  if condition == true then return when_true end
  return when_false
end

M["aws.partition"] = M.partition

return M
