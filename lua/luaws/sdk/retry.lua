-- retry: the AWS SDKs' "standard" retry mode: which failures to retry, backoff, retry quota.
--
-- The rule implemented (also in docs/architecture.md, "Retries"):
--  * Retry at most max_attempts - 1 times (max_attempts counts the first try; default 3).
--  * Retryable: throttling codes, transient codes, HTTP 500/502/503/504, and transport failures.
--  * A transport failure that happened before the request could have reached the server
--    (DNS, refused, connect timeout, TLS handshake) is always safe to retry.
--  * A transport failure after the request may have been sent (reset, read timeout, empty or
--    truncated reply) is ambiguous: the call may have been applied. The SDKs retry it for every
--    operation; luaws retries it only when repeating is known to be harmless: read-only
--    operations, operations whose idempotency token the client fills once per call (so every
--    attempt carries the same token), and a short list of naturally idempotent writes. Anything
--    else raises at once with ambiguous = true, so a recipe re-reads state instead of, say,
--    creating a second unnamed grant.
--  * An error answered by the service itself (throttling and transient codes, HTTP 500 and 503)
--    is retried for every operation, as all SDKs do: AWS answers these for requests it did not
--    apply, which is the contract every SDK's retries rely on. HTTP 502 and 504 without such a
--    code come from a gateway that lost the backend's answer: as ambiguous as a reset.
--  * Backoff: full jitter, random() * min(base * 2^(attempt-1), 20 s), base 1 s for throttling
--    and transient errors alike (classic standard mode); x-amz-retry-after is honoured up to
--    5 s above the computed delay.
--  * Retry quota: a token bucket of 500 per client; a retry costs 5 (10 after a timeout); a
--    success returns what its last retry cost, or 1 when it needed no retry. An empty bucket
--    stops retrying (the error says retry_quota_exceeded) so a failing dependency is not
--    hammered by every caller at once.
local M = {}

M.DEFAULT_MAX_ATTEMPTS = 3
M.MAX_BACKOFF = 20
M.QUOTA_CAPACITY = 500
M.RETRY_COST = 5
M.TIMEOUT_RETRY_COST = 10
M.NO_RETRY_INCREMENT = 1
M.RETRY_AFTER_MAX_EXTRA = 5

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

M.THROTTLING_CODES = set {
  "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
  "TooManyRequestsException", "ProvisionedThroughputExceededException",
  "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
  "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
  "EC2ThrottledException",
}

M.TRANSIENT_CODES = set {
  "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "IDPCommunicationError",
}

M.TRANSIENT_STATUS = set { 500, 502, 503, 504 }
M.GATEWAY_STATUS = set { 502, 504 }

-- Transport codes (luaws.http) for failures where the request never reached a server: no
-- address, nobody listening, connect timeout, TLS handshake failure.
M.NOT_SENT_CODES = set { "DNSFailure", "ConnectionRefused", "ConnectTimeout", "TLSError" }

-- Transport codes that no retry can cure: a certificate that does not verify, a redirect loop,
-- a body over the caller's limit, a request body file that cannot be read (it shrank), a sink
-- file that cannot be written (no such folder, disk full).
M.FINAL_TRANSPORT_CODES = set { "TLSError", "TooManyRedirects", "ResponseTooLarge", "BodyReadError",
  "SinkWriteError" }

-- Transport codes that are timeouts (they cost more retry quota).
M.TIMEOUT_CODES = set { "ConnectTimeout", "ReadTimeout" }

function M.is_throttling(code)
  return code ~= nil and M.THROTTLING_CODES[code] == true
end

--- Classifies one failed attempt. failure = {code=, status=, transport=bool, sent=bool|nil}.
--- Returns kind: "throttling", "transient", "unsent", "ambiguous" or nil (not retryable).
function M.classify(failure)
  if failure.transport then
    if M.FINAL_TRANSPORT_CODES[failure.code] then return nil end
    if failure.sent == false or (failure.sent == nil and M.NOT_SENT_CODES[failure.code]) then
      return "unsent"
    end
    return "ambiguous"
  end
  if M.is_throttling(failure.code) then return "throttling" end
  if M.TRANSIENT_CODES[failure.code] then return "transient" end
  if M.GATEWAY_STATUS[failure.status] then return "ambiguous" end
  if M.TRANSIENT_STATUS[failure.status] then return "transient" end
  return nil
end

--- Whether a failure is retryable in principle (ignoring attempts, quota and idempotency).
function M.is_retryable(failure)
  return M.classify(failure) ~= nil
end

--- Full-jitter backoff before retry number `attempt` (1 = the delay after the first failure).
--- random() returns [0, 1); retry_after_ms is the x-amz-retry-after header, if any.
function M.backoff(attempt, random, retry_after_ms)
  local delay = (random or math.random)() * math.min(2 ^ (attempt - 1), M.MAX_BACKOFF)
  local retry_after = tonumber(retry_after_ms)
  if retry_after and retry_after >= 0 then
    delay = math.max(delay, math.min(retry_after / 1000, delay + M.RETRY_AFTER_MAX_EXTRA))
  end
  return delay
end

local Quota = {}
Quota.__index = Quota
Quota.__name = "luaws.RetryQuota"

--- A retry-quota token bucket; capacity defaults to 500.
function M.new_quota(capacity)
  capacity = capacity or M.QUOTA_CAPACITY
  return setmetatable({ capacity = capacity, available = capacity }, Quota)
end

--- Takes `amount` tokens; false (nothing taken) when the bucket holds fewer.
function Quota:acquire(amount)
  if amount > self.available then return false end
  self.available = self.available - amount
  return true
end

--- Returns tokens, never above capacity.
function Quota:release(amount)
  self.available = math.min(self.capacity, self.available + amount)
end

--- Decides what to do after a failed attempt.
--- state = {attempt=, max_attempts=, quota=, safe_to_repeat=bool, random=, retry_after_ms=}
--- failure = {code=, status=, transport=, sent=}
--- Returns {retry=true, delay=, cost=} or {retry=false, reason=, ambiguous=bool}.
function M.decide(state, failure)
  local kind = M.classify(failure)
  if kind == nil then return { retry = false, reason = "not retryable" } end
  if kind == "ambiguous" and not state.safe_to_repeat then
    return { retry = false, ambiguous = true,
      reason = "the request may have been applied and the operation is not safe to repeat" }
  end
  if state.attempt >= state.max_attempts then
    return { retry = false, reason = "max attempts reached", max_attempts_reached = true }
  end
  local cost = M.TIMEOUT_CODES[failure.code] and failure.transport and M.TIMEOUT_RETRY_COST
    or M.RETRY_COST
  if state.quota and not state.quota:acquire(cost) then
    return { retry = false, reason = "retry quota exhausted", retry_quota_exceeded = true }
  end
  return { retry = true, cost = cost, kind = kind,
    delay = M.backoff(state.attempt, state.random, state.retry_after_ms) }
end

--- Settles the quota after a successful attempt: last_cost is what the last retry took (nil
--- when the call succeeded at once).
function M.on_success(quota, last_cost)
  if quota then quota:release(last_cost or M.NO_RETRY_INCREMENT) end
end

return M
