// Sans-I/O reader of the frame layer: it is told which bytes arrived (or which error a read
// ended with) and answers what to do next, as a typed action. No socket, no clock: FrameConn
// performs the actions on a TcpConn, the transport bench and the frame fuzzer feed it chunks
// of a byte stream, the unit tests feed it byte by byte and inject errors at every step.
//
// A frame is an 8-byte header, then the payload. After a header is delivered the consumer
// says how it takes the payload: into its memory (`read_payload`; the last read of the payload
// also fetches the next header, so a stream of frames costs one readv per frame) or into a
// pipe (`splice_payload`). An empty payload needs no action. RST from the peer yields
// Shutdown; a header announcing more than the maximum payload, EOF inside a frame or any read
// error yields Fail, and the reader stays failed.
#pragma once

#include "core/error.hpp"
#include "transport/frame_codec.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <variant>

namespace zferry::transport {

namespace frame_action {

// Read up to `bytes` more header bytes into FrameReader::header_space().
struct ReadHeader {
    std::size_t bytes = 0;
    friend bool operator==(const ReadHeader&, const ReadHeader&) = default;
};
// Read up to `payload` bytes of the current payload into the consumer's memory at
// FrameReader::payload_offset() and, in the same readv, up to `header` bytes of the next
// frame's header into header_space() (0 when more payload steps follow).
struct ReadvPayload {
    std::size_t payload = 0;
    std::size_t header = 0;
    friend bool operator==(const ReadvPayload&, const ReadvPayload&) = default;
};
// Splice up to `bytes` of the current payload from the socket into the consumer's pipe.
struct Splice {
    std::size_t bytes = 0;
    friend bool operator==(const Splice&, const Splice&) = default;
};
// A complete header within the limit: the consumer takes its payload next.
struct Deliver {
    FrameHeader header;
    friend bool operator==(const Deliver&, const Deliver&) = default;
};
// The peer sent RST: shut down (RST, half-close, drain, close).
struct Shutdown {
    friend bool operator==(const Shutdown&, const Shutdown&) = default;
};
// Nothing more can be read. asio::error::eof when the peer closed at a frame boundary.
struct Fail {
    Error error;
    friend bool operator==(const Fail& a, const Fail& b) {
        return a.error.code() == b.error.code() && a.error.context() == b.error.context();
    }
};

std::ostream& operator<<(std::ostream& os, const ReadHeader& a);
std::ostream& operator<<(std::ostream& os, const ReadvPayload& a);
std::ostream& operator<<(std::ostream& os, const Splice& a);
std::ostream& operator<<(std::ostream& os, const Deliver& a);
std::ostream& operator<<(std::ostream& os, const Shutdown& a);
std::ostream& operator<<(std::ostream& os, const Fail& a);

}  // namespace frame_action

using FrameAction = std::variant<frame_action::ReadHeader, frame_action::ReadvPayload, frame_action::Splice,
                                 frame_action::Deliver, frame_action::Shutdown, frame_action::Fail>;

std::ostream& operator<<(std::ostream& os, const FrameAction& a);

class FrameReader {
public:
    explicit FrameReader(std::uint32_t max_payload = kDefaultMaxFramePayload) noexcept
        : max_payload_(max_payload) {}

    // What to do next. Returns Deliver once per header; with a payload pending, the payload
    // action of the mode chosen after the Deliver.
    FrameAction next();

    // After Deliver, the payload goes into the consumer's memory in reads of at most `step`
    // bytes, or into a pipe. Either is needed before next() for a non-empty payload.
    void read_payload(std::size_t step = SIZE_MAX) noexcept;
    void splice_payload() noexcept;

    // Results of the last action: `n` bytes arrived (fewer than asked is fine: the rest is
    // asked for again), then `ec` ended the read (none: the read may simply have been short).
    void on_read(error_code ec, std::size_t n);
    void on_splice(error_code ec, std::size_t n);

    // Where header bytes go (the unfilled tail of the header).
    std::span<std::byte> header_space() noexcept { return std::span(header_).subspan(have_); }
    // Bytes of the current payload already taken (where the next ones go in the consumer's
    // buffer) and still to come.
    std::size_t payload_offset() const noexcept { return current_.length - remaining_; }
    std::size_t payload_remaining() const noexcept { return remaining_; }
    // The header last delivered.
    const FrameHeader& current() const noexcept { return current_; }
    // Failed (also at EOF): every further next() repeats the Fail, whose error this is.
    bool failed() const noexcept { return state_ == State::failed; }
    const Error& error() const noexcept { return error_; }

private:
    enum class State { header, payload, shutdown, failed };
    enum class Mode { none, read, splice };

    void fail(Error e);

    std::uint32_t max_payload_;
    State state_ = State::header;
    Mode mode_ = Mode::none;
    std::size_t step_ = SIZE_MAX;
    std::array<std::byte, kFrameHeaderLen> header_{};
    std::size_t have_ = 0;
    FrameHeader current_;
    std::size_t remaining_ = 0;
    Error error_;
};

}  // namespace zferry::transport
