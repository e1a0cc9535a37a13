#include "transport/handshake.hpp"

#include "tests/heap_counter.hpp"
#include "tests/vectors.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

// Heap accounting for the memory-bound tests (tests/heap_counter.hpp): counting bytes, not
// timing, makes the bound exact and independent of the machine's speed.

namespace zferry::transport {
namespace {

using namespace std::string_literals;

// Banners in failure messages, readable whatever bytes they hold.
std::string show(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '\n') {
            out += "\\n";
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return out + "\"";
}

std::string show(const Banner& b) {
    std::string out = "{version " + std::to_string(b.protocol_version) + ", extensions [";
    for (std::size_t i = 0; i < b.extensions.size(); ++i) out += (i ? ", " : "") + show(b.extensions[i]);
    return out + "]}";
}

bool printable_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c >= 0x7f) return false;
    return true;
}

// Feeds `input` to a reader in chunks whose sizes come from `next_chunk(bytes_needed)`,
// stopping where the reader stops asking. Returns how the reader ended up.
struct Fed {
    Result<Banner> result;
    std::size_t consumed;  // bytes the reader took before finishing or failing
};

template <class NextChunk>
Fed feed(std::string_view input, std::size_t max_len, NextChunk next_chunk) {
    BannerReader r(max_len);
    std::size_t pos = 0;
    while (!r.done() && pos < input.size()) {
        const std::size_t need = r.bytes_needed();
        EXPECT_GT(need, 0u) << "the reader asked for no bytes although it is neither done nor failed";
        const std::size_t n = std::min({next_chunk(need), need, input.size() - pos});
        if (auto res = r.consume(std::span<const char>(input.data() + pos, n)); !res) {
            EXPECT_EQ(r.bytes_needed(), 0u) << "a failed reader still asks for bytes";
            return {res.error(), pos + n};
        }
        pos += n;
    }
    if (!r.done()) return {Error(TransportErrc::handshake_malformed, "input ended before the banner"), pos};
    EXPECT_EQ(r.consumed(), pos);
    return {r.banner(), pos};
}

Fed feed_bytewise(std::string_view input, std::size_t max_len) {
    return feed(input, max_len, [](std::size_t) { return std::size_t{1}; });
}

Fed feed_random(std::string_view input, std::size_t max_len, unsigned seed) {
    std::mt19937 rng(seed);
    return feed(input, max_len,
                [&](std::size_t need) { return std::uniform_int_distribution<std::size_t>(1, need)(rng); });
}

const std::string kZrepl7 = "0000000056 ZREPL_ZFS_REPLICATION PROTOVERSION=0007 EXTENSIONS=0000\n";
const std::string kZferry = "0000000065 ZREPL_ZFS_REPLICATION PROTOVERSION=0007 EXTENSIONS=0001\nzferry/1\n";

// ---- vectors ---------------------------------------------------------------------------

