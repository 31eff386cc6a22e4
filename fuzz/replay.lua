-- replay: runs fuzz inputs through a fuzz harness in the ordinary luaws binary (no libFuzzer), so
-- the committed corpus is checked by every build, the ASan one included.
-- usage: luaws fuzz/replay.lua TARGET DIR_OR_FILE...
--        (TARGET: xml, sigv4, json, config, cbor, eventstream, restjson, restxml)
local fs = require "luaws.fs"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/harness/?.lua;" .. package.path

local target = arg[1]
if not target or #arg < 2 then
  io.stderr:write("usage: luaws fuzz/replay.lua TARGET DIR_OR_FILE...\n")
  os.exit(2)
end
local harness = require(target)

if harness.setup then
  local dir = os.tmpname()
  os.remove(dir)
  fs.mkdir_private(dir)
  harness.setup(dir)
  -- The config harness leaves its two files here; they go with the directory.
  harness.cleanup = harness.cleanup or function()
    os.remove(dir .. "/config")
    os.remove(dir .. "/credentials")
    os.remove(dir)
  end
end

local files = {}
for i = 2, #arg do
  local st = fs.stat(arg[i])
  if st and st.type == "directory" then
    local names = fs.list(arg[i])
    table.sort(names)
    for _, name in ipairs(names) do
      if name:sub(1, 1) ~= "." then files[#files + 1] = arg[i] .. "/" .. name end
    end
  else
    files[#files + 1] = arg[i]
  end
end

local failures = 0
for _, path in ipairs(files) do
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  local ok, err = pcall(harness.run, data)
  if not ok then
    failures = failures + 1
    print(string.format("replay %s: %s: %s", target, path, tostring(err)))
  end
end
if harness.cleanup then harness.cleanup() end
print(string.format("replay %s: %d inputs, %d findings", target, #files, failures))
os.exit(failures == 0 and 0 or 1)
