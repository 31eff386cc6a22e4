-- scheduler_test: spawn/wait/parallel/sleep semantics, error propagation, nesting and reentrancy.
local T = require "testing"
local http = require "luaws.http"

local bin = assert(os.getenv("LUAWS_BIN"), "LUAWS_BIN not set")

local function run(chunk)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(chunk)
  f:close()
  local p = io.popen(bin .. " " .. path .. " 2>&1")
  local out = p:read("a")
  local _, _, code = p:close()
  os.remove(path)
  return out, code
end

T.test("spawn queues a task; wait returns all its results, nils included", function()
  local ran = false
  local t = http.spawn(function(a, b)
    ran = true
    return a + b, nil, "three"
  end, 1, 2)
  T.eq(ran, false, "spawn does not run the task at once")
  T.match(tostring(t), "^luaws.Task: .*%(ready%)$")
  local packed = table.pack(http.wait(t))
  T.eq(ran, true)
  T.eq(packed.n, 3)
  T.eq(packed[1], 3)
  T.eq(packed[2], nil)
  T.eq(packed[3], "three")
  T.match(tostring(t), "%(done%)$")
  T.eq(select("#", http.wait(t)), 3, "waiting again gives the same results")
end)

T.test("wait re-raises the task's error value itself", function()
  local failure = setmetatable({ code = "Boom" }, { __tostring = function() return "Boom!" end })
  local t = http.spawn(function() error(failure) end)
  local ok, err = pcall(http.wait, t)
  T.eq(ok, false)
  T.eq(err, failure)
  T.match(tostring(t), "%(failed%)$")
  local ok2, err2 = pcall(http.wait, http.spawn(function() error("plain message") end))
  T.eq(ok2, false)
  T.match(err2, "plain message$")
end)

T.test("parallel returns first results and errors by position", function()
  local results, errs = http.parallel{
    function() http.sleep(0.02) return "a", "ignored" end,
    function() error("second failed", 0) end,
    function() return nil end,
    function() return 4 end,
  }
  T.eq(results[1], "a")
  T.eq(results[2], nil)
  T.eq(results[3], nil)
  T.eq(results[4], 4)
  T.eq(errs[1], nil)
  T.eq(errs[2], "second failed")
  T.eq(errs[4], nil)
  local none, no_errs = http.parallel{}
  T.same(none, {})
  T.same(no_errs, {})
  T.raises(function() http.parallel{ 1 } end)
end)

