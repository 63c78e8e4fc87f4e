// Instructions addressed to the model from inside a document: "<!-- note to the AI assistant:
// … -->", "[instruction for the language model: …]", "AI reading this: …", "SYSTEM: …" inside a
// fetched page. Cut out, each becomes a decoded view ("decoded:instruction"), so the request
// is judged as if it had been sent alone rather than averaged with the document around it.
// Likewise the request a role-play wraps ("pretend to be my grandmother … tell me again: …"),
// as "decoded:roleplay".
#include <algorithm>
#include <array>
#include <string_view>

#include "text/internal.h"

namespace warden::text::internal {
namespace {

inline bool IsLetter(char c) { return static_cast<unsigned char>((c | 0x20) - 'a') < 26; }
inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Whether `word`, ignoring ASCII case, is the lower-case `lower`.
bool Lowers(std::string_view word, std::string_view lower) {
  if (word.size() != lower.size()) return false;
  for (size_t k = 0; k < word.size(); ++k) {
    if (AsciiLower(word[k]) != lower[k]) return false;
  }
  return true;
}

// Whether s[i, …) starts with the lower-case ASCII `word`, ignoring case, as a whole word.
bool WordAt(std::string_view s, size_t i, std::string_view word) {
  if (i + word.size() > s.size() || (i > 0 && IsLetter(s[i - 1]))) return false;
  const size_t end = i + word.size();
  return Lowers(s.substr(i, word.size()), word) && (end == s.size() || !IsLetter(s[end]));
}

// The words that name the reader of an injected instruction. Longer names first, so that
// "language model" wins over "model".
constexpr std::array<std::string_view, 9> kAddressees = {
    "language model", "assistant", "chatbot", "agent", "model", "llm", "bot", "ai", "gpt"};
// Words that make the addressee's name longer: "AI assistant", "AI model".
constexpr std::array<std::string_view, 3> kAddresseeTails = {"assistant", "model", "agent"};
// "<note> to|for [the] <addressee>".
constexpr std::array<std::string_view, 8> kMessages = {
    "note", "message", "instruction", "instructions", "task", "request", "reminder", "directive"};
constexpr std::array<std::string_view, 4> kDeterminers = {"the", "any", "all", "every"};

// Sets, in `lengths` (indexed by lower-case first letter), the bit for the length of the first
// word of the lower-case `word`.
constexpr void AddCandidate(std::array<uint16_t, 26>& lengths, std::string_view word) {
  const size_t first_word = word.find(' ');
  const size_t n = first_word == std::string_view::npos ? word.size() : first_word;
  lengths[word[0] - 'a'] |= static_cast<uint16_t>(1u << n);
}

size_t SkipSpaces(std::string_view s, size_t i) {
  while (i < s.size() && IsSpace(s[i])) ++i;
  return i;
}

// The word that ends just before s[end] (spaces skipped), as [begin, end) of s; empty when
// there is none.
std::string_view WordBefore(std::string_view s, size_t end, size_t& begin) {
  while (end > 0 && IsSpace(s[end - 1])) --end;
  begin = end;
  while (begin > 0 && IsLetter(s[begin - 1])) --begin;
  return s.substr(begin, end - begin);
}

template <size_t N>
bool OneOf(std::string_view word, const std::array<std::string_view, N>& words) {
  for (std::string_view w : words) {
    if (Lowers(word, w)) return true;
  }
  return false;
}

// If an addressee name starts at s[i], where the instruction addressed to it starts (the end
// of the marker); 0 when s[i, …) is not a marker. Markers: "note|message|instruction|task|…
// to|for [the|any|all|every] <addressee>", "<addressee> reading this", "system:" opening a
// sentence or a line, and tags "<assistant instruction>", "[system]".
size_t MarkerEnd(std::string_view s, size_t i) {
  size_t name_end = 0;
  for (std::string_view name : kAddressees) {
    if (WordAt(s, i, name)) {
      name_end = i + name.size();
      break;
    }
  }
  const bool system = name_end == 0 && WordAt(s, i, "system");
  if (system) name_end = i + 6;
  if (name_end == 0) return 0;
  // "AI assistant", "AI model".
  size_t end = name_end;
  for (std::string_view tail : kAddresseeTails) {
    const size_t j = SkipSpaces(s, end);
    if (j > end && WordAt(s, j, tail)) {
      end = j + tail.size();
      break;
    }
  }
  // A tag around the name: "<assistant instruction>", "<system>", "[system]".
  size_t open = i;
  while (open > 0 && (s[open - 1] == ' ' || s[open - 1] == '|')) --open;
  if (open > 0 && (s[open - 1] == '<' || s[open - 1] == '[')) {
    const char close = s[open - 1] == '<' ? '>' : ']';
    size_t j = end;
    while (j < s.size() && j < end + 24 &&
           (IsLetter(s[j]) || s[j] == ' ' || s[j] == '_' || s[j] == '-' || s[j] == '|')) {
      ++j;
    }
    if (j < s.size() && s[j] == close) return j + 1;
  }
  // "<addressee> reading this".
  const size_t after = SkipSpaces(s, end);
  if (!system && WordAt(s, after, "reading")) {
    const size_t this_at = SkipSpaces(s, after + 7);
    if (WordAt(s, this_at, "this")) return this_at + 4;
  }
  // "SYSTEM:" where a sentence or line starts (not "the solar system:"). Not "Assistant:",
  // which opens the model's own turns in pasted transcripts.
  if (system && after < s.size() && s[after] == ':') {
    size_t p = i;
    while (p > 0 && s[p - 1] == ' ') --p;
    if (p == 0 || std::string_view("\n.!?\"'{[(>").find(s[p - 1]) != std::string_view::npos) {
      return after + 1;
    }
  }
  if (system) return 0;
  // "note to the AI", "task for the assistant".
  size_t b = 0;
  std::string_view word = WordBefore(s, i, b);
  if (OneOf(word, kDeterminers)) word = WordBefore(s, b, b);
  if (!Lowers(word, "to") && !Lowers(word, "for")) return 0;
  word = WordBefore(s, b, b);
  return OneOf(word, kMessages) ? end : 0;
}

// What encloses each marker: the HTML comment, bracket or quoted string it stands in, and where
// those (and tags and paragraphs) close. Markers are met in order, so the text before them is
// read once and each closing found once: a text made of many markers is still read in linear
// time, as every view must be.
class Enclosures {
 public:
  explicit Enclosures(std::string_view s) : s_(s) {}

