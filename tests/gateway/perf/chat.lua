-- wrk script: POST /v1/chat/completions, non-streaming, answered by the scripted upstream.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"echo","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarise the plot of Hamlet in two sentences, please."}]}'
