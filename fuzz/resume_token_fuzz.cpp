// Resume token decoder: never crashes, never reads out of bounds, allocates boundedly; and
// whatever it accepts re-encodes to a token that decodes to the same fields.
#include "zfs/resume_token.hpp"

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // 'N' + bytes: the bytes are a packed nvlist, wrapped into a token with a valid checksum,
    // so mutations reach the nvlist parser instead of dying at the checksum. Real tokens
    // start with a hex digit, so the two input kinds never overlap.
    std::string wrapped;
    std::string_view token(reinterpret_cast<const char*>(data), size);
    if (size > 0 && data[0] == 'N') {
        wrapped = zferry::zfs::wrap_packed_nvlist(std::span<const std::uint8_t>(data + 1, size - 1));
        token = wrapped;
    }
    auto t = zferry::zfs::decode_resume_token(token);
    if (!t) {
        // Every refusal must say the token is corrupt (the CLI and the sender rely on it).
        if (t.error().context().rfind("resume token is corrupt: ", 0) != 0) std::abort();
        return 0;
    }
    auto again = zferry::zfs::decode_resume_token(zferry::zfs::encode_resume_token(*t));
    if (!again || !(*again == *t)) std::abort();
    return 0;
}
