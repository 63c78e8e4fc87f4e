// warden scan: screen a JSONL log of texts or conversations on all cores, writing one verdict
// line per input line, in input order, and a summary table at the end.
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <thread>

#include "commands.h"
#include "core/json_writer.h"
#include "output.h"
#include "warden/guard.h"

namespace warden::cli {

namespace {

namespace od = simdjson::ondemand;

struct ScanArgs {
  std::string input;
  std::string policy;
  std::string output;
  int threads = 0;
  bool quiet = false;
  bool summary_json = false;
};

// Counts gathered by one worker over one batch, merged by the main thread.
struct Stats {
  uint64_t lines = 0;
  uint64_t messages = 0;
  uint64_t errors = 0;
  uint64_t by_action[static_cast<int>(Action::kKill) + 1] = {};
  std::map<std::string, uint64_t> by_finding;  // "pii/email"
  std::map<std::string, uint64_t> by_rule;
  std::vector<std::pair<uint64_t, std::string>> first_errors;  // (line, message)

  void Merge(Stats& other) {
    lines += other.lines;
    messages += other.messages;
    errors += other.errors;
    for (size_t i = 0; i < std::size(by_action); ++i) by_action[i] += other.by_action[i];
    for (auto& [k, v] : other.by_finding) by_finding[k] += v;
    for (auto& [k, v] : other.by_rule) by_rule[k] += v;
    first_errors.insert(first_errors.end(), other.first_errors.begin(), other.first_errors.end());
    other = Stats();
  }
};

constexpr size_t kMaxReportedErrors = 20;

class LineScanner {
 public:
  explicit LineScanner(const Guard& guard) : guard_(guard) {}

  // Screens one JSONL line (`capacity` readable bytes from line.data(), at least
  // line.size() + SIMDJSON_PADDING) and appends its output line to `out`.
  void Process(std::string_view line, uint64_t line_no, size_t capacity, std::string& out,
               Stats& stats) {
    out.clear();
    ++stats.lines;
    std::string error;
    if (!ProcessObject(line, line_no, capacity, out, stats, error)) {
      ++stats.errors;
      if (stats.first_errors.size() < kMaxReportedErrors) {
        stats.first_errors.emplace_back(line_no, error);
      }
      out.clear();
      out.append("{\"line\":");
      AppendJsonUint(out, line_no);
      out.append(",\"error\":");
      AppendJsonString(out, error);
      out.append("}\n");
    }
  }

 private:
  struct Item {
    std::string_view text;
    std::string_view role;
    Direction direction = Direction::kInput;
    std::string_view tool_name;
  };

