// `warden audit verify|query|export|tail|keygen`: check, read, follow and sign the
// tamper-evident audit log (docs/audit.md; formats in docs/audit-format.md).
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "commands.h"
#include "core/json_writer.h"
#include "warden/audit.h"

namespace warden::cli {

namespace {

struct AuditFlags {
  std::string db;
  std::string public_key;
  std::string since, until, key, tenant, action, rule, category;
  float min_score = 0.5f;
  uint64_t limit = 0;
  bool json = false;
  std::string out;
  bool follow = false;
  uint64_t lines = 10;
  int interval_ms = 500;
  bool progress = true;
};

// A one-line progress bar on stderr, only when stderr is a terminal and the log is large
// enough to wait for.
class Progress {
 public:
  Progress(const char* what, uint64_t total, bool enabled)
      : what_(what), total_(total), on_(enabled && total >= 100000 && isatty(2)) {}
  ~Progress() {
    if (on_ && shown_) std::fprintf(stderr, "\r\033[K");
  }
  void Update(uint64_t done) {
    if (!on_) return;
    const int pct = static_cast<int>(100 * std::min(done, total_) / total_);
    if (pct == last_pct_) return;
    last_pct_ = pct;
    shown_ = true;
    const int width = 30, filled = pct * width / 100;
    std::fprintf(stderr, "\r%s [%.*s%*s] %3d%% %llu/%llu records", what_,
                 filled, "##############################", width - filled, "", pct,
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_));
    std::fflush(stderr);
  }