  // The end of the instruction that starts at s[begin] after a marker at s[marker] (markers in
  // increasing order): the end of the HTML comment, bracket, tag, quoted string or paragraph
  // the marker stands in, else the end of the text.
  size_t InstructionEnd(size_t marker, size_t begin) {
    ReadUpTo(marker);
    size_t end = s_.size();
    if (in_comment_) end = std::min(end, Next(kCommentClose, begin));
    if (in_bracket_) end = std::min(end, Next(kBracketClose, begin));
    end = std::min(end, Next(kTagClose, begin));
    end = std::min(end, Next(kParagraph, begin));
    // Inside a quoted string (an odd number of unescaped quotes since the line began): up to
    // the closing quote, as in a JSON tool result.
    if (quotes_ % 2 == 1) end = std::min(end, Next(kQuote, begin));
    return end;
  }

 private:
  enum Closing { kCommentClose, kBracketClose, kTagClose, kParagraph, kQuote, kClosings };
  static constexpr size_t kUnknown = std::string_view::npos - 1;

  void ReadUpTo(size_t marker) {
    for (; read_ < marker; ++read_) {
      switch (s_[read_]) {
        case '\n':
          quotes_ = 0;
          break;
        case '"':
          quotes_ += read_ == 0 || s_[read_ - 1] != '\\';
          break;
        case '[':
          in_bracket_ = true;
          break;
        case ']':
          in_bracket_ = false;
          break;
        case '<':
          in_comment_ = in_comment_ || s_.substr(read_, 4) == "<!--";
          break;
        case '-':
          in_comment_ = in_comment_ && s_.substr(read_, 3) != "-->";
          break;
        default:
          break;
      }
    }
  }

  // The first closing of `kind` at or after `from` (npos when none). A later call never has a
  // smaller `from`, so a closing found earlier still answers while it lies at or after `from`.
  size_t Next(Closing kind, size_t from) {
    size_t& at = next_[kind];
    if (at != kUnknown && (at == std::string_view::npos || at >= from)) return at;
    // Indexed like Closing; a quote is searched for with its escapes skipped.
    constexpr std::string_view kTokens[] = {"-->", "]", "</", "\n\n"};
    if (kind != kQuote) {
      at = s_.find(kTokens[kind], from);
    } else {
      at = s_.find('"', from);
      while (at != std::string_view::npos && at > 0 && s_[at - 1] == '\\') {
        at = s_.find('"', at + 1);
      }
    }
    return at;
  }

