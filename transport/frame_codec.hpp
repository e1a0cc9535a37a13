// Frame layer wire format, sans-I/O: 8-byte big-endian header (u32 type, u32 payload
// length), then the payload. Type bits 28-31 belong to the frame layer (RST), 24-27 to
// heartbeats, 16-19 to streams (End, error trailer); the rest is for dataconn.
#pragma once

#include "core/error.hpp"
#include "transport/transport_error.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace zferry::transport {

constexpr std::size_t kFrameHeaderLen = 8;

namespace frame_type {
constexpr std::uint32_t rst = 1u << 28;        // frame layer
constexpr std::uint32_t heartbeat = 1u << 24;  // heartbeat layer
constexpr std::uint32_t stream_err_trailer = 1u << 16;
constexpr std::uint32_t stream_end = 1u << 17;
constexpr std::uint32_t req_header = 1;  // dataconn
constexpr std::uint32_t req_structured = 2;
constexpr std::uint32_t res_header = 3;
constexpr std::uint32_t res_structured = 4;
constexpr std::uint32_t zfs_stream = 5;

constexpr std::uint32_t frame_layer_mask = 0xfu << 28;
constexpr std::uint32_t heartbeat_layer_mask = 0xfu << 24;
constexpr std::uint32_t stream_layer_mask = 0xfu << 16;
}  // namespace frame_type

// The largest payload the frame layer accepts by default. zrepl writers never exceed
// 512 KiB per frame; messages are chunked, so 4 MiB leaves room without letting a peer make
// us allocate gigabytes (zrepl itself enforced no cap).
constexpr std::uint32_t kDefaultMaxFramePayload = 4u << 20;

struct FrameHeader {
    std::uint32_t type = 0;
    std::uint32_t length = 0;
    friend bool operator==(const FrameHeader&, const FrameHeader&) = default;
};

std::array<std::byte, kFrameHeaderLen> encode_frame_header(FrameHeader h) noexcept;
FrameHeader decode_frame_header(std::span<const std::byte, kFrameHeaderLen> b) noexcept;

// Checks a received header against the maximum payload size.
Result<void> check_frame_header(FrameHeader h, std::uint32_t max_payload);

// Layer of a type: which layer owns it. A type of the frame layer (RST) is handled by the
// frame conn; heartbeat-layer types by the heartbeat conn; and so on.
enum class FrameLayer { frame, heartbeat, stream, dataconn };
FrameLayer frame_layer(std::uint32_t type) noexcept;

// Human-readable type ("ZFSStream", "End", "0x00000007").
std::string frame_type_name(std::uint32_t type);

}  // namespace zferry::transport
