// core/ hot spots: the buffer pool, which the readv data path and every message read hit once
// per frame. Single-threaded get/put cycles across the size classes dataconn uses (and sizes
// outside them, which fall through to the allocator), plain new/delete as the baseline, and
// the pool shared by several threads (it is one mutex around every get and put).
// Items/s only: a get/put moves no bytes, so bytes/s would say nothing.
#include "core/buffer_pool.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace {

using zferry::BufferPool;

constexpr std::int64_t KiB = 1024;
constexpr std::int64_t MiB = 1024 * KiB;

// As dataconn configures it: 32 KiB .. 4 MiB classes, anything else freshly allocated.
constexpr unsigned kMinShift = 15, kMaxShift = 22;

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "core_bench: self-check failed: %s\n", what);
        std::abort();
    }
}

// One get and one put (the buffer's destructor) per iteration; the first byte is written so
// the buffer is really used.
void BM_BufferPoolGetPut(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    BufferPool pool(kMinShift, kMaxShift, BufferPool::NoFit::allocate);
    {
        const unsigned shift = BufferPool::fitting_shift(size);
        const bool pooled = shift >= kMinShift && shift <= kMaxShift;
        std::byte* first;
        {
            auto b = pool.get(size);
            check(b.size() == size, "buffer has the requested size");
            check(b.capacity() == (pooled ? std::size_t{1} << shift : size), "pooled sizes round up");
            first = b.data();
        }
        // (The allocator may hand a freed unpooled block back as well, so only pooled sizes
        // are checked for reuse.)
        if (pooled) check(pool.get(size).data() == first, "a freed pooled buffer is reused");
    }
    for (auto _ : state) {
        auto b = pool.get(size);
        b.data()[0] = std::byte{1};
        benchmark::DoNotOptimize(b.data());
    }
    state.SetItemsProcessed(state.iterations());
}
// 64 B: below the classes (control frames, fresh allocation); 32 KiB, 512 KiB, 4 MiB: the
// smallest, the usual data frame, the largest class; 600 KiB: rounds up to the 1 MiB class;
// 8 MiB: above the classes (fresh allocation).
BENCHMARK(BM_BufferPoolGetPut)
    ->Arg(64)
    ->Arg(32 * KiB)
    ->Arg(512 * KiB)
    ->Arg(600 * KiB)
    ->Arg(4 * MiB)
    ->Arg(8 * MiB);

// Baseline: the allocator alone, same sizes, same first-byte touch.
void BM_NewDelete(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        std::unique_ptr<std::byte[]> p(new std::byte[size]);
        p[0] = std::byte{1};
        benchmark::DoNotOptimize(p.get());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NewDelete)->Arg(64)->Arg(32 * KiB)->Arg(512 * KiB)->Arg(4 * MiB)->Arg(8 * MiB);

// Several buffers in flight (a reader holding the payloads of frames not yet written out):
// get `held` buffers of mixed classes, then release them all. Items = buffers.
void BM_BufferPoolHoldMany(benchmark::State& state) {
    const auto held = static_cast<std::size_t>(state.range(0));
    BufferPool pool(kMinShift, kMaxShift, BufferPool::NoFit::allocate);
    const std::size_t sizes[] = {512 * KiB, 11, 1 * MiB, 40 * KiB, 512 * KiB, 4 * MiB};
    std::vector<BufferPool::Buffer> bufs;
    bufs.reserve(held);
    for (auto _ : state) {
        for (std::size_t i = 0; i < held; ++i) bufs.push_back(pool.get(sizes[i % 6]));
        benchmark::DoNotOptimize(bufs.data());
        bufs.clear();
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
// 8 fits within the pool's keep of 11 per class; 32 exceeds it, so some buffers are freed
// and reallocated every round.
BENCHMARK(BM_BufferPoolHoldMany)->Arg(8)->Arg(32);

// One pool shared by every benchmark thread (dataconn shares one per server or client among
// its connections). Each thread cycles get/put of a 512 KiB buffer.
BufferPool& shared_pool() {
    static BufferPool pool(kMinShift, kMaxShift, BufferPool::NoFit::allocate);
    return pool;
}

void BM_BufferPoolContended(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    auto& pool = shared_pool();
    for (auto _ : state) {
        auto b = pool.get(size);
        b.data()[0] = std::byte{1};
        benchmark::DoNotOptimize(b.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BufferPoolContended)->Arg(512 * KiB)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

}  // namespace