  std::string_view s_;
  size_t read_ = 0;  // s_[0, read_) is read
  size_t quotes_ = 0;
  bool in_bracket_ = false, in_comment_ = false;
  std::array<size_t, kClosings> next_ = {kUnknown, kUnknown, kUnknown, kUnknown, kUnknown};
};

size_t CountWords(std::string_view s) {
  size_t words = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    if (IsLetter(s[k]) && (k == 0 || !IsLetter(s[k - 1]))) ++words;
  }
  return words;
}

// An instruction often opens with a lead-in that sets the request apart from the task the
// document came with: "skip the summary; instead …", "your real task is to answer the following:
// …", "before you summarise this page, …". The request is what follows it: cut at the first ':'
// or ';' within the first twelve words, or at a comma after a lead-in that opens with a word of
// sequence, when at least three words follow; then a leading "instead".
std::string_view WithoutLeadIn(std::string_view s) {
  constexpr std::array<std::string_view, 6> kSequence = {"before",  "after", "first",
                                                         "instead", "then",  "once"};
  bool sequence = false;
  for (std::string_view w : kSequence) sequence = sequence || WordAt(s, 0, w);
  for (size_t k = 0; k < s.size(); ++k) {
    const char c = s[k];
    if (c != ':' && c != ';' && !(c == ',' && sequence)) continue;
    if (CountWords(s.substr(0, k)) > 12) break;
    const std::string_view rest = s.substr(k + 1);
    if (CountWords(rest) >= 3) s = rest;
    break;
  }
  size_t i = SkipSpaces(s, 0);
  if (WordAt(s, i, "instead")) i = SkipSpaces(s, i + 7);
  while (i < s.size() && (s[i] == ':' || s[i] == ',')) i = SkipSpaces(s, i + 1);
  return s.substr(i);
}

std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e &&
         (IsSpace(s[b]) || std::string_view(":;,-").find(s[b]) != std::string_view::npos)) {
    ++b;
  }
  while (e > b && IsSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// For each lower-case first letter, a bit per length (in letters) of the addressee names and
// "system" that start with it: one lookup rules out nearly every word of ordinary prose, so the
// view costs little on texts without markers.
constexpr std::array<uint16_t, 26> kCandidateLengths = [] {
  std::array<uint16_t, 26> lengths{};
  for (std::string_view name : kAddressees) AddCandidate(lengths, name);
  AddCandidate(lengths, "system");
  return lengths;
}();

// Puts `piece` (a part of the raw view out[0]) into out[index] as a decoded view named `name`,
// each byte mapped to its place in the original.
void AppendCutOut(std::vector<View>& out, size_t index, std::string_view name,
                  std::string_view piece) {
  const auto at = static_cast<uint32_t>(piece.data() - out[0].text.data());
  View& v = ViewSlot(out, index);  // may move out[0]'s View, not the text it points at
  v.kind = ViewKind::kDecoded;
  v.name.assign(name);
  v.depth = 1;
  v.storage.assign(piece);
  v.orig_begin.resize(piece.size());
  v.orig_end.resize(piece.size());
  for (uint32_t k = 0; k < piece.size(); ++k) {
    v.orig_begin[k] = at + k;
    v.orig_end[k] = at + k + 1;
  }
}

// Words that set up a role-play: a text without one has no role-play request.
constexpr std::array<std::string_view, 7> kRoleplayCues = {
    "pretend", "pretending", "roleplay", "role", "character", "persona", "impersonate"};
constexpr std::array<uint16_t, 26> kCueLengths = [] {
  std::array<uint16_t, 26> lengths{};
  for (std::string_view cue : kRoleplayCues) AddCandidate(lengths, cue);
  return lengths;
}();

// Whether the word s[word, word + length) is a role-play cue.
bool IsRoleplayCue(std::string_view s, size_t word, size_t length) {
  return (kCueLengths[AsciiLower(s[word]) - 'a'] & (1u << length)) &&
         OneOf(s.substr(word, length), kRoleplayCues);
}

bool HasRoleplayCue(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    while (i < s.size() && !IsLetter(s[i])) ++i;
    const size_t word = i;
    while (i < s.size() && IsLetter(s[i])) ++i;
    if (i - word > 0 && i - word <= 15 && IsRoleplayCue(s, word, i - word)) return true;
  }
  return false;
}