 private:
  const char* what_;
  uint64_t total_;
  bool on_;
  bool shown_ = false;
  int last_pct_ = -1;
};

// The last seq in the log (0 when empty or unreadable): the denominator of a progress bar.
uint64_t LastSeq(audit::Store& store) {
  auto tail = store.LoadTail();
  return tail.ok() && tail->last ? tail->last->seq : 0;
}

// Accepts Unix seconds ("1714564800"), a date ("2024-05-01", UTC midnight) or an RFC 3339 UTC
// time ("2024-05-01T12:00:00Z"); returns microseconds since the epoch.
StatusOr<int64_t> ParseTime(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
    return static_cast<int64_t>(std::stoll(s)) * 1000000;
  }
  struct tm tm = {};
  int consumed = 0;
  if (sscanf(s.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &consumed) != 3) {
    return InvalidArgumentError("\"" + s +
                                "\": expected Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
  }
  std::string rest = s.substr(consumed);
  if (!rest.empty()) {
    int used = 0;
    if (sscanf(rest.c_str(), "T%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 3 ||
        (rest.substr(used) != "Z" && !rest.substr(used).empty())) {
      return InvalidArgumentError("\"" + s + "\": expected YYYY-MM-DDTHH:MM:SSZ (UTC)");
    }
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000000;
}

std::string FormatTime(int64_t us) { return audit::FormatTimeMicros(us); }

int RunVerify(const AuditFlags& flags) {
  audit::VerifyOptions options;
  if (!flags.public_key.empty()) {
    auto key = audit::PublicKey::LoadPem(flags.public_key);
    if (!key.ok()) {
      std::cerr << "warden audit verify: " << key.status().message() << "\n";
      return kExitError;
    }
    options.public_key = *key;
  }
  auto store = audit::OpenStore(flags.db, audit::OpenMode::kExisting);
  if (!store.ok()) {
    std::cerr << "warden audit verify: " << store.status().message() << "\n";
    return kExitError;
  }
  Progress progress("verify", LastSeq(**store), flags.progress);
  options.progress = [&](uint64_t n) { progress.Update(n); };
  auto report = audit::Verify(**store, options);
  if (!report.ok()) {
    std::cerr << "warden audit verify: " << report.status().message() << "\n";
    return kExitError;
  }
  if (!report->ok) {
    std::cout << "FAIL " << audit::RedactStoreUrl(flags.db) << ": " << report->problem << "\n"
              << "  first bad " << (report->in_checkpoint ? "checkpoint" : "record") << ": "
              << report->first_bad_seq << " (" << report->records
              << " records before it are intact)\n";
    return kExitFlagged;
  }
  std::cout << "OK " << audit::RedactStoreUrl(flags.db) << ": " << report->records << " records, " << report->checkpoints
            << " checkpoints"
            << (options.public_key ? ", signatures verified"
                                   : ", signatures NOT checked (no --public-key)");
  if (report->records > report->signed_through) {
    std::cout << "; records " << report->signed_through + 1 << ".." << report->records
              << " are chained but not yet covered by a checkpoint";
  }
  std::cout << "\n";
  return kExitAllow;
}

// Fills `filter` from the flags; prints the problem and returns false on a bad value.
bool BuildFilter(const char* command, const AuditFlags& flags, audit::QueryFilter& filter) {
  for (auto [text, field] :
       {std::pair{&flags.since, &filter.since_us}, std::pair{&flags.until, &filter.until_us}}) {
    if (text->empty()) continue;
    auto t = ParseTime(*text);
    if (!t.ok()) {
      std::cerr << "warden audit " << command << ": "
                << (field == &filter.since_us ? "--since" : "--until") << ": "
                << t.status().message() << "\n";
      return false;
    }
    *field = *t;
  }
  if (!flags.action.empty() && !ParseAction(flags.action)) {
    std::cerr << "warden audit " << command << ": --action: unknown action \"" << flags.action
              << "\" (allow, redact, escalate, defer, require_approval, block, kill)\n";
    return false;
  }
  if (flags.min_score < 0 || flags.min_score > 1) {
    std::cerr << "warden audit " << command << ": --min-score: must be in [0, 1]\n";
    return false;
  }
  filter.key = flags.key;
  filter.tenant = flags.tenant;
  filter.action = flags.action;
  filter.rule = flags.rule;
  filter.category = flags.category;
  filter.min_score = flags.min_score;
  filter.limit = flags.limit;
  return true;
}

void PrintHeader() {
  std::printf("%-8s %-27s %-16s %-12s %-10s %-11s %-16s %-20s %s\n", "SEQ", "TIME", "REQUEST",
              "KEY", "TENANT", "DIRECTION", "ACTION", "RULE", "FINDINGS / SCORES");
}

// One record as a table row (or a JSON line), into `line`.
void FormatRow(const audit::StoredRecord& row, bool json, std::string& line) {
  line.clear();
  if (json) {
    line = audit::RecordToJson(row);
    line.push_back('\n');
    return;
  }
  std::string details;
  if (auto body = audit::ParseRecord(row.body); body.ok()) {
    for (const auto& f : body->findings) {
      if (!details.empty()) details += ",";
      details += f.type + "@" + std::to_string(f.start) + "-" + std::to_string(f.end);
    }
    for (const auto& [label, score] : body->scores) {
      if (score < 0.5f) continue;  // the table shows what fired; --json has every score
      char buf[64];
      snprintf(buf, sizeof buf, "%s%s=%.2f", details.empty() ? "" : ",", label.c_str(), score);
      details += buf;
    }
  } else {
    details = "(damaged body: run warden audit verify)";
  }
  char buf[512];
  snprintf(buf, sizeof buf, "%-8llu %-27s %-16.16s %-12.12s %-10.10s %-11s %-16s %-20.20s ",
           static_cast<unsigned long long>(row.seq), FormatTime(row.time_us).c_str(),
           row.request_id.c_str(), row.key.c_str(), row.tenant.c_str(), row.direction.c_str(),
           row.action.c_str(), row.rule.empty() ? "-" : row.rule.c_str());
  line = buf + (details.empty() ? "-" : details) + "\n";
}

int RunQuery(const AuditFlags& flags) {
  audit::QueryFilter filter;
  if (!BuildFilter("query", flags, filter)) return kExitError;
  auto store = audit::OpenStore(flags.db, audit::OpenMode::kExisting);
  if (!store.ok()) {
    std::cerr << "warden audit query: " << store.status().message() << "\n";
    return kExitError;
  }
  if (!flags.json) PrintHeader();
  std::string line;
  uint64_t rows = 0;
  Status s = (*store)->Query(filter, [&](const audit::StoredRecord& row) {
    ++rows;
    FormatRow(row, flags.json, line);
    std::fwrite(line.data(), 1, line.size(), stdout);
    return true;
  });
  if (!s.ok()) {
    std::cerr << "warden audit query: " << s.message() << "\n";
    return kExitError;
  }
  if (!flags.json) std::fprintf(stderr, "%llu records\n", static_cast<unsigned long long>(rows));
  return kExitAllow;
}

int RunExport(const AuditFlags& flags) {
  audit::QueryFilter filter;
  if (!BuildFilter("export", flags, filter)) return kExitError;
  auto store = audit::OpenStore(flags.db, audit::OpenMode::kExisting);
  if (!store.ok()) {
    std::cerr << "warden audit export: " << store.status().message() << "\n";
    return kExitError;
  }
  std::ofstream file;
  std::FILE* out = stdout;
  const std::string tmp = flags.out + ".partial";
  if (!flags.out.empty() && flags.out != "-") {
    // Written beside and renamed at the end, so a reader never sees half an export.
    out = std::fopen(tmp.c_str(), "wb");
    if (!out) {
      std::cerr << "warden audit export: " << tmp << ": " << std::strerror(errno) << "\n";
      return kExitError;
    }
  }
  const uint64_t last = LastSeq(**store);
  Progress progress("export", last, flags.progress && out != stdout);
  std::string line;
  uint64_t rows = 0;
  Status s = (*store)->Query(filter, [&](const audit::StoredRecord& row) {
    ++rows;
    line = audit::RecordToJson(row);
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), out);
    if ((row.seq & 0xffff) == 0) progress.Update(row.seq);
    return true;
  });
  const bool write_failed = std::ferror(out) != 0;
  if (out != stdout) std::fclose(out);
  if (!s.ok() || write_failed) {
    std::cerr << "warden audit export: "
              << (s.ok() ? flags.out + ": write failed" : s.message()) << "\n";
    if (out != stdout) std::remove(tmp.c_str());
    return kExitError;
  }
  if (out != stdout) {
    if (std::rename(tmp.c_str(), flags.out.c_str()) != 0) {
      std::cerr << "warden audit export: " << flags.out << ": " << std::strerror(errno) << "\n";
      return kExitError;
    }
    std::fprintf(stderr, "wrote %llu records to %s\n", static_cast<unsigned long long>(rows),
                 flags.out.c_str());
  }
  return kExitAllow;
}

int RunTail(const AuditFlags& flags) {
  audit::QueryFilter filter;
  if (!BuildFilter("tail", flags, filter)) return kExitError;
  filter.limit = 0;
  auto store = audit::OpenStore(flags.db, audit::OpenMode::kExisting);
  if (!store.ok()) {
    std::cerr << "warden audit tail: " << store.status().message() << "\n";
    return kExitError;
  }
  // Start `lines` records before the end (without filters that is exact; with filters it shows
  // the matches among the last `lines` records).
  const uint64_t last = LastSeq(**store);
  filter.after_seq = last > flags.lines ? last - flags.lines : 0;
  if (!flags.json) PrintHeader();
  std::string line;
  for (;;) {
    Status s = (*store)->Query(filter, [&](const audit::StoredRecord& row) {
      filter.after_seq = row.seq;
      FormatRow(row, flags.json, line);
      std::fwrite(line.data(), 1, line.size(), stdout);
      return true;
    });
    std::fflush(stdout);
    if (!s.ok()) {
      // Following survives a restarting server: say so and keep polling.
      std::cerr << "warden audit tail: " << s.message() << "\n";
      if (!flags.follow || s.code() != StatusCode::kUnavailable) return kExitError;
    }
    if (!flags.follow) return kExitAllow;
    std::this_thread::sleep_for(std::chrono::milliseconds(flags.interval_ms));
  }
}

int RunKeygen(const AuditFlags& flags) {
  const std::string pub = flags.out + ".pub";
  if (Status s = audit::GenerateKeyPair(flags.out, pub); !s.ok()) {
    std::cerr << "warden audit keygen: " << s.message() << "\n";
    return kExitError;
  }
  std::cout << "wrote " << flags.out << " (Ed25519 private key, mode 0600; put its path in the "
            << "audit config) and " << pub << " (public key, for `warden audit verify "
            << "--public-key`)\n";
  return kExitAllow;
}

}  // namespace

void AddAuditCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<AuditFlags>();
  CLI::App* audit = app.add_subcommand(
      "audit",
      "Verify, query, export, follow and sign the tamper-evident audit log.\n\n"
      "Every decision the gateway makes is a record; each holds the SHA-256 of the one before,\n"
      "and checkpoints sign the chain with Ed25519. --db names the log: a SQLite file\n"
      "(audit.db, sqlite:/var/lib/warden/audit.db) or a PostgreSQL URL\n"
      "(postgresql://user:password@host:5432/db). WARDEN_AUDIT_DB is used when --db is absent.\n\n"
      "Examples:\n"
      "  warden audit keygen --out audit-key.pem\n"
      "  warden audit verify --db audit.db --public-key audit-key.pem.pub\n"
      "  warden audit query --db audit.db --since 2024-05-01 --action block\n"
      "  warden audit query --db audit.db --category jailbreak --min-score 0.8 --json\n"
      "  warden audit export --db postgresql://warden@db/audit --since 2024-05-01 --out may.jsonl\n"
      "  warden audit tail --db audit.db -f --action block\n\n"
      "Formats: docs/audit-format.md. Operations: docs/audit.md.");
  audit->require_subcommand(1);

  auto add_db = [&](CLI::App* cmd) {
    cmd->add_option("--db", flags->db,
                    "the audit log: a SQLite path or sqlite:PATH, or postgresql://…")
        ->envname("WARDEN_AUDIT_DB")
        ->required();
  };
  auto add_filters = [&](CLI::App* cmd) {
    cmd->add_option("--since", flags->since,
                    "from this time (Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)");
    cmd->add_option("--until", flags->until, "before this time (same forms)");
    cmd->add_option("--key", flags->key, "only this API key name");
    cmd->add_option("--tenant", flags->tenant, "only this tenant");
    cmd->add_option("--action", flags->action,
                    "only this action (allow, redact, escalate, defer, require_approval, block, "
                    "kill)");
    cmd->add_option("--rule", flags->rule, "only decisions by this policy rule");
    cmd->add_option("--category", flags->category,
                    "only records with this score label at or above --min-score (jailbreak, "
                    "privacy, …) or a finding of this type (email, aws_access_key, …)");
    cmd->add_option("--min-score", flags->min_score, "threshold for --category (default 0.5)");
  };

  CLI::App* verify =
      audit->add_subcommand("verify",
                            "Check the hash chain and checkpoints; name the first bad record.\n"
                            "Exit 0: intact; 1: tampered or damaged; 2: cannot read.");
  add_db(verify);
  verify->add_option("--public-key", flags->public_key,
                     "Ed25519 public key (PEM) that must have signed every checkpoint; without "
                     "it signatures are not checked");
  verify->add_flag("!--no-progress", flags->progress, "no progress bar on stderr");
  verify->callback([flags, exit_code] { *exit_code = RunVerify(*flags); });

  CLI::App* query = audit->add_subcommand(
      "query", "List matching records as a table (findings and scores >= 0.5) or JSONL.");
  add_db(query);
  add_filters(query);
  query->add_option("--limit", flags->limit, "at most this many records");
  query->add_flag("--json", flags->json,
                  "one JSON object per line (the export schema, docs/audit-format.md)");
  query->callback([flags, exit_code] { *exit_code = RunQuery(*flags); });

  CLI::App* exp = audit->add_subcommand(
      "export",
      "Write matching records as JSONL, one record per line, in seq order (schema in\n"
      "docs/audit-format.md, \"JSONL export\"). The file appears only when complete.");
  add_db(exp);
  add_filters(exp);
  exp->add_option("--out,-o", flags->out, "output file (default: stdout)");
  exp->add_flag("!--no-progress", flags->progress, "no progress bar on stderr");
  exp->callback([flags, exit_code] { *exit_code = RunExport(*flags); });

  CLI::App* tail = audit->add_subcommand(
      "tail", "Show the last records; with -f, keep printing new ones as they are appended.");
  add_db(tail);
  add_filters(tail);
  tail->add_option("-n,--lines", flags->lines, "start this many records before the end (10)");
  tail->add_flag("-f,--follow", flags->follow, "poll for new records until interrupted");
  tail->add_option("--interval", flags->interval_ms, "poll interval in ms with -f (500)")
      ->check(CLI::Range(10, 600000));
  tail->add_flag("--json", flags->json, "one JSON object per line");
  tail->callback([flags, exit_code] { *exit_code = RunTail(*flags); });

  CLI::App* keygen = audit->add_subcommand(
      "keygen", "Make an Ed25519 key pair for signing checkpoints: FILE and FILE.pub.");
  keygen->add_option("--out", flags->out, "private key file to create (never overwritten)")
      ->required();
  keygen->callback([flags, exit_code] { *exit_code = RunKeygen(*flags); });
}

}  // namespace warden::cli
