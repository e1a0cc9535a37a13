#include "core/token_bucket.hpp"

#include <algorithm>
#include <cmath>
#include <ostream>

namespace zferry {

std::ostream& operator<<(std::ostream& os, const TokenBucket::Decision& d) {
    if (d.bytes > 0) return os << "move " << d.bytes << " bytes now";
    return os << "wait " << std::chrono::duration_cast<std::chrono::microseconds>(d.wait).count() << " us";
}

TokenBucket::TokenBucket(double rate_bytes_per_second, double capacity_bytes, clock::time_point now)
    : rate_(rate_bytes_per_second > 0 ? rate_bytes_per_second : 1.0),
      capacity_(std::max(1.0, std::floor(capacity_bytes))),
      tokens_(capacity_),
      last_(now) {}

void TokenBucket::refill(clock::time_point now) {
    if (now <= last_) return;  // a clock that stands still (or a caller's older `now`) adds nothing
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(capacity_, tokens_ + elapsed * rate_);
    last_ = now;
}

double TokenBucket::tokens(clock::time_point now) {
    refill(now);
    return tokens_;
}

TokenBucket::Decision TokenBucket::take(std::size_t want, clock::time_point now) {
    refill(now);
    if (want == 0) return {};
    const double chunk = std::min(static_cast<double>(want), capacity_);
    if (tokens_ >= chunk) {
        tokens_ -= chunk;
        return {static_cast<std::size_t>(chunk), {}};
    }
    // Round the wait up to whole microseconds: waking a hair early would only ask again.
    const double seconds = (chunk - tokens_) / rate_;
    const auto us = static_cast<std::int64_t>(std::ceil(seconds * 1e6));
    return {0, std::chrono::microseconds(std::max<std::int64_t>(us, 1))};
}

void TokenBucket::refund(std::size_t bytes, clock::time_point now) {
    refill(now);
    tokens_ = std::min(capacity_, tokens_ + static_cast<double>(bytes));
}

}  // namespace zferry
