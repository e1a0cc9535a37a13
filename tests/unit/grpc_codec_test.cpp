#include "transport/grpc/grpc_codec.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace zferry::transport::grpc {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(GrpcStatus, NamesAndWireValues) {
    EXPECT_EQ(status_code_name(StatusCode::ok), "OK");
    EXPECT_EQ(status_code_name(StatusCode::resource_exhausted), "RESOURCE_EXHAUSTED");
    EXPECT_EQ(status_code_name(StatusCode::unauthenticated), "UNAUTHENTICATED");
    EXPECT_EQ(static_cast<int>(StatusCode::deadline_exceeded), 4);
    EXPECT_EQ(static_cast<int>(StatusCode::unimplemented), 12);
    EXPECT_EQ(static_cast<int>(StatusCode::unavailable), 14);
}

TEST(GrpcStatus, ParsesDecimalWithoutLeadingZeros) {
    struct Case {
        std::string wire;
        std::optional<StatusCode> want;
    };
    const std::vector<Case> cases = {
        {"0", StatusCode::ok},
        {"4", StatusCode::deadline_exceeded},
        {"16", StatusCode::unauthenticated},
        {"17", std::nullopt},
        {"04", std::nullopt},
        {"", std::nullopt},
        {"-1", std::nullopt},
        {"1 ", std::nullopt},
        {"100", std::nullopt},
    };
    for (const auto& c : cases)
        EXPECT_EQ(parse_grpc_status(c.wire), c.want) << "grpc-status \"" << c.wire << "\"";
}

TEST(GrpcMessage, PrefixIsFlagZeroAndBigEndianLength) {
    EXPECT_EQ(encode_message("abc"), "\x00\x00\x00\x00\x03"s + "abc");
    EXPECT_EQ(encode_message(""), std::string(5, '\0'));
    const std::string big(0x010203, 'x');
    EXPECT_EQ(encode_message(big).substr(0, 5), "\x00\x00\x01\x02\x03"s);
}

TEST(GrpcMessage, ReaderSplitsMessagesFedByteByByte) {
    const std::string wire = encode_message("first") + encode_message("") + encode_message("third one");
    MessageReader r;
    for (char c : wire) {
        const std::uint8_t b = static_cast<std::uint8_t>(c);
        ASSERT_TRUE(r.feed({&b, 1}));
    }
    EXPECT_FALSE(r.partial());
    ASSERT_EQ(r.complete_messages(), 3u);
    EXPECT_EQ(r.take_message(), "first");
    EXPECT_EQ(r.take_message(), "");
    EXPECT_EQ(r.take_message(), "third one");
    EXPECT_EQ(r.take_message(), std::nullopt);
}

TEST(GrpcMessage, ReaderAcceptsRandomChunks) {
    std::mt19937 rng(11);
    std::string payload(100000, '\0');
    for (auto& c : payload) c = static_cast<char>(rng());
    const std::string wire = encode_message(payload) + encode_message("tail");
    for (int round = 0; round < 20; ++round) {
        MessageReader r;
        std::size_t pos = 0;
        while (pos < wire.size()) {
            const std::size_t n = std::min<std::size_t>(wire.size() - pos, 1 + rng() % 9000);
            ASSERT_TRUE(r.feed(bytes(wire).subspan(pos, n)));
            pos += n;
        }
        ASSERT_EQ(r.complete_messages(), 2u) << "round " << round;
        EXPECT_EQ(r.take_message(), payload);
        EXPECT_EQ(r.take_message(), "tail");
    }
}

TEST(GrpcMessage, ReaderReportsATruncatedMessageAsPartial) {
    MessageReader r;
    const std::string wire = encode_message("hello");
    ASSERT_TRUE(r.feed(bytes(wire).first(7)));
    EXPECT_TRUE(r.partial());
    EXPECT_EQ(r.complete_messages(), 0u);
}

TEST(GrpcMessage, CompressedFlagIsRefusedAsInternal) {
    MessageReader r;
    const std::string wire = "\x01\x00\x00\x00\x01x"s;
    EXPECT_FALSE(r.feed(bytes(wire)));
    ASSERT_TRUE(r.error());
    EXPECT_EQ(r.error()->code, StatusCode::internal);
    EXPECT_NE(r.error()->message.find("compressed"), std::string::npos) << r.error()->message;
}

