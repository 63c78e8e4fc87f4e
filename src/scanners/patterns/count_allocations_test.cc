// Replaces the global operator new of the test binary to count allocations per thread, so tests
// can check that a hot path does not allocate.
#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
thread_local size_t allocations = 0;
}  // namespace

size_t ThreadAllocations() { return allocations; }

void* operator new(size_t n) {
  ++allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
