// Heap accounting for memory-bound tests: a test binary that links tests/heap_counter.cpp has
// every operator new/delete counted in heap::live (bytes allocated now) and heap::peak (the
// most since last reset: store live into peak first).
#pragma once

#include <atomic>
#include <cstddef>

namespace heap {
extern std::atomic<std::size_t> live;
extern std::atomic<std::size_t> peak;
}  // namespace heap
