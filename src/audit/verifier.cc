#include <cstring>

#include "warden/audit.h"

namespace warden::audit {

namespace {

std::string_view AsBytes(const Hash& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

// Names the first column that disagrees with the hashed body, or returns empty. The
// columns exist for queries; a change to one must be caught even though the body is intact.
std::string ColumnMismatch(const StoredRecord& row, const Record& body) {
  auto differ = [](std::string_view column, std::string_view stored, std::string_view hashed) {
    return "column " + std::string(column) + " is \"" + std::string(stored) +
           "\" but the hashed body says \"" + std::string(hashed) + "\"";
  };
  if (row.time_us != body.time_us) {
    return differ("time_us", std::to_string(row.time_us), std::to_string(body.time_us));
  }
  if (row.request_id != body.request_id)
    return differ("request_id", row.request_id, body.request_id);
  if (row.key != body.key) return differ("key", row.key, body.key);
  if (row.tenant != body.tenant) return differ("tenant", row.tenant, body.tenant);
  if (row.direction != DirectionName(body.direction)) {
    return differ("direction", row.direction, DirectionName(body.direction));
  }
  if (row.action != ActionName(body.action)) {
    return differ("action", row.action, ActionName(body.action));
  }
  if (row.rule != body.rule) return differ("rule", row.rule, body.rule);
  return {};
}

}  // namespace

StatusOr<VerifyReport> Verify(Store& store, const VerifyOptions& options) {
  auto checkpoints = store.LoadCheckpoints();
  if (!checkpoints.ok()) return checkpoints.status();
  VerifyReport report;
  report.checkpoints = checkpoints->size();

  auto fail = [&report](uint64_t seq, bool in_checkpoint, std::string problem) {
    report.ok = false;
    report.first_bad_seq = seq;
    report.in_checkpoint = in_checkpoint;
    report.problem = std::move(problem);
    return false;  // stop the scan
  };

  uint64_t expected = 1;
  Hash prev{};
  size_t next_cp = 0;
  uint64_t prev_cp_seq = 0;

  auto check_checkpoint = [&](const Checkpoint& cp, const Hash& head) {
    const std::string at = "checkpoint at record " + std::to_string(cp.seq);
    if (cp.prev_checkpoint_seq != prev_cp_seq) {
      return fail(cp.seq, true,
                  at + ": names record " + std::to_string(cp.prev_checkpoint_seq) +
                      " as the previous checkpoint, but it is " + std::to_string(prev_cp_seq) +
                      " (a checkpoint was removed or inserted)");
    }
    if (cp.head_hash != head) {
      return fail(cp.seq, true,
                  at + ": does not match the chain: records " + std::to_string(prev_cp_seq + 1) +
                      ".." + std::to_string(cp.seq) + " were rewritten");
    }
    if (options.public_key) {
      if (cp.signature.empty()) return fail(cp.seq, true, at + ": signature missing");
      if (!options.public_key->Verify(CheckpointSigningBytes(cp), cp.signature)) {
        return fail(cp.seq, true, at + ": bad signature (forged, altered, or another key)");
      }
    }
    prev_cp_seq = cp.seq;
    report.signed_through = cp.seq;
    return true;
  };

  Status scan = store.ScanRecords([&](const StoredRecord& row) {
    const std::string at = "record " + std::to_string(expected);
    if (row.seq != expected) {
      return fail(expected, false,
                  at + ": missing (the next stored record is " + std::to_string(row.seq) + ")");
    }
    auto body = ParseRecord(row.body);
    if (!body.ok()) return fail(row.seq, false, at + ": " + body.status().message());
    if (body->seq != row.seq) {
      return fail(row.seq, false,
                  at + ": its body is record " + std::to_string(body->seq) +
                      " (records inserted, removed or reordered)");
    }
    if (row.hash != AsBytes(body->hash)) {
      return fail(row.seq, false, at + ": stored hash does not match its body (record changed)");
    }
    if (std::string m = ColumnMismatch(row, *body); !m.empty()) {
      return fail(row.seq, false, at + ": " + m + " (record changed)");
    }
    if (body->prev_hash != prev) {
      if (row.seq == 1) {
        return fail(1, false, at + ": prev_hash is not zero (records before it were removed)");
      }
      // The previous record is self-consistent, so its body and hash were rewritten together
      // (or this record's link was): the earlier one is the first that cannot be trusted.
      return fail(row.seq - 1, false,
                  "record " + std::to_string(row.seq - 1) + ": its hash is not the prev_hash of " +
                      at + " (record " + std::to_string(row.seq - 1) + " was rewritten or " +
                      std::to_string(row.seq) + " was replaced)");
    }
    while (next_cp < checkpoints->size() && (*checkpoints)[next_cp].seq <= row.seq) {
      const Checkpoint& cp = (*checkpoints)[next_cp++];
      if (cp.seq < row.seq) {
        return fail(
            cp.seq, true,
            "checkpoint at record " + std::to_string(cp.seq) + ": not reachable in the chain");
      }
      if (!check_checkpoint(cp, body->hash)) return false;
    }
    prev = body->hash;
    ++report.records;
    ++expected;
    if (options.progress && report.records % 65536 == 0) options.progress(report.records);
    return true;
  });
  if (!scan.ok() && scan.code() == StatusCode::kDataLoss && report.ok) {
    // The file itself is damaged past the last record read: that record is the first bad one.
    fail(expected, false,
         "record " + std::to_string(expected) + ": cannot be read (" + scan.message() + ")");
    return report;
  }
  if (!scan.ok()) return scan;
  if (!report.ok) return report;

  if (next_cp < checkpoints->size()) {
    const Checkpoint& cp = (*checkpoints)[next_cp];
    fail(expected, false,
         "record " + std::to_string(expected) + ": missing (the log ends at " +
             std::to_string(expected - 1) + " but a checkpoint covers up to " +
             std::to_string(cp.seq) + "; the log was truncated)");
    return report;
  }
  // The chain holds; now what queries use to find its records must hold too.
  auto aid = store.CheckFindingAid();
  if (!aid.ok()) return aid.status();
  if (*aid) {
    fail((*aid)->seq, false, (*aid)->problem);
    return report;
  }
  if (options.public_key && report.records > 0 && report.checkpoints == 0) {
    fail(1, true,
         "no signed checkpoint: records 1.." + std::to_string(report.records) +
             " are not covered by any signature");
  }
  return report;
}

}  // namespace warden::audit
