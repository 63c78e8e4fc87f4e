-- wrk script: POST /v1/check with a fresh text each time (a counter in front, so the classifier
-- score cache never answers). WARDEN_TEXT picks the text; docs/gateway-performance.md,
-- "Slow scorers off the workers".
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local text = os.getenv("WARDEN_TEXT") or "What is the capital of France?"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"text":"' .. n .. ': ' .. text .. '"}')
end
