// Starts Debian's redis-server on a free loopback port for a test, and stops it afterwards.
//
//   RedisServer redis;
//   if (!redis.ok()) GTEST_SKIP() << redis.error();
//   auto store = OpenControlStore(redis.url());
//
// No persistence (no RDB, no AOF): every test starts from an empty server.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace warden::testing {

class RedisServer {
 public:
  RedisServer() { Start(); }
  ~RedisServer() { Stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  // Kills the server (as a crash would) and, with `restart`, starts it again on the same port.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool Restart() {
    Stop();
    Launch();
    return ok();
  }

 private:
  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  static bool Accepts(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
  }

  void Start() {
    if (access("/usr/bin/redis-server", X_OK) != 0) {
      error_ = "redis-server is not installed (apt-get install redis-server; "
               "scripts/install-deps.sh does it)";
      return;
    }
    port_ = FreePort();
    Launch();
  }

  void Launch() {
    const std::string port = std::to_string(port_);
    pid_ = fork();
    if (pid_ == 0) {
      // Keep the test log readable: the server's own chatter goes nowhere.
      const int null_fd = open("/dev/null", O_WRONLY);
      dup2(null_fd, 1);
      dup2(null_fd, 2);
      execl("/usr/bin/redis-server", "redis-server", "--port", port.c_str(), "--bind",
            "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning",
            "--dir", "/tmp", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (Accepts(port_)) return;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    error_ = "redis-server did not start on port " + port;
    Stop();
  }

  int pid_ = -1;
  int port_ = -1;
  std::string error_;
};

}  // namespace warden::testing
