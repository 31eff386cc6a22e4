-- harness/xml: luaws.xml.decode under fuzz (the Lua twin of fuzz_xml.c's checks, for replay.lua).
local xml = require "luaws.xml"
local oracle = require "oracle"

local MAX_DEPTH = 200

local function check_element(e, depth)
  if depth > MAX_DEPTH then oracle.fail("element nested %d deep", depth) end
  if type(e) ~= "table" or type(e.name) ~= "string" then oracle.fail("element without a name") end
  if e.text ~= nil and type(e.text) ~= "string" then oracle.fail("element text is a %s", type(e.text)) end
  if e.attrs ~= nil then
    for k, v in pairs(e.attrs) do
      if type(k) ~= "string" or type(v) ~= "string" then oracle.fail("attribute is not string=string") end
    end
  end
  for _, child in ipairs(e) do check_element(child, depth + 1) end
end

return {
  run = function(data)
    local ok, root, err = pcall(xml.decode, data)
    if not ok then oracle.fail("xml.decode raised: %s", tostring(root)) end
    if root == nil then
      if type(err) ~= "string" or not (err:find("^XML parse error at line %d+, column %d+: ")
                                       or err:find("^XML document too large")) then
        oracle.fail("xml.decode failed without a positioned message: %s", tostring(err))
      end
      return
    end
    check_element(root, 1)
  end,
}
