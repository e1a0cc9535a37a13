#include "zfs/resume_token.hpp"

#include "zfs/dataset_path.hpp"

#include <zlib.h>

#include <array>
#include <charconv>
#include <cstring>
#include <limits>

namespace zferry::zfs {
namespace {

// The packed nvlist of a real token is a few hundred bytes; anything beyond this is an attack
// on our memory, not a token.
constexpr std::uint64_t kMaxPackedLen = 1u << 20;
constexpr std::uint32_t kTokenVersion = 1;

constexpr std::int32_t kTypeBoolean = 1;
constexpr std::int32_t kTypeUint64 = 8;
constexpr std::int32_t kTypeString = 9;
constexpr std::size_t kPairHeader = 16;

Error corrupt(std::string_view what) {
    return Error(Errc::parse_error, "resume token is corrupt: " + std::string(what));
}

std::size_t align8(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool parse_hex_u64(std::string_view s, std::uint64_t& out) {
    if (s.empty() || s.size() > 16) return false;
    out = 0;
    for (char c : s) {
        int v = hex_value(c);
        if (v < 0) return false;
        out = (out << 4) | static_cast<std::uint64_t>(v);
    }
    return true;
}

// Reads integers of the nvlist's own byte order.
struct Reader {
    const std::uint8_t* p;
    std::size_t n;
    bool big_endian;

    std::uint64_t get(std::size_t off, std::size_t width) const {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < width; ++i) {
            std::size_t idx = big_endian ? off + i : off + width - 1 - i;
            v = (v << 8) | p[idx];
        }
        return v;
    }
    std::int32_t i32(std::size_t off) const { return static_cast<std::int32_t>(get(off, 4)); }
    std::uint16_t u16(std::size_t off) const { return static_cast<std::uint16_t>(get(off, 2)); }
    std::uint64_t u64(std::size_t off) const { return get(off, 8); }
};

Result<ResumeToken> parse_nvlist(std::span<const std::uint8_t> nv) {
    if (nv.size() < 12) return corrupt("nvlist shorter than its 12-byte header");
    if (nv[0] != 0)
        return corrupt("nvlist is not in native encoding (encoding byte " + std::to_string(nv[0]) + ")");
    if (nv[1] > 1) return corrupt("nvlist has unknown byte order " + std::to_string(nv[1]));
    Reader r{nv.data(), nv.size(), nv[1] == 0};
    if (r.i32(4) != 0) return corrupt("nvlist version " + std::to_string(r.i32(4)) + " is not 0");

    ResumeToken t;
    bool have_toguid = false, have_toname = false;
    std::array<bool, 11> seen{};
    std::size_t off = 12;
    while (true) {
        if (nv.size() - off < 4) return corrupt("nvlist ends without its terminating pair");
        const std::int32_t size = r.i32(off);
        if (size == 0) {
            off += 4;
            break;
        }
        if (size < static_cast<std::int32_t>(kPairHeader) || size % 8 != 0 ||
            static_cast<std::size_t>(size) > nv.size() - off)
            return corrupt("nvpair at offset " + std::to_string(off) + " has invalid size " +
                           std::to_string(size));
        const std::size_t namesz = r.u16(off + 4);
        const std::int32_t nelem = r.i32(off + 8);
        const std::int32_t type = r.i32(off + 12);
        const std::size_t name_end = kPairHeader + align8(namesz);
        if (namesz < 2 || name_end > static_cast<std::size_t>(size))
            return corrupt("nvpair at offset " + std::to_string(off) + " has invalid name size " +
                           std::to_string(namesz));
        const char* name_ptr = reinterpret_cast<const char*>(nv.data() + off + kPairHeader);
        if (name_ptr[namesz - 1] != '\0' || std::memchr(name_ptr, '\0', namesz - 1) != nullptr)
            return corrupt("nvpair at offset " + std::to_string(off) + " has a malformed name");
        const std::string_view name(name_ptr, namesz - 1);
        const std::size_t value_off = off + name_end;
        const std::size_t value_len = static_cast<std::size_t>(size) - name_end;

        static constexpr std::array<std::string_view, 11> kKeys = {
            "fromguid", "object",     "offset",  "bytes",        "toguid", "toname",
            "rawok",    "compressok", "embedok", "largeblockok", "savedok"};
        std::size_t key = kKeys.size();
        for (std::size_t i = 0; i < kKeys.size(); ++i)
            if (kKeys[i] == name) key = i;
        if (key < kKeys.size()) {
            if (seen[key]) return corrupt("key '" + std::string(name) + "' appears twice");
            seen[key] = true;
        }
        auto want = [&](std::int32_t want_type, std::int32_t want_nelem) -> Result<void> {
            if (type != want_type || nelem != want_nelem)
                return corrupt("key '" + std::string(name) + "' has type " + std::to_string(type) + " with " +
                               std::to_string(nelem) + " elements");
            return {};
        };
        auto get_u64 = [&]() -> Result<std::uint64_t> {
            if (auto w = want(kTypeUint64, 1); !w) return w.error();
            if (value_len < 8) return corrupt("key '" + std::string(name) + "' has a truncated value");
            return r.u64(value_off);
        };
        switch (key) {
            case 0:
            case 1:
            case 2:
            case 3:
            case 4: {
                auto v = get_u64();
                if (!v) return v.error();
                if (key == 0) t.fromguid = *v;
                if (key == 1) t.object = *v;
                if (key == 2) t.offset = *v;
                if (key == 3) t.bytes = *v;
                if (key == 4) {
                    t.toguid = *v;
                    have_toguid = true;
                }
                break;
            }
            case 5: {
                if (auto w = want(kTypeString, 1); !w) return w.error();
                const char* s = reinterpret_cast<const char*>(nv.data() + value_off);
                const void* nul = std::memchr(s, '\0', value_len);
                if (nul == nullptr) return corrupt("key 'toname' is not NUL-terminated");
                t.toname.assign(s, static_cast<const char*>(nul));
                have_toname = true;
                break;
            }
            case 6:
            case 7:
            case 8:
            case 9:
            case 10: {
                if (auto w = want(kTypeBoolean, 0); !w) return w.error();
                bool* flags[] = {&t.rawok, &t.compressok, &t.embedok, &t.largeblockok, &t.savedok};
                *flags[key - 6] = true;
                break;
            }
            default:
                // Newer OpenZFS adds keys (redaction lists, ...): their presence does not
                // change what we resume, so skip them by their encoded size.
                break;
        }
        off += static_cast<std::size_t>(size);
    }
    if (off != nv.size())
        return corrupt(std::to_string(nv.size() - off) + " bytes follow the terminating nvpair");
    if (!have_toguid) return corrupt("key 'toguid' is missing");
    if (!have_toname) return corrupt("key 'toname' is missing");
    // The sender compares toname's dataset with the request's; a name zfs could never have
    // written (two '@', a '#', bytes outside the allowed set) is not a token from zfs.
    if (auto c = entity_namecheck(t.toname, EntityType::snapshot); !c)
        return corrupt("key 'toname' is not a snapshot name: " + c.error().context());
    return t;
}

// Native little-endian nvlist writer (the encoding a little-endian OpenZFS host produces).
struct Writer {
    std::string out;
    void put(std::uint64_t v, std::size_t width) {
        for (std::size_t i = 0; i < width; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
    // Alignment is relative to the start of the pair (pairs start at offset 12).
    void pad(std::size_t start) { out.append(align8(out.size() - start) - (out.size() - start), '\0'); }
    void pair(std::string_view name, std::int32_t type, std::int32_t nelem, std::string_view value) {
        const std::size_t start = out.size();
        const std::size_t size = kPairHeader + align8(name.size() + 1) + align8(value.size());
        put(size, 4);
        put(name.size() + 1, 2);
        put(0, 2);
        put(static_cast<std::uint32_t>(nelem), 4);
        put(static_cast<std::uint32_t>(type), 4);
        out.append(name);
        out.push_back('\0');
        pad(start);
        out.append(value);
        pad(start);
    }
    void u64(std::string_view name, std::uint64_t v) {
        std::string val;
        for (int i = 0; i < 8; ++i) val.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
        pair(name, kTypeUint64, 1, val);
    }
};

}  // namespace

// Split at the last '@', as libzfs does: decode refuses a toname with two, but a token
// built in memory need not have been decoded.
std::string ResumeToken::to_filesystem() const {
    auto at = toname.rfind('@');
    return at == std::string::npos ? std::string() : toname.substr(0, at);
}

std::string ResumeToken::to_snapshot() const {
    auto at = toname.rfind('@');
    return at == std::string::npos ? std::string() : toname.substr(at + 1);
}

Fletcher4 fletcher4(std::span<const std::uint8_t> data) {
    // OpenZFS fletcher_4_native_varsize: whole 32-bit words only, a trailing partial word is
    // not summed.
    Fletcher4 f;
    const std::size_t words = data.size() / 4;
    for (std::size_t i = 0; i < words; ++i) {
        const std::uint8_t* p = data.data() + 4 * i;
        std::uint64_t w = std::uint64_t{p[0]} | std::uint64_t{p[1]} << 8 | std::uint64_t{p[2]} << 16 |
                          std::uint64_t{p[3]} << 24;
        f.a += w;
        f.b += f.a;
        f.c += f.b;
        f.d += f.c;
    }
    return f;
}

Result<ResumeToken> decode_resume_token(std::string_view token) {
    std::array<std::string_view, 4> parts;
    std::size_t pos = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        auto dash = token.find('-', pos);
        if (dash == std::string_view::npos)
            return corrupt("expected the form <version>-<checksum>-<length>-<payload>");
        parts[i] = token.substr(pos, dash - pos);
        pos = dash + 1;
    }
    parts[3] = token.substr(pos);

