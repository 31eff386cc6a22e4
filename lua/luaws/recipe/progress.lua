-- progress: a one-line progress bar for terminals (stderr) and plain-text summary tables.
local M = {}

local Bar = {}
Bar.__index = Bar
Bar.__name = "luaws.ProgressBar"

local function default_clock()
  local ok, http = pcall(require, "luaws.http")
  if ok and http.now then return http.now() end
  return os.clock()
end

--- progress.bar{total=, label=, stream=, enabled=, width=, interval=, clock=} -> a bar. enabled
--- defaults to "stderr is a terminal" (luaws.host.isatty(2)): in a pipe or a CI log a bar is noise.
--- stream defaults to io.stderr; interval (seconds, default 0.1) limits redraws.
function M.bar(opts)
  opts = opts or {}
  local enabled = opts.enabled
  if enabled == nil then
    local ok, host = pcall(require, "luaws.host")
    enabled = ok and host.isatty and host.isatty(2) or false
  end
  return setmetatable({ total = opts.total or 0, done = 0, label = opts.label or "", counts = {}, order = {},
                        stream = opts.stream or io.stderr, enabled = enabled, width = opts.width or 30,
                        interval = opts.interval or 0.1, clock = opts.clock or default_clock, last = nil }, Bar)
end

--- bar:render() -> the line the bar shows now, e.g. "[#####.....] 25/50 accounts  fixed 24 failed 1".
function Bar:render()
  local filled = self.total > 0 and math.floor(self.width * self.done / self.total) or self.width
  local parts = {}
  for _, status in ipairs(self.order) do parts[#parts + 1] = status .. " " .. self.counts[status] end
  return string.format("[%s%s] %d/%d %s  %s", string.rep("#", filled), string.rep(".", self.width - filled),
                       self.done, self.total, self.label, table.concat(parts, " "))
end

local function draw(self, force)
  if not self.enabled then return end
  local now = self.clock()
  if not force and self.last and now - self.last < self.interval then return end
  self.last = now
  self.stream:write("\r\27[K", self:render())
  self.stream:flush()
end

--- bar:advance(status) counts one finished item under status and redraws (at most every interval).
function Bar:advance(status)
  self.done = self.done + 1
  if status then
    if not self.counts[status] then
      self.counts[status] = 0
      self.order[#self.order + 1] = status
    end
    self.counts[status] = self.counts[status] + 1
  end
  draw(self, self.done == self.total)
end

--- bar:finish() draws the final state and ends the line (nothing when disabled).
function Bar:finish()
  if not self.enabled then return end
  draw(self, true)
  self.stream:write("\n")
  self.stream:flush()
end

--- progress.table(rows, columns) -> text lines: columns = {{key=, title=, max=}, ...}; rows are
--- tables keyed by column key. Cells are padded to the widest value and cut at max (default 72).
function M.table(rows, columns)
  local widths, cells = {}, {}
  for c, col in ipairs(columns) do widths[c] = #col.title end
  for r, row in ipairs(rows) do
    cells[r] = {}
    for c, col in ipairs(columns) do
      local v = row[col.key]
      local text = v == nil and "" or tostring(v)
      local max = col.max or 72
      if #text > max then text = text:sub(1, max - 3) .. "..." end
      cells[r][c] = text
      if #text > widths[c] then widths[c] = #text end
    end
  end
  local function line(values)
    local out = {}
    for c, v in ipairs(values) do
      out[c] = c == #values and v or (v .. string.rep(" ", widths[c] - #v))
    end
    return table.concat(out, "  ")
  end
  local titles, rules = {}, {}
  for c, col in ipairs(columns) do titles[c], rules[c] = col.title, string.rep("-", widths[c]) end
  local lines = { line(titles), line(rules) }
  for r = 1, #rows do lines[#lines + 1] = line(cells[r]) end
  return table.concat(lines, "\n")
end

return M