TEST(Handshake, VersionHandshakeVectors) {
    int n = 0;
    for (const auto& cv : test::load_cases("version_handshake.json")) {
        const auto& c = cv.as_object();
        const std::string kind = test::str(c.at("kind"));
        SCOPED_TRACE("vector " + test::str(c.at("id")) + " (" + kind + ")");
        if (kind == "encode") {
            Banner b{static_cast<int>(c.at("protocol_version").to_number<long long>()), {}};
            for (const auto& e : c.at("extensions").as_array()) b.extensions.push_back(test::str(e));
            auto r = encode_banner(b);
            if (c.contains("expect_error")) {
                ASSERT_FALSE(r) << "encoding " << show(b) << " should fail but gave " << show(r ? *r : "");
                EXPECT_FALSE(r.error().temporary()) << r.error().message();
            } else {
                ASSERT_TRUE(r) << "encoding " << show(b) << " failed: " << r.error().message();
                EXPECT_EQ(*r, test::str(c.at("expect_banner"))) << "encoding " << show(b);
            }
        } else if (kind == "decode") {
            const std::string banner = test::str(c.at("banner"));
            const auto max_len = static_cast<std::size_t>(c.at("max_len").to_number<long long>());
            const auto& expect = c.at("expect").as_object();
            auto r = decode_banner(banner, max_len);
            auto bytewise = feed_bytewise(banner, max_len);
            auto chunked = feed_random(banner, max_len, 42);
            if (expect.contains("error")) {
                ASSERT_FALSE(r) << "decoding " << show(banner) << " should fail but gave " << show(*r);
                EXPECT_FALSE(r.error().temporary()) << r.error().message();
                EXPECT_FALSE(bytewise.result) << "the reader fed byte by byte accepted " << show(banner);
                EXPECT_FALSE(chunked.result) << "the reader fed in random chunks accepted " << show(banner);
            } else {
                ASSERT_TRUE(r) << "decoding " << show(banner) << " failed: " << r.error().message();
                Banner want{static_cast<int>(expect.at("protocol_version").to_number<long long>()), {}};
                for (const auto& e : expect.at("extensions").as_array())
                    want.extensions.push_back(test::str(e));
                EXPECT_EQ(*r, want) << "decoding " << show(banner) << " gave " << show(*r) << ", expected "
                                    << show(want);
                ASSERT_TRUE(bytewise.result) << bytewise.result.error().message();
                EXPECT_EQ(*bytewise.result, want) << "the reader fed byte by byte disagrees";
                ASSERT_TRUE(chunked.result) << chunked.result.error().message();
                EXPECT_EQ(*chunked.result, want) << "the reader fed in random chunks disagrees";
                EXPECT_EQ(encode_banner(*r).value(), banner) << "re-encoding " << show(*r);
            }
        } else {
            ASSERT_EQ(kind, "handshake");
            const Banner ours{static_cast<int>(c.at("ours").to_number<long long>()), {}};
            const Banner theirs{static_cast<int>(c.at("theirs").to_number<long long>()), {}};
            const bool want_ok = c.at("expect_ok").as_bool();
            // Both sides run the same check with the roles swapped; both must agree.
            for (auto [a, b] : {std::pair{ours, theirs}, std::pair{theirs, ours}}) {
                auto r = check_peer(a, b);
                EXPECT_EQ(static_cast<bool>(r), want_ok)
                    << "a side speaking " << a.protocol_version << " meeting a peer speaking "
                    << b.protocol_version << (want_ok ? " should agree" : " should refuse");
                if (!r) {
                    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::handshake_mismatch));
                    EXPECT_NE(r.error().message().find("version"), std::string::npos) << r.error().message();
                    EXPECT_FALSE(r.error().temporary()) << "a version mismatch must never be retried";
                }
            }
        }
        ++n;
    }
    EXPECT_EQ(n, 13) << "the vector file changed; review the new cases";
}

// ---- exact banners ---------------------------------------------------------------------

TEST(Handshake, ZreplV7BannerIsExactly67Bytes) {
    auto r = encode_banner(Banner{7, {}});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, kZrepl7);
    EXPECT_EQ(r->size(), 67u);
    auto d = decode_banner(kZrepl7);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(*d, (Banner{7, {}}));
}

TEST(Handshake, ZferryBannerAdvertisesItsExtension) {
    EXPECT_EQ(zferry_banner(), (Banner{kProtocolVersion, {"zferry/1"}}));
    auto r = encode_banner(zferry_banner());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, kZferry);
    auto d = decode_banner(*r);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(*d, zferry_banner());
}

TEST(Handshake, RoundTrips) {
    const std::vector<Banner> banners = {
        {1, {}},
        {9999, {}},
        {7, {""}},
        {7, {"", ""}},
        {7, {"zferry/1", "other extension with spaces", "utf-8 \xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80"}},
        {7, {"tab\there", "cr\r", std::string("nul\0inside", 10)}},
        {42, std::vector<std::string>(kMaxExtensions, "x")},
    };
    for (const auto& b : banners) {
        auto e = encode_banner(b);
        ASSERT_TRUE(e) << "encoding " << show(b) << " failed: " << e.error().message();
        // At the protocol's own limits, not at what a server accepts from a peer.
        auto d = decode_banner(*e, kHandshakeMaxLen, kMaxExtensions, kHandshakeMaxLen);
        ASSERT_TRUE(d) << "decoding the encoding of " << show(b) << " failed: " << d.error().message();
        EXPECT_EQ(*d, b) << "round trip of " << show(b) << " through " << show(*e);
    }
}

// ---- encode errors ---------------------------------------------------------------------

