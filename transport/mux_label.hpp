// The 64-byte connection label a client writes right after the version handshake, telling
// the server which listener the connection is for (zrepl's transportmux). Sans-I/O.
#pragma once

#include "core/error.hpp"
#include "transport/transport_error.hpp"

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

namespace zferry::transport {

constexpr std::size_t kLabelLen = 64;

enum class MuxLabel {
    zrepl_control,   // zrepl's gRPC control connection
    zrepl_data,      // dataconn: one request per connection
    zferry_control,  // zferry's own control RPC; only when both sides advertised zferry/1
};

// "zrepl_control", "zrepl_data", "zferry_control": the bytes on the wire before the padding.
std::string_view label_name(MuxLabel label) noexcept;

// The label's name followed by NUL padding to kLabelLen bytes.
std::array<char, kLabelLen> encode_label(MuxLabel label) noexcept;

// Exact match of name plus all-NUL padding, as zrepl's lookup of the padded label does;
// anything else is TransportErrc::unknown_mux_label (permanent) quoting what the peer sent.
Result<MuxLabel> decode_label(std::span<const char, kLabelLen> bytes);

}  // namespace zferry::transport
