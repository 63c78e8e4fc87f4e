// A fake OpenAI-compatible upstream for the gateway's integration tests. It speaks the chat
// completions wire format (JSON and server-sent events) and misbehaves on request: the `model`
// field of each request picks the script (see ScriptedUpstream::Reply in the .cc file).
//
//   ScriptedUpstream upstream;                 // listens on 127.0.0.1, ephemeral port
//   config.upstream.url = upstream.url();      // "http://127.0.0.1:PORT/v1"
//   ... upstream.requests() ... upstream.last_body() ...
//
// Thread-safety: all public methods may be called from any thread.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace warden::gateway::testing {

// A certificate and key (PEM files) for an upstream that speaks HTTPS.
struct TlsFiles {
  std::string cert_pem;
  std::string key_pem;
};

class ScriptedUpstream {
 public:
  // Plain HTTP, or HTTPS with `tls` (the files are read here).
  explicit ScriptedUpstream(const TlsFiles* tls = nullptr);
  ~ScriptedUpstream();

  std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  // The same with "localhost", the name in the test certificate.
  std::string url_by_name() const {
    return scheme_ + "://localhost:" + std::to_string(port_) + "/v1";
  }
  uint16_t port() const { return port_; }
  int requests() const { return requests_.load(); }
  std::string last_body() const;
  std::string last_authorization() const;

 private:
  struct Impl;
  Impl* impl_;
  uint16_t port_ = 0;
  std::string scheme_ = "http";
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::string last_body_;
  std::string last_authorization_;
  friend struct Impl;
};

}  // namespace warden::gateway::testing
