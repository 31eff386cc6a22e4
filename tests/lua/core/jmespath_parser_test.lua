-- jmespath_parser_test: luaws.core.jmespath.parser: tokens and the AST shapes jmespath.py builds.
local T = require "testing"
local parser = require "luaws.core.jmespath.parser"

local function types(tokens)
  local out = {}
  for i, t in ipairs(tokens) do out[i] = t.type end
  return out
end

T.test("tokens: identifiers, punctuation, two-character operators, literals, numbers", function()
  T.same(types(parser.tokenize("a.b[0] || c[?d != `1`] && !e")), { "unquoted_identifier", "dot",
    "unquoted_identifier", "lbracket", "number", "rbracket", "or", "unquoted_identifier", "filter",
    "unquoted_identifier", "ne", "literal", "rbracket", "and", "not", "unquoted_identifier", "eof" })
  local t = parser.tokenize([==["a \"q\"" 'it\'s' `{"k": [1]}` -12 &x []]==])
  T.eq(t[1].value, 'a "q"')
  T.eq(t[2].value, "it's")
  T.eq(t[3].value.k[1], 1)
  T.eq(t[4].value, -12)
  T.same(types(t), { "quoted_identifier", "literal", "literal", "number", "expref", "unquoted_identifier",
    "flatten", "eof" })
  T.eq(parser.tokenize("`foo`")[1].value, "foo", "JEP-12's deprecated unquoted literal")
end)

T.test("ASTs: subexpressions flatten, projections nest, slices keep their parts", function()
  local ast = parser.parse("a.b.c")
  T.eq(ast.type, "subexpression")
  T.eq(#ast.children, 3)
  ast = parser.parse("a[*].b")
  T.eq(ast.type, "projection")
  T.eq(ast.children[2].type, "field")
  ast = parser.parse("[1:-1:2]")
  T.eq(ast.type, "projection")
  local slice = ast.children[1].children[2]
  T.eq(slice.type, "slice")
  T.same({ slice.start, slice.stop, slice.step }, { 1, -1, 2 })
  ast = parser.parse("a | b || c && d == e")
  T.eq(ast.type, "pipe")
  T.eq(ast.children[2].type, "or_expression")
  T.eq(ast.children[2].children[2].type, "and_expression")
  T.eq(parser.parse("foo(a, &b)").value, "foo")
end)

T.test("errors: lexer and parser errors name the column", function()
  local _, e = pcall(parser.parse, "a.b ~ c")
  T.eq(e.code, "JMESPathLexerError")
  T.eq(e.position, 5)
  _, e = pcall(parser.parse, "a[1")
  T.eq(e.code, "JMESPathParseError")
  T.match(e.message, "unexpected end of expression")
  _, e = pcall(parser.parse, "@()")
  T.match(e.message, "invalid function name")
end)

T.done()
