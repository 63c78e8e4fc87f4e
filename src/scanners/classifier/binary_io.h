// Little-endian binary files of the classifier's parts (semantic head, sentence encoder): write
// with Put / PutFloats, read with ByteReader, whose every Get says whether the bytes were there,
// so a truncated file is an error and never a read past the end.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <streambuf>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warden::classifier {

// A model file's bytes. A regular file is mapped with MAP_POPULATE, which maps all its pages in
// one call: read into a buffer, each 4 KiB page of it is faulted in on first touch, and on a
// virtual machine with slow page faults the faults took a third or more of a policy's load
// (docs/PERFORMANCE.md). Anything else (a pipe, an empty file) is read. The bytes are read only
// while loading.
class FileBytes {
 public:
  FileBytes() = default;
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  ~FileBytes() {
    if (map_ != nullptr) munmap(map_, size_);
  }

  // False when the file cannot be opened or read (a directory, say).
  bool Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                     MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p != MAP_FAILED) {
        ::close(fd);
        map_ = p;
        size_ = static_cast<size_t>(st.st_size);
        return true;
      }
    }
    // Read from this descriptor, not the path again: a pipe's writer has already been met.
    char buffer[1 << 16];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof(buffer))) > 0 || (n < 0 && errno == EINTR)) {
      if (n > 0) read_.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return n == 0;
  }
  std::string_view view() const {
    return map_ != nullptr ? std::string_view(static_cast<const char*>(map_), size_) : read_;
  }

 private:
  void* map_ = nullptr;
  size_t size_ = 0;
  std::string read_;
};

// Reads the whole file into `out` (a copy of what FileBytes maps); false when it cannot be
// opened or read. For files whose bytes outlive the load (the manifest, the TF.js release).
inline bool ReadFile(const std::string& path, std::string& out) {
  FileBytes file;
  if (!file.Open(path)) return false;
  out.assign(file.view());
  return true;
}

// Allocates buffers of 2 MiB and more on 2 MiB boundaries and asks the kernel for huge pages
// there (MADV_HUGEPAGE; this machine's transparent huge pages are "madvise"), so the tens of MiB
// of weights decoded at load (fastText's input matrix, the encoder's) are faulted in 2 MiB at a
// time, not 4 KiB. Smaller buffers, and kernels that ignore the advice, get ordinary pages.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t(2) << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return std::allocator<T>().allocate(n);
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) throw std::bad_alloc();
    madvise(p, rounded, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePage) return std::allocator<T>().deallocate(p, n);
    std::free(p);
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

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
