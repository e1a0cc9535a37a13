// The protocol version handshake, as a sans-I/O codec: the banner both peers write right
// after connecting, zrepl protocol 7 compatible ("%010d " length prefix, then
// "ZREPL_ZFS_REPLICATION PROTOVERSION=%04d EXTENSIONS=%04d\n" and one line per extension).
//
// Every error is permanent (Errc::handshake_*, or Errc::invalid_argument for a banner we
// could not encode): a peer that speaks another version or garbage will do so again on the
// next attempt, and retrying it only burns CPU.
#pragma once

#include "core/error.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::transport {

// zrepl 0.7's protocol version; versions must match exactly.
constexpr int kProtocolVersion = 7;
// Largest banner (length prefix included) accepted from a peer.
constexpr std::size_t kHandshakeMaxLen = 16 * 4096;
// Advertised by zferry; a peer that advertises it too may use zferry's own control channel.
inline constexpr std::string_view kZferryExtension = "zferry/1";

// "%010d " - ten decimal digits and a space.
constexpr std::size_t kBannerPrefixLen = 11;
// "ZREPL_ZFS_REPLICATION PROTOVERSION=dddd EXTENSIONS=dddd\n"; fixed width.
constexpr std::size_t kBannerHeaderLen = 56;
// The largest version that fits the four-digit field.
constexpr int kMaxProtocolVersion = 9999;
// zrepl's encoder refuses this many extensions and more, so no honest peer sends them.
constexpr std::size_t kMaxExtensions = 9998;

struct Banner {
    int protocol_version = kProtocolVersion;
    std::vector<std::string> extensions;

    friend bool operator==(const Banner&, const Banner&) = default;
};

// What both sides agreed on.
struct HandshakeOutcome {
    bool zferry_extensions = false;  // both advertised kZferryExtension
};

// The banner zferry sends: protocol 7 plus the zferry/1 extension (zrepl ignores it).
Banner zferry_banner();

// The complete banner, prefix included. Fails with Errc::invalid_argument when the version is
// outside [1, 9999], there are more than kMaxExtensions extensions, or an extension contains
// a newline or is not UTF-8.
Result<std::string> encode_banner(const Banner& banner);

// Decodes one complete banner, prefix included, and nothing more: trailing bytes, a short
// input, a bad prefix or header, an inconsistent extension count or non-UTF-8 extensions are
// Errc::handshake_malformed; a banner longer than max_len bytes (prefix included) is
// Errc::handshake_too_long.
Result<Banner> decode_banner(std::string_view bytes, std::size_t max_len = kHandshakeMaxLen);

// Reads the peer's banner incrementally, never asking for a byte past its end (the mux label
// follows on the same connection). Driver loop:
//
//   BannerReader r;
//   while (!r.done()) {
//       n = read_some(socket, buf, r.bytes_needed());   // 1..bytes_needed() bytes
//       if (auto res = r.consume({buf, n}); !res) return res.error();
//   }
//   use(r.banner());
//
// Input is validated byte by byte as it arrives, so garbage fails on its first wrong byte
// and an oversized length prefix fails as soon as its ten digits are in, without waiting
// for (or buffering) the announced body.
class BannerReader {
public:
    explicit BannerReader(std::size_t max_len = kHandshakeMaxLen);

    // How many bytes to read next: the rest of the 11-byte prefix, then the rest of the
    // announced body. 0 once done or failed.
    std::size_t bytes_needed() const noexcept;

    // Takes 0..bytes_needed() bytes. More than that is a caller bug (those bytes belong to the
    // next layer) and fails with Errc::invalid_argument, leaving the reader unchanged. After a
    // peer error every later call returns that same error.
    Result<void> consume(std::span<const char> bytes);

    bool done() const noexcept { return done_; }
    bool failed() const noexcept { return static_cast<bool>(error_); }
    // Bytes consumed so far.
    std::size_t consumed() const noexcept { return buf_.size(); }
    // Valid only when done().
    const Banner& banner() const noexcept { return banner_; }

private:
    Result<void> validate_from(std::size_t from);
    Result<void> fail(Error e);
    std::size_t total_len() const noexcept { return kBannerPrefixLen + body_len_; }

    std::size_t max_body_len_;
    std::string buf_;             // everything consumed, prefix included
    std::size_t body_len_ = 0;    // announced; valid once the prefix digits are in
    std::size_t ext_count_ = 0;   // announced; valid once the header line is in
    std::size_t ext_lines_ = 0;   // extension lines completed so far
    std::size_t line_start_ = 0;  // offset in buf_ of the extension line being read
    bool done_ = false;
    Error error_;
    Banner banner_;
};

// Compares the peer's banner with ours. A different protocol version is
// Errc::handshake_mismatch; extensions other than zferry/1 are ignored, as zrepl does.
Result<HandshakeOutcome> check_peer(const Banner& ours, const Banner& theirs);

}  // namespace zferry::transport
