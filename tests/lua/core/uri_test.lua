-- uri_test: the one percent-encoder (RFC 3986 unreserved kept; "/" only when asked) and query helpers.
local T = require "testing"
local uri = require "luaws.core.uri"

T.test("encode keeps A-Z a-z 0-9 - . _ ~ and encodes everything else, upper-case hex", function()
  T.eq(uri.encode("AZaz09-._~"), "AZaz09-._~")
  T.eq(uri.encode("a b+c/d?e=f&g%h*"), "a%20b%2Bc%2Fd%3Fe%3Df%26g%25h%2A")
  T.eq(uri.encode("ü😀"), "%C3%BC%F0%9F%98%80")
  T.eq(uri.encode(""), "")
  T.eq(uri.encode(12), "12")
end)

T.test("greedy labels keep '/' (and only '/')", function()
  T.eq(uri.encode("dir one/../x+y//z", true), "dir%20one/../x%2By//z")
end)

T.test("decode and split_query undo encode; query_string keeps order and empty values", function()
  T.eq(uri.decode("a%20b%2Fc+d"), "a b/c+d")
  T.eq(uri.query_string { { "b", "2 3" }, { "a", "" }, { "tag", "x&y" } }, "b=2%203&a=&tag=x%26y")
  local pairs_ = uri.split_query("tagging&a=1&b=&c=x%20y")
  T.same(pairs_, { { "tagging", "" }, { "a", "1" }, { "b", "" }, { "c", "x y" } })
  T.same(uri.split_query(""), {})
end)

T.done()
