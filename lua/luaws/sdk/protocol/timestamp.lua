-- protocol.timestamp: AWS timestamps both ways (ISO 8601, epoch seconds, RFC 822); never raises.
--
-- Values outside years 1..9999 (what botocore's datetime can hold) are refused with nil, message
-- instead of reaching os.date, which raises on numbers it cannot represent (a reply carrying
-- "CreationDate":18e300 must become an error table, not a raw Lua error).
local M = {}

M.MIN = -62135596800   -- 0001-01-01T00:00:00Z
M.MAX = 253402300799.999999 -- 9999-12-31T23:59:59.999999Z
local FOUR_DIGIT_YEARS = -30610224000 -- 1000-01-01T00:00:00Z: os.date's %Y has four digits from here

local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
local MONTH_NUMBER = {}
for i, m in ipairs(MONTHS) do MONTH_NUMBER[m:lower()] = i end
local DAYS = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" } -- 1970-01-01 was a Thursday

-- Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's algorithms).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

local function in_range(t)
  return type(t) == "number" and t == t and t >= M.MIN and t <= M.MAX
end

-- Splits epoch seconds into whole seconds (integer) and microseconds (0..999999).
local function split(t)
  local whole = math.floor(t)
  local micro = math.floor((t - whole) * 1e6 + 0.5)
  if micro >= 1000000 then whole, micro = whole + 1, 0 end
  return math.tointeger(whole), micro
end

local function fields(whole)
  local days, secs = whole // 86400, whole % 86400
  local y, m, d = civil_from_days(days)
  return y, m, d, secs // 3600, secs % 3600 // 60, secs % 60, DAYS[days % 7 + 1]
end

local function iso_parse(s)
  local y, mo, d, rest = s:match("^(%d%d%d%d)-(%d%d)-(%d%d)(.*)$")
  if not y then return nil end
  local h, mi, sec, frac, zone = 0, 0, 0, "", ""
  if rest ~= "" then
    h, mi, sec, frac, zone = rest:match("^[Tt ](%d%d):(%d%d):(%d%d)(%.?%d*)(.*)$")
    if not h then
      h, mi, zone = rest:match("^[Tt ](%d%d):(%d%d)(.*)$")
      sec, frac = 0, ""
      if not h then return nil end
    end
  end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 24 or mi > 59 or sec > 60 then return nil end
  local offset = 0
  if zone ~= "" and zone ~= "Z" and zone ~= "z" then
    local sign, oh, om = zone:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  local t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset
  if frac ~= "" and frac ~= "." then t = t + tonumber("0" .. frac) end
  return t
end

-- "Wed, 21 Oct 2015 07:28:00 GMT" (RFC 1123 / 822; the weekday is optional and not checked).
local function rfc822_parse(s)
  local d, mon, y, h, mi, sec, zone = s:match(
    "^%a*,?%s*(%d%d?)%s+(%a%a%a)%s+(%d%d%d%d)%s+(%d%d):(%d%d):?(%d*)%s*(.-)$")
  if not d then return nil end
  local mo = MONTH_NUMBER[mon:lower()]
  if not mo then return nil end
  local offset = 0
  if zone ~= "" and zone ~= "GMT" and zone ~= "UTC" and zone ~= "Z" and zone ~= "UT" then
    local sign, oh, om = zone:match("^([+-])(%d%d)(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  return days_from_civil(tonumber(y), mo, tonumber(d)) * 86400 + tonumber(h) * 3600
    + tonumber(mi) * 60 + (tonumber(sec) or 0) - offset
end

--- parse(v) -> epoch seconds (number, maybe fractional), or nil, message. Accepts numbers, epoch
-- numbers in strings, ISO 8601 ("2024-01-02T03:04:05.123Z", "+09:00", a bare date) and RFC 822
-- ("Tue, 02 Jan 2024 03:04:05 GMT"). Out-of-range values (NaN, 18e300) give nil, message.
function M.parse(v)
  local t
  if type(v) == "number" then
    t = v
  elseif type(v) == "string" then
    local s = v:match("^%s*(.-)%s*$")
    if s:match("^%-?%d+%.?%d*$") or s:match("^%-?%d*%.%d+$") or s:match("^%-?%d[%d.]*[eE][+-]?%d+$") then
      t = tonumber(s)
    else
      t = iso_parse(s) or rfc822_parse(s)
    end
    if t == nil then return nil, string.format("not a timestamp: %q", #v > 40 and v:sub(1, 40) .. "..." or v) end
  else
    return nil, "not a timestamp: a " .. type(v)
  end
  if not in_range(t) then return nil, "timestamp out of range: " .. tostring(t) end
  return t
end

--- format(v, fmt) -> the wire form of v (epoch number or any string parse() reads), or nil,
-- message. fmt: "iso8601" (default; microseconds only when present, like botocore),
-- "unixtimestamp" (an integer), "rfc822" ("Tue, 02 Jan 2024 03:04:05 GMT", for headers).
function M.format(v, fmt)
  local t, err = M.parse(v)
  if not t then return nil, err end
  fmt = (fmt or "iso8601"):lower()
  local whole, micro = split(t)
  if fmt == "unixtimestamp" then
    return math.tointeger(math.floor(t))
  end
  local y, m, d, h, mi, s, wd = fields(whole)
  if fmt == "rfc822" then
    return string.format("%s, %02d %s %04d %02d:%02d:%02d GMT", wd, d, MONTHS[m], y, h, mi, s)
  end
  local text = string.format("%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, h, mi, s)
  if micro > 0 then return text .. string.format(".%06dZ", micro) end
  return text .. "Z"
end

--- iso(v) -> "YYYY-MM-DDTHH:MM:SS[.fff]Z" (fraction without trailing zeros): how luaws hands
-- timestamps of every protocol to callers; nil, message when v is no timestamp in range.
function M.iso(v)
  local t, err = M.parse(v)
  if not t then return nil, err end
  local whole, micro = split(t)
  local text
  if whole >= FOUR_DIGIT_YEARS then -- in range, so os.date cannot fail; it is ~3x faster
    text = os.date("!%Y-%m-%dT%H:%M:%S", whole)
  else
    local y, m, d, h, mi, s = fields(whole)
    text = string.format("%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, h, mi, s)
  end
  if micro > 0 then text = text .. (string.format(".%06d", micro):gsub("0+$", "")) end
  return text .. "Z"
end

return M
