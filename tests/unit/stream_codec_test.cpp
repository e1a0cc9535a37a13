// The stream layer's error trailer: cut to its size limit at a character boundary, so the
// peer's decoder (which rejects a trailer that is not UTF-8) reports the real error.
#include "transport/stream_decoder.hpp"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <utility>
#include <vector>

namespace zferry::transport {
namespace {

struct PrefixCase {
    const char* what;
    std::string text;
    std::size_t max;
    std::string expected;
};

std::vector<PrefixCase> prefix_cases() {
    const std::string e_acute = "\xc3\xa9";         // U+00E9, 2 bytes
    const std::string euro = "\xe2\x82\xac";        // U+20AC, 3 bytes
    const std::string smiley = "\xf0\x9f\x98\x80";  // U+1F600, 4 bytes
    return {
        {"shorter than the limit stays whole", "abc", 10, "abc"},
        {"exactly the limit stays whole", "abc" + euro, 6, "abc" + euro},
        {"ASCII is cut at the limit", "abcdef", 4, "abcd"},
        {"a cut after a whole character keeps it", "ab" + e_acute + "cd", 4, "ab" + e_acute},
        {"a cut inside a 2-byte character drops it", "abc" + e_acute, 4, "abc"},
        {"a cut after the first byte of 3 drops it", "ab" + euro, 3, "ab"},
        {"a cut after the second byte of 3 drops it", "ab" + euro, 4, "ab"},
        {"a cut inside a 4-byte character drops it", "a" + smiley + "b", 4, "a"},
        {"a cut before a lead byte keeps all before it", "a" + smiley, 1, "a"},
        {"only a character that does not fit", smiley, 3, ""},
        {"a limit of zero", "abc", 0, ""},
        // Invalid input: never walk back more than a character's length.
        {"a run of continuation bytes is cut within 3 bytes", "a\x80\x80\x80\x80\x80", 5, "a\x80"},
    };
}

TEST(Utf8Prefix, CutsAtCharacterBoundaries) {
    for (const auto& c : prefix_cases()) {
        EXPECT_EQ(std::string(utf8_prefix(c.text, c.max)), c.expected) << c.what;
        EXPECT_LE(utf8_prefix(c.text, c.max).size(), c.max) << c.what;
    }
}

// Feeds a whole error trailer (one frame) and End to a decoder; returns the last step.
StreamDecoder::Step decode_trailer(StreamDecoder& dec, std::string_view text) {
    auto t = dec.on_header({frame_type::stream_err_trailer, static_cast<std::uint32_t>(text.size())});
    if (t.kind != StreamDecoder::Kind::trailer) return t;
    dec.add_trailer(std::as_bytes(std::span(text.data(), text.size())));
    return dec.on_header({frame_type::stream_end, 0});
}

TEST(Utf8Prefix, TrailerCutAtTheLimitIsAcceptedByTheDecoder) {
    // 'x' then 2-byte characters: the 64 KiB limit falls inside one of them.
    std::string text = "x";
    while (text.size() < StreamDecoder::kMaxTrailer + 100) text += "\xc3\xa9";
    auto cut = utf8_prefix(text, StreamDecoder::kMaxTrailer);
    EXPECT_EQ(cut.size(), StreamDecoder::kMaxTrailer - 1);

    StreamDecoder ok(frame_type::zfs_stream);
    EXPECT_EQ(decode_trailer(ok, cut).kind, StreamDecoder::Kind::source_error) << ok.error().message();
    EXPECT_EQ(ok.source_error(), cut);

    // A cut by bytes alone is what the peer would reject.
    StreamDecoder bytes(frame_type::zfs_stream);
    EXPECT_EQ(decode_trailer(bytes, std::string_view(text).substr(0, StreamDecoder::kMaxTrailer)).kind,
              StreamDecoder::Kind::error);
}

TEST(StreamDecoderTrailer, UsesTheStrictUtf8CheckOfTheHandshakeAndTheLog) {
    // Each of these is malformed for Go's utf8.ValidString (a zrepl peer); the decoder once
    // accepted the first three with a check of its own.
    const std::vector<std::pair<const char*, std::string>> bad = {
        {"overlong '/'", "a\xc0\xaf"},
        {"UTF-16 surrogate", "a\xed\xa0\x80"},
        {"above U+10FFFF", "a\xf4\x90\x80\x80"},
        {"truncated", "a\xe2\x82"},
    };
    for (const auto& [what, text] : bad) {
        StreamDecoder dec(frame_type::zfs_stream);
        EXPECT_EQ(decode_trailer(dec, text).kind, StreamDecoder::Kind::error) << what;
    }
    StreamDecoder ok(frame_type::zfs_stream);
    EXPECT_EQ(decode_trailer(ok, "zfs: cannot receive \xe2\x82\xac").kind, StreamDecoder::Kind::source_error);
}

}  // namespace
}  // namespace zferry::transport
