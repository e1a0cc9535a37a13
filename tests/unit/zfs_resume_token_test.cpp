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
    // libzfs splits at the last '@': "pool/a@b" is then no filesystem a request can name.
    t.toname = "pool/a@b@c";
    EXPECT_EQ(t.to_filesystem(), "pool/a@b");
    EXPECT_EQ(t.to_snapshot(), "c");
}

TEST(ResumeToken, RefusesATonameZfsCouldNotHaveWritten) {
    // Each of these passes the checksum (the attacker computes it) but names no snapshot:
    // the sender must not go on to compare or split it.
    for (const std::string name : {"pool/a@b@c", "pool/a", "pool/a#b", "pool/a@b#c", "pool/a@", "@s",
                                   "pool//a@s", "pool/a@s\n", "pool/a%b@s", "pool/../a@s",
                                   "pool/a/b@s/c"}) {
        ResumeToken t;
        t.toguid = 7;
        t.toname = name;
        auto r = decode_resume_token(encode_resume_token(t));
        ASSERT_FALSE(r) << "toname '" << name << "' was accepted";
        EXPECT_EQ(r.error().code(), make_error_code(Errc::parse_error)) << name;
        EXPECT_EQ(
            r.error().context().rfind("resume token is corrupt: key 'toname' is not a snapshot name", 0), 0u)
            << r.error().context();
    }
    ResumeToken ok;
    ok.toguid = 7;
    ok.toname = "pool/with space/a-b_c.d:e@snap-1";
    EXPECT_TRUE(decode_resume_token(encode_resume_token(ok)));
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

// Builds packed nvlists byte by byte, so each malformation below is exactly one defect.
struct Nv {
    bool big = false;
    std::vector<std::uint8_t> b;
    void put(std::uint64_t v, int width) {
        for (int i = 0; i < width; ++i) {
            int shift = big ? 8 * (width - 1 - i) : 8 * i;
            b.push_back(static_cast<std::uint8_t>(v >> shift));
        }
    }
    static std::size_t al(std::size_t n) { return (n + 7) & ~std::size_t{7}; }
    Nv& header(std::uint8_t encoding = 0, std::int32_t version = 0) {
        b = {encoding, static_cast<std::uint8_t>(big ? 0 : 1), 0, 0};
        put(static_cast<std::uint32_t>(version), 4);
        put(1, 4);
        return *this;
    }
    // A pair with explicit fields; value bytes are padded to 8.
    Nv& pair(std::string name, std::int32_t type, std::int32_t nelem, std::vector<std::uint8_t> value,
             std::int64_t size_override = -1, std::int64_t namesz_override = -1) {
        const std::size_t start = b.size();
        std::size_t size = 16 + al(name.size() + 1) + al(value.size());
        put(size_override >= 0 ? static_cast<std::uint64_t>(size_override) : size, 4);
        put(namesz_override >= 0 ? static_cast<std::uint64_t>(namesz_override) : name.size() + 1, 2);
        put(0, 2);
        put(static_cast<std::uint32_t>(nelem), 4);
        put(static_cast<std::uint32_t>(type), 4);
        b.insert(b.end(), name.begin(), name.end());
        b.push_back(0);
        while ((b.size() - start) % 8) b.push_back(0);
        b.insert(b.end(), value.begin(), value.end());
        while ((b.size() - start) % 8) b.push_back(0);
        return *this;
    }
    std::vector<std::uint8_t> u64v(std::uint64_t v) {
        Nv tmp{big, {}};
        tmp.put(v, 8);
        return tmp.b;
    }
    static std::vector<std::uint8_t> str(const std::string& s) {
        std::vector<std::uint8_t> v(s.begin(), s.end());
        v.push_back(0);
        return v;
    }
    Nv& toguid() { return pair("toguid", 8, 1, u64v(0x1234)); }
    Nv& toname() { return pair("toname", 9, 1, str("pool/fs@s")); }
    Nv& end() {
        put(0, 4);
        return *this;
    }
    std::string token() const { return wrap_packed_nvlist(b); }
};

TEST(ResumeToken, ParsesNativeNvlistsOfBothByteOrdersAndSkipsUnknownKeys) {
    for (bool big : {false, true}) {
        Nv nv;
        nv.big = big;
        nv.header().pair("redact_snaps", 17, 0, {}).toguid().toname().pair("savedok", 1, 0, {}).end();
        auto r = decode_resume_token(nv.token());
        ASSERT_TRUE(r) << (big ? "big" : "little") << "-endian nvlist: " << r.error().context();
        EXPECT_EQ(r->toguid, 0x1234u);
        EXPECT_EQ(r->toname, "pool/fs@s");
        EXPECT_TRUE(r->savedok);
        EXPECT_FALSE(r->fromguid);
    }
}

TEST(ResumeToken, RefusesMalformedNvlistsWithAReason) {
    struct Case {
        const char* what;
        Nv nv;
        std::string why;
    };
    auto make = [](auto f) {
        Nv nv;
        f(nv);
        return nv;
    };
    const Case cases[] = {
        {"XDR encoding", make([](Nv& n) { n.header(1).toguid().toname().end(); }), "not in native encoding"},
        {"nvlist version 1", make([](Nv& n) { n.header(0, 1).toguid().toname().end(); }), "nvlist version 1"},
        {"short header", make([](Nv& n) {
             n.b = {0, 1, 0, 0};
         }),
         "shorter than its 12-byte header"},
        {"no terminator", make([](Nv& n) { n.header().toguid().toname(); }), "without its terminating pair"},
        {"pair size beyond the end",
         make([](Nv& n) { n.header().pair("toguid", 8, 1, n.u64v(1), 4096).end(); }), "invalid size 4096"},
        {"pair size not aligned", make([](Nv& n) { n.header().pair("toguid", 8, 1, n.u64v(1), 31).end(); }),
         "invalid size 31"},
        {"name size 0", make([](Nv& n) { n.header().pair("toguid", 8, 1, n.u64v(1), -1, 0).end(); }),
         "invalid name size 0"},
        {"name without NUL", make([](Nv& n) { n.header().pair("toguid", 8, 1, n.u64v(1), -1, 6).end(); }),
         "malformed name"},
        {"toguid as string",
         make([](Nv& n) { n.header().pair("toguid", 9, 1, Nv::str("x")).toname().end(); }),
         "'toguid' has type 9"},
        {"flag with a value", make([](Nv& n) { n.header().toguid().toname().pair("rawok", 1, 1, {}).end(); }),
         "'rawok' has type 1 with 1 elements"},
        {"uint64 without room",
         make([](Nv& n) { n.header().pair("object", 8, 1, {}).toguid().toname().end(); }), "truncated value"},
        {"duplicate toguid", make([](Nv& n) { n.header().toguid().toguid().toname().end(); }),
         "appears twice"},
        {"missing toguid", make([](Nv& n) { n.header().toname().end(); }), "'toguid' is missing"},
        {"missing toname", make([](Nv& n) { n.header().toguid().end(); }), "'toname' is missing"},
        {"toname without NUL", make([](Nv& n) {
             n.header().toguid().pair("toname", 9, 1, {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}).end();
         }),
         "not NUL-terminated"},
        {"bytes after the terminator", make([](Nv& n) { n.header().toguid().toname().end().put(0, 4); }),
         "4 bytes follow the terminating nvpair"},
    };
    for (const auto& c : cases) {
        auto r = decode_resume_token(c.nv.token());
        ASSERT_FALSE(r) << c.what << ": should be refused";
        EXPECT_NE(r.error().context().find("resume token is corrupt: "), std::string::npos) << c.what;
        EXPECT_NE(r.error().context().find(c.why), std::string::npos)
            << c.what << ": refusal should say '" << c.why << "' but says: " << r.error().context();
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