TEST(Handshake, EncodeRefusesWhatThePeerCouldNotParse) {
    struct Case {
        const char* what;
        Banner banner;
        const char* message_part;
    };
    const Case cases[] = {
        {"version 0", {0, {}}, "protocol version 0 is outside [1, 9999]"},
        {"version -1", {-1, {}}, "protocol version -1 is outside [1, 9999]"},
        {"version 10000", {10000, {}}, "protocol version 10000 is outside [1, 9999]"},
        {"version 10001", {10001, {}}, "outside [1, 9999]"},
        {"an extension with a newline", {7, {"ok", "a\nb"}}, "extension #1 \"a\\nb\" contains a newline"},
        {"an overlong UTF-8 slash", {7, {"\xc0\xaf"}}, "extension #0 \"\\xc0\\xaf\" is not valid UTF-8"},
        {"a UTF-16 surrogate", {7, {"\xed\xa0\x80"}}, "is not valid UTF-8"},
        {"a code point above U+10FFFF", {7, {"\xf4\x90\x80\x80"}}, "is not valid UTF-8"},
        {"a truncated UTF-8 sequence", {7, {"\xe6\x97"}}, "is not valid UTF-8"},
        {"9999 extensions", {7, std::vector<std::string>(9999, "x")}, "at most 9998"},
    };
    for (const auto& c : cases) {
        auto r = encode_banner(c.banner);
        ASSERT_FALSE(r) << "encoding a banner with " << c.what << " should fail";
        EXPECT_EQ(r.error().code(), make_error_code(Errc::invalid_argument)) << c.what;
        EXPECT_NE(r.error().message().find(c.message_part), std::string::npos)
            << "the error for " << c.what << " should say " << c.message_part << ", says "
            << r.error().message();
        EXPECT_FALSE(r.error().temporary()) << c.what;
    }
}

// ---- the incremental reader ------------------------------------------------------------

TEST(BannerReader, AsksForThePrefixThenExactlyTheBody) {
    BannerReader r;
    EXPECT_EQ(r.bytes_needed(), 11u);
    ASSERT_TRUE(r.consume(std::span(kZferry.data(), 4)));
    EXPECT_EQ(r.bytes_needed(), 7u) << "after 4 prefix bytes, 7 remain";
    ASSERT_TRUE(r.consume(std::span(kZferry.data() + 4, 7)));
    EXPECT_EQ(r.bytes_needed(), 65u) << "after the prefix, exactly the announced body";
    ASSERT_TRUE(r.consume(std::span(kZferry.data() + 11, 65)));
    EXPECT_TRUE(r.done());
    EXPECT_EQ(r.bytes_needed(), 0u);
    EXPECT_EQ(r.banner(), zferry_banner());
}

TEST(BannerReader, StopsExactlyAtTheEndOfTheBanner) {
    // The mux label follows on the same connection; the reader must leave it unread.
    std::string label(64, '\0');
    label.replace(0, 10, "zrepl_data");
    for (const std::string& banner : {kZrepl7, kZferry}) {
        const std::string wire = banner + label;
        for (auto fed : {feed_bytewise(wire, kHandshakeMaxLen), feed_random(wire, kHandshakeMaxLen, 1),
                         feed_random(wire, kHandshakeMaxLen, 2), feed_random(wire, kHandshakeMaxLen, 3)}) {
            ASSERT_TRUE(fed.result) << fed.result.error().message();
            EXPECT_EQ(fed.consumed, banner.size()) << "the reader read " << fed.consumed << " bytes of "
                                                   << show(wire) << ", the banner has " << banner.size();
        }
    }
}

TEST(BannerReader, AnyChunkingGivesTheSameBanner) {
    const Banner b{7, {"zferry/1", "", "second", "\xe2\x82\xac"}};
    const std::string wire = encode_banner(b).value();
    auto bytewise = feed_bytewise(wire, kHandshakeMaxLen);
    ASSERT_TRUE(bytewise.result) << bytewise.result.error().message();
    EXPECT_EQ(*bytewise.result, b);
    for (unsigned seed = 0; seed < 200; ++seed) {
        auto fed = feed_random(wire, kHandshakeMaxLen, seed);
        ASSERT_TRUE(fed.result) << "chunking seed " << seed << ": " << fed.result.error().message();
        EXPECT_EQ(*fed.result, b) << "chunking seed " << seed;
    }
}

