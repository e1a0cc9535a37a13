#include "transport/frame_reader.hpp"

#include <boost/asio/error.hpp>

#include <algorithm>
#include <ostream>

namespace zferry::transport {

namespace frame_action {

std::ostream& operator<<(std::ostream& os, const ReadHeader& a) {
    return os << "ReadHeader{bytes=" << a.bytes << "}";
}
std::ostream& operator<<(std::ostream& os, const ReadvPayload& a) {
    return os << "ReadvPayload{payload=" << a.payload << ", header=" << a.header << "}";
}
std::ostream& operator<<(std::ostream& os, const Splice& a) {
    return os << "Splice{bytes=" << a.bytes << "}";
}
std::ostream& operator<<(std::ostream& os, const Deliver& a) {
    return os << "Deliver{type=" << frame_type_name(a.header.type) << ", length=" << a.header.length << "}";
}
std::ostream& operator<<(std::ostream& os, const Shutdown&) { return os << "Shutdown{}"; }
std::ostream& operator<<(std::ostream& os, const Fail& a) {
    return os << "Fail{" << a.error.message() << "}";
}

}  // namespace frame_action

std::ostream& operator<<(std::ostream& os, const FrameAction& a) {
    std::visit([&os](const auto& x) { os << x; }, a);
    return os;
}

namespace {
bool is_eof(const error_code& ec) noexcept { return ec == boost::asio::error::eof; }
}  // namespace

void FrameReader::fail(Error e) {
    state_ = State::failed;
    remaining_ = 0;
    error_ = std::move(e);
}

FrameAction FrameReader::next() {
    using namespace frame_action;
    switch (state_) {
        case State::failed: return Fail{error_};
        case State::shutdown: return Shutdown{};
        case State::payload:
            if (mode_ == Mode::splice) return Splice{remaining_};
            if (mode_ == Mode::read) {
                const std::size_t n = std::min(remaining_, step_);
                return ReadvPayload{n, n == remaining_ ? kFrameHeaderLen - have_ : 0};
            }
            fail(Error(Errc::internal, "the payload of a " + frame_type_name(current_.type) +
                                           " frame was neither read nor spliced"));
            return Fail{error_};
        case State::header: break;
    }
    if (have_ < kFrameHeaderLen) return ReadHeader{kFrameHeaderLen - have_};
    current_ = decode_frame_header(header_);
    have_ = 0;
    if (current_.type == frame_type::rst) {
        state_ = State::shutdown;
        return Shutdown{};
    }
    if (auto ok = check_frame_header(current_, max_payload_); !ok) {
        fail(ok.error());
        return Fail{error_};
    }
    remaining_ = current_.length;
    mode_ = Mode::none;
    step_ = SIZE_MAX;
    if (remaining_ > 0) state_ = State::payload;
    return Deliver{current_};
}

void FrameReader::read_payload(std::size_t step) noexcept {
    if (state_ != State::payload) return;
    mode_ = Mode::read;
    step_ = std::max<std::size_t>(step, 1);
}

void FrameReader::splice_payload() noexcept {
    if (state_ != State::payload) return;
    mode_ = Mode::splice;
}

void FrameReader::on_read(error_code ec, std::size_t n) {
    if (state_ == State::payload && mode_ == Mode::read) {
        const std::size_t p = std::min(n, remaining_);
        remaining_ -= p;
        n -= p;
        if (remaining_ > 0) {
            if (!ec) return;
            const bool eof = is_eof(ec);
            fail(Error(eof ? make_error_code(TransportErrc::connection_closed) : ec,
                       "reading " + std::to_string(current_.length) + "-byte payload of " +
                           frame_type_name(current_.type) + " frame" +
                           (eof ? ": peer closed mid-frame" : "")));
            return;
        }
        state_ = State::header;  // the payload is complete; the rest is the next header
    }
    if (state_ != State::header) return;
    have_ += std::min(n, kFrameHeaderLen - have_);
    if (!ec) return;
    if (is_eof(ec) && have_ == 0) {
        fail(Error(ec, "peer closed the connection"));
    } else if (is_eof(ec)) {
        fail(Error(TransportErrc::connection_closed, "reading frame header: peer closed mid-header"));
    } else {
        fail(Error(ec, "reading frame header"));
    }
}

void FrameReader::on_splice(error_code ec, std::size_t n) {
    if (state_ != State::payload || mode_ != Mode::splice) return;
    remaining_ -= std::min(n, remaining_);
    if (!ec) {
        if (remaining_ == 0) state_ = State::header;
        return;
    }
    const std::string type = frame_type_name(current_.type);
    if (ec == boost::system::errc::broken_pipe) {
        // Reading a socket never fails with EPIPE: the pipe's reader (our consumer) is gone.
        fail(Error(ec, "splicing the received " + type + " payload into the local pipe: its reader exited"));
        return;
    }
    const bool eof = is_eof(ec);
    fail(Error(eof ? make_error_code(TransportErrc::connection_closed) : ec,
               "splicing " + std::to_string(current_.length) + "-byte payload of " + type + " frame" +
                   (eof ? ": peer closed mid-frame" : "")));
}

}  // namespace zferry::transport