T.test("sleeping tasks overlap and wake in deadline order", function()
  local order = {}
  local function sleeper(name, seconds)
    return function() http.sleep(seconds) order[#order + 1] = name end
  end
  http.parallel{ sleeper("slow", 0.3), sleeper("fast", 0.1), sleeper("middle", 0.2), sleeper("now", 0) }
  T.same(order, { "now", "fast", "middle", "slow" })
end)

T.test("sleep outside tasks blocks and still runs tasks", function()
  local ticks = 0
  local t = http.spawn(function()
    for _ = 1, 3 do http.sleep(0.01) ticks = ticks + 1 end
    return ticks
  end)
  local started = http.now()
  http.sleep(0.2)
  T.ok(http.now() - started >= 0.2, "slept at least as long as asked")
  T.eq(ticks, 3, "the task finished while the main chunk slept")
  T.eq(http.wait(t), 3)
end)

T.test("now is monotonic seconds", function()
  local a = http.now()
  local b = http.now()
  T.eq(math.type(a), "float")
  T.ok(b >= a)
end)

T.test("nested spawns: tasks spawn and wait for tasks", function()
  local function fib(n)
    if n < 2 then return n end
    local left = http.spawn(fib, n - 1)
    local right = http.spawn(fib, n - 2)
    return http.wait(left) + http.wait(right)
  end
  T.eq(http.wait(http.spawn(fib, 12)), 144)
  local results = http.parallel{
    function() return http.parallel{ function() return 1 end, function() return 2 end }[2] end,
  }
  T.eq(results[1], 2)
end)

T.test("a plain coroutine.yield in a task lets the other tasks run", function()
  local trace = {}
  local function worker(name)
    return function()
      for i = 1, 3 do
        trace[#trace + 1] = name .. i
        coroutine.yield()
      end
    end
  end
  http.parallel{ worker("a"), worker("b") }
  T.same(trace, { "a1", "b1", "a2", "b2", "a3", "b3" })
end)

T.test("blocking calls from a user coroutine block and drive tasks", function()
  local progressed = false
  local t = http.spawn(function() progressed = true return "task" end)
  local co = coroutine.wrap(function()
    http.sleep(0.05)
    coroutine.yield("slept")
    return "finished"
  end)
  T.eq(co(), "slept")
  T.ok(progressed, "the spawned task ran while the coroutine blocked")
  T.eq(co(), "finished")
  T.eq(http.wait(t), "task")
end)

T.test("a user coroutine inside a task blocks instead of yielding the task", function()
  local t = http.spawn(function()
    local gen = coroutine.wrap(function()
      for i = 1, 3 do
        http.sleep(0.01)
        coroutine.yield(i)
      end
    end)
    return gen() + gen() + gen()
  end)
  T.eq(http.wait(t), 6)
end)

T.test("reentrancy: blocking calls in a non-yieldable context inside a task", function()
  local other_ran = false
  local results, errs = http.parallel{
    function()
      -- table.sort calls the comparator without a continuation: sleep and wait must block
      local list = { 3, 1, 2 }
      table.sort(list, function(x, y)
        http.sleep(0.001)
        return x < y
      end)
      local inner = http.spawn(function() http.sleep(0.01) return "inner" end)
      local value = string.gsub("x", "x", function() return http.wait(inner) end)
      return table.concat(list) .. value
    end,
    function() http.sleep(0.005) other_ran = true return "other" end,
  }
  T.eq(next(errs), nil)
  T.eq(results[1], "123inner")
  T.eq(results[2], "other")
  T.ok(other_ran)
end)

T.test("tasks yield through pcall, and errors caught there stay caught", function()
  local t = http.spawn(function()
    local ok, value = pcall(function()
      http.sleep(0.01)
      return "after-yield"
    end)
    local caught_ok, caught = pcall(function()
      http.sleep(0)
      error("inner", 0)
    end)
    return ok, value, caught_ok, caught
  end)
  local other = http.spawn(function() return "other" end)
  T.same({ http.wait(t) }, { true, "after-yield", false, "inner" })
  T.eq(http.wait(other), "other")
end)

T.test("a task cannot wait for itself; deadlocks are reported", function()
  local self_task
  self_task = http.spawn(function()
    http.sleep(0)
    return http.wait(self_task)
  end)
  local ok, err = pcall(http.wait, self_task)
  T.eq(ok, false)
  T.match(tostring(err), "cannot wait for itself")

  local a, b
  a = http.spawn(function() http.sleep(0) return http.wait(b) end)
  b = http.spawn(function() http.sleep(0) return http.wait(a) end)
  local ok2, err2 = pcall(http.wait, a)
  T.eq(ok2, false)
  T.match(tostring(err2), "deadlock")

  local outer
  outer = http.spawn(function()
    local inner = http.spawn(function()
      -- non-yieldable wait for the task that is running beneath us
      return select(2, pcall(string.gsub, "x", "x", function() return http.wait(outer) end))
    end)
    return http.wait(inner)
  end)
  T.match(tostring(http.wait(outer)), "deadlock")
end)

T.test("argument errors raise", function()
  T.raises(function() http.spawn(42) end)
  T.raises(function() http.wait({}) end)
  T.raises(function() http.sleep("soon") end)
  T.raises(function() http.set_max_in_flight(0) end)
end)

T.test("errors of tasks nobody waited for reach stderr, at collection and at exit", function()
  local out, code = run([[
    local http = require "luaws.http"
    http.spawn(function() error("lost-at-close", 0) end)
    local waited = http.spawn(function() error("seen-by-wait", 0) end)
    pcall(http.wait, waited)
    http.sleep(0.01)
  ]])
  T.eq(code, 0)
  T.match(out, "a task failed and nothing waited for it: lost%-at%-close")
  T.ok(not out:find("seen-by-wait"), "an observed error is not reported again")

  out = run([[
    local http = require "luaws.http"
    http.spawn(function() error("lost-at-exit", 0) end)
    http.sleep(0.01)
    os.exit(0)
  ]])
  T.match(out, "lost%-at%-exit")

  out = run([[
    local http = require "luaws.http"
    do http.spawn(function() error("lost-at-gc", 0) end) end
    http.sleep(0.01)
    collectgarbage() collectgarbage()
    io.write("after-gc\n") io.stdout:flush()
    os.exit(0)
  ]])
  T.match(out, "lost%-at%-gc.*after%-gc", "reported when the handle was collected")
end)

T.test("many tasks", function()
  local fns = {}
  for i = 1, 2000 do fns[i] = function() http.sleep(0) return i * 2 end end
  local results, errs = http.parallel(fns)
  T.eq(next(errs), nil)
  T.eq(#results, 2000)
  T.eq(results[2000], 4000)
end)

T.done()
