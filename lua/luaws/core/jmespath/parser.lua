-- core.jmespath.parser: JMESPath text -> AST (a lexer and a Pratt parser, as jmespath.py's).
--
-- Nodes are {type=, value=, children={...}} with the node types of jmespath.py (field,
-- subexpression, index_expression, index, slice, projection, value_projection,
-- filter_projection, flatten, identity, current, literal, multi_select_list, multi_select_dict,
-- key_val_pair, comparator, or_expression, and_expression, not_expression, pipe,
-- function_expression, expref).
local errors = require "luaws.core.errors"
local value = require "luaws.core.jmespath.value"

local M = {}

local function syntax_error(expr, pos, message, code)
  error(errors.new { code = code or "JMESPathParseError", expression = expr, position = pos,
    message = string.format("%s in %q at column %d", message, expr, pos) }, 0)
end

---------------------------------------------------------------------------------------------------
-- Lexer
---------------------------------------------------------------------------------------------------

local SIMPLE = { ["."] = "dot", ["*"] = "star", ["]"] = "rbracket", [","] = "comma", [":"] = "colon",
  ["@"] = "current", ["("] = "lparen", [")"] = "rparen", ["{"] = "lbrace", ["}"] = "rbrace" }
local TWO = { ["|"] = { "|", "or", "pipe" }, ["&"] = { "&", "and", "expref" },
  ["<"] = { "=", "lte", "lt" }, [">"] = { "=", "gte", "gt" }, ["!"] = { "=", "ne", "not" } }

-- The text between delimiters starting at i (the opening delimiter), keeping backslashes as
-- jmespath.py does; returns the lexeme and the position after the closing delimiter.
local function until_delimiter(expr, i, delim)
  local buf, j = {}, i + 1
  while true do
    local c = expr:sub(j, j)
    if c == "\\" then
      buf[#buf + 1] = "\\"
      j = j + 1
      c = expr:sub(j, j)
    elseif c == delim then
      return table.concat(buf), j + 1
    end
    if c == "" then syntax_error(expr, i, "unclosed " .. delim .. " delimiter", "JMESPathLexerError") end
    buf[#buf + 1] = c
    j = j + 1
  end
end

local function json_or_nil(text)
  local ok, v = pcall(value.decode, text)
  if ok then return true, v end
  return false
end

--- tokenize(expr) -> array of tokens {type=, value=, pos=} ending with an eof token.
function M.tokenize(expr)
  if expr == "" then syntax_error(expr, 0, "empty expression", "JMESPathLexerError") end
  local tokens, i, n = {}, 1, #expr
  local function push(t, v, pos) tokens[#tokens + 1] = { type = t, value = v, pos = pos } end
  while i <= n do
    local c = expr:sub(i, i)
    if SIMPLE[c] then
      push(SIMPLE[c], c, i)
      i = i + 1
    elseif c:match("[%a_]") then
      local id = expr:match("^[%w_]+", i)
      push("unquoted_identifier", id, i)
      i = i + #id
    elseif c:match("[ \t\n\r]") then
      i = i + 1
    elseif c == "[" then
      local d = expr:sub(i + 1, i + 1)
      if d == "]" then push("flatten", "[]", i); i = i + 2
      elseif d == "?" then push("filter", "[?", i); i = i + 2
      else push("lbracket", "[", i); i = i + 1 end
    elseif c == "'" then
      local lexeme, j = until_delimiter(expr, i, "'")
      push("literal", (lexeme:gsub("\\'", "'")), i)
      i = j
    elseif TWO[c] then
      local t = TWO[c]
      if expr:sub(i + 1, i + 1) == t[1] then push(t[2], c .. t[1], i); i = i + 2
      else push(t[3], c, i); i = i + 1 end
    elseif c == "`" then
      local lexeme, j = until_delimiter(expr, i, "`")
      lexeme = lexeme:gsub("\\`", "`")
      local ok, v = json_or_nil(lexeme)
      if not ok then  -- JEP-12's deprecated form: an unquoted string literal
        ok, v = json_or_nil('"' .. lexeme:gsub("^%s+", "") .. '"')
        if not ok then syntax_error(expr, i, "bad JSON literal " .. lexeme, "JMESPathLexerError") end
      end
      push("literal", v, i)
      i = j
    elseif c:match("%d") or c == "-" then
      local num = expr:match("^-?%d*", i)
      if num == "-" then syntax_error(expr, i, "unknown token '-'", "JMESPathLexerError") end
      push("number", math.tointeger(tonumber(num)) or tonumber(num), i)
      i = i + #num
    elseif c == '"' then
      local lexeme, j = until_delimiter(expr, i, '"')
      local ok, v = json_or_nil('"' .. lexeme .. '"')
      if not ok or type(v) ~= "string" then syntax_error(expr, i, "bad quoted identifier", "JMESPathLexerError") end
      push("quoted_identifier", v, i)
      i = j
    elseif c == "=" and expr:sub(i + 1, i + 1) == "=" then
      push("eq", "==", i)
      i = i + 2
    else
      syntax_error(expr, i, "unknown token " .. c, "JMESPathLexerError")
    end
  end
  push("eof", "", n + 1)
  return tokens
end

---------------------------------------------------------------------------------------------------
-- Parser
---------------------------------------------------------------------------------------------------

local BP = { eof = 0, unquoted_identifier = 0, quoted_identifier = 0, literal = 0, rbracket = 0,
  rparen = 0, comma = 0, rbrace = 0, number = 0, current = 0, expref = 0, colon = 0,
  pipe = 1, ["or"] = 2, ["and"] = 3, eq = 5, gt = 5, lt = 5, gte = 5, lte = 5, ne = 5,
  flatten = 9, star = 20, filter = 21, dot = 40, ["not"] = 45, lbrace = 50, lbracket = 55, lparen = 60 }
local PROJECTION_STOP = 10

local function node(t, children, v) return { type = t, children = children or {}, value = v } end
local function identity() return node("identity") end

local Parser = {}
Parser.__index = Parser

function Parser:peek(k) return self.tokens[self.pos + (k or 0)] end
function Parser:current() return self.tokens[self.pos].type end
function Parser:advance() self.pos = self.pos + 1 end

function Parser:fail(token, message)
  if token.type == "eof" then message = "unexpected end of expression" end
  syntax_error(self.expr, token.pos, message or string.format("unexpected token %s (%s)",
    tostring(token.value), token.type))
end

function Parser:match(t)
  if self:current() ~= t then self:fail(self:peek(), string.format("expected %s, got %s", t, self:current())) end
  self:advance()
end

function Parser:expression(rbp)
  rbp = rbp or 0
  local token = self:peek()
  self:advance()
  local nud = self["nud_" .. token.type]
  if not nud then self:fail(token) end
  local left = nud(self, token)
  local t = self:current()
  while rbp < (BP[t] or 0) do
    local led = self["led_" .. t]
    if not led then self:fail(self:peek()) end
    self:advance()
    left = led(self, left)
    t = self:current()
  end
  return left
end

function Parser.nud_literal(_, token) return node("literal", nil, token.value) end
function Parser.nud_unquoted_identifier(_, token) return node("field", nil, token.value) end
function Parser:nud_quoted_identifier(token)
  if self:current() == "lparen" then self:fail(self:peek(), "quoted identifier not allowed for function names") end
  return node("field", nil, token.value)
end
function Parser:nud_star()
  local right
  if self:current() == "rbracket" then right = identity() else right = self:projection_rhs(BP.star) end
  return node("value_projection", { identity(), right })
end
function Parser:nud_filter() return self:led_filter(identity()) end
function Parser:nud_lbrace() return self:multi_select_hash() end
function Parser:nud_lparen()
  local e = self:expression()
  self:match("rparen")
  return e
end
function Parser:nud_flatten()
  local left = node("flatten", { identity() })
  return node("projection", { left, self:projection_rhs(BP.flatten) })
end
function Parser:nud_not() return node("not_expression", { self:expression(BP["not"]) }) end
function Parser:nud_lbracket()
  local t = self:current()
  if t == "number" or t == "colon" then
    return self:project_if_slice(identity(), self:index_expression())
  elseif t == "star" and self:peek(1).type == "rbracket" then
    self:advance(); self:advance()
    return node("projection", { identity(), self:projection_rhs(BP.star) })
  end
  return self:multi_select_list()
end
function Parser.nud_current() return node("current") end
function Parser:nud_expref() return node("expref", { self:expression(BP.expref) }) end

function Parser:index_expression()
  if self:current() == "colon" or self:peek(1).type == "colon" then return self:slice_expression() end
  local n = node("index", nil, self:peek().value)
  self:advance()
  self:match("rbracket")
  return n
end

function Parser:slice_expression()
  local parts, index = {}, 1
  local t = self:current()
  while t ~= "rbracket" and index <= 3 do
    if t == "colon" then
      index = index + 1
      if index == 4 then self:fail(self:peek(), "syntax error in slice") end
      self:advance()
    elseif t == "number" then
      parts[index] = self:peek().value
      self:advance()
    else
      self:fail(self:peek())
    end
    t = self:current()
  end
  self:match("rbracket")
  return { type = "slice", children = {}, start = parts[1], stop = parts[2], step = parts[3] }
end

function Parser:project_if_slice(left, right)
  local index_expr = node("index_expression", { left, right })
  if right.type == "slice" then
    return node("projection", { index_expr, self:projection_rhs(BP.star) })
  end
  return index_expr
end

function Parser:led_dot(left)
  if self:current() ~= "star" then
    local right = self:dot_rhs(BP.dot)
    if left.type == "subexpression" then
      left.children[#left.children + 1] = right
      return left
    end
    return node("subexpression", { left, right })
  end
  self:advance()
  return node("value_projection", { left, self:projection_rhs(BP.dot) })
end
function Parser:led_pipe(left) return node("pipe", { left, self:expression(BP.pipe) }) end
Parser["led_or"] = function(self, left) return node("or_expression", { left, self:expression(BP["or"]) }) end
Parser["led_and"] = function(self, left) return node("and_expression", { left, self:expression(BP["and"]) }) end
function Parser:led_lparen(left)
  if left.type ~= "field" then self:fail(self:peek(-2), "invalid function name") end
  local args = {}
  while self:current() ~= "rparen" do
    local e = self:expression()
    if self:current() == "comma" then self:match("comma") end
    args[#args + 1] = e
  end
  self:match("rparen")
  return node("function_expression", args, left.value)
end
function Parser:led_filter(left)
  local condition = self:expression(0)
  self:match("rbracket")
  local right
  if self:current() == "flatten" then right = identity() else right = self:projection_rhs(BP.filter) end
  return node("filter_projection", { left, right, condition })
end
for _, op in ipairs { "eq", "ne", "gt", "gte", "lt", "lte" } do
  Parser["led_" .. op] = function(self, left)
    return node("comparator", { left, self:expression(BP[op]) }, op)
  end
end
function Parser:led_flatten(left)
  return node("projection", { node("flatten", { left }), self:projection_rhs(BP.flatten) })
end
function Parser:led_lbracket(left)
  local t = self:current()
  if t == "number" or t == "colon" then
    local right = self:index_expression()
    if left.type == "index_expression" then
      left.children[#left.children + 1] = right
      return left
    end
    return self:project_if_slice(left, right)
  end
  self:match("star")
  self:match("rbracket")
  return node("projection", { left, self:projection_rhs(BP.star) })
end

function Parser:multi_select_list()
  local list = {}
  while true do
    list[#list + 1] = self:expression()
    if self:current() == "rbracket" then break end
    self:match("comma")
  end
  self:match("rbracket")
  return node("multi_select_list", list)
end

function Parser:multi_select_hash()
  local pairs_ = {}
  while true do
    local key = self:peek()
    if key.type ~= "quoted_identifier" and key.type ~= "unquoted_identifier" then
      self:fail(key, "expected an identifier as a key")
    end
    self:advance()
    self:match("colon")
    pairs_[#pairs_ + 1] = node("key_val_pair", { self:expression(0) }, key.value)
    if self:current() == "comma" then self:match("comma")
    elseif self:current() == "rbrace" then self:match("rbrace"); break end
  end
  return node("multi_select_dict", pairs_)
end

function Parser:projection_rhs(rbp)
  local t = self:current()
  if (BP[t] or 0) < PROJECTION_STOP then return identity() end
  if t == "lbracket" or t == "filter" then return self:expression(rbp) end
  if t == "dot" then
    self:match("dot")
    return self:dot_rhs(rbp)
  end
  self:fail(self:peek())
end

function Parser:dot_rhs(rbp)
  local t = self:current()
  if t == "quoted_identifier" or t == "unquoted_identifier" or t == "star" then
    return self:expression(rbp)
  elseif t == "lbracket" then
    self:match("lbracket")
    return self:multi_select_list()
  elseif t == "lbrace" then
    self:match("lbrace")
    return self:multi_select_hash()
  end
  self:fail(self:peek())
end

--- parse(expr) -> AST; raises a JMESPathParseError / JMESPathLexerError error table.
function M.parse(expr)
  if type(expr) ~= "string" then syntax_error(tostring(expr), 0, "expression is not a string") end
  local p = setmetatable({ expr = expr, tokens = M.tokenize(expr), pos = 1 }, Parser)
  local ast = p:expression(0)
  if p:current() ~= "eof" then p:fail(p:peek()) end
  return ast
end

return M
