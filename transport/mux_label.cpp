#include "transport/mux_label.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

namespace zferry::transport {
namespace {

constexpr MuxLabel kAllLabels[] = {MuxLabel::zrepl_control, MuxLabel::zrepl_data, MuxLabel::zferry_control};

// Peer bytes end up in logs and terminals: show printable ASCII only. Kept local (not shared
// with the handshake) so this file moves between libraries on its own.
std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c >= 0x20 && c < 0x7f) {
            out += ch;
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return out + '"';
}

}  // namespace

std::string_view label_name(MuxLabel label) noexcept {
    switch (label) {
        case MuxLabel::zrepl_control: return "zrepl_control";
        case MuxLabel::zrepl_data: return "zrepl_data";
        case MuxLabel::zferry_control: return "zferry_control";
    }
    return "invalid";
}

std::array<char, kLabelLen> encode_label(MuxLabel label) noexcept {
    std::array<char, kLabelLen> out{};
    const std::string_view name = label_name(label);
    name.copy(out.data(), name.size());
    return out;
}

Result<MuxLabel> decode_label(std::span<const char, kLabelLen> bytes) {
    for (MuxLabel l : kAllLabels) {
        const auto want = encode_label(l);
        if (std::equal(bytes.begin(), bytes.end(), want.begin())) return l;
    }
    // Quote up to the padding; a label with junk after its NULs shows the junk too.
    std::string_view raw(bytes.data(), bytes.size());
    const auto end = raw.find_last_not_of('\0');
    raw = end == std::string_view::npos ? std::string_view{} : raw.substr(0, end + 1);
    return Error(
        TransportErrc::unknown_mux_label,
        "peer sent connection label " + quote(raw) +
            ", expected one of \"zrepl_control\", \"zrepl_data\", \"zferry_control\" padded with NULs "
            "to 64 bytes");
}

}  // namespace zferry::transport
