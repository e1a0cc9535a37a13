#include "core/buffer_pool.hpp"

#include <bit>
#include <stdexcept>
#include <string>

namespace zferry {

BufferPool::Buffer::Buffer(Buffer&& o) noexcept
    : pool_(o.pool_), data_(std::move(o.data_)), len_(o.len_), cap_(o.cap_), shift_(o.shift_) {
    o.pool_ = nullptr;
    o.len_ = o.cap_ = 0;
}

BufferPool::Buffer& BufferPool::Buffer::operator=(Buffer&& o) noexcept {
    if (this != &o) {
        release();
        pool_ = o.pool_;
        data_ = std::move(o.data_);
        len_ = o.len_;
        cap_ = o.cap_;
        shift_ = o.shift_;
        o.pool_ = nullptr;
        o.len_ = o.cap_ = 0;
    }
    return *this;
}

BufferPool::Buffer::~Buffer() { release(); }

void BufferPool::Buffer::release() noexcept {
    if (pool_ && data_) pool_->put(std::move(data_), shift_);
    data_.reset();
    pool_ = nullptr;
    len_ = cap_ = 0;
}

BufferPool::BufferPool(unsigned min_shift, unsigned max_shift, NoFit no_fit, std::size_t keep_per_class)
    : min_shift_(min_shift), max_shift_(max_shift), no_fit_(no_fit), keep_per_class_(keep_per_class) {
    if (min_shift > max_shift || max_shift >= 48)
        throw std::invalid_argument("BufferPool: need min_shift <= max_shift < 48");
    free_.resize(max_shift - min_shift + 1);
}

unsigned BufferPool::fitting_shift(std::size_t n) noexcept {
    if (n <= 1) return 0;
    return static_cast<unsigned>(std::bit_width(n - 1));
}

BufferPool::Buffer BufferPool::get(std::size_t min_size) {
    Buffer b;
    unsigned shift = fitting_shift(min_size);
    bool pooled = min_size > 0 && shift >= min_shift_ && shift <= max_shift_;
    if (!pooled) {
        bool below = min_size == 0 || shift < min_shift_;
        bool allowed = no_fit_ == NoFit::allocate || (no_fit_ == NoFit::allocate_smaller && below) ||
                       (no_fit_ == NoFit::allocate_larger && !below && min_size > 0);
        if (!allowed) {
            throw std::length_error("BufferPool: size " + std::to_string(min_size) +
                                    " outside pooled range 2^" + std::to_string(min_shift_) + "..2^" +
                                    std::to_string(max_shift_));
        }
        if (min_size > 0) b.data_.reset(new std::byte[min_size]);
        b.len_ = b.cap_ = min_size;
        return b;
    }
    {
        std::lock_guard lock(mu_);
        auto& list = free_[shift - min_shift_];
        if (!list.empty()) {
            b.data_ = std::move(list.back());
            list.pop_back();
        }
    }
    if (!b.data_) b.data_.reset(new std::byte[std::size_t{1} << shift]);
    b.pool_ = this;
    b.shift_ = shift;
    b.cap_ = std::size_t{1} << shift;
    b.len_ = min_size;
    return b;
}

void BufferPool::put(std::unique_ptr<std::byte[]> data, unsigned shift) noexcept {
    std::lock_guard lock(mu_);
    auto& list = free_[shift - min_shift_];
    if (list.size() < keep_per_class_) list.push_back(std::move(data));
}

}  // namespace zferry
