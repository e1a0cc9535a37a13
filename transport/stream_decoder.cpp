#include "transport/stream_decoder.hpp"

#include "core/text.hpp"

namespace zferry::transport {
StreamDecoder::Step StreamDecoder::fail(error_code e, std::string msg) {
    done_ = true;
    error_ = Error(e, std::move(msg));
    return {Kind::error};
}

StreamDecoder::Step StreamDecoder::on_header(FrameHeader h) {
    if (done_) return fail(Errc::protocol_error, "frame after the end of the stream");
    if (h.type == frame_type::stream_end) {
        if (h.length != 0) return fail(Errc::protocol_error, "End frame with a payload");
        done_ = true;
        if (in_trailer_) {
            if (!valid_utf8(trailer_)) {
                return fail(Errc::protocol_error, "stream error trailer is not valid UTF-8");
            }
            return {Kind::source_error};
        }
        return {Kind::end};
    }
    if (h.type == frame_type::stream_err_trailer) {
        in_trailer_ = true;
        if (trailer_.size() + h.length > kMaxTrailer)
            return fail(Errc::message_too_large, "stream error trailer exceeds 64 KiB");
        return {Kind::trailer, h.length};
    }
    if (h.type != type_) {
        return fail(TransportErrc::unexpected_frame_type, "unexpected frame type " + frame_type_name(h.type) +
                                                              " in a stream of " + frame_type_name(type_));
    }
    if (in_trailer_) return fail(Errc::protocol_error, "data frame after the stream error trailer");
    total_ += h.length;
    if (max_total_ && total_ > max_total_) {
        return fail(Errc::message_too_large, frame_type_name(type_) + " message exceeds its limit of " +
                                                 std::to_string(max_total_) + " bytes");
    }
    return {Kind::data, h.length};
}

std::string_view utf8_prefix(std::string_view text, std::size_t max) noexcept {
    if (text.size() <= max) return text;
    // text[cut] is the first byte left out; while it continues a sequence, that sequence
    // started before the cut: leave it out whole. A sequence is at most 4 bytes long, so
    // more than 3 continuation bytes in a row are invalid input anyway: cut there.
    std::size_t cut = max;
    auto continuation = [&](std::size_t i) { return (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80; };
    for (int k = 0; k < 3 && cut > 0 && continuation(cut); ++k) --cut;
    return text.substr(0, cut);
}

StreamDecoder::Step StreamDecoder::add_trailer(std::span<const std::byte> text) {
    trailer_.append(reinterpret_cast<const char*>(text.data()), text.size());
    return {Kind::trailer, 0};
}

}  // namespace zferry::transport
