#include "transport/frame_codec.hpp"

#include <cstdio>

namespace zferry::transport {

std::array<std::byte, kFrameHeaderLen> encode_frame_header(FrameHeader h) noexcept {
    std::array<std::byte, kFrameHeaderLen> b;
    for (int i = 0; i < 4; ++i) {
        b[i] = static_cast<std::byte>(h.type >> (24 - 8 * i));
        b[4 + i] = static_cast<std::byte>(h.length >> (24 - 8 * i));
    }
    return b;
}

FrameHeader decode_frame_header(std::span<const std::byte, kFrameHeaderLen> b) noexcept {
    FrameHeader h;
    for (int i = 0; i < 4; ++i) {
        h.type = (h.type << 8) | std::to_integer<std::uint32_t>(b[i]);
        h.length = (h.length << 8) | std::to_integer<std::uint32_t>(b[4 + i]);
    }
    return h;
}

Result<void> check_frame_header(FrameHeader h, std::uint32_t max_payload) {
    if (h.length > max_payload) {
        return Error(TransportErrc::frame_too_large, "frame of type " + frame_type_name(h.type) +
                                                         " announces " + std::to_string(h.length) +
                                                         " bytes, maximum is " + std::to_string(max_payload));
    }
    return {};
}

FrameLayer frame_layer(std::uint32_t type) noexcept {
    if (type & frame_type::frame_layer_mask) return FrameLayer::frame;
    if (type & frame_type::heartbeat_layer_mask) return FrameLayer::heartbeat;
    if (type & frame_type::stream_layer_mask) return FrameLayer::stream;
    return FrameLayer::dataconn;
}

std::string frame_type_name(std::uint32_t type) {
    switch (type) {
        case frame_type::rst: return "RST";
        case frame_type::heartbeat: return "Heartbeat";
        case frame_type::stream_err_trailer: return "StreamErrTrailer";
        case frame_type::stream_end: return "End";
        case frame_type::req_header: return "ReqHeader";
        case frame_type::req_structured: return "ReqStructured";
        case frame_type::res_header: return "ResHeader";
        case frame_type::res_structured: return "ResStructured";
        case frame_type::zfs_stream: return "ZFSStream";
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", type);
    return buf;
}

}  // namespace zferry::transport
