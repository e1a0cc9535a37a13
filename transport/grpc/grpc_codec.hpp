// gRPC's own layer above HTTP/2, as pure functions and one small reader: status codes, the
// 5-byte Length-Prefixed-Message, the grpc-timeout header and grpc-message's percent-encoding.
// No nghttp2, no Asio: everything here is tested (and fuzzed) on bytes alone.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace zferry::transport::grpc {

// grpc/doc/statuscodes.md; the numbers are the wire values of grpc-status.
enum class StatusCode : int {
    ok = 0,
    cancelled = 1,
    unknown = 2,
    invalid_argument = 3,
    deadline_exceeded = 4,
    not_found = 5,
    already_exists = 6,
    permission_denied = 7,
    resource_exhausted = 8,
    failed_precondition = 9,
    aborted = 10,
    out_of_range = 11,
    unimplemented = 12,
    internal = 13,
    unavailable = 14,
    data_loss = 15,
    unauthenticated = 16,
};

// "OK", "CANCELLED", ..., "UNAUTHENTICATED"; "UNKNOWN_CODE" for anything else.
std::string_view status_code_name(StatusCode c) noexcept;
// The grpc-status header value: decimal, no leading zeros, 0..16. Anything else is nullopt
// (a client then reports UNKNOWN).
std::optional<StatusCode> parse_grpc_status(std::string_view v) noexcept;

struct Status {
    StatusCode code = StatusCode::ok;
    std::string message;
    bool ok() const noexcept { return code == StatusCode::ok; }
    friend bool operator==(const Status&, const Status&) = default;
};

// Both gRPC stacks refuse received messages above 4 MiB by default.
inline constexpr std::size_t kDefaultMaxMessage = 4u << 20;
inline constexpr std::size_t kMessagePrefixLen = 5;

// The message with its prefix: flag 0 (zferry never compresses), u32 big-endian length.
std::string encode_message(std::string_view payload);

// Splits a request's or response's DATA bytes into messages. Memory grows with the bytes that
// arrive, never with the length a prefix announces. An error is final; it says which status a
// server answers with (or a client reports): a set compressed flag is INTERNAL (zferry never
// advertises an encoding, so a peer may not compress), a message above the limit
// RESOURCE_EXHAUSTED with grpc-go's text.
class MessageReader {
public:
    explicit MessageReader(std::size_t max_message = kDefaultMaxMessage) : max_(max_message) {}

    // Consumes all of `bytes`. Complete messages queue up (take_message); returns false once
    // an error is set (and ignores later input).
    bool feed(std::span<const std::uint8_t> bytes);
    std::optional<std::string> take_message();
    std::size_t complete_messages() const noexcept { return messages_.size(); }
    // A message has started but not finished (a stream that ends here is truncated).
    bool partial() const noexcept { return have_ > 0; }
    const std::optional<Status>& error() const noexcept { return error_; }

private:
    std::size_t max_;
    std::uint8_t prefix_[kMessagePrefixLen]{};
    std::size_t have_ = 0;  // bytes of the current message (prefix included)
    std::uint32_t length_ = 0;
    std::string body_;
    std::deque<std::string> messages_;
    std::optional<Status> error_;
};

// grpc-timeout: 1-8 ASCII digits and a unit H M S m u n. nullopt for anything malformed (a
// grpc-go server answers it with "malformed grpc-timeout"). Hours beyond what nanoseconds hold
// saturate.
std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view v) noexcept;
// As grpc-go encodes it: the smallest unit whose value fits in 8 digits, rounded up, so the
// peer never sees a shorter deadline than ours (5 s -> "5000000u"); zero or negative -> "0n".
std::string format_grpc_timeout(std::chrono::nanoseconds d);

// grpc-message: UTF-8 text in which every byte outside 0x20-0x7E, and '%', is %XX
// (uppercase hex, as grpc-go).
std::string percent_encode_message(std::string_view text);
// The inverse; never fails: a '%' not followed by two hex digits stays as it is.
std::string percent_decode_message(std::string_view wire);

}  // namespace zferry::transport::grpc
