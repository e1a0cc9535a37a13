#include "tests/heap_counter.hpp"

#include <cstdlib>
#include <new>

namespace heap {
std::atomic<std::size_t> live{0};
std::atomic<std::size_t> peak{0};
namespace {
constexpr std::size_t kHeader = 16;  // keeps malloc's 16-byte alignment for the caller
}  // namespace
}  // namespace heap

// GCC sees free() on what it believes came from operator new: it did, from ours, by malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
    void* p = std::malloc(n + heap::kHeader);
    if (p == nullptr) throw std::bad_alloc();
    *static_cast<std::size_t*>(p) = n;
    const std::size_t now = heap::live.fetch_add(n) + n;
    std::size_t old = heap::peak.load();
    while (now > old && !heap::peak.compare_exchange_weak(old, now)) {
    }
    return static_cast<char*>(p) + heap::kHeader;
}
void operator delete(void* p) noexcept {
    if (p == nullptr) return;
    char* base = static_cast<char*>(p) - heap::kHeader;
    heap::live.fetch_sub(*reinterpret_cast<std::size_t*>(base));
    std::free(base);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return operator new(n);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { operator delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { operator delete(p); }
#pragma GCC diagnostic pop
