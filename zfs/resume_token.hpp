// Native decoding (and encoding, for the simulator and tests) of OpenZFS receive resume
// tokens: "<version>-<fletcher4 word0 hex>-<packed nvlist length hex>-<hex of zlib(nvlist)>",
// the nvlist in native little-endian encoding. zferry never runs `zfs send -nvt`.
#pragma once

#include "core/error.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::zfs {

struct ResumeToken {
    std::optional<std::uint64_t> fromguid;  // absent for a full send
    std::uint64_t toguid = 0;
    std::string toname;  // "pool/fs@snap"
    std::optional<std::uint64_t> object, offset, bytes;
    bool rawok = false, compressok = false, embedok = false, largeblockok = false, savedok = false;

    // toname split at '@' ("pool/fs", "snap"); empty strings if toname has no '@'.
    std::string to_filesystem() const;
    std::string to_snapshot() const;

    friend bool operator==(const ResumeToken&, const ResumeToken&) = default;
};

// Decodes a token. Any defect (bad hex, checksum mismatch, zlib error, length mismatch,
// malformed nvlist, missing toguid/toname) is an Errc::parse_error whose message says
// "resume token is corrupt: <what>". Never reads beyond the input; bounded allocation.
Result<ResumeToken> decode_resume_token(std::string_view token);

// Encodes a token the way OpenZFS does (key order: fromguid, object, offset, bytes, toguid,
// toname, then the *ok flags), so decode(encode(t)) == t.
std::string encode_resume_token(const ResumeToken& t);

// Wraps an already packed nvlist (any bytes) into a token with a correct checksum and length,
// so tests and fuzzers can reach the nvlist parser behind the checksum.
std::string wrap_packed_nvlist(std::span<const std::uint8_t> packed);

// Fletcher-4 as OpenZFS computes it over little-endian 32-bit words; returns word 0..3.
struct Fletcher4 {
    std::uint64_t a = 0, b = 0, c = 0, d = 0;
};
Fletcher4 fletcher4(std::span<const std::uint8_t> data);

}  // namespace zferry::zfs
