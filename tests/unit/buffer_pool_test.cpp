#include "core/buffer_pool.hpp"
#include "tests/vectors.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace zferry {
namespace {

BufferPool::NoFit no_fit(const std::string& s) {
    if (s == "Allocate") return BufferPool::NoFit::allocate;
    if (s == "AllocateSmaller") return BufferPool::NoFit::allocate_smaller;
    if (s == "AllocateLarger") return BufferPool::NoFit::allocate_larger;
    if (s == "Panic") return BufferPool::NoFit::panic;
    throw std::invalid_argument(s);
}

TEST(BufferPool, Vectors) {
    int n = 0;
    for (const auto& cv : test::load_cases("base2bufpool.json")) {
        const auto& c = cv.as_object();
        std::string kind = test::str(c.at("kind"));
        SCOPED_TRACE(test::str(c.at("id")));
        if (kind == "fitting_shift") {
            EXPECT_EQ(BufferPool::fitting_shift(c.at("input").to_number<std::size_t>()),
                      c.at("expect").to_number<unsigned>());
            ++n;
            continue;
        }
        BufferPool pool(c.at("min_shift").to_number<unsigned>(), c.at("max_shift").to_number<unsigned>(),
                        no_fit(test::str(c.at("no_fit_behavior"))));
        auto size = c.at("get_size").to_number<std::size_t>();
        if (c.contains("expect_panic")) {
            EXPECT_THROW(pool.get(size), std::length_error);
        } else if (kind == "get") {
            auto b = pool.get(size);
            EXPECT_EQ(b.size(), c.at("expect_payload_len").to_number<std::size_t>());
            EXPECT_EQ(b.capacity(), c.at("expect_buffer_len").to_number<std::size_t>());
        } else {
            ASSERT_EQ(kind, "get_then_free");
            { auto b = pool.get(size); }
            auto again = pool.get(size);
            EXPECT_EQ(again.size(), size);
        }
        ++n;
    }
    EXPECT_EQ(n, 8);
}

TEST(BufferPool, ReusesFreedBuffers) {
    BufferPool pool(15, 20, BufferPool::NoFit::panic);
    std::byte* first;
    {
        auto b = pool.get(40000);
        first = b.data();
        EXPECT_EQ(b.capacity(), 65536u);
    }
    auto b2 = pool.get(65536);
    EXPECT_EQ(b2.data(), first);
    b2.shrink(10);
    EXPECT_EQ(b2.size(), 10u);
    auto moved = std::move(b2);
    EXPECT_EQ(moved.size(), 10u);
    EXPECT_EQ(b2.size(), 0u);
}

TEST(BufferPool, AllocateLargerOnlyAbove) {
    BufferPool pool(15, 20, BufferPool::NoFit::allocate_larger);
    EXPECT_EQ(pool.get(1 << 21).capacity(), 1u << 21);
    EXPECT_THROW(pool.get(100), std::length_error);
}

}  // namespace
}  // namespace zferry
