// A throwaway PostgreSQL server for tests: initdb in a temp dir, pg_ctl start on a free loopback
// port with its unix socket in that dir, stop and delete on destruction. PostgreSQL refuses to
// run as root, so as root the server runs as the `postgres` user that Debian's package creates.
//
//   std::string why;
//   auto pg = PostgresServer::Start(&why);
//   if (!pg) GTEST_SKIP() << why;
//   auto store = PostgresStore::Open(pg->url(), OpenMode::kCreate);
//
// Not thread-safe; one object per test.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace warden::testing {

class PostgresServer {
 public:
  // Returns null, with the reason in `*why`, when no server can be started here.
  static std::unique_ptr<PostgresServer> Start(std::string* why) {
    std::unique_ptr<PostgresServer> pg(new PostgresServer);
    if (!pg->Init(why)) return nullptr;
    if (!pg->StartServer(why)) return nullptr;
    return pg;
  }
  ~PostgresServer() {
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // postgresql://warden@127.0.0.1:PORT/postgres
  std::string url() const {
    return "postgresql://warden@127.0.0.1:" + std::to_string(port_) + "/postgres";
  }
  // Stops the server (fast shutdown: open connections are cut).
  bool Stop() {
    if (!running_) return true;
    running_ = false;
    return Run(bin_ + "/pg_ctl -D " + dir_ + "/data -m fast -w stop") == 0;
  }
  // Starts it again on the same port and data directory.
  bool Restart(std::string* why) { return Stop() && StartServer(why); }

 private:
  PostgresServer() = default;

  bool Init(std::string* why) {
    for (const char* v : {"17", "16", "15", "14", "13"}) {
      const std::string bin = std::string("/usr/lib/postgresql/") + v + "/bin";
      if (access((bin + "/initdb").c_str(), X_OK) == 0) {
        bin_ = bin;
        break;
      }
    }
    if (bin_.empty()) {
      *why = "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
             "(apt-get install postgresql; scripts/install-deps.sh)";
      return false;
    }
    if (geteuid() == 0) {
      if (system("id -u postgres >/dev/null 2>&1") != 0) {
        *why = "running as root and there is no `postgres` user to run the server as";
        return false;
      }
      as_user_ = "runuser -u postgres -- ";
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "warden-pg-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      *why = "mkdtemp failed";
      return false;
    }
    dir_ = tmpl;
    if (!as_user_.empty() && system(("chown postgres " + dir_).c_str()) != 0) {
      *why = "cannot chown " + dir_ + " to postgres";
      return false;
    }
    port_ = FreePort();
    if (Run(bin_ + "/initdb -D " + dir_ + "/data -A trust -U warden -E UTF8 --no-sync > " + dir_ +
            "/initdb.log 2>&1") != 0) {
      *why = "initdb failed: " + ReadFile(dir_ + "/initdb.log");
      return false;
    }
    return true;
  }

  bool StartServer(std::string* why) {
    const std::string opts = "-p " + std::to_string(port_) + " -k " + dir_ +
                             " -c listen_addresses=127.0.0.1 -c max_connections=50";
    if (Run(bin_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -w -t 60 -o '" + opts +
            "' start > /dev/null 2>&1") != 0) {
      *why = "pg_ctl start failed: " + ReadFile(dir_ + "/server.log");
      return false;
    }
    running_ = true;
    return true;
  }

  int Run(const std::string& cmd) const { return system((as_user_ + cmd).c_str()); }

  static int FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
  }
  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
  }

  std::string bin_, as_user_, dir_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace warden::testing
