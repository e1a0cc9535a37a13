#include "transport/grpc/grpc_codec.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace zferry::transport::grpc {

std::string_view status_code_name(StatusCode c) noexcept {
    switch (c) {
        case StatusCode::ok: return "OK";
        case StatusCode::cancelled: return "CANCELLED";
        case StatusCode::unknown: return "UNKNOWN";
        case StatusCode::invalid_argument: return "INVALID_ARGUMENT";
        case StatusCode::deadline_exceeded: return "DEADLINE_EXCEEDED";
        case StatusCode::not_found: return "NOT_FOUND";
        case StatusCode::already_exists: return "ALREADY_EXISTS";
        case StatusCode::permission_denied: return "PERMISSION_DENIED";
        case StatusCode::resource_exhausted: return "RESOURCE_EXHAUSTED";
        case StatusCode::failed_precondition: return "FAILED_PRECONDITION";
        case StatusCode::aborted: return "ABORTED";
        case StatusCode::out_of_range: return "OUT_OF_RANGE";
        case StatusCode::unimplemented: return "UNIMPLEMENTED";
        case StatusCode::internal: return "INTERNAL";
        case StatusCode::unavailable: return "UNAVAILABLE";
        case StatusCode::data_loss: return "DATA_LOSS";
        case StatusCode::unauthenticated: return "UNAUTHENTICATED";
    }
    return "UNKNOWN_CODE";
}

std::optional<StatusCode> parse_grpc_status(std::string_view v) noexcept {
    if (v.empty() || v.size() > 2) return std::nullopt;
    if (v.size() == 2 && v[0] == '0') return std::nullopt;
    int n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
    }
    if (n > static_cast<int>(StatusCode::unauthenticated)) return std::nullopt;
    return static_cast<StatusCode>(n);
}

std::string encode_message(std::string_view payload) {
    std::string out;
    out.reserve(kMessagePrefixLen + payload.size());
    const auto n = static_cast<std::uint32_t>(payload.size());
    out.push_back('\0');
    out.push_back(static_cast<char>(n >> 24));
    out.push_back(static_cast<char>(n >> 16));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
    out.append(payload);
    return out;
}

bool MessageReader::feed(std::span<const std::uint8_t> bytes) {
    while (!error_ && !bytes.empty()) {
        if (have_ < kMessagePrefixLen) {
            const std::size_t n = std::min(kMessagePrefixLen - have_, bytes.size());
            std::copy_n(bytes.begin(), n, prefix_ + have_);
            have_ += n;
            bytes = bytes.subspan(n);
            if (have_ < kMessagePrefixLen) break;
            if (prefix_[0] != 0) {
                error_ =
                    Status{StatusCode::internal,
                           prefix_[0] == 1 ? "grpc: compressed flag set but no grpc-encoding was negotiated"
                                           : "grpc: invalid compressed flag in message prefix"};
                break;
            }
            length_ = (std::uint32_t{prefix_[1]} << 24) | (std::uint32_t{prefix_[2]} << 16) |
                      (std::uint32_t{prefix_[3]} << 8) | std::uint32_t{prefix_[4]};
            if (length_ > max_) {
                error_ = Status{StatusCode::resource_exhausted, "grpc: received message larger than max (" +
                                                                    std::to_string(length_) + " vs. " +
                                                                    std::to_string(max_) + ")"};
                break;
            }
        }
        const std::size_t want = length_ - body_.size();
        const std::size_t n = std::min(want, bytes.size());
        body_.append(reinterpret_cast<const char*>(bytes.data()), n);
        bytes = bytes.subspan(n);
        if (body_.size() == length_) {
            messages_.push_back(std::move(body_));
            body_.clear();
            have_ = 0;
            length_ = 0;
        }
    }
    return !error_;
}

std::optional<std::string> MessageReader::take_message() {
    if (messages_.empty()) return std::nullopt;
    std::string m = std::move(messages_.front());
    messages_.pop_front();
    return m;
}

std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view v) noexcept {
    using namespace std::chrono;
    if (v.size() < 2 || v.size() > 9) return std::nullopt;
    std::int64_t n = 0;
    for (char c : v.substr(0, v.size() - 1)) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
    }
    std::int64_t unit_ns = 0;
    switch (v.back()) {
        case 'H': unit_ns = 3600'000'000'000; break;
        case 'M': unit_ns = 60'000'000'000; break;
        case 'S': unit_ns = 1'000'000'000; break;
        case 'm': unit_ns = 1'000'000; break;
        case 'u': unit_ns = 1'000; break;
        case 'n': unit_ns = 1; break;
        default: return std::nullopt;
    }
    if (n > std::numeric_limits<std::int64_t>::max() / unit_ns) return nanoseconds::max();
    return nanoseconds{n * unit_ns};
}

std::string format_grpc_timeout(std::chrono::nanoseconds d) {
    constexpr std::int64_t kMax = 99'999'999;
    const std::int64_t ns = d.count();
    if (ns <= 0) return "0n";
    constexpr std::array<std::pair<std::int64_t, char>, 6> units{{{1, 'n'},
                                                                  {1'000, 'u'},
                                                                  {1'000'000, 'm'},
                                                                  {1'000'000'000, 'S'},
                                                                  {60'000'000'000, 'M'},
                                                                  {3600'000'000'000, 'H'}}};
    for (auto [unit, suffix] : units) {
        const std::int64_t v = ns / unit + (ns % unit > 0 ? 1 : 0);
        if (v <= kMax || suffix == 'H') return std::to_string(v) + suffix;
    }
    return "0n";  // not reached: hours always fit
}

std::string percent_encode_message(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (c < 0x20 || c > 0x7e || c == '%') {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return out;
}

namespace {
int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

std::string percent_decode_message(std::string_view wire) {
    std::string out;
    out.reserve(wire.size());
    for (std::size_t i = 0; i < wire.size(); ++i) {
        if (wire[i] == '%' && i + 2 < wire.size()) {
            const int hi = hex_value(wire[i + 1]), lo = hex_value(wire[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(wire[i]);
    }
    return out;
}

}  // namespace zferry::transport::grpc