  bool ProcessObject(std::string_view line, uint64_t line_no, size_t capacity, std::string& out,
                     Stats& stats, std::string& error) {
    od::document doc;
    if (auto e = parser_.iterate(line.data(), line.size(), capacity).get(doc)) {
      error = std::string("invalid JSON: ") + simdjson::error_message(e);
      return false;
    }
    od::object obj;
    if (auto e = doc.get_object().get(obj)) {
      error = e == simdjson::INCORRECT_TYPE
                  ? "expected a JSON object with \"text\" or \"messages\""
                  : std::string("invalid JSON: ") + simdjson::error_message(e);
      return false;
    }
    items_.clear();
    std::string_view id_raw;
    bool id_is_string = false;
    std::string_view text, role, direction_name, tool_name;
    bool has_text = false, has_messages = false;
    for (auto field_result : obj) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return Fail(error, "invalid JSON", e);
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return Fail(error, "invalid key", e);
      od::value value = field.value();
      if (key == "text") {
        if (auto e = value.get_string().get(text)) return Type(error, "text", "a string", e);
        has_text = true;
      } else if (key == "role") {
        if (auto e = value.get_string().get(role)) return Type(error, "role", "a string", e);
      } else if (key == "direction") {
        if (auto e = value.get_string().get(direction_name)) {
          return Type(error, "direction", "a string", e);
        }
      } else if (key == "tool_name") {
        if (auto e = value.get_string().get(tool_name)) {
          return Type(error, "tool_name", "a string", e);
        }
      } else if (key == "id") {
        od::json_type type;
        if (value.type().get(type)) return Type(error, "id", "a string or number");
        if (type == od::json_type::string) {
          if (value.get_string().get(id_raw)) return Type(error, "id", "a string");
          id_is_string = true;
        } else if (type == od::json_type::number) {
          id_raw = value.raw_json_token();
          while (!id_raw.empty() && (id_raw.back() == ' ' || id_raw.back() == '\t')) {
            id_raw.remove_suffix(1);
          }
        } else {
          return Type(error, "id", "a string or number");
        }
      } else if (key == "messages") {
        if (!ParseMessages(value, error)) return false;
        has_messages = true;
      }
      // Other keys (metadata of the log) are ignored on purpose: logs carry all sorts.
    }
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
      error = "invalid JSON: trailing content after the object";
      return false;
    }
    if (has_text == has_messages) {
      error = has_text ? "both \"text\" and \"messages\": give one of them"
                       : "no \"text\" or \"messages\" field";
      return false;
    }
    if (has_text) {
      Item item{.text = text, .role = role, .tool_name = tool_name};
      if (!direction_name.empty()) {
        auto d = ParseDirection(direction_name);
        if (!d) {
          error = "\"direction\" must be input, output, tool_call or tool_result";
          return false;
        }
        item.direction = *d;
      } else if (!role.empty()) {
        item.direction = DirectionForRole(role).value_or(Direction::kInput);
      }
      items_.push_back(item);
    }

    out.append("{\"line\":");
    AppendJsonUint(out, line_no);
    if (!id_raw.empty()) {
      out.append(",\"id\":");
      if (id_is_string) {
        AppendJsonString(out, id_raw);
      } else {
        out.append(id_raw);
      }
    }
    Conversation conversation;  // placeholders stay stable across one conversation's messages
    if (has_text) {
      const Verdict v = Check(items_[0], conversation, stats);
      std::string json = VerdictToJson(v);
      out.push_back(',');
      out.append(json, 1, std::string::npos);  // splice the verdict's fields into this object
    } else {
      verdicts_.clear();
      Action worst = Action::kAllow;
      // The index of the verdict whose rule names the line, not a view of its rule: the
      // vector's storage moves as it grows.
      size_t worst_index = SIZE_MAX;
      for (const Item& item : items_) {
        verdicts_.push_back(Check(item, conversation, stats));
        const Verdict& v = verdicts_.back();
        const bool no_rule_yet = worst_index == SIZE_MAX || verdicts_[worst_index].rule.empty();
        if (v.action > worst || (v.action == worst && no_rule_yet && !v.rule.empty())) {
          worst = v.action;
          worst_index = verdicts_.size() - 1;
        }
      }
      out.append(",\"action\":");
      AppendJsonString(out, ActionName(worst));
      out.append(",\"rule\":");
      AppendJsonStringOrNull(
          out, worst_index == SIZE_MAX ? std::string_view() : verdicts_[worst_index].rule);
      out.append(",\"messages\":[");
      for (size_t i = 0; i < verdicts_.size(); ++i) {
        if (i) out.push_back(',');
        out.append("{\"index\":");
        AppendJsonUint(out, item_index_[i]);
        out.append(",\"role\":");
        AppendJsonString(out, items_[i].role);
        out.append(",\"direction\":");
        AppendJsonString(out, DirectionName(items_[i].direction));
        if (!items_[i].tool_name.empty()) {
          out.append(",\"tool_name\":");
          AppendJsonString(out, items_[i].tool_name);
        }
        out.push_back(',');
        std::string json = VerdictToJson(verdicts_[i]);
        out.append(json, 1, std::string::npos);
      }
      out.append("]}");
      out.push_back('\n');
      return true;
    }
    out.push_back('\n');
    return true;
  }

