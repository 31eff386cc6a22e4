-- s3_large: peak RSS of luaws moving one large S3 object up (PutObject from a file body) and down
-- (GetObject to a sink file), against moto or any S3 endpoint.
-- usage: luaws bench/s3_large.lua SIZE_MB [DIR]   (AWS_ENDPOINT_URL and keys from the environment)
-- prints one JSON object: {size_mb=, rss_start_kb=, hwm_after_create_kb=, hwm_after_put_kb=,
-- hwm_after_get_kb=, put_seconds=, get_seconds=, same_sha256=}
local cjson = require "cjson"
local crypto = require "luaws.crypto"

local size_mb = tonumber(arg[1]) or 200
local dir = arg[2] or os.getenv("TMPDIR") or "/tmp"

local function status_kb(field)
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^" .. field .. ":%s+(%d+)")
    if kb then return tonumber(kb) end
  end
end

local source, sink = dir .. "/luaws-s3-large.bin", dir .. "/luaws-s3-large.out"
local result = { size_mb = size_mb, rss_start_kb = status_kb("VmRSS") }
do -- the source file, written 1 MB at a time
  local f = assert(io.open(source, "wb"))
  local block = ("0123456789abcdef"):rep(65536)
  for i = 1, size_mb do f:write(block:sub(1, -9), ("%08d"):format(i)) end
  f:close()
end
collectgarbage()
result.hwm_after_create_kb = status_kb("VmHWM")

local s3 = aws.client("s3", { max_attempts = 1, timeout = 600 })
local bucket = "luaws-large-" .. os.time()
s3:CreateBucket { Bucket = bucket }
local started = aws.now()
s3:PutObject { Bucket = bucket, Key = "large.bin", Body = assert(aws.file_body(source)) }
result.put_seconds = aws.now() - started
result.hwm_after_put_kb = status_kb("VmHWM")
started = aws.now()
local got = s3:GetObject({ Bucket = bucket, Key = "large.bin" }, { sink = sink })
got.Body:close()
result.get_seconds = aws.now() - started
result.hwm_after_get_kb = status_kb("VmHWM")
local function sha(path)
  local b = assert(aws.file_body(path))
  local h = crypto.hex(b:digest("sha256"))
  b:close()
  return h
end
result.same_sha256 = sha(source) == sha(sink)
s3:DeleteObject { Bucket = bucket, Key = "large.bin" }
os.remove(source)
os.remove(sink)
print(cjson.encode(result))
