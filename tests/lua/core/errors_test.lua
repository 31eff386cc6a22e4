-- errors_test: the one error shape: fields, one-line printing, code checks, wrapping.
local T = require "testing"
local errors = require "luaws.core.errors"

T.test("new fills code and retryable; tostring is one line with where, code, status and request", function()
  local e = errors.new { code = "AccessDenied", message = "no\n  access", status = 403, service = "kms",
                         operation = "ListKeys", request_id = "r-1" }
  T.eq(tostring(e), "kms ListKeys: AccessDenied: no access (HTTP 403, request r-1)")
  T.eq(e.retryable, false)
  T.eq(errors.new {}.code, "Error")
  T.eq(errors.new("plain").message, "plain")
end)

T.test("is: by identity and code; plain tables and strings are not luaws errors", function()
  local e = errors.new { code = "NotFound" }
  T.ok(errors.is(e))
  T.ok(errors.is(e, "Other", "NotFound"))
  T.ok(not errors.is(e, "Other"))
  T.ok(not errors.is({ code = "NotFound" }, "NotFound"))
  T.ok(not errors.is("NotFound", "NotFound"))
  T.ok(errors.is_error(e) and not errors.is_error({}))
end)

T.test("wrap keeps a luaws error, adopts a table, wraps a string, fills missing fields", function()
  local e = errors.new { code = "X" }
  T.eq(errors.wrap(e, { service = "s" }), e)
  T.eq(e.service, "s")
  local adopted = errors.wrap({ code = "ConnectionReset", message = "reset" }, { operation = "Op" })
  T.ok(errors.is(adopted, "ConnectionReset"))
  T.eq(adopted.operation, "Op")
  local wrapped = errors.wrap("boom")
  T.eq(wrapped.code, "Error")
  T.eq(wrapped.message, "boom")
  local ok, raised = pcall(errors.raise, { code = "Raised" })
  T.ok(not ok and errors.is(raised, "Raised"))
end)

T.test("summary: Code: message on one line; other values as text", function()
  T.eq(errors.summary(errors.new { code = "AccessDenied", message = "no\nway", status = 403 }), "AccessDenied: no way")
  T.eq(errors.summary { message = "plain" }, "plain")
  T.eq(errors.summary("two\nlines"), "two lines")
end)

T.done()
