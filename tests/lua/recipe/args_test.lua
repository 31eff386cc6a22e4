-- args_test: recipe argument specs, conversion of each type, defaults and required arguments.
local T = require "testing"
local args = require "luaws.recipe.args"

T.test("conversion by type, with clear usage errors (exit 2)", function()
  T.eq(args.convert({ name = "n", type = "integer", min = 1 }, "7"), 7)
  T.eq(args.convert({ name = "o", type = "enum", values = { "text", "json" } }, "json"), "json")
  T.same(args.convert({ name = "l", type = "list" }, "a,b"), { "a", "b" })
  local ok, e = pcall(args.convert, { name = "n", type = "integer", min = 1 }, "0")
  T.ok(not ok)
  T.eq(e.exit, 2)
  T.match(e.message, "^%-%-n: ")
  ok, e = pcall(args.convert, { name = "o", type = "enum", values = { "text", "json" } }, "xml")
  T.ok(not ok and e.exit == 2)
end)

T.test("resolve applies defaults, keeps snake_case names, refuses a missing required argument", function()
  local specs = { args.check_spec({ name = "key-id", type = "string", required = true, help = "k" }, "t"),
                  args.check_spec({ name = "max-count", type = "integer", default = "3", help = "m" }, "t") }
  local values = args.resolve(specs, { ["key-id"] = "k" })
  T.eq(values.key_id, "k")
  T.eq(values["max-count"], 3)
  local ok, e = pcall(args.resolve, specs, {})
  T.ok(not ok)
  T.match(e.message, "key%-id")
end)

T.test("specs are checked: reserved names, unknown types, a default on a required argument", function()
  T.ok(not pcall(args.check_spec, { name = "profile", type = "string", help = "p" }, "t"))
  T.ok(not pcall(args.check_spec, { name = "x", type = "nonsense", help = "h" }, "t"))
  T.ok(not pcall(args.check_spec, { name = "x", type = "string", required = true, default = "a", help = "h" }, "t"))
  T.eq(args.describe_type { type = "enum", values = { "a", "b" } }, "enum(a|b)")
end)

T.done()
