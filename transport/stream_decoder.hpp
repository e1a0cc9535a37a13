// Sans-I/O decoder of the stream layer: a message or stream of type T is frames of type T
// ended by an empty End frame. A source failure on the sending side arrives as
// StreamErrTrailer frames (the error text) followed by End; the connection stays usable.
// The decoder sees frame headers (and trailer payloads) and says what each one means.
#pragma once

#include "core/error.hpp"
#include "transport/frame_codec.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace zferry::transport {

class StreamDecoder {
public:
    enum class Kind {
        data,          // payload belongs to the stream: read or splice `length` bytes
        trailer,       // payload is error-trailer text: read it and pass it to add_trailer()
        end,           // stream complete
        source_error,  // stream ended with an error trailer: source_error() has the text
        error,         // protocol violation: error() says what; the connection is unusable
    };
    struct Step {
        Kind kind;
        std::uint32_t length = 0;
    };

    // max_total: the most data bytes accepted (0 = unlimited, for streams).
    explicit StreamDecoder(std::uint32_t type, std::uint64_t max_total = 0)
        : type_(type), max_total_(max_total) {}

    Step on_header(FrameHeader h);
    // Trailer payload of the preceding `trailer` step.
    Step add_trailer(std::span<const std::byte> text);

    bool done() const noexcept { return done_; }
    std::uint64_t total() const noexcept { return total_; }
    const Error& error() const noexcept { return error_; }
    const std::string& source_error() const noexcept { return trailer_; }

    static constexpr std::size_t kMaxTrailer = 64 * 1024;

private:
    Step fail(error_code e, std::string msg);

    std::uint32_t type_;
    std::uint64_t max_total_;
    std::uint64_t total_ = 0;
    bool in_trailer_ = false;
    bool done_ = false;
    std::string trailer_;
    Error error_;
};

// The longest prefix of `text` of at most `max` bytes that does not end inside a UTF-8
// sequence (an error trailer is cut to its limit this way, and must stay valid UTF-8).
std::string_view utf8_prefix(std::string_view text, std::size_t max) noexcept;

}  // namespace zferry::transport
