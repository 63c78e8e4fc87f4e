-- wrk script: POST /v1/moderations with a 1 KiB input (docs/gateway-performance.md).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- Every request's text differs (a counter in front), so the classifier score cache never answers:
-- this measures screening, not the cache.
local n = 0
local rest = 'The quick brown fox jumps over the lazy dog while the committee reviews quarterly numbers and plans the next release. The quick brown fox jumps over the lazy dog while the committee reviews quarterly numbers and plans the next release. The quick brown fox jumps over the lazy dog while the committee reviews quarterly numbers and plans the next release. The quick brown fox jumps over the lazy dog while the committee reviews quarterly numbers and plans the next release. The quick brown fox jumps over the lazy dog while the committee reviews quarterly numbers and plans the next release. The quick brown fox jumps over the lazy dog while the committee reviews quarterly numbers and plans the next release. The quick brown fox jumps over the lazy dog while the committee reviews quarterly numbers and plans the next release. The quick brown fox jumps over the lazy dog while the committee reviews quarterly numbers and plans the next release. The quick brown fox jumps over the lazy dog while the committee reviews quarterl"}'
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"input":"' .. n .. ' ' .. rest)
end
