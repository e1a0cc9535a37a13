#include "transport/mux_label.hpp"

#include <gtest/gtest.h>

#include <string>

namespace zferry::transport {
namespace {

using namespace std::string_literals;

std::array<char, kLabelLen> padded(std::string_view s) {
    std::array<char, kLabelLen> out{};
    s.copy(out.data(), std::min(s.size(), kLabelLen));
    return out;
}

bool printable_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c >= 0x7f) return false;
    return true;
}

TEST(MuxLabel, NamesAreZreplsAndZferrys) {
    EXPECT_EQ(label_name(MuxLabel::zrepl_control), "zrepl_control");
    EXPECT_EQ(label_name(MuxLabel::zrepl_data), "zrepl_data");
    EXPECT_EQ(label_name(MuxLabel::zferry_control), "zferry_control");
    EXPECT_EQ(kLabelLen, 64u);
}

TEST(MuxLabel, EncodesNulPaddedAndRoundTrips) {
    for (MuxLabel l : {MuxLabel::zrepl_control, MuxLabel::zrepl_data, MuxLabel::zferry_control}) {
        const std::string name(label_name(l));
        const auto wire = encode_label(l);
        EXPECT_EQ(wire, padded(name)) << name << " should be its name followed by NULs up to 64 bytes";
        auto back = decode_label(wire);
        ASSERT_TRUE(back) << name << " did not decode: " << back.error().message();
        EXPECT_EQ(*back, l) << name << " decoded as " << label_name(*back);
    }
}

TEST(MuxLabel, OnlyAnExactPaddedMatchIsAccepted) {
    struct Case {
        const char* what;
        std::array<char, kLabelLen> wire;
        const char* quoted;  // how the error shows what the peer sent
    };
    std::array<char, kLabelLen> junk_after_padding = padded("zrepl_data");
    junk_after_padding[63] = 'x';
    std::array<char, kLabelLen> all_ff;
    all_ff.fill('\xff');
    std::array<char, kLabelLen> space_padded;
    space_padded.fill(' ');
    std::string_view("zrepl_data").copy(space_padded.data(), 10);
    const Case cases[] = {
        {"a prefix of a label", padded("zrepl_contro"), "\"zrepl_contro\""},
        {"a label with an extra character", padded("zrepl_controlx"), "\"zrepl_controlx\""},
        {"an upper-case label", padded("ZREPL_CONTROL"), "\"ZREPL_CONTROL\""},
        {"a label with a newline", padded("zrepl_data\n"), "\"zrepl_data\\x0a\""},
        {"junk after the NUL padding", junk_after_padding,
         "\"zrepl_data\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"},
        {"space padding instead of NULs", space_padded, "\"zrepl_data      "},
        {"all NULs", padded(""), "\"\""},
        {"binary junk", all_ff, "\"\\xff\\xff"},
        {"an HTTP request", padded("GET / HTTP/1.1\r\n"), "\"GET / HTTP/1.1\\x0d\\x0a\""},
    };
    for (const auto& c : cases) {
        auto r = decode_label(c.wire);
        ASSERT_FALSE(r) << c.what << " was accepted as " << label_name(*r);
        EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::unknown_mux_label)) << c.what;
        EXPECT_FALSE(r.error().temporary()) << "an unknown label (" << c.what << ") must not be retried";
        const std::string msg = r.error().message();
        EXPECT_NE(msg.find(std::string("peer sent connection label ") + c.quoted), std::string::npos)
            << "the error for " << c.what << " should quote " << c.quoted << "\n  but says " << msg;
        EXPECT_TRUE(printable_ascii(msg)) << "the error for " << c.what << " carries raw bytes";
    }
}

}  // namespace
}  // namespace zferry::transport