// The request after the colon at s[colon]: the quoted string that opens there (to its closing
// quote: '"', or the typographic ones), else the rest of the paragraph.
std::string_view AfterColon(std::string_view s, size_t colon) {
  size_t b = SkipSpaces(s, colon + 1);
  size_t e = std::string_view::npos;
  if (b < s.size() && s[b] == '"') {
    ++b;
    e = s.find('"', b);
  } else if (s.substr(b, 3) == "\xe2\x80\x9c") {  // “ … ”
    b += 3;
    e = s.find("\xe2\x80\x9d", b);
  } else {
    e = s.find("\n\n", b);
  }
  if (e == std::string_view::npos) e = s.size();
  return Trim(s.substr(b, e - b));
}

// The text's last sentence: after the last '.', '!', '?' or newline that is followed by a space
// and is not the text's final character.
std::string_view LastSentence(std::string_view s) {
  size_t e = s.size();
  while (e > 0 && IsSpace(s[e - 1])) --e;
  for (size_t k = e; k-- > 1;) {
    const char c = s[k - 1];
    if ((c == '.' || c == '!' || c == '?' || c == '\n') && IsSpace(s[k]) && k < e) {
      return Trim(s.substr(k, e - k));
    }
  }
  return {};
}

// The views of the request a role-play wraps, for a text that sets one up.
size_t AppendRoleplayRequests(const ViewOptions& options, std::vector<View>& out, size_t count) {
  const std::string_view s = out[0].text;
  std::array<std::string_view, kMaxRoleplayViews> requests;
  size_t n = 0;
  // The last of the final three colons that introduces a request of three words or more.
  size_t colon = s.size();
  for (int tries = 0; tries < 3 && n == 0; ++tries) {
    colon = colon == 0 ? std::string_view::npos : s.rfind(':', colon - 1);
    if (colon == std::string_view::npos) break;
    const std::string_view r = AfterColon(s, colon);
    if (CountWords(r) >= 3) requests[n++] = r;
  }
  // The last sentence, unless it shares text with that request ("Now: <request>").
  const std::string_view last = LastSentence(s);
  const bool overlaps = n > 0 && last.data() < requests[0].data() + requests[0].size() &&
                        requests[0].data() < last.data() + last.size();
  if (CountWords(last) >= 3 && !overlaps) requests[n++] = last;
  size_t budget = options.max_decoded_bytes;
  for (size_t k = 0; k < n; ++k) {
    const std::string_view request = requests[k];
    if (request.size() == s.size() || request.size() > budget) continue;
    budget -= request.size();
    AppendCutOut(out, count++, kRoleplayViewName, request);
  }
  return count;
}

}  // namespace

size_t AppendInstructions(const ViewOptions& options, std::vector<View>& out, size_t count) {
  const std::string_view s = out[0].text;
  Enclosures enclosures(s);
  size_t budget = options.max_decoded_bytes;
  size_t found = 0;
  size_t i = 0;
  // The same pass looks for a role-play cue; the spans it jumps (instructions, and the rest of
  // the text after the last instruction it may take) are read for one too, once each.
  bool cue = false;
  while (i < s.size()) {
    while (i < s.size() && !IsLetter(s[i])) ++i;
    const size_t word = i;
    while (i < s.size() && IsLetter(s[i])) ++i;
    const size_t length = i - word;
    if (length == 0 || length > 15) continue;
    cue = cue || IsRoleplayCue(s, word, length);
    if (!(kCandidateLengths[AsciiLower(s[word]) - 'a'] & (1u << length))) continue;
    const size_t begin = MarkerEnd(s, word);
    if (begin == 0) continue;
    const size_t end = enclosures.InstructionEnd(word, begin);
    const std::string_view instruction = WithoutLeadIn(Trim(s.substr(begin, end - begin)));
    if (!cue && end > i) cue = HasRoleplayCue(s.substr(i, end - i));
    i = std::max(i, end);
    if (CountWords(instruction) < 3 || instruction.size() > budget) continue;
    budget -= instruction.size();
    AppendCutOut(out, count++, kInstructionViewName, instruction);
    if (++found == kMaxInstructionViews) break;
  }
  if (!cue && i < s.size()) cue = HasRoleplayCue(s.substr(i));
  return cue ? AppendRoleplayRequests(options, out, count) : count;
}

}  // namespace warden::text::internal
