// Send-argument validation (reference §5.4): the sender refuses anything it cannot verify.
#include "zfs/send_validation.hpp"

#include "tests/vectors.hpp"

#include <gtest/gtest.h>

namespace zferry::zfs {
namespace {

// The "platformtest_inc" vector: zreplplatformtest/src@a -> @b.
constexpr std::uint64_t kA = 0x94a20a5f25877859ull, kB = 0xf784e1004f460f7a;

std::string vector_token(const std::string& id) {
    for (const auto& c : test::load_cases("resume_tokens.json"))
        if (test::str(c.at("id")) == id) return test::str(c.at("token"));
    throw std::runtime_error("no token " + id);
}

SendRequest request() {
    SendRequest r;
    r.filesystem = "zreplplatformtest/src";
    r.from = SendVersion{"@a", kA};
    r.to = SendVersion{"@b", kB};
    return r;
}

SendFacts facts() { return SendFacts{kA, kB, false}; }

TEST(SendValidation, AcceptsAConsistentRequestAndResume) {
    auto v = validate_send_args(request(), facts());
    ASSERT_TRUE(v) << v.error().context();
    EXPECT_EQ(v->spec().from, "@a");
    EXPECT_FALSE(v->encrypted_send);

    auto r = request();
    r.resume_token = vector_token("platformtest_inc");
    auto resumed = validate_send_args(r, facts());
    ASSERT_TRUE(resumed) << resumed.error().context();
    ASSERT_TRUE(resumed->token);
    EXPECT_EQ(resumed->token->toguid, kB);
    EXPECT_EQ(resumed->spec().resume_token, r.resume_token);

    auto full = request();
    full.from.reset();
    full.to = SendVersion{"@a", kA};
    full.resume_token = vector_token("platformtest_full");
    EXPECT_TRUE(validate_send_args(full, SendFacts{std::nullopt, kA, false}))
        << "a full resume without 'from'";
}

TEST(SendValidation, RefusesWithTheReason) {
    struct Case {
        const char* what;
        SendRequest req;
        SendFacts facts;
        std::string why;
    };
    auto with = [](auto f) {
        auto r = request();
        f(r);
        return r;
    };
    SendPolicy encrypted;
    encrypted.encrypted = true;
    SendPolicy raw;
    raw.raw = true;
    const Case cases[] = {
        {"empty filesystem", with([](SendRequest& r) { r.filesystem.clear(); }), facts(),
         "filesystem name is empty"},
        {"filesystem with '@'", with([](SendRequest& r) { r.filesystem = "p/a@x"; }), facts(),
         "must not contain '@'"},
        {"no 'to'", with([](SendRequest& r) { r.to.reset(); }), facts(), "no 'to' version"},
        {"'to' is a bookmark", with([](SendRequest& r) { r.to->relative_name = "#b"; }), facts(),
         "must be a snapshot"},
        {"'to' lacks a delimiter", with([](SendRequest& r) { r.to->relative_name = "b"; }), facts(),
         "must start with"},
        {"'from' with a slash", with([](SendRequest& r) { r.from->relative_name = "@x/y"; }), facts(),
         "last component"},
        {"'from' missing", request(), SendFacts{std::nullopt, kB, false}, "does not exist"},
        {"'to' GUID differs", request(), SendFacts{kA, 42, false},
         "has GUID 0x000000000000002a, the request expects"},
        {"encrypted policy, plain fs", with([&](SendRequest& r) { r.policy = encrypted; }), facts(),
         "requires encrypted sends, but the filesystem is not encrypted"},
        {"raw unencrypted policy, encrypted fs", with([&](SendRequest& r) { r.policy = raw; }),
         SendFacts{kA, kB, true}, "raw sends without encryption"},
        {"corrupt token",
         with([](SendRequest& r) { r.resume_token = vector_token("platformtest_corrupted"); }), facts(),
         "resume token is corrupt"},
        {"token for another dataset", with([](SendRequest& r) {
             r.filesystem = "zroot/test/a";
             r.resume_token = vector_token("platformtest_inc");
         }),
         facts(), "the resume token is for 'zreplplatformtest/src@b'"},
        {"full token for an incremental request",
         with([](SendRequest& r) { r.resume_token = vector_token("platformtest_full"); }), facts(),
         "resume token is for a full send"},
        {"incremental token for a full request", with([](SendRequest& r) {
             r.from.reset();
             r.resume_token = vector_token("platformtest_inc");
         }),
         facts(), "the resume token is incremental"},
        {"token fromguid differs", with([](SendRequest& r) {
             r.from->guid = 7;
             r.resume_token = vector_token("platformtest_inc");
         }),
         SendFacts{7, kB, false}, "fromguid 0x94a20a5f25877859 does not match"},
        {"token toguid differs", with([](SendRequest& r) {
             r.to->guid = 8;
             r.resume_token = vector_token("platformtest_inc");
         }),
         SendFacts{kA, 8, false}, "toguid 0xf784e1004f460f7a does not match"},
    };
    for (const auto& c : cases) {
        auto v = validate_send_args(c.req, c.facts);
        ASSERT_FALSE(v) << c.what << ": should be refused";
        EXPECT_EQ(v.error().code(), make_error_code(Errc::invalid_argument)) << c.what;
        EXPECT_NE(v.error().context().find(c.why), std::string::npos)
            << c.what << ": refusal should say '" << c.why << "' but says: " << v.error().context();
    }
}

TEST(SendValidation, TokenEncryptionMustAgreeWithPolicy) {
    ResumeToken t;
    t.fromguid = kA;
    t.toguid = kB;
    t.toname = "zreplplatformtest/src@b";
    t.rawok = true;
    auto r = request();
    r.resume_token = encode_resume_token(t);
    auto v = validate_send_args(r, SendFacts{kA, kB, true});
    ASSERT_FALSE(v) << "a raw token of an encrypted fs resumes an encrypted send the policy forbids";
    EXPECT_NE(v.error().context().find("forbids encrypted sends"), std::string::npos) << v.error().context();

    r.policy.encrypted = true;
    auto ok = validate_send_args(r, SendFacts{kA, kB, true});
    ASSERT_TRUE(ok) << ok.error().context();
    EXPECT_TRUE(ok->encrypted_send);

    t.rawok = false;
    r.resume_token = encode_resume_token(t);
    auto plain = validate_send_args(r, SendFacts{kA, kB, true});
    ASSERT_FALSE(plain) << "an encrypted policy cannot resume an unencrypted send";
    EXPECT_NE(plain.error().context().find("resumes an unencrypted send"), std::string::npos);
}

TEST(SendValidation, NameCheckAloneRunsBeforeAnyLookup) {
    EXPECT_TRUE(check_send_request_names(request()));
    auto r = request();
    r.from->relative_name = "@a%b";
    EXPECT_FALSE(check_send_request_names(r)) << "'%' is forbidden";
}

}  // namespace
}  // namespace zferry::zfs
