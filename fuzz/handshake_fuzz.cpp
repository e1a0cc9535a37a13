// Fuzzes the version handshake codec: decode_banner on the whole input, the incremental
// BannerReader on the same input in varying chunks (the two must agree), and the round trip
// encode(decode(x)) == x for every banner that decodes.
#include "transport/handshake.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

using namespace zferry;
using namespace zferry::transport;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "handshake_fuzz: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    // A small limit now and then so the too-long path is reachable with short inputs.
    const std::size_t max_len = size > 0 && data[size - 1] % 4 == 0 ? 96 : kHandshakeMaxLen;
    auto decoded = decode_banner(input, max_len);

    // Chunk sizes come from the first bytes, so the engine explores chunkings too; the reader
    // sees the whole input, so corpus banners stay valid banners for it.
    BannerReader reader(max_len);
    std::size_t pos = 0;
    for (std::size_t k = 0; !reader.done() && pos < size; ++k) {
        const std::size_t need = reader.bytes_needed();
        if (need == 0) fail("reader neither done nor failed but needs no bytes");
        const std::size_t pick = size > 0 ? data[k % std::min<std::size_t>(size, 8)] : 0;
        const std::size_t n = std::min({need, size - pos, 1 + (pick ^ (k * 31)) % 67});
        auto r = reader.consume(std::span<const char>(input.data() + pos, n));
        pos += n;
        if (!r) {
            if (r.error().code() == make_error_code(Errc::invalid_argument))
                fail("reader refused its own request");
            if (r.error().temporary()) fail("a handshake error is classified temporary");
            if (decoded) fail("reader rejected what decode_banner accepted");
            if (decoded.error().code() != r.error().code())
                fail("reader and decode_banner disagree on the error");
            return 0;
        }
    }
    const bool whole = reader.done() && pos == size;
    if (whole != static_cast<bool>(decoded)) fail("reader and decode_banner disagree on acceptance");
    if (!decoded) {
        if (decoded.error().temporary()) fail("a handshake error is classified temporary");
        return 0;
    }
    if (!(reader.banner() == *decoded)) fail("reader and decode_banner decoded different banners");
    auto encoded = encode_banner(*decoded);
    if (!encoded) fail("a decoded banner does not encode");
    if (*encoded != input) fail("round trip changed the banner");
    return 0;
}