TEST(BannerReader, RefusesMoreThanItAskedForAndStaysUsable) {
    BannerReader r;
    auto res = r.consume(std::span(kZrepl7.data(), 12));
    ASSERT_FALSE(res) << "12 bytes offered while the prefix needs 11 must be refused";
    EXPECT_EQ(res.error().code(), make_error_code(Errc::invalid_argument));
    EXPECT_FALSE(r.failed()) << "a caller's mistake does not poison the reader";
    EXPECT_EQ(r.bytes_needed(), 11u);
    ASSERT_TRUE(r.consume(std::span(kZrepl7.data(), 11)));
    ASSERT_TRUE(r.consume(std::span(kZrepl7.data() + 11, 56)));
    EXPECT_TRUE(r.done());
    EXPECT_FALSE(r.consume(std::span(kZrepl7.data(), 1))) << "a done reader takes no more bytes";
    EXPECT_TRUE(r.consume(std::span<const char>())) << "an empty chunk is always fine";
}

TEST(BannerReader, AFailedReaderKeepsFailing) {
    BannerReader r;
    const std::string garbage = "GET / HTTP/1.1\r\n";
    auto first = r.consume(std::span(garbage.data(), 1));
    ASSERT_FALSE(first);
    EXPECT_TRUE(r.failed());
    EXPECT_FALSE(r.done());
    EXPECT_EQ(r.bytes_needed(), 0u);
    auto again = r.consume(std::span(garbage.data() + 1, 1));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().message(), first.error().message());
}

// What feeding `input` to a reader the way the connection driver does (chunks of at most
// 512 bytes) cost in heap bytes at its peak, above what was live before.
struct Fed512 {
    bool accepted = false;
    TransportErrc code{};
    std::size_t peak_heap = 0;
    std::size_t held = 0, max_held = 0;
};

Fed512 feed_like_the_driver(std::string_view input) {
    Fed512 out;
    const std::size_t before = heap::live.load();
    heap::peak.store(before);
    {
        BannerReader r;
        std::size_t pos = 0;
        while (!r.done() && !r.failed() && pos < input.size()) {
            const std::size_t n = std::min({r.bytes_needed(), std::size_t{512}, input.size() - pos});
            if (auto res = r.consume(std::span<const char>(input.data() + pos, n)); !res)
                out.code = static_cast<TransportErrc>(res.error().code().value());
            pos += n;
            out.held = std::max(out.held, r.held_bytes());
        }
        out.accepted = r.done();
        out.max_held = r.max_held_bytes();
    }
    out.peak_heap = heap::peak.load() - before;
    return out;
}

std::string banner_with(std::size_t count, std::string_view each_line) {
    char head[80];
    std::snprintf(head, sizeof head, "%010zu ZREPL_ZFS_REPLICATION PROTOVERSION=0007 EXTENSIONS=%04zu\n",
                  kBannerHeaderLen + count * (each_line.size() + 1), count);
    std::string out = head;
    for (std::size_t i = 0; i < count; ++i) {
        out += each_line;
        out += '\n';
    }
    return out;
}

TEST(BannerReader, HoldsAFewKiBWhateverThePeerSends) {
    // A peer's banner may announce up to 64 KiB; what it makes us hold must not grow with
    // that: not a buffer of the announced size, not the banner, not thousands of strings.
    constexpr std::size_t kBound = 32 * 1024;
    const std::string x256(kMaxPeerExtensionLen, 'x');
    struct Case {
        const char* what;
        std::string input;
        bool accepted;
    };
    const Case cases[] = {
        {"9998 one-byte extensions", banner_with(9998, "a"), false},
        {"9998 extensions of 5 bytes", banner_with(9998, "abcde"), false},
        {"one extension line of 64 KiB", banner_with(1, std::string(kHandshakeMaxLen - 11 - 56 - 1, 'y')),
         false},
        {"the largest banner accepted: 64 extensions of 256 bytes", banner_with(kMaxPeerExtensions, x256),
         true},
        {"a zferry banner", kZferry, true},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        ASSERT_LE(c.input.size(), kHandshakeMaxLen);
        auto fed = feed_like_the_driver(c.input);
        EXPECT_EQ(fed.accepted, c.accepted);
        if (!c.accepted) {
            EXPECT_EQ(fed.code, TransportErrc::handshake_too_long);
        }
        EXPECT_LE(fed.peak_heap, kBound)
            << "bytes on the heap at the peak while reading " << c.input.size() << " bytes of banner";
        EXPECT_LE(fed.held, fed.max_held);
        EXPECT_LE(fed.max_held, kBound);
    }
}