TEST(GrpcMessage, OversizeIsResourceExhaustedBeforeTheBodyArrives) {
    MessageReader r(4u << 20);
    // Announces 4 MiB + 1 and sends nothing else: refused at the prefix, nothing buffered.
    const std::string wire = "\x00\x00\x40\x00\x01"s;
    EXPECT_FALSE(r.feed(bytes(wire)));
    ASSERT_TRUE(r.error());
    EXPECT_EQ(r.error()->code, StatusCode::resource_exhausted);
    EXPECT_EQ(r.error()->message, "grpc: received message larger than max (4194305 vs. 4194304)");
    // Exactly the limit is fine.
    MessageReader ok(3);
    EXPECT_TRUE(ok.feed(bytes(encode_message("abc"))));
    EXPECT_EQ(ok.take_message(), "abc");
}

TEST(GrpcTimeout, ParsesEveryUnitAndRefusesMalformedValues) {
    struct Case {
        std::string wire;
        std::optional<std::chrono::nanoseconds> want;
    };
    const std::vector<Case> cases = {
        {"1H", 1h},
        {"2M", 2min},
        {"3S", 3s},
        {"3500m", 3500ms},
        {"5000000u", 5s},
        {"7n", 7ns},
        {"99999999S", std::chrono::seconds(99999999)},
        {"0n", 0ns},
        {"S", std::nullopt},           // no digits
        {"123456789S", std::nullopt},  // nine digits
        {"10x", std::nullopt},         // unknown unit
        {"1s", std::nullopt},          // units are case-sensitive: 's' is not seconds
        {"-1S", std::nullopt},
        {"1 S", std::nullopt},
        {"", std::nullopt},
    };
    for (const auto& c : cases)
        EXPECT_EQ(parse_grpc_timeout(c.wire), c.want) << "grpc-timeout \"" << c.wire << "\"";
    // Hours that do not fit in int64 nanoseconds saturate instead of overflowing.
    EXPECT_EQ(parse_grpc_timeout("99999999H"), std::chrono::nanoseconds::max());
}

TEST(GrpcTimeout, FormatsLikeGrpcGoWithTheSmallestUnitThatFits) {
    struct Case {
        std::chrono::nanoseconds d;
        std::string want;
    };
    const std::vector<Case> cases = {
        {5s, "5000000u"},  // grpc-go's encoding of zrepl's 5 s
        {3500ms, "3500000u"},
        {99999999ns, "99999999n"},  // 8 digits: still nanoseconds
        {100000000ns, "100000u"},   // 9 digits: next unit
        {100000001ns, "100001u"},   // rounded up, never shorter
        {200s, "200000m"},
        {100000s, "100000S"},
        {std::chrono::hours(30000), "1800000M"},
        {0ns, "0n"},
        {-5s, "0n"},
    };
    for (const auto& c : cases) EXPECT_EQ(format_grpc_timeout(c.d), c.want) << c.d.count() << " ns";
    for (const auto& c : cases)
        if (c.d > 0ns) {
            auto back = parse_grpc_timeout(format_grpc_timeout(c.d));
            ASSERT_TRUE(back);
            EXPECT_GE(*back, c.d) << "the peer's deadline must not be shorter than ours";
        }
}

TEST(GrpcMessageText, PercentEncodesLikeTheGrpcStacks) {
    // C-core was observed sending "100% ü\n" as "100%25 %C3%BC%0A".
    EXPECT_EQ(percent_encode_message("100% \xc3\xbc\n"), "100%25 %C3%BC%0A");
    EXPECT_EQ(percent_encode_message("plain text ~!"), "plain text ~!");
    EXPECT_EQ(percent_encode_message("\x7f\x1f"), "%7F%1F");
    EXPECT_EQ(percent_decode_message("100%25 %C3%BC%0A"), "100% \xc3\xbc\n");
    EXPECT_EQ(percent_decode_message("%c3%bc"), "\xc3\xbc") << "lowercase hex decodes too";
}

TEST(GrpcMessageText, DecodingNeverFailsOnBadEncoding) {
    EXPECT_EQ(percent_decode_message("50%"), "50%");
    EXPECT_EQ(percent_decode_message("%4"), "%4");
    EXPECT_EQ(percent_decode_message("%zz%41"), "%zzA");
    std::mt19937 rng(5);
    for (int i = 0; i < 200; ++i) {
        std::string s(rng() % 40, '\0');
        for (auto& c : s) c = static_cast<char>(rng());
        EXPECT_EQ(percent_decode_message(percent_encode_message(s)), s);
    }
}

}  // namespace
}  // namespace zferry::transport::grpc
