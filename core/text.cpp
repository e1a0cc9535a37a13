#include "core/text.hpp"

#include <cstddef>

namespace zferry {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are not one.
std::size_t utf8_sequence_len(std::string_view s, std::size_t i) noexcept {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return 1;
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        if (c == 0xe0) lo = 0xa0;  // overlong
        if (c == 0xed) hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        if (c == 0xf0) lo = 0x90;  // overlong
        if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
        return 0;
    }
    if (s.size() - i - 1 < n) return 0;
    for (std::size_t k = 1; k <= n; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if (cc < (k == 1 ? lo : 0x80) || cc > (k == 1 ? hi : 0xbf)) return 0;
    }
    return n + 1;
}

void append_hex(std::string& out, unsigned char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
}

// Appends s escaped; `quote_too` also escapes '"' and '\' (inside a quoted value).
void append_escaped(std::string& out, std::string_view s, bool quote_too) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = utf8_sequence_len(s, i);
        if (n == 0) {
            append_hex(out, c);
            ++i;
            continue;
        }
        if (n == 1) {
            if (c == '\n') {
                out += "\\n";
            } else if (c == '\r') {
                out += "\\r";
            } else if (c == '\t') {
                out += "\\t";
            } else if (c < 0x20 || c == 0x7f) {
                append_hex(out, c);
            } else if (quote_too && (c == '"' || c == '\\')) {
                out += '\\';
                out += static_cast<char>(c);
            } else {
                out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        // C1 controls (NEL among them) and the Unicode line and paragraph separators break
        // lines in some terminals and viewers.
        const auto c1 = static_cast<unsigned char>(s[i + 1]);
        const bool c1_control = c == 0xc2 && c1 >= 0x80 && c1 <= 0x9f;
        const bool separator =
            n == 3 && c == 0xe2 && c1 == 0x80 &&
            (static_cast<unsigned char>(s[i + 2]) == 0xa8 || static_cast<unsigned char>(s[i + 2]) == 0xa9);
        if (c1_control || separator) {
            for (std::size_t k = 0; k < n; ++k) append_hex(out, static_cast<unsigned char>(s[i + k]));
        } else {
            out.append(s.substr(i, n));
        }
        i += n;
    }
}

}  // namespace

bool valid_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t n = utf8_sequence_len(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string escape_controls(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    append_escaped(out, s, false);
    return out;
}

std::string quote_log_value(std::string_view s) {
    bool plain = !s.empty();
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '=' || c == '\\') {
            plain = false;
            break;
        }
    }
    if (plain) return std::string(s);
    std::string out = "\"";
    out.reserve(s.size() + 2);
    append_escaped(out, s, true);
    out += '"';
    return out;
}

}  // namespace zferry
