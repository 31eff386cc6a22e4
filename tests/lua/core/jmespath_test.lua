-- jmespath_test: luaws.core.jmespath gives python jmespath's answers (botocore's), errors as tables.
-- luacheck: no max line length
local T = require "testing"
local j = require "luaws.core.jmespath"

-- { expression, data (JSON), python jmespath 1.1.0's result (JSON) }; more in
-- tests/py/jmespath_diff_test.py, which compares thousands of generated cases live.
local CASES = {
  { "a.b.c[-1]", [==[{"a": {"b": {"c": [1, 2, 3]}}, "foo": [{"bar": 1}, {"bar": 2}, {"baz": 3}], "c": "text"}]==], [==[3]==] },
  { "foo[*].bar", [==[{"a": {"b": {"c": [1, 2, 3]}}, "foo": [{"bar": 1}, {"bar": 2}, {"baz": 3}], "c": "text"}]==], [==[[1, 2]]==] },
  { "foo[?bar > `1`]", [==[{"a": {"b": {"c": [1, 2, 3]}}, "foo": [{"bar": 1}, {"bar": 2}, {"baz": 3}], "c": "text"}]==], [==[[{"bar": 2}]]==] },
  { "{x: a.b.c[0], y: missing}", [==[{"a": {"b": {"c": [1, 2, 3]}}, "foo": [{"bar": 1}, {"bar": 2}, {"baz": 3}], "c": "text"}]==], [==[{"x": 1, "y": null}]==] },
  { "foo[].[bar, baz]", [==[{"a": {"b": {"c": [1, 2, 3]}}, "foo": [{"bar": 1}, {"bar": 2}, {"baz": 3}], "c": "text"}]==], [==[[[1, null], [2, null], [null, 3]]]==] },
  { "foo[0] | bar", [==[{"a": {"b": {"c": [1, 2, 3]}}, "foo": [{"bar": 1}, {"bar": 2}, {"baz": 3}], "c": "text"}]==], [==[1]==] },
  { "c || a", [==[{"a": {"b": {"c": [1, 2, 3]}}, "foo": [{"bar": 1}, {"bar": 2}, {"baz": 3}], "c": "text"}]==], [==["text"]==] },
  { "!c", [==[{"a": {"b": {"c": [1, 2, 3]}}, "foo": [{"bar": 1}, {"bar": 2}, {"baz": 3}], "c": "text"}]==], [==[false]==] },
  { "to_string(foo)", [==[{"a": {"b": {"c": [1, 2, 3]}}, "foo": [{"bar": 1}, {"bar": 2}, {"baz": 3}], "c": "text"}]==], [==["[{\"bar\":1},{\"bar\":2},{\"baz\":3}]"]==] },
  { "foo[][]", [==[{"foo": [[1, 2], [3, [4, 5]], 6, null], "bar": {"x y": true, "a": false}, "baz": []}]==], [==[[1, 2, 3, 4, 5, 6]]==] },
  { "foo[1][1][0]", [==[{"foo": [[1, 2], [3, [4, 5]], 6, null], "bar": {"x y": true, "a": false}, "baz": []}]==], [==[4]==] },
  { "bar.\"x y\"", [==[{"foo": [[1, 2], [3, [4, 5]], 6, null], "bar": {"x y": true, "a": false}, "baz": []}]==], [==[true]==] },
  { "baz || 'empty'", [==[{"foo": [[1, 2], [3, [4, 5]], 6, null], "bar": {"x y": true, "a": false}, "baz": []}]==], [==["empty"]==] },
  { "length(foo[])", [==[{"foo": [[1, 2], [3, [4, 5]], 6, null], "bar": {"x y": true, "a": false}, "baz": []}]==], [==[5]==] },
  { "Reservations[].Instances[].State.Name", [==[{"Reservations": [{"Instances": [{"State": {"Name": "running"}, "InstanceId": "i-1"}, {"State": {"Name": "pending"}, "InstanceId": "i-2"}]}, {"Instances": []}], "Table": {"TableStatus": "ACTIVE"}, "Count": 0, "Items": [{"n": 1.5}, {"n": -2}, {"n": 0}]}]==], [==[["running", "pending"]]==] },
  { "Reservations[*].Instances[*].State.Name", [==[{"Reservations": [{"Instances": [{"State": {"Name": "running"}, "InstanceId": "i-1"}, {"State": {"Name": "pending"}, "InstanceId": "i-2"}]}, {"Instances": []}], "Table": {"TableStatus": "ACTIVE"}, "Count": 0, "Items": [{"n": 1.5}, {"n": -2}, {"n": 0}]}]==], [==[[["running", "pending"], []]]==] },
  { "length(Reservations[].Instances[]) > `0`", [==[{"Reservations": [{"Instances": [{"State": {"Name": "running"}, "InstanceId": "i-1"}, {"State": {"Name": "pending"}, "InstanceId": "i-2"}]}, {"Instances": []}], "Table": {"TableStatus": "ACTIVE"}, "Count": 0, "Items": [{"n": 1.5}, {"n": -2}, {"n": 0}]}]==], [==[true]==] },
  { "Items[?n > `0`].n", [==[{"Reservations": [{"Instances": [{"State": {"Name": "running"}, "InstanceId": "i-1"}, {"State": {"Name": "pending"}, "InstanceId": "i-2"}]}, {"Instances": []}], "Table": {"TableStatus": "ACTIVE"}, "Count": 0, "Items": [{"n": 1.5}, {"n": -2}, {"n": 0}]}]==], [==[[1.5]]==] },
  { "sum(Items[].n)", [==[{"Reservations": [{"Instances": [{"State": {"Name": "running"}, "InstanceId": "i-1"}, {"State": {"Name": "pending"}, "InstanceId": "i-2"}]}, {"Instances": []}], "Table": {"TableStatus": "ACTIVE"}, "Count": 0, "Items": [{"n": 1.5}, {"n": -2}, {"n": 0}]}]==], [==[-0.5]==] },
  { "avg(Items[].n)", [==[{"Reservations": [{"Instances": [{"State": {"Name": "running"}, "InstanceId": "i-1"}, {"State": {"Name": "pending"}, "InstanceId": "i-2"}]}, {"Instances": []}], "Table": {"TableStatus": "ACTIVE"}, "Count": 0, "Items": [{"n": 1.5}, {"n": -2}, {"n": 0}]}]==], [==[-0.16666666666666666]==] },
  { "sort_by(@, &a)", [==[[{"a": 3}, {"a": 1}, {"a": 2}]]==], [==[[{"a": 1}, {"a": 2}, {"a": 3}]]==] },
  { "[::-1]", [==[[1, 2, 3]]==], [==[[3, 2, 1]]==] },
  { "[5:1:-2]", [==[[0, 1, 2, 3, 4, 5, 6, 7]]==], [==[[5, 3]]==] },
  { "[-2:]", [==[[1, 2, 3]]==], [==[[2, 3]]==] },
  { "[?b == 'y'].a", [==[[{"a": 1, "b": "x"}, {"a": 3, "b": "z"}, {"a": 2, "b": "y"}, {"a": null, "b": ""}]]==], [==[[2]]==] },
  { "max_by(@, &a).b", [==[[{"a": 1, "b": "x"}, {"a": 3, "b": "z"}, {"a": 2, "b": "y"}]]==], [==["z"]==] },
  { "min_by(@, &b).a", [==[[{"a": 1, "b": "x"}, {"a": 3, "b": "z"}, {"a": 2, "b": "y"}, {"a": null, "b": ""}]]==], [==[null]==] },
  { "*.b", [==[{"x": {"b": 1}, "y": {"c": 2}}]==], [==[[1]]==] },
  { "merge(`{\"a\": 1}`, `{\"b\": 2, \"a\": 3}`)", [==[null]==], [==[{"a": 3, "b": 2}]==] },
  { "not_null(x, `null`, 'z')", [==[{}]==], [==["z"]==] },
  { "to_number('1.5e3')", [==[null]==], [==[1500.0]==] },
  { "join('-', `[\"a\", \"b\"]`)", [==[null]==], [==["a-b"]==] },
  { "contains('abc', 'bc')", [==[null]==], [==[true]==] },
  { "starts_with('abc', 'ab')", [==[null]==], [==[true]==] },
  { "reverse('abc')", [==[null]==], [==["cba"]==] },
  { "keys(@)", [==[{"b": 1, "a": 2}]==], [==[["b", "a"]]==] },
  { "values(@)", [==[{"b": 1, "a": 2}]==], [==[[1, 2]]==] },
  { "type(@)", [==[[]]==], [==["array"]==] },
  { "map(&a, @)", [==[[{"a": 1}, {}, {"a": 3}]]==], [==[[1, null, 3]]==] },
  { "ceil(`1.2`)", [==[null]==], [==[2]==] },
  { "floor(`-1.2`)", [==[null]==], [==[-2]==] },
  { "abs(`-3`)", [==[null]==], [==[3]==] },
  { "`[1, 2]` == `[1, 2]`", [==[null]==], [==[true]==] },
  { "`0` == `false`", [==[null]==], [==[false]==] },
  { "a[?b == `1`] | length(@)", [==[{"a": [{"b": 1}, {"b": 2}, {"b": 1}]}]==], [==[2]==] },
  { "to_array(`1`)", [==[null]==], [==[[1]]==] },
  { "sort(`[\"b\", \"a\", \"c\"]`)", [==[null]==], [==[["a", "b", "c"]]==] },
  { "foo[?bar==`2`] || 'none'", [==[{"a": {"b": {"c": [1, 2, 3]}}, "foo": [{"bar": 1}, {"bar": 2}, {"baz": 3}], "c": "text"}]==], [==[[{"bar": 2}]]==] },
  { "length('é日😀')", [==[null]==], [==[3]==] },
  { "to_string(`[1.5, \"é\"]`)", [==[null]==], [==["[1.5,\"\\u00e9\"]"]==] },
}

T.test("results match python jmespath", function()
  for _, c in ipairs(CASES) do
    local got = j.search(c[1], j.decode(c[2]))
    local want = j.decode(c[3])
    T.ok(j.equal(got, want) and j.type_of(got) == j.type_of(want),
      string.format("%s: got %s, want %s", c[1], j.encode(got), c[3]))
  end
end)

T.test("plain Lua tables (as the protocol parsers return them) work unmarked", function()
  local page = { Reservations = { { Instances = { { State = { Name = "running" } } } }, { Instances = {} } } }
  T.same(j.search("Reservations[].Instances[].State.Name", page), { "running" })
  T.eq(j.search("length(Reservations[].Instances[])", page), 1)
  T.eq(j.search("Reservations[1].Instances[0]", page), nil)
  T.eq(j.type_of({}), "array", "an empty unmarked table is taken as an array")
  T.eq(j.type_of({ a = 1 }), "object")
  T.ok(j.equal({}, j.object()), "an unmarked empty table equals an empty object")
  T.eq(j.search("Missing || `false`", page), false)
  T.eq(j.search("foo", nil), nil)
end)

T.test("null inside arrays keeps its place; top-level null is nil", function()
  local r = j.search("[a, b, c]", { a = 1, c = 3 })
  T.eq(r[2], j.NULL)
  T.eq(#r, 3)
  T.eq(j.search("[a, b][1]", { a = 1 }), nil)
  T.eq(j.encode(j.search("{x: a, y: b}", { a = 1 })), '{"x":1,"y":null}')
end)

T.test("syntax errors are error tables naming the expression and column", function()
  for _, bad in ipairs { "foo.", "a[", "[?]", "`1", "'open", "a = b", "", "{a}", "\"q\"(x)", "a[::1:]" } do
    local ok, err = pcall(j.compile, bad)
    T.ok(not ok, bad .. " should not compile")
    T.ok(type(err) == "table" and (err.code == "JMESPathParseError" or err.code == "JMESPathLexerError"),
      bad .. ": " .. tostring(err))
    T.eq(err.expression, bad)
    T.match(tostring(err), "JMESPath")
  end
  local _, err = pcall(j.compile, "a.b | c[")
  T.eq(err.position, 9)
end)

T.test("function errors: unknown name, arity, types; slice step 0", function()
  local cases = { { "nope(@)", "JMESPathUnknownFunction" }, { "length(@, @)", "JMESPathArityError" },
    { "not_null()", "JMESPathArityError" }, { "length(`1`)", "JMESPathTypeError" },
    { "sum(`[1, \"a\"]`)", "JMESPathTypeError" }, { "sort_by(@, &a)", "JMESPathTypeError" },
    { "[::0]", "JMESPathValueError" }, { "`1` < 'a'", "JMESPathValueError" } }
  for _, c in ipairs(cases) do
    local ok, err = pcall(j.search, c[1], { { a = {} } })
    T.ok(not ok and type(err) == "table", c[1])
    T.eq(err.code, c[2], c[1])
    T.match(err.message, "%S", c[1])
  end
end)

T.test("comparisons follow JMESPath types: ordering only numbers or strings", function()
  T.eq(j.search("a < b", { a = 1, b = 2 }), true)
  T.eq(j.search("a < b", { a = "a", b = "b" }), true)
  T.eq(j.search("a < b", { a = true, b = 2 }), nil)
  T.eq(j.search("a == b", { a = 1, b = 1.0 }), true)
  T.eq(j.search("a == b", { a = 1, b = true }), false)
  T.eq(j.search("a == b", { a = { x = { 1, 2 } }, b = { x = { 1, 2 } } }), true)
  T.eq(j.search("!a", { a = 0 }), false, "0 is true in JMESPath")
end)

T.test("compiled expressions are cached and reusable", function()
  local c = j.compile("a.b")
  T.ok(j.compile("a.b") == c)
  T.eq(c:search { a = { b = 5 } }, 5)
  T.eq(c:search { a = 1 }, nil)
  T.eq(#j.function_names, 26)
end)

T.test("JSON text round-trips as python writes it", function()
  T.eq(j.encode(j.decode('{"b":[1,2.5,-0.0,1e100,null,"é"],"a":{}}')),
    '{"b":[1,2.5,-0.0,1e+100,null,"\\u00e9"],"a":{}}')
  T.eq(j.encode(0.0001), "0.0001")
  T.eq(j.encode(1e16), "1e+16")
  T.eq(j.encode(123.0), "123.0")
  T.ok(not pcall(j.decode, "[1,"))
end)

T.done()
