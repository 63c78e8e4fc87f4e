// Little-endian binary files of the classifier's parts (semantic head, sentence encoder): write
// with Put / PutFloats, read with ByteReader, whose every Get says whether the bytes were there,
// so a truncated file is an error and never a read past the end.
#pragma once

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace warden::classifier {

// Reads the whole file; false when it cannot be opened or read. A regular file is read in one
// call into a buffer of its size (models are megabytes: a growing stream buffer copied them
// twice, a tenth of a policy's load); anything else (a pipe) through a stream.
inline bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return false;
  const std::streamoff size = in.tellg();
  if (size >= 0 && in.seekg(0)) {
    out.resize(static_cast<size_t>(size));
    return static_cast<bool>(in.read(out.data(), size)) && in.peek() == EOF;
  }
  in.clear();
  std::ostringstream ss;
  ss << in.rdbuf();
  out = std::move(ss).str();
  return static_cast<bool>(in) || in.eof();
}

// An input stream over bytes already in memory, without copying them (std::istringstream
// copies its string): for fastText's loader, which reads from a stream.
class MemoryStreamBuf : public std::streambuf {
 public:
  explicit MemoryStreamBuf(std::string_view bytes) {
    char* p = const_cast<char*>(bytes.data());  // only ever read: no put area is set
    setg(p, p, p + bytes.size());
  }
};

template <typename T>
void Put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

inline void PutFloats(std::string& out, const std::vector<float>& v) {
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool Get(T& v) {
    if (bytes_.size() - at_ < sizeof(T)) return false;
    std::memcpy(&v, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  bool GetFloats(std::vector<float>& v, size_t n) {
    if ((bytes_.size() - at_) / sizeof(float) < n) return false;
    v.resize(n);
    std::memcpy(v.data(), bytes_.data() + at_, n * sizeof(float));
    at_ += n * sizeof(float);
    return true;
  }
  // The next `n` bytes, as a view into the input.
  bool GetBytes(std::string_view& v, size_t n) {
    if (bytes_.size() - at_ < n) return false;
    v = bytes_.substr(at_, n);
    at_ += n;
    return true;
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  size_t at_ = 0;
};

}  // namespace warden::classifier
