-- repl: the Lua side of the REPL (src/cli/repl.c): the help() global, how results print, and the
-- tab completions that need the models (service names, an operation's parameter names).
local pretty = require "luaws.core.pretty"

local M = {}

M.INTRO = [[
The luaws REPL: Lua 5.4 with the luaws library loaded as `aws`.

  s3 = aws.client("s3")                 a client (options: help "aws.client")
  s3:ListBuckets()                      call an operation: the result prints as a table
  r = s3:ListObjectsV2{Bucket = "b"}    keep a result; r.Contents[1].Key reads it
  for o in s3:paginate("ListObjectsV2", {Bucket = "b"}, {items = true}) do print(o.Key) end
  function f(x)                         multi-line input: the prompt becomes ...> until
    return x * 2                        the chunk is complete
  end

help "s3"                 the operations, paginators and waiters of a service
help "s3 PutObject"       an operation's parameters (* required), types, enums, docs
help(s3.PutObject)        the same, from a client
=expr                     print a value (a bare expression prints too)

Results print without ResponseMetadata (the request id and HTTP status); ask for it with
r.ResponseMetadata. aws.pretty.print(v) and aws.pretty.format(v) print tables the same way;
require("cjson").encode(v) gives JSON.
Keys: Tab completes names, fields, client:Operation, service names in aws.client(" and
parameter names inside a call's {; Up/Down and Ctrl-R search history (~/.luaws_history);
Ctrl-C cancels the line or interrupts a running call; Ctrl-D exits.
More: docs/scripting.md, `luaws --help`, `man luaws`.]]

M.TOPICS = {
  ["aws.client"] = [[
aws.client(service, {profile=, region=, endpoint_url=, credentials=, max_attempts=, timeout=})
  -> a client whose methods are the service's operations: client:Op{Param = value, ...}.
  profile/region/endpoint_url default to --profile/--region/--endpoint-url, then the AWS
  environment and ~/.aws/config, as for the AWS CLI. credentials = false sends unsigned calls.
client:paginate(op, params, {items = true}) iterates pages (or items); client:wait(name, params)
polls a waiter. A failed call raises an error table {code=, message=, status=, request_id=, ...}:
  local ok, err = pcall(s3.HeadBucket, s3, {Bucket = "b"}); if not ok then print(err.code) end]],
}

--- repl.help([what[, op]]) -> prints help: the REPL itself (no argument), a topic
--- ("aws.client"), a service ("s3", a client) or an operation ("s3 PutObject", s3.PutObject,
--- (s3, "PutObject")). Returns nothing, so the REPL prints only the text.
function M.help(what, op)
  if what == nil then
    print(M.INTRO)
    return
  end
  if type(what) == "string" and M.TOPICS[what] then
    print(M.TOPICS[what])
    return
  end
  local ok, text, err = pcall(function() return require("luaws.sdk.help").text(what, op) end)
  if not ok then
    local e = text
    print("help: " .. (type(e) == "table" and tostring(e.message or e) or tostring(e)))
  elseif not text then
    print("help: " .. tostring(err))
  else
    print(text)
  end
end

-- A result worth stripping: a table holding ResponseMetadata, not a user's own table with
-- a __tostring or a metatable of its own.
local function strip_metadata(v)
  if type(v) ~= "table" or getmetatable(v) ~= nil or rawget(v, "ResponseMetadata") == nil then return v end
  local copy = {}
  for k, x in next, v do
    if k ~= "ResponseMetadata" then copy[k] = x end
  end
  return copy
end

--- repl.print(...) -> prints each value as luaws.core.pretty does, call results without their
--- ResponseMetadata (r.ResponseMetadata prints it).
function M.print(...)
  local n = select("#", ...)
  local values = table.pack(...)
  for i = 1, n do values[i] = strip_metadata(values[i]) end
  pretty.print(table.unpack(values, 1, n))
end

local function identifier_value(path)
  local value = _G
  for part in path:gmatch("[^.]+") do
    if type(value) ~= "table" then return nil end
    value = rawget(value, part)
  end
  return value
end

local function is_client(v)
  return type(v) == "table" and type(rawget(v, "service_name")) == "string" and rawget(v, "service") ~= nil
end

--- repl.complete(before, text) -> candidates (array) and the character to append to a unique one,
--- for completions that need the models; nil to leave the completion to the REPL's own walk of
--- globals and fields. `before` is the text up to the word being completed (the earlier lines of a
--- multi-line chunk included), `text` that word.
--- Handles: service names in aws.client("dyn, and parameter names in client:Op{Buc or
--- client:Op({..., Ke.
function M.complete(before, text)
  local help = require "luaws.sdk.help"
  local quote = before:match("client%s*%(%s*([\"'])$")
  if quote then
    local out = {}
    for _, name in ipairs(help.services()) do
      if name:sub(1, #text) == text then out[#out + 1] = name end
    end
    return out, quote
  end
  -- Inside a call's table: the innermost unclosed "{" right after `receiver:Op` or `receiver:Op(`,
  -- at a key position (just after "{" or ",").
  if not before:match("[{,]%s*$") then return nil end
  local depth, open = 0, nil
  for i = #before, 1, -1 do
    local c = before:sub(i, i)
    if c == "}" then depth = depth + 1
    elseif c == "{" then
      if depth == 0 then open = i break end
      depth = depth - 1
    end
  end
  if not open then return nil end
  local receiver, op = before:sub(1, open - 1):match("([%a_][%w_.]*)%s*:%s*([%a_][%w_]*)%s*%(?%s*$")
  if not receiver then return nil end
  local client = identifier_value(receiver)
  if not is_client(client) then return nil end
  local out = {}
  for _, name in ipairs(help.parameter_names(client.service, op)) do
    if name:sub(1, #text) == text then out[#out + 1] = name end
  end
  return out, "="
end

return M