TEST(BannerReader, RefusesMoreExtensionsOrLongerLinesThanItsLimits) {
    BannerReader small(kHandshakeMaxLen, 2, 8);
    const std::string three = banner_with(3, "a");
    std::size_t pos = 0;
    Result<void> r;
    while (r && !small.done() && pos < three.size()) {
        const std::size_t n = small.bytes_needed();
        r = small.consume(std::span<const char>(three.data() + pos, n));
        pos += n;
    }
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::handshake_too_long));
    EXPECT_NE(r.error().message().find("announces 3 extensions, more than the 2 this side accepts"),
              std::string::npos)
        << r.error().message();
    EXPECT_EQ(small.consumed(), 67u) << "refused as soon as the header line is in";

    auto long_line = decode_banner(banner_with(1, "123456789"));
    ASSERT_TRUE(long_line) << "9 bytes are fine with the default limits";
    BannerReader strict(kHandshakeMaxLen, 2, 8);
    const std::string nine = banner_with(1, "123456789");
    ASSERT_TRUE(strict.consume(std::span<const char>(nine.data(), 11)));
    auto refused = strict.consume(std::span<const char>(nine.data() + 11, nine.size() - 11));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), make_error_code(TransportErrc::handshake_too_long));
    EXPECT_NE(refused.error().message().find("extension #0 at offset 67 is longer than the 8 bytes"),
              std::string::npos)
        << refused.error().message();
    EXPECT_FALSE(refused.error().temporary());
}

// Where garbage is rejected: `fails_after` is the number of bytes a reader fed one byte at a
// time has consumed when it fails; 0 means the input is a good banner.
struct Rejection {
    const char* what;
    std::string input;
    std::size_t max_len;
    TransportErrc code;
    std::size_t fails_after;
    std::string message_part;  // in the error of decode_banner on the whole input
};

