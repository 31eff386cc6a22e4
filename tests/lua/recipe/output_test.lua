-- output_test: a recipe's result as rows (text mode) and as a table (--output table).
local T = require "testing"
local output = require "luaws.recipe.output"

local result = {
  account = "111111111111", applied = true, tags = { "a", "b" }, empty = {},
  grants = { { id = "g1", grantee = "role/x", flags = { "unused" } }, { id = "g2", grantee = "role/y" } },
  nested = { count = 2 },
}

T.test("text mode: key: value lines, one row per record of a list", function()
  T.eq(output.rows(result), table.concat({
    "account: 111111111111",
    "applied: true",
    "grants: (2)",
    "  flags=unused  grantee=role/x  id=g1",
    "  grantee=role/y  id=g2",
    "nested.count: 2",
    "tags: a, b",
  }, "\n"))
  T.eq(output.rows(nil), "")
  T.eq(output.rows("plain"), "plain")
end)

T.test("--output table: scalars as KEY/VALUE, each list of records as columns", function()
  T.eq(output.table(result), table.concat({
    "KEY           VALUE",
    "------------  ------------",
    "account       111111111111",
    "applied       true",
    "nested.count  2",
    "tags          a, b",
    "",
    "grants:",
    "FLAGS   GRANTEE  ID",
    "------  -------  --",
    "unused  role/x   g1",
    "        role/y   g2",
  }, "\n"))
end)

T.done()