  // Reads OpenAI chat messages: content as a string or as an array of parts, and assistant
  // tool calls, whose arguments are screened in the tool_call direction.
  bool ParseMessages(od::value value, std::string& error) {
    od::array messages;
    if (value.get_array().get(messages)) return Type(error, "messages", "an array");
    item_index_.clear();
    size_t index = 0;
    for (auto message_result : messages) {
      od::object message;
      if (message_result.get_object().get(message)) {
        error = "messages[" + std::to_string(index) + "] must be an object";
        return false;
      }
      std::string_view role;
      const size_t first_item = items_.size();
      for (auto field_result : message) {
        od::field field;
        if (auto e = std::move(field_result).get(field)) return Fail(error, "invalid JSON", e);
        std::string_view key;
        if (field.unescaped_key().get(key)) return Fail(error, "invalid key", simdjson::TAPE_ERROR);
        od::value v = field.value();
        if (key == "role") {
          if (v.get_string().get(role)) return Type(error, "messages[].role", "a string");
        } else if (key == "content") {
          od::json_type type;
          if (v.type().get(type)) return Type(error, "messages[].content", "a string or array");
          if (type == od::json_type::string) {
            std::string_view text;
            if (v.get_string().get(text)) return Type(error, "messages[].content", "a string");
            items_.push_back({.text = text});
          } else if (type == od::json_type::array) {
            for (auto part : v.get_array()) {
              od::object part_obj;
              if (part.get_object().get(part_obj)) continue;
              std::string_view text;
              if (!part_obj["text"].get_string().get(text)) items_.push_back({.text = text});
            }
          } else if (type != od::json_type::null) {
            return Type(error, "messages[].content", "a string, an array of parts or null");
          }
        } else if (key == "tool_calls") {
          od::array calls;
          if (v.get_array().get(calls)) return Type(error, "messages[].tool_calls", "an array");
          for (auto call : calls) {
            od::object fn;
            if (call["function"].get_object().get(fn)) continue;
            std::string_view name, arguments;
            for (auto f : fn) {
              std::string_view k;
              if (f.unescaped_key().get(k)) continue;
              if (k == "name") {
                if (f.value().get_string().get(name)) name = {};
              } else if (k == "arguments") {
                if (f.value().get_string().get(arguments)) arguments = {};
              }
            }
            items_.push_back({.text = arguments,
                              .role = "assistant",
                              .direction = Direction::kToolCall,
                              .tool_name = name});
          }
        } else if (key == "name") {
          std::string_view name;
          if (v.get_string().get(name)) name = {};
          for (size_t i = first_item; i < items_.size(); ++i) {
            if (items_[i].tool_name.empty()) items_[i].tool_name = name;
          }
        }
      }
      const Direction direction = DirectionForRole(role).value_or(Direction::kInput);
      for (size_t i = first_item; i < items_.size(); ++i) {
        if (items_[i].direction != Direction::kToolCall) {
          items_[i].role = role;
          items_[i].direction = direction;
        }
        item_index_.push_back(index);
      }
      ++index;
    }
    return true;
  }

  Verdict Check(const Item& item, Conversation& conversation, Stats& stats) {
    ++stats.messages;
    Verdict v = guard_.Check({.text = item.text,
                              .role = item.role,
                              .direction = item.direction,
                              .tool_name = item.tool_name,
                              .tool_arguments =
                                  item.direction == Direction::kToolCall ? item.text : ""},
                             {.conversation = &conversation});
    ++stats.by_action[static_cast<int>(v.action)];
    for (const Finding& f : v.findings) ++stats.by_finding[f.scanner + "/" + f.type];
    if (!v.rule.empty()) ++stats.by_rule[v.rule];
    return v;
  }