std::vector<Rejection> rejections() {
    const std::string header7 = "ZREPL_ZFS_REPLICATION PROTOVERSION=0007 EXTENSIONS=";
    return {
        {"an HTTP request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 1,
         "malformed handshake banner from peer: length prefix is not 10 digits followed by a space (got "
         "\"GET / "
         "HTTP/\")"},
        {"a TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s, kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 1,
         "(got \"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03\")"},
        {"an SSH greeting", "SSH-2.0-OpenSSH_9.2\r\n", kHandshakeMaxLen, TransportErrc::handshake_malformed,
         1, "length prefix is not 10 digits"},
        {"a signed length", "+000000056 " + header7 + "0000\n", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 1, "length prefix"},
        {"a space-padded length", "       56 " + header7 + "0000\n", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 1, "length prefix"},
        {"a non-digit in the middle of the length", "00000x0056 " + header7 + "0000\n", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 6, "length prefix"},
        {"no space after the length", "0000000056_" + header7 + "0000\n", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 11, "length prefix"},
        {"a length beyond the limit (zrepl's decode_too_long)", "0000099999 " + header7 + "0000\n",
         kHandshakeMaxLen, TransportErrc::handshake_too_long, 10,
         "announces 99999 bytes after its length prefix, more than the limit of 65525"},
        {"the largest ten-digit length", "9999999999 ", kHandshakeMaxLen, TransportErrc::handshake_too_long,
         10, "announces 9999999999 bytes"},
        {"a banner one byte longer than max_len", kZrepl7, 66, TransportErrc::handshake_too_long, 10,
         "limit of 55"},
        {"a banner exactly max_len long", kZrepl7, 67, TransportErrc{}, 0, ""},
        {"a length shorter than the header line", "0000000010 ZREPL_ZFS", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 11, "announces 10 bytes, fewer than the 56-byte header line"},
        {"a wrong magic (zrepl's decode_wrong_magic)",
         "0000000056 ZREPL_ZFS_REPLICATIOX PROTOVERSION=0007 EXTENSIONS=0000\n", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 32, "unexpected byte at offset 31"},
        {"a lower-case keyword", "0000000056 ZREPL_ZFS_REPLICATION protoversion=0007 EXTENSIONS=0000\n",
         kHandshakeMaxLen, TransportErrc::handshake_malformed, 34, "header line is not"},
        {"a three-digit version", "0000000055 ZREPL_ZFS_REPLICATION PROTOVERSION=007 EXTENSIONS=0000\n",
         kHandshakeMaxLen, TransportErrc::handshake_malformed, 11, "fewer than the 56-byte header line"},
        {"a non-digit version", "0000000056 ZREPL_ZFS_REPLICATION PROTOVERSION=000x EXTENSIONS=0000\n",
         kHandshakeMaxLen, TransportErrc::handshake_malformed, 50, "unexpected byte at offset 49"},
        {"version 0000 (zrepl's decode_version_zero)",
         "0000000056 " + header7.substr(0, 35) + "0000 EXTENSIONS=0000\n", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 67, "protocol version 0000 is invalid"},
        {"a CRLF header line", "0000000057 " + header7 + "0000\r\n", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 67, "unexpected byte at offset 66"},
        {"data after a header announcing no extensions", "0000000060 " + header7 + "0000\nabc\n",
         kHandshakeMaxLen, TransportErrc::handshake_malformed, 67,
         "announces no extensions but its length prefix leaves 4"},
        {"9999 extensions", "0000020054 " + header7 + "9999\n", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 67, "announces 9999 extensions"},
        {"more extensions than bytes for them", "0000000058 " + header7 + "0003\na\n", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 67, "announces 3 extension lines but only 2 bytes follow"},
        {"one extension line short (zrepl's decode_extension_count_mismatch)",
         "0000000065 " + header7 + "0002\nonly-one\n", kHandshakeMaxLen, TransportErrc::handshake_malformed,
         75, "inconsistent extension count: announces 2 extension lines, but after 0 complete"},
        {"an unterminated last extension", "0000000060 " + header7 + "0001\nabcd", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 71, "inconsistent extension count"},
        {"an extra extension line", "0000000060 " + header7 + "0001\na\nb\n", kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 70,
         "data after the last of the 1 announced extension lines at offset 69"},
        {"a non-UTF-8 extension", "0000000062 " + header7 + "0002\nok\n\xff\xfe\n"s, kHandshakeMaxLen,
         TransportErrc::handshake_malformed, 73,
         "extension #1 at offset 70 is not valid UTF-8 (got \"\\xff\\xfe\")"},
        {"an empty input", "", kHandshakeMaxLen, TransportErrc::handshake_malformed, 0,
         "truncated: 0 of the 11 length prefix bytes"},
        {"a truncated prefix", "00000", kHandshakeMaxLen, TransportErrc::handshake_malformed, 0,
         "truncated: 5 of the 11 length prefix bytes (got \"00000\")"},
        {"a truncated body", kZrepl7.substr(0, 30), kHandshakeMaxLen, TransportErrc::handshake_malformed, 0,
         "truncated: the length prefix announces 56 bytes but only 19 follow"},
        {"trailing data", kZrepl7 + "zrepl_control", kHandshakeMaxLen, TransportErrc::handshake_malformed, 0,
         "13 bytes of unexpected data after the banner (got \"zrepl_control\")"},
    };
}

