-- core.uri: the one RFC 3986 percent-encoder (paths, labels, query strings) and query assembly.
local M = {}

local function hex(c) return string.format("%%%02X", c:byte()) end

--- encode(s, keep_slash) -> s with every byte but A-Z a-z 0-9 - . _ ~ percent-encoded (upper-case
-- hex); "/" is kept too when keep_slash is true (greedy URI labels such as {Key+}). Numbers and
-- booleans are encoded from their tostring form.
function M.encode(s, keep_slash)
  s = tostring(s)
  if keep_slash then return (s:gsub("[^%w%-%._~/]", hex)) end
  return (s:gsub("[^%w%-%._~]", hex))
end

--- decode(s) -> s with %XX sequences decoded ("+" stays "+").
function M.decode(s)
  return (tostring(s):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- query_string(pairs) -> "k=v&k2=v2" from an array of {name, value} (value "" gives "k=");
-- both sides encoded with encode(). Order is kept: callers sort when they need to.
function M.query_string(list)
  local parts = {}
  for i, kv in ipairs(list) do parts[i] = M.encode(kv[1]) .. "=" .. M.encode(kv[2] or "") end
  return table.concat(parts, "&")
end

--- split_query(qs) -> array of {name, value} decoded from "a=1&b&c=" (a bare name has value "").
function M.split_query(qs)
  local out = {}
  for part in tostring(qs or ""):gmatch("[^&]+") do
    local k, v = part:match("^([^=]*)=(.*)$")
    out[#out + 1] = { M.decode(k or part), M.decode(v or "") }
  end
  return out
end

return M
