// Resume tokens: every resume_tokens.json vector, byte-exact re-encoding, and corruptions
// that must be refused with a reason.
#include "zfs/resume_token.hpp"

#include "tests/vectors.hpp"

#include <gtest/gtest.h>

#include <charconv>

namespace zferry::zfs {
namespace {

std::uint64_t guid(const boost::json::value& v) {
    auto s = test::str(v);
    if (s.rfind("0x", 0) != 0) throw std::runtime_error("guid without 0x: " + s);
    std::uint64_t out = 0;
    auto r = std::from_chars(s.data() + 2, s.data() + s.size(), out, 16);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) throw std::runtime_error("bad guid " + s);
    return out;
}

ResumeToken expected_token(const boost::json::object& e) {
    ResumeToken t;
    if (e.contains("fromguid")) t.fromguid = guid(e.at("fromguid"));
    t.toguid = guid(e.at("toguid"));
    t.toname = test::str(e.at("toname"));
    if (e.contains("object")) t.object = guid(e.at("object"));
    if (e.contains("offset")) t.offset = guid(e.at("offset"));
    if (e.contains("bytes")) t.bytes = guid(e.at("bytes"));
    for (const auto& f : e.at("flags").as_array()) {
        auto name = test::str(f);
        if (name == "rawok")
            t.rawok = true;
        else if (name == "compressok")
            t.compressok = true;
        else if (name == "embedok")
            t.embedok = true;
        else if (name == "largeblockok")
            t.largeblockok = true;
        else if (name == "savedok")
            t.savedok = true;
        else
            throw std::runtime_error("unknown flag " + name);
    }
    return t;
}

TEST(ResumeToken, DecodesEveryVectorOrReportsItCorrupt) {
    auto cases = test::load_cases("resume_tokens.json");
    ASSERT_FALSE(cases.empty());
    for (const auto& c : cases) {
        const auto& o = c.as_object();
        const auto id = test::str(o.at("id"));
        const auto& e = o.at("expect").as_object();
        auto r = decode_resume_token(test::str(o.at("token")));
        if (e.contains("error")) {
            ASSERT_FALSE(r) << id << " should be refused as corrupt ("
                            << (o.contains("corruption") ? test::str(o.at("corruption")) : "") << ")";
            EXPECT_EQ(r.error().code(), make_error_code(Errc::parse_error)) << id;
            EXPECT_EQ(r.error().context().rfind("resume token is corrupt: ", 0), 0u)
                << id
                << " error should start with 'resume token is corrupt: ' but is: " << r.error().context();
            continue;
        }
        ASSERT_TRUE(r) << id << " should decode but: " << r.error().context();
        EXPECT_EQ(*r, expected_token(e)) << id << " decoded to different fields";
    }
}

TEST(ResumeToken, EncoderReproducesEveryValidVectorByteForByte) {
    for (const auto& c : test::load_cases("resume_tokens.json")) {
        const auto& o = c.as_object();
        const auto& e = o.at("expect").as_object();
        if (e.contains("error")) continue;
        EXPECT_EQ(encode_resume_token(expected_token(e)), test::str(o.at("token")))
            << test::str(o.at("id")) << " should re-encode to the token OpenZFS produced";
    }
}

TEST(ResumeToken, RoundTripsEveryCombinationOfOptionalFields) {
    for (unsigned mask = 0; mask < (1u << 9); ++mask) {
        ResumeToken t;
        t.toguid = 0xfedcba9876543210ull ^ mask;
        t.toname = "pool/with space/fs@snap_" + std::to_string(mask);
        if (mask & 1) t.fromguid = 0x1122334455667788ull;
        if (mask & 2) t.object = mask;
        if (mask & 4) t.offset = 0x4c0000;
        if (mask & 8) t.bytes = 0xffffffffffffffffull;
        t.rawok = mask & 16;
        t.compressok = mask & 32;
        t.embedok = mask & 64;
        t.largeblockok = mask & 128;
        t.savedok = mask & 256;
        auto r = decode_resume_token(encode_resume_token(t));
        ASSERT_TRUE(r) << "token with field mask " << mask << " does not decode: " << r.error().context();
        EXPECT_EQ(*r, t) << "token with field mask " << mask << " does not round-trip";
    }
}

TEST(ResumeToken, SplitsToname) {
    ResumeToken t;
    t.toname = "pool/a b@s1";
    EXPECT_EQ(t.to_filesystem(), "pool/a b");
    EXPECT_EQ(t.to_snapshot(), "s1");
    t.toname = "pool/a";
    EXPECT_EQ(t.to_filesystem(), "") << "a toname without '@' has no filesystem part";
    EXPECT_EQ(t.to_snapshot(), "");
}

TEST(ResumeToken, RefusesMalformedTokensWithAReason) {
    ResumeToken t;
    t.toguid = 1;
    t.toname = "p@s";
    const std::string good = encode_resume_token(t);
    const auto dash = good.rfind('-');
    struct Case {
        std::string token, why_contains;
    };
    const Case cases[] = {
        {"", "form"},
        {"1-2-3", "form"},
        {"2" + good.substr(1), "version"},
        {"1-xyz-10-00", "checksum field"},
        {"1-0-zz-00", "length field"},
        {"1-0-100001-00", "exceeds the limit of 1 MiB"},
        {"1-0-0-00", "length is 0"},
        {good.substr(0, dash + 1), "payload is empty"},
        {good + "0", "odd number"},
        {good.substr(0, good.size() - 2) + "zz", "non-hex"},
        {good + "00", "checksum mismatch"},
    };
    for (const auto& c : cases) {
        auto r = decode_resume_token(c.token);
        ASSERT_FALSE(r) << "'" << c.token << "' should be refused";
        EXPECT_NE(r.error().context().find(c.why_contains), std::string::npos)
            << "refusal of '" << c.token << "' should mention '" << c.why_contains
            << "' but says: " << r.error().context();
    }
}

TEST(Fletcher4, SumsLittleEndianWordsAndIgnoresATrailingPartialWord) {
    const std::uint8_t data[] = {1, 0, 0, 0, 2, 0, 0, 0, 0xff};
    auto f = fletcher4(data);
    EXPECT_EQ(f.a, 3u);
    EXPECT_EQ(f.b, 4u);  // 1 + 3
    EXPECT_EQ(f.c, 5u);  // 1 + 4
    EXPECT_EQ(f.d, 6u);  // 1 + 5
}

}  // namespace
}  // namespace zferry::zfs