TEST(BannerReader, RejectsGarbageAsEarlyAsPossible) {
    for (const auto& c : rejections()) {
        SCOPED_TRACE("input with " + std::string(c.what) + ": " + show(c.input));
        auto whole = decode_banner(c.input, c.max_len);
        auto bytewise = feed_bytewise(c.input, c.max_len);
        if (c.code == TransportErrc{}) {
            EXPECT_TRUE(whole) << "decode_banner should accept it: " << whole.error().message();
            EXPECT_TRUE(bytewise.result)
                << "the reader should accept it: " << bytewise.result.error().message();
            continue;
        }
        ASSERT_FALSE(whole) << "decode_banner should reject it";
        EXPECT_EQ(whole.error().code(), make_error_code(c.code))
            << "decode_banner rejected it as " << whole.error().message();
        EXPECT_NE(whole.error().message().find(c.message_part), std::string::npos)
            << "the error should say " << c.message_part << "\n  but says " << whole.error().message();
        if (c.fails_after > 0) {
            ASSERT_FALSE(bytewise.result) << "the reader fed byte by byte should reject it";
            EXPECT_EQ(bytewise.result.error().code(), make_error_code(c.code))
                << "the reader rejected it as " << bytewise.result.error().message();
            EXPECT_EQ(bytewise.consumed, c.fails_after)
                << "the reader fed byte by byte should fail after byte " << c.fails_after << ", failed after "
                << bytewise.consumed << ": " << bytewise.result.error().message();
        }
        // Truncated or trailing input is decode_banner's business; a reader just waits or stops.
        for (unsigned seed = 0; c.fails_after > 0 && seed < 20; ++seed) {
            auto chunked = feed_random(c.input, c.max_len, seed);
            ASSERT_FALSE(chunked.result) << "the reader fed in chunks (seed " << seed << ") accepted it";
            EXPECT_EQ(chunked.result.error().code(), make_error_code(c.code)) << "seed " << seed;
        }
    }
}

TEST(Handshake, EveryPeerErrorIsPermanentAndPrintable) {
    for (const auto& c : rejections()) {
        if (c.code == TransportErrc{}) continue;
        auto r = decode_banner(c.input, c.max_len);
        ASSERT_FALSE(r) << c.what;
        EXPECT_FALSE(r.error().temporary()) << "a banner with " << c.what << " must not be retried";
        EXPECT_FALSE(is_temporary(r.error().code())) << c.what;
        const std::string msg = r.error().message();
        EXPECT_NE(msg.find("(permanent)"), std::string::npos) << msg;
        EXPECT_TRUE(printable_ascii(msg))
            << "the error for " << c.what << " carries raw bytes: " << show(msg);
    }
}

TEST(Handshake, QuotesOfGarbageAreTruncated) {
    // A body of binary junk behind a valid prefix: the message must stay short.
    std::string junk = "0000000500 ";
    for (int i = 0; i < 500; ++i) junk += static_cast<char>(i * 37);
    auto r = decode_banner(junk);
    ASSERT_FALSE(r);
    EXPECT_LT(r.error().message().size(), 400u) << r.error().message();
    EXPECT_TRUE(printable_ascii(r.error().message())) << show(r.error().message());
}

// ---- check_peer ------------------------------------------------------------------------

TEST(CheckPeer, VersionMismatchIsPermanentAndSaysWhatToDo) {
    auto r = check_peer(zferry_banner(), Banner{6, {}});
    ASSERT_FALSE(r) << "protocol 7 against protocol 6 must fail";
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::handshake_mismatch));
    EXPECT_FALSE(r.error().temporary()) << "retrying a mismatch is the 100%-CPU loop zrepl once had";
    const std::string msg = r.error().message();
    EXPECT_NE(msg.find("protocol version mismatch: ours is 7, peer speaks 6"), std::string::npos) << msg;
    EXPECT_NE(msg.find("both sides must run"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(permanent)"), std::string::npos) << msg;
}

TEST(CheckPeer, ZferryExtensionsOnlyWhenBothAdvertiseThem) {
    struct Case {
        const char* what;
        std::vector<std::string> ours, theirs;
        bool want;
    };
    const Case cases[] = {
        {"both zferry", {"zferry/1"}, {"zferry/1"}, true},
        {"zferry against zrepl", {"zferry/1"}, {}, false},
        {"zrepl-only us against zferry", {}, {"zferry/1"}, false},
        {"peer lists zferry/1 among others", {"zferry/1"}, {"other", "zferry/1", ""}, true},
        {"peer speaks a future zferry/2 only", {"zferry/1"}, {"zferry/2"}, false},
        {"peer's extension has extra text", {"zferry/1"}, {"zferry/1 "}, false},
    };
    for (const auto& c : cases) {
        auto r = check_peer(Banner{7, c.ours}, Banner{7, c.theirs});
        ASSERT_TRUE(r) << c.what << ": " << r.error().message();
        EXPECT_EQ(r->zferry_extensions, c.want)
            << c.what << ": zferry extensions should be " << (c.want ? "on" : "off");
    }
}

}  // namespace
}  // namespace zferry::transport