  static bool Fail(std::string& error, std::string_view what, simdjson::error_code e) {
    error = std::string(what) + ": " + simdjson::error_message(e);
    return false;
  }
  // A wrong type and a malformed value (bad escape, lone surrogate) get different messages.
  static bool Type(std::string& error, std::string_view field, std::string_view expected,
                   simdjson::error_code e = simdjson::INCORRECT_TYPE) {
    if (e != simdjson::INCORRECT_TYPE) {
      error = "\"" + std::string(field) + "\": invalid JSON value: " + simdjson::error_message(e);
    } else {
      error = "\"" + std::string(field) + "\" must be " + std::string(expected);
    }
    return false;
  }

  const Guard& guard_;
  od::parser parser_;
  std::vector<Item> items_;
  std::vector<size_t> item_index_;
  std::vector<Verdict> verdicts_;
};

std::string WithCommas(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(i, ",");
  return s;
}

std::string Percent(uint64_t part, uint64_t whole) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", whole ? 100.0 * part / whole : 0.0);
  return buf;
}

void PrintSummary(std::FILE* to, const std::string& input, const Stats& s, double seconds,
                  uint64_t bytes) {
  std::string out;
  char head[256];
  std::snprintf(head, sizeof head,
                "warden scan %s: %s lines, %s messages in %.2f s (%s lines/s, %.1f MB/s)\n\n",
                input.c_str(), WithCommas(s.lines).c_str(), WithCommas(s.messages).c_str(),
                seconds, WithCommas(static_cast<uint64_t>(s.lines / std::max(seconds, 1e-9))).c_str(),
                bytes / 1e6 / std::max(seconds, 1e-9));
  out += head;
  std::vector<std::vector<std::string>> actions = {{"action", "messages", "share"}};
  for (size_t i = 0; i < std::size(s.by_action); ++i) {
    if (s.by_action[i] == 0) continue;
    actions.push_back({std::string(ActionName(static_cast<Action>(i))),
                       WithCommas(s.by_action[i]), Percent(s.by_action[i], s.messages)});
  }
  out += RenderTable(actions);
  if (!s.by_finding.empty()) {
    std::vector<std::pair<uint64_t, std::string>> sorted;
    for (const auto& [k, v] : s.by_finding) sorted.emplace_back(v, k);
    std::sort(sorted.rbegin(), sorted.rend());
    std::vector<std::vector<std::string>> rows = {{"finding", "count"}};
    for (const auto& [v, k] : sorted) rows.push_back({k, WithCommas(v)});
    out += "\n" + RenderTable(rows);
  }
  if (!s.by_rule.empty()) {
    std::vector<std::vector<std::string>> rows = {{"rule", "messages"}};
    for (const auto& [k, v] : s.by_rule) rows.push_back({k, WithCommas(v)});
    out += "\n" + RenderTable(rows);
  }
  if (s.errors > 0) {
    out += "\n" + WithCommas(s.errors) + " malformed line(s), reported in the output as " +
           "{\"line\":N,\"error\":...}\n";
  }
  std::fputs(out.c_str(), to);
}

void PrintSummaryJson(std::FILE* to, const Stats& s, double seconds) {
  std::string out = "{\"lines\":";
  AppendJsonUint(out, s.lines);
  out += ",\"messages\":";
  AppendJsonUint(out, s.messages);
  out += ",\"errors\":";
  AppendJsonUint(out, s.errors);
  out += ",\"seconds\":";
  AppendJsonNumber(out, seconds);
  out += ",\"actions\":{";
  bool first = true;
  for (size_t i = 0; i < std::size(s.by_action); ++i) {
    if (!first) out += ",";
    first = false;
    AppendJsonString(out, ActionName(static_cast<Action>(i)));
    out += ":";
    AppendJsonUint(out, s.by_action[i]);
  }
  out += "},\"findings\":{";
  first = true;
  for (const auto& [k, v] : s.by_finding) {
    if (!first) out += ",";
    first = false;
    AppendJsonString(out, k);
    out += ":";
    AppendJsonUint(out, v);
  }
  out += "}}\n";
  std::fputs(out.c_str(), to);
}

