// UTF-8 helpers shared by the views, the scanners and the output writers.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace warden {

// Length in bytes of the valid UTF-8 sequence starting at s[i], or 0 if the bytes there are not
// a valid sequence (overlong forms, surrogates and code points above U+10FFFF are invalid).
// REQUIRES: i < s.size().
size_t Utf8SequenceLength(std::string_view s, size_t i);

// Decodes the valid sequence at s[i]; REQUIRES: Utf8SequenceLength(s, i) > 0.
char32_t Utf8Decode(std::string_view s, size_t i, size_t length);

// The largest position <= `pos` that is not inside a UTF-8 sequence, so a cut there keeps every
// character whole (a position is inside when the byte at it is a continuation byte). A `pos` at
// or past the end gives s.size().
size_t Utf8Floor(std::string_view s, size_t pos);

// The smallest position >= `pos` that is not inside a UTF-8 sequence; at most s.size().
size_t Utf8Ceil(std::string_view s, size_t pos);

// True when every byte is < 0x80. Fast: checks eight bytes at a time.
bool IsAscii(std::string_view s);

// True when `s` is entirely valid UTF-8.
bool IsValidUtf8(std::string_view s);

}  // namespace warden
