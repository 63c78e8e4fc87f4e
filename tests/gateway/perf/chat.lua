-- wrk script: POST /v1/chat/completions, non-streaming, answered by the scripted upstream (which
-- echoes the user's message). The system prompt repeats, as it does in real traffic; the user's
-- turn carries a counter, so every request and answer is a text the gateway has not seen (its
-- classifier score cache only helps with the system prompt).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil,
    '{"model":"echo","messages":[{"role":"system","content":"You are a helpful assistant."},' ..
    '{"role":"user","content":"Summarise the plot of Hamlet in two sentences, please (' .. n ..
    ')."}]}')
end