int RunScan(const ScanArgs& args) {
  const std::string policy_path =
      args.policy.empty() ? FindBundledFile("policies/default.yaml") : args.policy;
  StatusOr<Guard> guard = Guard::Open(policy_path);
  if (!guard.ok()) {
    std::cerr << "warden scan: " << guard.status().message() << "\n";
    return kExitError;
  }
  std::FILE* in = stdin;
  uint64_t total_bytes = 0;
  if (args.input != "-") {
    in = std::fopen(args.input.c_str(), "rb");
    if (!in) {
      std::cerr << "warden scan: cannot open " << args.input << ": " << std::strerror(errno)
                << "\n";
      return kExitError;
    }
    struct stat st;
    if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode)) total_bytes = st.st_size;
  }
  std::FILE* out = stdout;
  if (!args.output.empty()) {
    out = std::fopen(args.output.c_str(), "wb");
    if (!out) {
      std::cerr << "warden scan: cannot write " << args.output << ": " << std::strerror(errno)
                << "\n";
      if (in != stdin) std::fclose(in);
      return kExitError;
    }
  }
  const int threads = args.threads > 0
                          ? args.threads
                          : std::max(1u, std::thread::hardware_concurrency());
  std::vector<LineScanner> scanners;
  scanners.reserve(threads);
  for (int i = 0; i < threads; ++i) scanners.emplace_back(*guard);
  std::vector<Stats> worker_stats(threads);
  Stats stats;

  // Input is read in blocks; complete lines are screened in parallel, then written in order.
  constexpr size_t kBlock = 4u << 20;
  std::string buffer;
  size_t used = 0;  // bytes of buffer holding data
  std::vector<std::string_view> lines;
  std::vector<uint64_t> line_numbers;
  std::vector<std::string> outputs;
  uint64_t line_no = 0, bytes_done = 0;
  ProgressBar progress("scanning", total_bytes);
  const auto started = std::chrono::steady_clock::now();
  bool eof = false;
  while (!eof || used > 0) {
    if (!eof) {
      if (buffer.size() < used + kBlock + simdjson::SIMDJSON_PADDING) {
        buffer.resize(used + kBlock + simdjson::SIMDJSON_PADDING);
      }
      const size_t n = std::fread(buffer.data() + used, 1, kBlock, in);
      used += n;
      if (n < kBlock) eof = std::feof(in) || std::ferror(in);
    }
    // Screen every complete line; at end of input the last line needs no newline.
    size_t end = used;
    if (!eof) {
      const void* nl = memrchr(buffer.data(), '\n', used);
      if (nl == nullptr) continue;  // one line longer than the buffer so far: read more
      end = static_cast<const char*>(nl) - buffer.data() + 1;
    }
    std::memset(buffer.data() + used, 0, std::min(buffer.size() - used,
                                                  size_t{simdjson::SIMDJSON_PADDING}));
    lines.clear();
    line_numbers.clear();
    for (size_t pos = 0; pos < end;) {
      const char* nl = static_cast<const char*>(std::memchr(buffer.data() + pos, '\n', end - pos));
      const size_t stop = nl ? nl - buffer.data() : end;
      std::string_view line(buffer.data() + pos, stop - pos);
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") != std::string_view::npos) {
        lines.push_back(line);
        line_numbers.push_back(line_no);
      }
      pos = stop + 1;
    }
    if (outputs.size() < lines.size()) outputs.resize(lines.size());
    std::atomic<size_t> next{0};
    auto work = [&](int w) {
      constexpr size_t kChunk = 32;
      for (;;) {
        const size_t first = next.fetch_add(kChunk);
        if (first >= lines.size()) break;
        const size_t last = std::min(lines.size(), first + kChunk);
        for (size_t i = first; i < last; ++i) {
          const size_t capacity = buffer.size() - (lines[i].data() - buffer.data());
          scanners[w].Process(lines[i], line_numbers[i], capacity, outputs[i], worker_stats[w]);
        }
      }
    };
    if (threads == 1 || lines.size() < 64) {
      work(0);
    } else {
      std::vector<std::thread> pool;
      for (int w = 1; w < threads; ++w) pool.emplace_back(work, w);
      work(0);
      for (auto& t : pool) t.join();
    }
    for (size_t i = 0; i < lines.size(); ++i) {
      std::fwrite(outputs[i].data(), 1, outputs[i].size(), out);
    }
    for (Stats& ws : worker_stats) stats.Merge(ws);
    bytes_done += end;
    progress.Update(bytes_done, stats.lines);
    // Keep the unfinished tail for the next block.
    std::memmove(buffer.data(), buffer.data() + end, used - end);
    used -= end;
    if (eof) break;
  }
  progress.Finish();
  std::sort(stats.first_errors.begin(), stats.first_errors.end());
  for (const auto& [line, message] : stats.first_errors) {
    std::cerr << "warden scan: " << args.input << ":" << line << ": " << message << "\n";
  }
  if (stats.errors > stats.first_errors.size()) {
    std::cerr << "warden scan: … and " << stats.errors - stats.first_errors.size()
              << " more malformed lines\n";
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const bool write_failed = std::ferror(out) != 0;
  if (out != stdout) std::fclose(out);
  std::fflush(stdout);
  if (in != stdin) std::fclose(in);
  if (write_failed) {
    std::cerr << "warden scan: writing the verdicts failed\n";
    return kExitError;
  }
  // The summary goes where people look: stdout when verdicts go to a file, else stderr.
  std::FILE* summary_to = args.output.empty() ? stderr : stdout;
  if (args.summary_json) {
    PrintSummaryJson(summary_to, stats, seconds);
  } else if (!args.quiet) {
    PrintSummary(summary_to, args.input, stats, seconds, bytes_done);
  }
  if (stats.errors > 0) return kExitError;
  const uint64_t flagged = stats.messages - stats.by_action[static_cast<int>(Action::kAllow)];
  return flagged > 0 ? kExitFlagged : kExitAllow;
}

}  // namespace

void AddScanCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ScanArgs>();
  CLI::App* cmd = app.add_subcommand(
      "scan",
      "Screen a JSONL file of texts or conversations and report what breaks policy.\n"
      "Each input line is an object with \"text\" (optional \"role\", \"direction\", \"id\")\n"
      "or OpenAI \"messages\" (roles set the direction: user/system -> input,\n"
      "assistant -> output and tool_call for its tool calls, tool -> tool_result).\n"
      "Writes one JSON verdict per input line, in input order; malformed lines become\n"
      "{\"line\":N,\"error\":...} and the scan goes on. Uses every core.\n"
      "Exit status: 0 all allowed, 1 something flagged, 2 malformed lines or an error.\n\n"
      "Examples:\n"
      "  warden scan examples/conversations.jsonl -o verdicts.jsonl\n"
      "  cat log.jsonl | warden scan - --policy policies/patterns.yaml > verdicts.jsonl");
  cmd->add_option("input", args->input, "JSONL file, or - for standard input")->required();
  cmd->add_option("-p,--policy", args->policy, "Policy file (default: policies/default.yaml)");
  cmd->add_option("-o,--output", args->output,
                  "Write verdicts here (default: standard output); the summary then goes to "
                  "standard output");
  cmd->add_option("-j,--threads", args->threads, "Worker threads (default: all cores)");
  cmd->add_flag("-q,--quiet", args->quiet, "No summary table");
  cmd->add_flag("--summary-json", args->summary_json, "Print the summary as one JSON object");
  cmd->callback([args, exit_code] { *exit_code = RunScan(*args); });
}

}  // namespace warden::cli
