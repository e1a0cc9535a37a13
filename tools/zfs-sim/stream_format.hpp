// zfs-sim's send stream: not OpenZFS's format, but it carries what a receiver checks.
//   "ZSIMSND1" | u32 header length | header (JSON) | u64 data length | data |
//   "ZSIMEND1" | u64 checksum of header and data
// A compound (-I) stream is several of these back to back.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace zfssim {

inline constexpr std::string_view kStreamMagic = "ZSIMSND1";
inline constexpr std::string_view kTrailerMagic = "ZSIMEND1";

struct StreamHeader {
    std::uint64_t toguid = 0;
    std::uint64_t fromguid = 0;  // 0: full stream
    std::string toname;          // sender's "pool/fs@snap"
    std::string fromname;        // sender's from snapshot/bookmark ("" for full)
    std::uint64_t createtxg = 0, creation = 0;
    bool raw = false, compressok = false, embedok = false, largeblockok = false;
    std::string encryption = "off";                           // of the sending filesystem, when raw
    std::optional<std::map<std::string, std::string>> props;  // with -p
    std::uint64_t resume_offset = 0;                          // data bytes the receiver already has (send -t)
    std::uint64_t total = 0;                                  // size of the snapshot's whole data
    bool resume = false;
    bool volume = false;  // the sent dataset is a volume

    std::string snapshot_name() const;  // "snap" of toname
    std::string to_json() const;
    static std::optional<StreamHeader> from_json(std::string_view s);
};

// The bytes before the data: magic, header length, header, data length.
std::string encode_prefix(const std::string& header_json, std::uint64_t data_len);
std::uint64_t stream_size(const std::string& header_json, std::uint64_t data_len);

// A running checksum over header and data (64-bit FNV-1a folded over 8-byte words);
// independent of how the bytes are split into update() calls.
class StreamHash {
public:
    void update(const void* data, std::size_t n);
    std::uint64_t value() const;

private:
    void mix(std::uint64_t w);
    std::uint64_t h_ = 1469598103934665603ULL;
    unsigned char pend_[8] = {};
    std::size_t pend_n_ = 0;
};

void put_u32(std::string& out, std::uint32_t v);
void put_u64(std::string& out, std::uint64_t v);
std::uint32_t get_u32(const unsigned char* p);
std::uint64_t get_u64(const unsigned char* p);

}  // namespace zfssim
