// `warden audit verify|query|keygen`: check, read and sign the tamper-evident audit log
// (docs/audit.md).
#include <time.h>

#include <cstdio>
#include <iostream>

#include "commands.h"
#include "core/json_writer.h"
#include "warden/audit.h"

namespace warden::cli {

namespace {

struct AuditFlags {
  std::string db;
  std::string public_key;
  std::string since, until, key, tenant, action, rule;
  uint64_t limit = 0;
  bool json = false;
  std::string out;
};

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

std::string FormatTime(int64_t us) {
  const time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(us % 1000000));
  return buf;
}

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
  auto store = audit::SqliteStore::Open(flags.db, audit::OpenMode::kExisting);
  if (!store.ok()) {
    std::cerr << "warden audit verify: " << store.status().message() << "\n";
    return kExitError;
  }
  auto report = audit::Verify(**store, options);
  if (!report.ok()) {
    std::cerr << "warden audit verify: " << report.status().message() << "\n";
    return kExitError;
  }
  if (!report->ok) {
    std::cout << "FAIL " << flags.db << ": " << report->problem << "\n"
              << "  first bad " << (report->in_checkpoint ? "checkpoint" : "record") << ": "
              << report->first_bad_seq << " (" << report->records
              << " records before it are intact)\n";
    return kExitFlagged;
  }
  std::cout << "OK " << flags.db << ": " << report->records << " records, " << report->checkpoints
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

void AppendRecordJson(std::string& out, const audit::StoredRecord& row) {
  out.append("{\"seq\":");
  AppendJsonUint(out, row.seq);
  out.append(",\"time\":");
  AppendJsonString(out, FormatTime(row.time_us));
  out.append(",\"time_us\":");
  out.append(std::to_string(row.time_us));
  out.append(",\"request_id\":");
  AppendJsonString(out, row.request_id);
  out.append(",\"key\":");
  AppendJsonString(out, row.key);
  out.append(",\"tenant\":");
  AppendJsonString(out, row.tenant);
  out.append(",\"direction\":");
  AppendJsonString(out, row.direction);
  out.append(",\"action\":");
  AppendJsonString(out, row.action);
  out.append(",\"rule\":");
  AppendJsonStringOrNull(out, row.rule);
  auto body = audit::ParseRecord(row.body);
  if (!body.ok()) {
    // Query is for reading, verify is for judging: show the row and say the body is damaged.
    out.append(",\"error\":");
    AppendJsonString(out, body.status().message());
    out.append("}");
    return;
  }
  out.append(",\"scores\":");
  AppendJsonScores(out, body->scores);
  out.append(",\"findings\":[");
  for (size_t i = 0; i < body->findings.size(); ++i) {
    const audit::AuditFinding& f = body->findings[i];
    if (i) out.push_back(',');
    out.append("{\"scanner\":");
    AppendJsonString(out, f.scanner);
    out.append(",\"type\":");
    AppendJsonString(out, f.type);
    out.append(",\"start\":");
    AppendJsonUint(out, f.start);
    out.append(",\"end\":");
    AppendJsonUint(out, f.end);
    out.append(",\"score\":");
    AppendJsonNumber(out, f.score);
    if (!f.excerpt.empty()) {
      out.append(",\"excerpt\":");
      AppendJsonString(out, f.excerpt);
    }
    out.push_back('}');
  }
  out.append("],\"hash\":");
  AppendJsonString(out, audit::HashToHex(body->hash));
  out.append(",\"prev_hash\":");
  AppendJsonString(out, audit::HashToHex(body->prev_hash));
  out.push_back('}');
}

int RunQuery(const AuditFlags& flags) {
  audit::QueryFilter filter;
  for (auto [text, field] :
       {std::pair{&flags.since, &filter.since_us}, std::pair{&flags.until, &filter.until_us}}) {
    if (text->empty()) continue;
    auto t = ParseTime(*text);
    if (!t.ok()) {
      std::cerr << "warden audit query: " << (field == &filter.since_us ? "--since" : "--until")
                << ": " << t.status().message() << "\n";
      return kExitError;
    }
    *field = *t;
  }
  if (!flags.action.empty() && !ParseAction(flags.action)) {
    std::cerr << "warden audit query: --action: unknown action \"" << flags.action
              << "\" (allow, redact, escalate, defer, require_approval, block, kill)\n";
    return kExitError;
  }
  filter.key = flags.key;
  filter.tenant = flags.tenant;
  filter.action = flags.action;
  filter.rule = flags.rule;
  filter.limit = flags.limit;
  auto store = audit::SqliteStore::Open(flags.db, audit::OpenMode::kExisting);
  if (!store.ok()) {
    std::cerr << "warden audit query: " << store.status().message() << "\n";
    return kExitError;
  }
  if (!flags.json) {
    std::printf("%-8s %-27s %-16s %-12s %-10s %-11s %-16s %-20s %s\n", "SEQ", "TIME", "REQUEST",
                "KEY", "TENANT", "DIRECTION", "ACTION", "RULE", "FINDINGS");
  }
  std::string line;
  uint64_t rows = 0;
  Status s = (*store)->Query(filter, [&](const audit::StoredRecord& row) {
    ++rows;
    line.clear();
    if (flags.json) {
      AppendRecordJson(line, row);
      line.push_back('\n');
    } else {
      std::string findings;
      if (auto body = audit::ParseRecord(row.body); body.ok()) {
        for (const auto& f : body->findings) {
          if (!findings.empty()) findings += ",";
          findings += f.type + "@" + std::to_string(f.start) + "-" + std::to_string(f.end);
        }
      } else {
        findings = "(damaged body)";
      }
      char buf[512];
      snprintf(buf, sizeof buf, "%-8llu %-27s %-16.16s %-12.12s %-10.10s %-11s %-16s %-20.20s ",
               static_cast<unsigned long long>(row.seq), FormatTime(row.time_us).c_str(),
               row.request_id.c_str(), row.key.c_str(), row.tenant.c_str(), row.direction.c_str(),
               row.action.c_str(), row.rule.empty() ? "-" : row.rule.c_str());
      line = buf + (findings.empty() ? "-" : findings) + "\n";
    }
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
      "Verify, query and sign the tamper-evident audit log.\n\n"
      "Examples:\n"
      "  warden audit keygen --out audit-key.pem\n"
      "  warden audit verify --db audit.db --public-key audit-key.pem.pub\n"
      "  warden audit query --db audit.db --since 2024-05-01 --action block --json\n");
  audit->require_subcommand(1);

  CLI::App* verify =
      audit->add_subcommand("verify",
                            "Check the hash chain and checkpoints; name the first bad record.\n"
                            "Exit 0: intact; 1: tampered or damaged; 2: cannot read.");
  verify->add_option("--db", flags->db, "SQLite audit database")->required();
  verify->add_option("--public-key", flags->public_key,
                     "Ed25519 public key (PEM) that must have signed every checkpoint");
  verify->callback([flags, exit_code] { *exit_code = RunVerify(*flags); });

  CLI::App* query = audit->add_subcommand("query", "List records, as a table or JSONL.");
  query->add_option("--db", flags->db, "SQLite audit database")->required();
  query->add_option("--since", flags->since,
                    "from this time (Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)");
  query->add_option("--until", flags->until, "before this time (same forms)");
  query->add_option("--key", flags->key, "only this API key name");
  query->add_option("--tenant", flags->tenant, "only this tenant");
  query->add_option("--action", flags->action, "only this action (block, redact, …)");
  query->add_option("--rule", flags->rule, "only decisions by this rule");
  query->add_option("--limit", flags->limit, "at most this many records");
  query->add_flag("--json", flags->json, "one JSON object per line");
  query->callback([flags, exit_code] { *exit_code = RunQuery(*flags); });

  CLI::App* keygen = audit->add_subcommand(
      "keygen", "Make an Ed25519 key pair for signing checkpoints: FILE and FILE.pub.");
  keygen->add_option("--out", flags->out, "private key file to create (never overwritten)")
      ->required();
  keygen->callback([flags, exit_code] { *exit_code = RunKeygen(*flags); });
}

}  // namespace warden::cli
