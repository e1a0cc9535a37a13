// Runs the zferry binary: `version` and `test decoderesumetoken` on vector tokens, checking
// output and exit codes as a user or a script would see them.
#include "tests/vectors.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct Run {
    int rc = -1;
    std::string out;  // stdout and stderr
};

// Arguments here are vector tokens and fixed flags (hex, '-', letters): no shell quoting
// issues.
Run run(const std::string& args) {
    Run r;
    const std::string cmd = std::string(ZFERRY_BINARY) + " " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    int status = ::pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

std::string token(const std::string& id) {
    for (const auto& c : zferry::test::load_cases("resume_tokens.json"))
        if (zferry::test::str(c.at("id")) == id) return zferry::test::str(c.at("token"));
    throw std::runtime_error("no vector token " + id);
}

TEST(ZferryCli, VersionPrintsTheProjectVersion) {
    auto r = run("version");
    EXPECT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(r.out, std::string("zferry version ") + ZFERRY_VERSION + "\n");
}

TEST(ZferryCli, DecodesAnIncrementalTokenAsJson) {
    auto r = run("test decoderesumetoken --json " + token("platformtest_inc"));
    ASSERT_EQ(r.rc, 0) << r.out;
    auto v = boost::json::parse(r.out).as_object();
    EXPECT_EQ(v.at("fromguid").as_string(), "0x94a20a5f25877859");
    EXPECT_EQ(v.at("toguid").as_string(), "0xf784e1004f460f7a");
    EXPECT_EQ(v.at("toname").as_string(), "zreplplatformtest/src@b");
    EXPECT_EQ(v.at("object").to_number<std::uint64_t>(), 2u);
    EXPECT_EQ(v.at("offset").to_number<std::uint64_t>(), 0x2c0000u);
    EXPECT_EQ(v.at("bytes").to_number<std::uint64_t>(), 0x2e2540u);
    for (const char* flag : {"rawok", "compressok", "embedok", "largeblockok", "savedok"})
        EXPECT_FALSE(v.at(flag).as_bool()) << flag << " is not in this token";
}

TEST(ZferryCli, FullTokenHasNoFromguidAndFlagsAreTrue) {
    auto r = run("test decoderesumetoken --json --token " + token("synthetic_full_all_flags"));
    ASSERT_EQ(r.rc, 0) << r.out;
    auto v = boost::json::parse(r.out).as_object();
    EXPECT_FALSE(v.contains("fromguid")) << "a full-send token has no fromguid";
    EXPECT_EQ(v.at("toname").as_string(), "pool/ds with space@snap_1");
    for (const char* flag : {"rawok", "compressok", "embedok", "largeblockok"})
        EXPECT_TRUE(v.at(flag).as_bool()) << flag << " is in this token";
    EXPECT_FALSE(v.at("savedok").as_bool());
}

TEST(ZferryCli, HumanOutputLooksLikeZfsSendNvt) {
    auto r = run("test decoderesumetoken " + token("zfs_test_full"));
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(
        r.out,
        "resume token contents:\nnvlist version: 0\n\tobject = 0x2\n\toffset = 0x4c0000\n\tbytes = 0x4e4228\n"
        "\ttoguid = 0x52f9c212c71e60cd\n\ttoname = zroot/test/a@1\n");
}

TEST(ZferryCli, CorruptTokenFailsWithTheReason) {
    for (const char* id :
         {"platformtest_corrupted", "synthetic_truncated_payload", "synthetic_wrong_checksum_field"}) {
        auto r = run("test decoderesumetoken " + token(id));
        EXPECT_EQ(r.rc, 1) << id << " must fail: " << r.out;
        EXPECT_NE(r.out.find("resume token is corrupt: "), std::string::npos) << id << ": " << r.out;
    }
    auto none = run("test decoderesumetoken");
    EXPECT_NE(none.rc, 0) << "a missing token is a usage error";
}

}  // namespace
