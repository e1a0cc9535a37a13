#include "core/error.hpp"
#include "core/log.hpp"

#include <gtest/gtest.h>
#include <boost/asio/error.hpp>
#include <boost/json.hpp>

#include <sstream>

namespace zferry {
namespace {

TEST(Error, Classification) {
    EXPECT_TRUE(is_temporary(make_error_code(Errc::timeout)));
    EXPECT_TRUE(is_temporary(make_error_code(Errc::connection_closed)));
    EXPECT_TRUE(is_temporary(boost::asio::error::connection_reset));
    EXPECT_TRUE(is_temporary(boost::asio::error::connection_refused));
    EXPECT_TRUE(is_temporary(boost::asio::error::eof));
    EXPECT_FALSE(is_temporary(make_error_code(Errc::handshake_mismatch)));
    EXPECT_FALSE(is_temporary(make_error_code(Errc::protocol_error)));
    EXPECT_FALSE(is_temporary(make_error_code(Errc::frame_too_large)));
    EXPECT_FALSE(is_temporary(make_error_code(Errc::remote_error)));
    EXPECT_FALSE(is_temporary(error_code{}));
}

TEST(Error, MessageSaysWhatAndWhetherRetryHelps) {
    Error e(Errc::timeout, "reading frame from 127.0.0.1:8888");
    e.wrap("receiving pool/a@1");
    EXPECT_EQ(
        e.message(),
        "receiving pool/a@1: reading frame from 127.0.0.1:8888: timeout: no progress within the idle timeout "
        "(temporary, retrying can help)");
    EXPECT_TRUE(e.temporary());
    Error p(Errc::handshake_mismatch, "peer 10.0.0.1");
    EXPECT_NE(p.message().find("(permanent)"), std::string::npos);
}

TEST(Log, HumanCarriesFields) {
    std::ostringstream out;
    log_init({LogLevel::debug, LogFormat::human, &out});
    Logger log = Logger().with("job", "push").with("peer", "127.0.0.1:1");
    Logger req = log.with("request", "/v1/send");
    req.info("sent {} bytes", 42);
    log.debug("plain");
    std::string s = out.str();
    EXPECT_NE(s.find("[I] sent 42 bytes    job=push peer=127.0.0.1:1 request=/v1/send"), std::string::npos)
        << s;
    EXPECT_NE(s.find("[D] plain    job=push peer=127.0.0.1:1\n"), std::string::npos) << s;
    log_init({});
}

TEST(Log, JsonLinesParse) {
    std::ostringstream out;
    log_init({LogLevel::info, LogFormat::json, &out});
    Logger().with("filesystem", "pool/with \"quotes\"").with("client", "backup").warn("bad\tthing");
    Logger().debug("filtered out");
    auto v = boost::json::parse(out.str()).as_object();
    EXPECT_EQ(v.at("level").as_string(), "warning");
    EXPECT_EQ(v.at("msg").as_string(), "bad\tthing");
    EXPECT_EQ(v.at("filesystem").as_string(), "pool/with \"quotes\"");
    EXPECT_EQ(v.at("client").as_string(), "backup");
    EXPECT_TRUE(v.contains("time"));
    log_init({});
}

TEST(Log, WithReplacesSameKey) {
    Logger l = Logger().with("request", "a").with("request", "b");
    ASSERT_EQ(l.fields().size(), 1u);
    EXPECT_EQ(l.field("request"), "b");
}

}  // namespace
}  // namespace zferry
