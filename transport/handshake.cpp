#include "transport/handshake.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <cstdio>

namespace zferry::transport {
namespace {

constexpr std::string_view kMalformed = "malformed handshake banner from peer: ";

// The header line with 'd' where a digit goes. Comparing against it byte by byte lets the
// reader reject garbage on its first wrong byte.
constexpr std::string_view kHeaderTemplate = "ZREPL_ZFS_REPLICATION PROTOVERSION=dddd EXTENSIONS=dddd\n";
static_assert(kHeaderTemplate.size() == kBannerHeaderLen);
constexpr std::size_t kVersionOffset = 35;          // of the version digits within the header
constexpr std::size_t kExtCountOffset = 51;         // of the extension count digits
constexpr std::size_t kMaxBodyLen = 9999999999ULL;  // what ten digits can announce

// Peer bytes end up in logs and terminals: show printable ASCII only, and not too much.
std::string quote(std::string_view s, std::size_t max = 40) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size() && i < max; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    out += '"';
    if (s.size() > max) out += "...";
    return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::size_t parse_digits(std::string_view s) {
    std::size_t v = 0;
    for (char c : s) v = v * 10 + static_cast<std::size_t>(c - '0');
    return v;
}

Error malformed(std::string what) {
    return Error(TransportErrc::handshake_malformed, std::string(kMalformed) + what);
}

}  // namespace

Banner zferry_banner() { return Banner{kProtocolVersion, {std::string(kZferryExtension)}}; }

Banner zrepl_banner() { return Banner{kProtocolVersion, {}}; }

Result<std::string> encode_banner(const Banner& banner) {
    const std::string_view what = "cannot encode handshake banner: ";
    if (banner.protocol_version < 1 || banner.protocol_version > kMaxProtocolVersion)
        return Error(Errc::invalid_argument, std::string(what) + "protocol version " +
                                                 std::to_string(banner.protocol_version) +
                                                 " is outside [1, 9999]");
    if (banner.extensions.size() > kMaxExtensions)
        return Error(Errc::invalid_argument, std::string(what) + std::to_string(banner.extensions.size()) +
                                                 " extensions, the protocol allows at most 9998");
    std::size_t body_len = kBannerHeaderLen;
    for (std::size_t i = 0; i < banner.extensions.size(); ++i) {
        const std::string& ext = banner.extensions[i];
        if (ext.find('\n') != std::string::npos)
            return Error(Errc::invalid_argument, std::string(what) + "extension #" + std::to_string(i) + " " +
                                                     quote(ext) + " contains a newline");
        if (!valid_utf8(ext))
            return Error(Errc::invalid_argument, std::string(what) + "extension #" + std::to_string(i) + " " +
                                                     quote(ext) + " is not valid UTF-8");
        body_len += ext.size() + 1;
    }
    if (body_len > kMaxBodyLen)
        return Error(Errc::invalid_argument, std::string(what) + "extensions too long for the length prefix");

    // Room for the widest numbers snprintf could in theory print; the checks above bound them.
    char head[128];
    std::snprintf(head, sizeof head, "%010zu ZREPL_ZFS_REPLICATION PROTOVERSION=%04d EXTENSIONS=%04zu\n",
                  body_len, banner.protocol_version, banner.extensions.size());
    std::string out;
    out.reserve(kBannerPrefixLen + body_len);
    out.append(head, kBannerPrefixLen + kBannerHeaderLen);
    for (const auto& ext : banner.extensions) {
        out += ext;
        out += '\n';
    }
    return out;
}

BannerReader::BannerReader(std::size_t max_len, std::size_t max_extensions, std::size_t max_extension_len)
    : max_body_len_(max_len > kBannerPrefixLen ? max_len - kBannerPrefixLen : 0),
      max_extensions_(std::min(max_extensions, kMaxExtensions)),
      max_extension_len_(max_extension_len) {}

std::size_t BannerReader::bytes_needed() const noexcept {
    if (done_ || error_) return 0;
    if (consumed_ < kBannerPrefixLen) return kBannerPrefixLen - consumed_;
    return total_len() - consumed_;
}

std::size_t BannerReader::held_bytes() const noexcept {
    // A std::string allocates capacity + 1 once its text leaves the inline buffer.
    auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
    std::size_t n = heap(line_) + banner_.extensions.capacity() * sizeof(std::string);
    for (const auto& e : banner_.extensions) n += heap(e);
    return n;
}

std::size_t BannerReader::max_held_bytes() const noexcept {
    // The line buffer grows by doubling, so up to twice the longest line; each kept extension
    // is an exact copy; the vector of them grows by doubling too.
    const std::size_t line = 2 * (max_extension_len_ + 1);
    return line + max_extensions_ * (max_extension_len_ + 1) + 2 * max_extensions_ * sizeof(std::string);
}

Result<void> BannerReader::fail(Error e) {
    error_ = e;
    line_ = std::string();  // a failed reader holds nothing
    banner_ = Banner{};
    return e;
}

Result<void> BannerReader::consume(std::span<const char> bytes) {
    if (error_) return error_;
    const std::size_t need = bytes_needed();
    if (bytes.size() > need)
        return Error(Errc::invalid_argument,
                     "BannerReader::consume was given " + std::to_string(bytes.size()) +
                         " bytes but needs at most " + std::to_string(need) +
                         "; bytes after the banner belong to the next protocol layer");
    if (bytes.empty()) return {};
    // The prefix and the header line are kept (67 bytes) so errors can quote them; the
    // extension lines are checked byte by byte and only the current one is buffered.
    const std::size_t head_part = std::min(bytes.size(), head_.size() - std::min(head_.size(), consumed_));
    if (head_part > 0) {
        if (auto r = consume_head(bytes.first(head_part)); !r) return r;
    }
    for (std::size_t k = head_part; k < bytes.size(); ++k) {
        if (auto r = consume_extension_byte(bytes[k], bytes.subspan(k)); !r) return r;
    }
    if (consumed_ >= kBannerPrefixLen && consumed_ == total_len()) done_ = true;
    return {};
}

// Checks the prefix and header bytes in `bytes` one at a time. bytes_needed() keeps every
// chunk within one phase (prefix or body), so a whole chunk's head part is in head_ and can
// be quoted in an error.
Result<void> BannerReader::consume_head(std::span<const char> bytes) {
    const std::size_t from = head_len_;
    std::copy(bytes.begin(), bytes.end(), head_.begin() + static_cast<std::ptrdiff_t>(head_len_));
    head_len_ += bytes.size();
    for (std::size_t i = from; i < head_len_; ++i) {
        ++consumed_;
        const char c = head_[i];
        if (i < kBannerPrefixLen) {
            if ((i < 10 && !is_digit(c)) || (i == 10 && c != ' '))
                return fail(malformed("length prefix is not 10 digits followed by a space (got " +
                                      quote(head().substr(0, kBannerPrefixLen)) + ")"));
            if (i == 9) {
                body_len_ = parse_digits(head().substr(0, 10));
                if (body_len_ > max_body_len_)
                    return fail(Error(TransportErrc::handshake_too_long,
                                      "handshake banner from peer announces " + std::to_string(body_len_) +
                                          " bytes after its length prefix, more than the limit of " +
                                          std::to_string(max_body_len_) + " (got " +
                                          quote(head().substr(0, kBannerPrefixLen)) + ")"));
            }
            if (i == 10 && body_len_ < kBannerHeaderLen)
                return fail(malformed("length prefix announces " + std::to_string(body_len_) +
                                      " bytes, fewer than the " + std::to_string(kBannerHeaderLen) +
                                      "-byte header line (got " + quote(head()) + ")"));
            continue;
        }

        const std::size_t body_off = i - kBannerPrefixLen;
        const char t = kHeaderTemplate[body_off];
        if (t == 'd' ? !is_digit(c) : c != t)
            return fail(malformed(
                "header line is not \"ZREPL_ZFS_REPLICATION PROTOVERSION=dddd EXTENSIONS=dddd\\n\": "
                "unexpected byte at offset " +
                std::to_string(i) + " (got " + quote(head().substr(kBannerPrefixLen), 60) + ")"));
        if (body_off + 1 < kBannerHeaderLen) continue;

        // Header complete: check what it announces against what the prefix announced.
        std::string_view header = head().substr(kBannerPrefixLen, kBannerHeaderLen);
        const std::size_t version = parse_digits(header.substr(kVersionOffset, 4));
        ext_count_ = parse_digits(header.substr(kExtCountOffset, 4));
        const std::size_t rest = body_len_ - kBannerHeaderLen;
        if (version < 1) return fail(malformed("protocol version 0000 is invalid (must be in [1, 9999])"));
        if (ext_count_ > kMaxExtensions)
            return fail(malformed("announces " + std::to_string(ext_count_) +
                                  " extensions, the protocol allows at most 9998"));
        if (ext_count_ > max_extensions_)
            return fail(Error(TransportErrc::handshake_too_long,
                              "handshake banner from peer announces " + std::to_string(ext_count_) +
                                  " extensions, more than the " + std::to_string(max_extensions_) +
                                  " this side accepts"));
        if (ext_count_ == 0 && rest != 0)
            return fail(malformed("announces no extensions but its length prefix leaves " +
                                  std::to_string(rest) + " bytes after the header line"));
        if (rest < ext_count_)
            return fail(malformed("inconsistent extension count: announces " + std::to_string(ext_count_) +
                                  " extension lines but only " + std::to_string(rest) +
                                  " bytes follow the header line"));
        banner_.protocol_version = static_cast<int>(version);
        line_start_ = i + 1;
    }
    return {};
}

// One byte of the extension lines; `rest` is it and what follows it in the chunk (quoted in
// errors).
Result<void> BannerReader::consume_extension_byte(char c, std::span<const char> rest) {
    const std::size_t i = consumed_++;
    if (ext_lines_ == ext_count_)
        return fail(malformed("inconsistent extension count: data after the last of the " +
                              std::to_string(ext_count_) + " announced extension lines at offset " +
                              std::to_string(i) + " (got " +
                              quote(std::string_view(rest.data(), rest.size())) + ")"));
    if (c == '\n') {
        if (!valid_utf8(line_))
            return fail(malformed("extension #" + std::to_string(ext_lines_) + " at offset " +
                                  std::to_string(line_start_) + " is not valid UTF-8 (got " + quote(line_) +
                                  ")"));
        banner_.extensions.emplace_back(line_);
        line_.clear();
        ++ext_lines_;
        line_start_ = i + 1;
    } else {
        if (line_.size() >= max_extension_len_)
            return fail(Error(TransportErrc::handshake_too_long,
                              "handshake banner from peer: extension #" + std::to_string(ext_lines_) +
                                  " at offset " + std::to_string(line_start_) + " is longer than the " +
                                  std::to_string(max_extension_len_) + " bytes this side accepts (got " +
                                  quote(line_) + ")"));
        line_ += c;
    }
    // Every missing line needs at least its newline; say so as soon as it cannot fit.
    const std::size_t left = total_len() - (i + 1);
    if (left < ext_count_ - ext_lines_)
        return fail(malformed("inconsistent extension count: announces " + std::to_string(ext_count_) +
                              " extension lines, but after " + std::to_string(ext_lines_) +
                              " complete ones its length prefix leaves too few bytes for the rest"));
    return {};
}

Result<Banner> decode_banner(std::string_view bytes, std::size_t max_len, std::size_t max_extensions,
                             std::size_t max_extension_len) {
    BannerReader reader(max_len, max_extensions, max_extension_len);
    std::size_t pos = 0;
    while (!reader.done() && pos < bytes.size()) {
        const std::size_t n = std::min(reader.bytes_needed(), bytes.size() - pos);
        if (auto r = reader.consume(std::span<const char>(bytes.data() + pos, n)); !r) return r.error();
        pos += n;
    }
    if (!reader.done()) {
        if (pos < kBannerPrefixLen)
            return malformed("truncated: " + std::to_string(pos) + " of the " +
                             std::to_string(kBannerPrefixLen) + " length prefix bytes (got " + quote(bytes) +
                             ")");
        return malformed("truncated: the length prefix announces " +
                         std::to_string(reader.bytes_needed() + pos - kBannerPrefixLen) + " bytes but only " +
                         std::to_string(pos - kBannerPrefixLen) + " follow");
    }
    if (pos < bytes.size())
        return malformed(std::to_string(bytes.size() - pos) +
                         " bytes of unexpected data after the banner (got " + quote(bytes.substr(pos)) + ")");
    return reader.banner();
}

Result<HandshakeOutcome> check_peer(const Banner& ours, const Banner& theirs) {
    if (ours.protocol_version != theirs.protocol_version)
        return Error(TransportErrc::handshake_mismatch,
                     "protocol version mismatch: ours is " + std::to_string(ours.protocol_version) +
                         ", peer speaks " + std::to_string(theirs.protocol_version) +
                         "; both sides must run versions that speak the same protocol version (zrepl 0.7 and "
                         "zferry speak 7), so upgrade or downgrade one of them");
    auto advertises = [](const Banner& b) {
        return std::find(b.extensions.begin(), b.extensions.end(), kZferryExtension) != b.extensions.end();
    };
    return HandshakeOutcome{advertises(ours) && advertises(theirs)};
}

}  // namespace zferry::transport
