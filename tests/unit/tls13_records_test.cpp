// transport/tls13_records against RFC 8448 §3 (the simple 1-RTT handshake): from the application
// traffic secrets of that trace, the keys are derived with HKDF-Expand-Label and the records of
// its application data are sealed byte for byte as the RFC shows them (the server's at sequence
// number 1: its NewSessionTicket took 0) and opened back. Then what the trace does not cover:
// key updates, padding, content types and malformed records.
#include "transport/tls13_records.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

namespace zferry::transport {
namespace {

std::vector<unsigned char> hex(std::string_view s) {
    std::vector<unsigned char> out;
    int hi = -1;
    for (char c : s) {
        if (std::isspace(static_cast<unsigned char>(c))) continue;
        const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<unsigned char>(hi * 16 + v));
            hi = -1;
        }
    }
    return out;
}

std::vector<char> chars(const std::vector<unsigned char>& v) { return {v.begin(), v.end()}; }

// RFC 8448 §3: "{server} derive secret "tls13 s ap traffic"" and "{client} derive secret "tls13 c
// ap traffic"", and the application data both send: the 50 bytes 00 01 .. 31.
const auto kServerSecret = hex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643");
const auto kClientSecret = hex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5");
const auto kServerRecord =
    hex("17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f 82 aa 1b 36 e3 "
        "0e fa f9"
        "7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 "
        "c2 95 5d");
const auto kClientRecord =
    hex("17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab 3f 2b "
        "98 19 a8"
        "a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 "
        "49 15 e4");

std::vector<char> rfc_data() {
    std::vector<char> d(50);
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<char>(i);
    return d;
}

TEST(Tls13Records, SealsTheApplicationDataOfRfc8448ByteForByte) {
    auto server = Tls13Records::make(0x1301, kServerSecret, 1);
    ASSERT_TRUE(server) << server.error().message();
    std::vector<char> out;
    ASSERT_TRUE(server->seal(Tls13Records::kApplicationData, rfc_data(), out));
    EXPECT_EQ(out, chars(kServerRecord));
    EXPECT_EQ(server->seq(), 2u);
    auto client = Tls13Records::make(0x1301, kClientSecret, 0);
    ASSERT_TRUE(client);
    out.clear();
    ASSERT_TRUE(client->seal(Tls13Records::kApplicationData, rfc_data(), out));
    EXPECT_EQ(out, chars(kClientRecord));
}

TEST(Tls13Records, OpensTheApplicationDataOfRfc8448InPlaceAndOutOfPlace) {
    auto rd = Tls13Records::make(0x1301, kServerSecret, 1);
    ASSERT_TRUE(rd);
    auto record = chars(kServerRecord);
    std::vector<char> into(record.size());
    auto o = rd->open(record, into.data());
    ASSERT_TRUE(o) << o.error().message();
    EXPECT_EQ(o->type, Tls13Records::kApplicationData);
    EXPECT_EQ(std::vector<char>(into.begin(), into.begin() + static_cast<std::ptrdiff_t>(o->length)),
              rfc_data());
    // In place, at the next sequence number the same record no longer opens (no replay).
    auto again = rd->open(record, record.data() + Tls13Records::kHeader);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message().find("bad record mac"), std::string::npos) << again.error().message();
    rd->set_seq(1);
    record = chars(kServerRecord);
    o = rd->open(record, record.data() + Tls13Records::kHeader);
    ASSERT_TRUE(o);
    EXPECT_EQ(
        std::vector<char>(record.begin() + 5, record.begin() + 5 + static_cast<std::ptrdiff_t>(o->length)),
        rfc_data());
}

TEST(Tls13Records, EverySuiteRoundTripsEveryContentTypeAndSizeAcrossKeyUpdates) {
    const std::vector<std::pair<std::uint16_t, std::size_t>> suites = {
        {0x1301, 32}, {0x1302, 48}, {0x1303, 32}};
    for (auto [suite, hash] : suites) {
        std::vector<unsigned char> secret(hash);
        for (std::size_t i = 0; i < hash; ++i) secret[i] = static_cast<unsigned char>(i * 7 + suite);
        auto wr = Tls13Records::make(suite, secret);
        auto rd = Tls13Records::make(suite, secret);
        ASSERT_TRUE(wr && rd) << suite;
        for (int generation = 0; generation < 3; ++generation) {
            for (std::size_t n : {0u, 1u, 255u, 16383u, 16384u}) {
                for (std::uint8_t type :
                     {Tls13Records::kApplicationData, Tls13Records::kHandshake, Tls13Records::kAlert}) {
                    std::vector<char> plain(n);
                    for (std::size_t i = 0; i < n; ++i) plain[i] = static_cast<char>(i * 31 + 1);
                    std::vector<char> rec;
                    ASSERT_TRUE(wr->seal(type, plain, rec));
                    ASSERT_EQ(rec.size(), Tls13Records::kHeader + n + 1 + Tls13Records::kTag);
                    auto len = Tls13Records::record_length(rec);
                    ASSERT_TRUE(len);
                    EXPECT_EQ(*len, rec.size() - Tls13Records::kHeader);
                    std::vector<char> into(rec.size());
                    auto o = rd->open(rec, into.data());
                    ASSERT_TRUE(o) << suite << " " << n;
                    EXPECT_EQ(o->type, type);
                    EXPECT_EQ(std::vector<char>(into.begin(),
                                                into.begin() + static_cast<std::ptrdiff_t>(o->length)),
                              plain);
                }
            }
            EXPECT_TRUE(wr->update());
            EXPECT_TRUE(rd->update());
            EXPECT_EQ(wr->seq(), 0u);
        }
        // One side updated, the other not: nothing opens.
        ASSERT_TRUE(wr->update());
        std::vector<char> rec, into(64);
        ASSERT_TRUE(wr->seal(Tls13Records::kApplicationData, std::vector<char>(10, 'x'), rec));
        EXPECT_FALSE(rd->open(rec, into.data()));
    }
}

TEST(Tls13Records, RefusesWhatIsNotOneOfItsRecords) {
    EXPECT_FALSE(Tls13Records::supports(0x1304));  // TLS_AES_128_CCM_SHA256
    EXPECT_FALSE(Tls13Records::make(0x1304, kServerSecret));
    EXPECT_FALSE(Tls13Records::make(0x1302, kServerSecret)) << "SHA-384 wants a 48-byte secret";
    auto wr = Tls13Records::make(0x1301, kServerSecret);
    ASSERT_TRUE(wr);
    std::vector<char> out;
    EXPECT_FALSE(
        wr->seal(Tls13Records::kApplicationData, std::vector<char>(Tls13Records::kMaxPlaintext + 1), out));
    EXPECT_TRUE(out.empty());
    const std::vector<char> short_header = {23, 3, 3, 0};
    EXPECT_EQ(*Tls13Records::record_length(short_header), 0u) << "not enough for a header yet";
    // A record of padding only (no content type) does not open.
    auto rd = Tls13Records::make(0x1301, kServerSecret);
    ASSERT_TRUE(rd);
    std::vector<char> rec;
    ASSERT_TRUE(wr->seal(0, std::vector<char>(5, 0), rec));
    std::vector<char> into(rec.size());
    auto o = rd->open(rec, into.data());
    ASSERT_FALSE(o);
    EXPECT_NE(o.error().message().find("unexpected message"), std::string::npos) << o.error().message();
}

}  // namespace
}  // namespace zferry::transport
