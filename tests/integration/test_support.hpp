// Helpers for integration tests: run a coroutine to completion, deterministic payloads with
// a checksum, pipes fed or drained by threads.
#pragma once

#include <boost/asio.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <future>
#include <thread>
#include <vector>

namespace zferry::test {

template <class T>
T run(boost::asio::io_context& ctx, boost::asio::awaitable<T> a) {
    // Runs handlers until this coroutine is done; servers keep other work (accepts) pending.
    auto f = boost::asio::co_spawn(ctx, std::move(a), boost::asio::use_future);
    ctx.restart();
    while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) ctx.run_one();
    return f.get();
}

// Deterministic bytes: position-dependent, so reordering or loss changes the checksum.
inline void fill_pattern(std::vector<std::uint64_t>& block, std::uint64_t offset_words) {
    for (std::size_t i = 0; i < block.size(); ++i) {
        std::uint64_t x = (offset_words + i) * 0x9e3779b97f4a7c15ull;
        block[i] = x ^ (x >> 29);
    }
}

// Order-sensitive checksum over 64-bit words (bytes carried across calls), fast enough
// that checking a 1 GiB transfer costs well under a second.
struct Checksum {
    std::uint64_t sum = 0;
    std::uint64_t bytes = 0;
    unsigned char carry[8];
    std::size_t carried = 0;
    void word(std::uint64_t w) { sum = (sum ^ w) * 0x100000001b3ull + (sum >> 31); }
    void add(const unsigned char* p, std::size_t n) {
        bytes += n;
        while (carried && n) {
            carry[carried++] = *p++;
            --n;
            if (carried == 8) {
                std::uint64_t w;
                std::memcpy(&w, carry, 8);
                word(w);
                carried = 0;
            }
        }
        for (; n >= 8; n -= 8, p += 8) {
            std::uint64_t w;
            std::memcpy(&w, p, 8);
            word(w);
        }
        while (n--) carry[carried++] = *p++;
    }
    std::uint64_t value() const {
        std::uint64_t s = sum;
        for (std::size_t i = 0; i < carried; ++i) s = (s ^ carry[i]) * 0x100000001b3ull;
        return s;
    }
};

// Writes `n` pattern bytes into fd (blocking), then closes it. Returns the checksum.
inline std::future<Checksum> produce(int fd, std::uint64_t n) {
    return std::async(std::launch::async, [fd, n] {
        int fl = ::fcntl(fd, F_GETFL);
        ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        std::vector<std::uint64_t> block(32768);
        Checksum c;
        std::uint64_t done = 0;
        while (done < n) {
            fill_pattern(block, done / 8);
            std::size_t len = std::min<std::uint64_t>(n - done, block.size() * 8);
            auto* p = reinterpret_cast<const unsigned char*>(block.data());
            c.add(p, len);
            std::size_t off = 0;
            while (off < len) {
                ssize_t w = ::write(fd, p + off, len - off);
                if (w <= 0) {
                    ::close(fd);
                    return c;
                }
                off += static_cast<std::size_t>(w);
            }
            done += len;
        }
        ::close(fd);
        return c;
    });
}

// Reads fd until EOF (blocking), closes it, returns the checksum.
inline std::future<Checksum> consume(int fd) {
    return std::async(std::launch::async, [fd] {
        int fl = ::fcntl(fd, F_GETFL);
        ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        std::vector<unsigned char> buf(1 << 20);
        Checksum c;
        for (;;) {
            ssize_t r = ::read(fd, buf.data(), buf.size());
            if (r <= 0) break;
            c.add(buf.data(), static_cast<std::size_t>(r));
        }
        ::close(fd);
        return c;
    });
}

}  // namespace zferry::test
