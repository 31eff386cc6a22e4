-- luaws: the library a script, recipe or the REPL gets as `aws`.
-- The host requires this for every run, so everything heavier than luaws.host loads on first use.
local M = {}

M.host = require "luaws.host"
M.version = M.host.versions().luaws

--- aws.defaults: {profile=, region=, endpoint_url=} that aws.client uses when its caller gives
--- none; `luaws --profile P script.lua` sets them. A default profile counts as named explicitly,
--- so it wins over AWS_ACCESS_KEY_ID and friends, as the CLI's --profile does.
M.defaults = require "luaws.sdk.defaults"

--- aws.client(name, {profile=, region=, endpoint_url=, credentials=<provider|table|false>,
--- max_attempts=, timeout=}) -> a "luaws.Client"; see lua/luaws/sdk/client.lua.
function M.client(name, opts)
  return require("luaws.sdk.client").new(name, opts)
end

--- aws.is_read_only(service, operation) -> whether the operation only reads (plans allow those).
function M.is_read_only(service, operation)
  return require("luaws.sdk.operations").is_read_only(service, operation)
end

--- aws.profile(name) -> the resolved settings of a profile; raises ProfileNotFound.
function M.profile(name)
  return require("luaws.sdk.config").profile(name)
end

--- aws.commands: the subcommands above the recipe floor that `luaws` hands to the recipe CLI.
M.commands = {
  test = function(tokens, globals) return require("luaws.testkit").command(tokens, globals, M) end,
  -- help(service[, operation]) -> `luaws help s3 [PutObject]`'s text, from the models and their
  -- docs; raises UnknownService / UnknownOperation naming close names.
  -- `luaws help services` lists the built-in ones.
  help = function(service, operation)
    local help = require "luaws.sdk.help"
    if operation then return help.operation(service, operation) end
    if service == "services" then return table.concat(help.services(), "\n") end
    return help.service(service)
  end,
  sso = function(tokens, globals) return require("luaws.sdk.credentials.sso_login").command(tokens, globals) end,
}

--- aws.services() -> sorted array of every service name aws.client accepts: the shipped models
--- (all of botocore's) and the user's in AWS_DATA_PATH and ~/.aws/models. Loads no model.
function M.services()
  return require("luaws.sdk.model").services()
end

--- aws.debug([on]) -> boolean: reads, or turns on or off, request logging (same as --debug).
function M.debug(on)
  local log = require "luaws.core.log"
  if on ~= nil then return log.enable(on) end
  return log.enabled()
end

--- aws.file_body(path | io file[, offset[, length]]) -> a body for a streaming parameter
--- (s3:PutObject{Body = aws.file_body("big.iso")}, UploadPart with offset and length): the bytes
--- go from the file to the socket, never into a Lua string. nil, err, errno when it cannot open.
function M.file_body(...)
  return require("luaws.http").file_body(...)
end

--- aws.args(specs[, argv[, opts]]) -> the arguments of a plain script, declared as a recipe's
--- are ({name=, type=, required=, default=, values=, help=}; type defaults to "string"):
--- `luaws s.lua --bucket b --count 3`. --help prints them; a bad one is a one-line error, exit 2.
--- See luaws.recipe.scriptargs and docs/scripting.md.
function M.args(specs, argv, opts)
  return require("luaws.recipe.scriptargs").parse(specs, argv, opts)
end

-- Modules the facade exposes on first use: aws.pretty (luaws.core.pretty: format, print, quote
-- for readable, bounded tables) and aws.json (luaws.core.json: lossless encode/decode).
local LAZY = { pretty = "luaws.core.pretty", json = "luaws.core.json" }
setmetatable(M, { __index = function(t, key)
  local module = LAZY[key]
  if not module then return nil end
  local value = require(module)
  rawset(t, key, value)
  return value
end })

-- The concurrency API lives in luaws.http (C scheduler); these forward to it on first use.
-- aws.set_max_in_flight(n) -> previous limit of requests on the wire at once;
-- aws.http_stats() -> {requests=, in_flight=, queued=, max_in_flight_seen=, connections=, ...}.
local FORWARDED = { spawn = "spawn", wait = "wait", parallel = "parallel", sleep = "sleep", now = "now",
                    set_max_in_flight = "set_max_in_flight", http_stats = "stats" }
for name, target in pairs(FORWARDED) do
  M[name] = function(...)
    local fn = require("luaws.http")[target]
    if not fn then error("luaws.http has no " .. target, 2) end
    return fn(...)
  end
end

return M
