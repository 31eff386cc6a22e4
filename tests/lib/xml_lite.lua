-- protocol.xml_lite: a small pure-Lua XML reader with luaws.xml's element shape, for tests only.
--
-- The library decodes XML with luaws.xml (expat). Protocol tests install this reader when that
-- module has no decode yet, so they exercise the same element tables: {name=, attrs=, text=,
-- [1..n]=children}, text being the element's own character data concatenated.
local M = {}

local ENTITIES = { lt = "<", gt = ">", amp = "&", quot = '"', apos = "'" }

local function unescape(s)
  return (s:gsub("&(#?x?)(%w+);", function(kind, body)
    if kind == "#x" then return utf8.char(tonumber(body, 16)) end
    if kind == "#" then return utf8.char(tonumber(body)) end
    return ENTITIES[body] or ("&" .. body .. ";")
  end))
end

local function parse_attrs(s)
  local attrs = {}
  for k, _, v in s:gmatch("([%w_:%.%-]+)%s*=%s*(['\"])(.-)%2") do
    attrs[k] = unescape(v)
  end
  return attrs
end

--- decode(text) -> root element, or nil, message.
function M.decode(text)
  local pos = 1
  local stack = {}
  local root
  local function add_text(s)
    local top = stack[#stack]
    if top then top.text = (top.text or "") .. s end
  end
  while pos <= #text do
    local lt = text:find("<", pos, true)
    if not lt then
      if text:sub(pos):match("%S") and #stack > 0 then add_text(unescape(text:sub(pos))) end
      break
    end
    if lt > pos then add_text(unescape(text:sub(pos, lt - 1))) end
    if text:sub(lt, lt + 3) == "<!--" then
      local e = text:find("-->", lt + 4, true)
      if not e then return nil, "unterminated comment" end
      pos = e + 3
    elseif text:sub(lt, lt + 8) == "<![CDATA[" then
      local e = text:find("]]>", lt + 9, true)
      if not e then return nil, "unterminated CDATA" end
      add_text(text:sub(lt + 9, e - 1))
      pos = e + 3
    elseif text:sub(lt, lt + 1) == "<?" or text:sub(lt, lt + 1) == "<!" then
      local e = text:find(">", lt, true)
      if not e then return nil, "unterminated declaration" end
      pos = e + 1
    elseif text:sub(lt, lt + 1) == "</" then
      local name, e = text:match("^</([^%s>]+)%s*>()", lt)
      if not name then return nil, "bad end tag at " .. lt end
      local top = table.remove(stack)
      if not top or top.name ~= name then return nil, "mismatched </" .. name .. ">" end
      pos = e
    else
      local name, attr_text, close, e = text:match("^<([^%s/>]+)(.-)(/?)>()", lt)
      if not name then return nil, "bad tag at " .. lt end
      local el = { name = name, attrs = parse_attrs(attr_text) }
      local parent = stack[#stack]
      if parent then
        parent[#parent + 1] = el
      elseif root then
        return nil, "more than one root element"
      else
        root = el
      end
      if close == "" then stack[#stack + 1] = el end
      pos = e
    end
  end
  if #stack > 0 then return nil, "unclosed <" .. stack[#stack].name .. ">" end
  if not root then return nil, "no element" end
  return root
end

--- install() -> true when luaws.xml had no decode and this reader now stands in for it.
function M.install()
  local ok, xml = pcall(require, "luaws.xml")
  if ok and type(xml) == "table" and type(xml.decode) == "function" then return false end
  if not ok or type(xml) ~= "table" then
    xml = {}
    package.loaded["luaws.xml"] = xml
  end
  xml.decode = M.decode
  return true
end

return M
