// Pool of power-of-two byte buffers for size classes 2^min_shift .. 2^max_shift, as the
// dataconn layers use for frame payloads. Thread-safe; each class keeps a few free buffers.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace zferry {

class BufferPool {
public:
    // What get() does with a size outside the pooled classes.
    enum class NoFit {
        panic,             // throw std::length_error
        allocate_smaller,  // allocate a fresh buffer when below the smallest class (or 0)
        allocate_larger,   // allocate a fresh buffer when above the largest class
        allocate,          // always allocate a fresh buffer
    };

    class Buffer {
    public:
        Buffer() = default;
        Buffer(Buffer&& o) noexcept;
        Buffer& operator=(Buffer&& o) noexcept;
        Buffer(const Buffer&) = delete;
        Buffer& operator=(const Buffer&) = delete;
        ~Buffer();

        // The payload: exactly the size asked for (or shrunk to).
        std::span<std::byte> bytes() const noexcept { return {data_.get(), len_}; }
        std::byte* data() const noexcept { return data_.get(); }
        std::size_t size() const noexcept { return len_; }
        // The underlying allocation (2^shift for pooled buffers).
        std::size_t capacity() const noexcept { return cap_; }
        void shrink(std::size_t n) noexcept {
            if (n < len_) len_ = n;
        }
        // Back to the full requested size is not possible; grow up to capacity only.
        void resize_within_capacity(std::size_t n) noexcept { len_ = n <= cap_ ? n : cap_; }

    private:
        friend class BufferPool;
        void release() noexcept;

        BufferPool* pool_ = nullptr;  // null: not pooled, freed on destruction
        std::unique_ptr<std::byte[]> data_;
        std::size_t len_ = 0;
        std::size_t cap_ = 0;
        unsigned shift_ = 0;
    };

    BufferPool(unsigned min_shift, unsigned max_shift, NoFit no_fit, std::size_t keep_per_class = 11);
    BufferPool(const BufferPool&) = delete;
    BufferPool& operator=(const BufferPool&) = delete;

    // A buffer whose bytes() has exactly min_size bytes. The pool must outlive it.
    Buffer get(std::size_t min_size);

    // Smallest s with 2^s >= n (0 for n == 0).
    static unsigned fitting_shift(std::size_t n) noexcept;

    unsigned min_shift() const noexcept { return min_shift_; }
    unsigned max_shift() const noexcept { return max_shift_; }

private:
    void put(std::unique_ptr<std::byte[]> data, unsigned shift) noexcept;

    unsigned min_shift_;
    unsigned max_shift_;
    NoFit no_fit_;
    std::size_t keep_per_class_;
    std::mutex mu_;
    std::vector<std::vector<std::unique_ptr<std::byte[]>>> free_;  // index: shift - min_shift
};

}  // namespace zferry
