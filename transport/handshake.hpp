// The protocol version handshake, as a sans-I/O codec: the banner both peers write right
// after connecting, zrepl protocol 7 compatible ("%010d " length prefix, then
// "ZREPL_ZFS_REPLICATION PROTOVERSION=%04d EXTENSIONS=%04d\n" and one line per extension).
//
// Every error is permanent (TransportErrc::handshake_*, or Errc::invalid_argument for a banner we
// could not encode): a peer that speaks another version or garbage will do so again on the
// next attempt, and retrying it only burns CPU.
#pragma once

#include "core/error.hpp"
#include "transport/transport_error.hpp"

#include <array>
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
// Advertised by zferry. When both peers advertise it: coalesced steps in SendReq, data
// connections kept for several requests (dataconn_reuse.hpp). zrepl ignores it.
inline constexpr std::string_view kZferryExtension = "zferry/1";

// "%010d " - ten decimal digits and a space.
constexpr std::size_t kBannerPrefixLen = 11;
// "ZREPL_ZFS_REPLICATION PROTOVERSION=dddd EXTENSIONS=dddd\n"; fixed width.
constexpr std::size_t kBannerHeaderLen = 56;
// The largest version that fits the four-digit field.
constexpr int kMaxProtocolVersion = 9999;
// zrepl's encoder refuses this many extensions and more, so no honest peer sends them.
constexpr std::size_t kMaxExtensions = 9998;
// What a reader accepts from a peer by default, so that one connection's banner costs at
// most a few KiB however many bytes it announces: zrepl sends no extension and zferry one,
// so these leave ample room. More extensions, or a longer extension line, is
// TransportErrc::handshake_too_long.
constexpr std::size_t kMaxPeerExtensions = 64;
constexpr std::size_t kMaxPeerExtensionLen = 256;  // bytes per extension line, newline excluded

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
// The banner zrepl sends (protocol 7, no extension). zferry sends it when told not to
// advertise zferry/1 (ConnOptions-level `advertise_zferry = false`): a zferry peer then
// behaves exactly as towards zrepl, which is how tests play a zrepl peer.
Banner zrepl_banner();
// What to send: zferry_banner() or zrepl_banner().
inline Banner banner_for(bool advertise_zferry) {
    return advertise_zferry ? zferry_banner() : zrepl_banner();
}

// The complete banner, prefix included. Fails with Errc::invalid_argument when the version is
// outside [1, 9999], there are more than kMaxExtensions extensions, or an extension contains
// a newline or is not UTF-8.
Result<std::string> encode_banner(const Banner& banner);

// Decodes one complete banner, prefix included, and nothing more: trailing bytes, a short
// input, a bad prefix or header, an inconsistent extension count or non-UTF-8 extensions are
// TransportErrc::handshake_malformed; a banner longer than max_len bytes (prefix included), with more
// than max_extensions extensions or an extension line longer than max_extension_len is
// TransportErrc::handshake_too_long.
Result<Banner> decode_banner(std::string_view bytes, std::size_t max_len = kHandshakeMaxLen,
                             std::size_t max_extensions = kMaxPeerExtensions,
                             std::size_t max_extension_len = kMaxPeerExtensionLen);

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
// for (or buffering) the announced body. Memory grows only with bytes that arrived and is
// bounded by max_held_bytes(): the reader keeps the 67-byte prefix and header, the
// extension line being read and the decoded extensions, never the whole banner; a header
// announcing more than max_extensions extensions, or a line longer than max_extension_len,
// fails before any of it is stored.
class BannerReader {
public:
    explicit BannerReader(std::size_t max_len = kHandshakeMaxLen,
                          std::size_t max_extensions = kMaxPeerExtensions,
                          std::size_t max_extension_len = kMaxPeerExtensionLen);

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
    std::size_t consumed() const noexcept { return consumed_; }
    // Valid only when done().
    const Banner& banner() const noexcept { return banner_; }

    // Heap bytes the reader holds now (extension line buffer and decoded extensions), and
    // the most it can ever hold with its limits, whatever the peer sends.
    std::size_t held_bytes() const noexcept;
    std::size_t max_held_bytes() const noexcept;

private:
    Result<void> consume_head(std::span<const char> bytes);
    Result<void> consume_extension_byte(char c, std::span<const char> rest);
    Result<void> fail(Error e);
    std::size_t total_len() const noexcept { return kBannerPrefixLen + body_len_; }
    std::string_view head() const noexcept { return {head_.data(), head_len_}; }

    std::size_t max_body_len_;
    std::size_t max_extensions_;
    std::size_t max_extension_len_;
    std::array<char, kBannerPrefixLen + kBannerHeaderLen> head_{};  // prefix and header line
    std::size_t head_len_ = 0;
    std::size_t consumed_ = 0;
    std::size_t body_len_ = 0;    // announced; valid once the prefix digits are in
    std::size_t ext_count_ = 0;   // announced; valid once the header line is in
    std::size_t ext_lines_ = 0;   // extension lines completed so far
    std::size_t line_start_ = 0;  // offset (in the banner) of the extension line being read
    std::string line_;            // the extension line being read, newline excluded
    bool done_ = false;
    Error error_;
    Banner banner_;
};

// Compares the peer's banner with ours. A different protocol version is
// TransportErrc::handshake_mismatch; extensions other than zferry/1 are ignored, as zrepl does.
Result<HandshakeOutcome> check_peer(const Banner& ours, const Banner& theirs);

}  // namespace zferry::transport