    std::uint64_t version = 0, checksum = 0, packed_len = 0;
    if (!parse_hex_u64(parts[0], version)) return corrupt("version field is not hexadecimal");
    if (version != kTokenVersion) return corrupt("unsupported token version " + std::string(parts[0]));
    if (!parse_hex_u64(parts[1], checksum)) return corrupt("checksum field is not hexadecimal");
    if (!parse_hex_u64(parts[2], packed_len)) return corrupt("length field is not hexadecimal");
    if (packed_len == 0) return corrupt("packed nvlist length is 0");
    if (packed_len > kMaxPackedLen)
        return corrupt("packed nvlist length " + std::to_string(packed_len) + " exceeds the limit of 1 MiB");
    const std::string_view hex = parts[3];
    if (hex.empty()) return corrupt("payload is empty");
    if (hex.size() % 2 != 0) return corrupt("payload has an odd number of hex digits");
    if (hex.size() / 2 > kMaxPackedLen * 2) return corrupt("payload is larger than any valid token");

    std::vector<std::uint8_t> compressed(hex.size() / 2);
    for (std::size_t i = 0; i < compressed.size(); ++i) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return corrupt("payload contains a non-hex character at position " + std::to_string(2 * i));
        compressed[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    const auto sum = fletcher4(compressed);
    if (sum.a != checksum) return corrupt("checksum mismatch (token says " + std::string(parts[1]) + ")");

    std::vector<std::uint8_t> packed(static_cast<std::size_t>(packed_len));
    z_stream zs{};
    if (inflateInit(&zs) != Z_OK) return Error(Errc::internal, "zlib inflateInit failed");
    zs.next_in = compressed.data();
    zs.avail_in = static_cast<uInt>(compressed.size());
    zs.next_out = packed.data();
    zs.avail_out = static_cast<uInt>(packed.size());
    const int zr = inflate(&zs, Z_FINISH);
    const auto produced = zs.total_out;
    const auto leftover = zs.avail_in;
    const auto room = zs.avail_out;
    inflateEnd(&zs);
    if (zr != Z_STREAM_END && room == 0 && zr != Z_DATA_ERROR)
        return corrupt("payload inflates to more than the declared " + std::to_string(packed_len) + " bytes");
    if (zr != Z_STREAM_END) return corrupt("payload is not a complete zlib stream");
    if (produced != packed_len)
        return corrupt("payload inflates to " + std::to_string(produced) + " bytes, token declares " +
                       std::to_string(packed_len));
    if (leftover != 0) return corrupt("trailing bytes after the zlib stream");
    return parse_nvlist(packed);
}

std::string encode_resume_token(const ResumeToken& t) {
    Writer w;
    w.out.append("\x00\x01\x00\x00", 4);
    w.put(0, 4);  // nvl_version
    w.put(1, 4);  // NV_UNIQUE_NAME
    if (t.fromguid) w.u64("fromguid", *t.fromguid);
    if (t.object) w.u64("object", *t.object);
    if (t.offset) w.u64("offset", *t.offset);
    if (t.bytes) w.u64("bytes", *t.bytes);
    w.u64("toguid", t.toguid);
    w.pair("toname", kTypeString, 1, std::string_view(t.toname.c_str(), t.toname.size() + 1));
    // The flag order OpenZFS writes them in (see the synthetic vector with all flags).
    if (t.embedok) w.pair("embedok", kTypeBoolean, 0, {});
    if (t.compressok) w.pair("compressok", kTypeBoolean, 0, {});
    if (t.largeblockok) w.pair("largeblockok", kTypeBoolean, 0, {});
    if (t.rawok) w.pair("rawok", kTypeBoolean, 0, {});
    if (t.savedok) w.pair("savedok", kTypeBoolean, 0, {});
    w.put(0, 4);

    return wrap_packed_nvlist(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(w.out.data()), w.out.size()));
}

std::string wrap_packed_nvlist(std::span<const std::uint8_t> packed) {
    // Level 6 is what OpenZFS uses (gzip_compress(..., 6)); it makes our tokens byte-identical.
    uLongf clen = compressBound(static_cast<uLong>(packed.size()));
    std::vector<std::uint8_t> compressed(clen);
    compress2(compressed.data(), &clen, packed.data(), static_cast<uLong>(packed.size()), 6);
    compressed.resize(clen);

    static const char* digits = "0123456789abcdef";
    auto hex64 = [](std::uint64_t v) {
        char buf[17];
        auto res = std::to_chars(buf, buf + sizeof buf, v, 16);
        return std::string(buf, res.ptr);
    };
    std::string out =
        hex64(kTokenVersion) + "-" + hex64(fletcher4(compressed).a) + "-" + hex64(packed.size()) + "-";
    out.reserve(out.size() + compressed.size() * 2);
    for (auto b : compressed) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xf]);
    }
    return out;
}

}  // namespace zferry::zfs
