#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"

#include <gtest/gtest.h>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/json.hpp>

#include <cerrno>
#include <sstream>

namespace zferry {
namespace {

TEST(Error, Classification) {
    EXPECT_TRUE(is_temporary(make_error_code(Errc::timeout)));
    EXPECT_TRUE(is_temporary(make_error_code(Errc::connection_closed)));
    EXPECT_TRUE(is_temporary(boost::asio::error::connection_reset));
    EXPECT_TRUE(is_temporary(boost::asio::error::connection_refused));
    EXPECT_TRUE(is_temporary(boost::asio::error::eof));
    EXPECT_TRUE(is_temporary(make_error_code(Errc::shutdown)));
    EXPECT_FALSE(is_temporary(make_error_code(Errc::protocol_error)));
    EXPECT_FALSE(is_temporary(make_error_code(Errc::message_too_large)));
    EXPECT_FALSE(is_temporary(make_error_code(Errc::stream_source_error)));
    EXPECT_FALSE(is_temporary(error_code{}));
}

TEST(Error, AnEofMadeByAsiosCompiledCodeIsTemporary) {
    // The peer closed: the code comes from Asio's compiled-once socket code, not from this
    // file, and must still compare equal to boost::asio::error::eof in the classification.
    boost::asio::io_context ctx;
    boost::asio::local::stream_protocol::socket a(ctx), b(ctx);
    boost::asio::local::connect_pair(a, b);
    b.close();
    char byte = 0;
    error_code ec;
    EXPECT_EQ(a.read_some(boost::asio::buffer(&byte, 1), ec), 0u);
    ASSERT_EQ(ec, boost::asio::error::eof) << ec.message();
    EXPECT_TRUE(is_temporary(ec));
    EXPECT_NE(Error(ec, "peer closed the connection").message().find("(temporary"), std::string::npos);
}

TEST(Error, ResourcePressureIsTemporary) {
    // Out of descriptors or memory passes when the load does: a retry later can succeed.
    for (int e : {EMFILE, ENFILE, ENOMEM, ENOBUFS}) {
        EXPECT_TRUE(is_temporary(error_code(e, boost::system::system_category()))) << e;
        EXPECT_TRUE(is_temporary(error_code(e, boost::system::generic_category()))) << e;
    }
    EXPECT_NE(Error(error_code(EMFILE, boost::system::system_category()), "accepting")
                  .message()
                  .find("(temporary, retrying can help)"),
              std::string::npos);
    EXPECT_FALSE(is_temporary(error_code(EACCES, boost::system::system_category())));
}

TEST(Error, MessageSaysWhatAndWhetherRetryHelps) {
    Error e(Errc::timeout, "reading frame from 127.0.0.1:8888");
    e.wrap("receiving pool/a@1");
    EXPECT_EQ(
        e.message(),
        "receiving pool/a@1: reading frame from 127.0.0.1:8888: timeout: no progress within the idle timeout "
        "(temporary, retrying can help)");
    EXPECT_TRUE(e.temporary());
    Error p(Errc::protocol_error, "peer 10.0.0.1");
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

std::size_t count_lines(const std::string& s) {
    std::size_t n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

TEST(Log, HumanValuesCannotForgeALine) {
    // A peer-chosen endpoint name that tries to end our line and write one of its own.
    const std::string forged = "/v1/x\n2026-01-01T00:00:00.000+0000 [I] replication finished   job=push";
    std::ostringstream out;
    log_init({LogLevel::debug, LogFormat::human, &out});
    Logger()
        .with("peer", "127.0.0.1:1")
        .with("request", forged)
        .warn("request failed: endpoint '{}'", forged);
    log_init({});
    const std::string s = out.str();
    EXPECT_EQ(count_lines(s), 1u) << s;
    EXPECT_EQ(s.find("\n2026"), std::string::npos) << s;
    EXPECT_EQ(s.find("\n[I]"), std::string::npos) << s;
    EXPECT_NE(
        s.find("request failed: endpoint '/v1/x\\n2026-01-01T00:00:00.000+0000 [I] replication finished"),
        std::string::npos)
        << s;
    EXPECT_NE(
        s.find(" request=\"/v1/x\\n2026-01-01T00:00:00.000+0000 [I] replication finished   job=push\"\n"),
        std::string::npos)
        << "the value is one quoted field, so its 'job=push' is not a field: " << s;
}

TEST(Log, HumanQuotesOnlyWhatNeedsIt) {
    EXPECT_EQ(quote_log_value("pool/a@s1"), "pool/a@s1");
    EXPECT_EQ(quote_log_value("127.0.0.1:8888"), "127.0.0.1:8888");
    EXPECT_EQ(quote_log_value(""), "\"\"");
    EXPECT_EQ(quote_log_value("a b"), "\"a b\"");
    EXPECT_EQ(quote_log_value("k=v"), "\"k=v\"");
    EXPECT_EQ(quote_log_value("say \"hi\""), "\"say \\\"hi\\\"\"");
    EXPECT_EQ(quote_log_value("back\\slash"), "\"back\\\\slash\"");
    EXPECT_EQ(quote_log_value("a\r\nb\tc\x1b[31m"), "\"a\\r\\nb\\tc\\x1b[31m\"");
    EXPECT_EQ(quote_log_value("\xff\xfe"), "\"\\xff\\xfe\"") << "bytes that are not UTF-8";
    EXPECT_EQ(quote_log_value("\xc2\x85"), "\"\\xc2\\x85\"") << "NEL, a C1 control";
    EXPECT_EQ(quote_log_value("a\xe2\x80\xa8"
                              "b"),
              "\"a\\xe2\\x80\\xa8b\"")
        << "U+2028 line separator";
    EXPECT_EQ(quote_log_value("caf\xc3\xa9"), "\"caf\xc3\xa9\"") << "printable UTF-8 is kept";
    EXPECT_EQ(escape_controls("line\nbreak \"kept\""), "line\\nbreak \"kept\"");
}

TEST(Text, StrictUtf8) {
    EXPECT_TRUE(valid_utf8(""));
    EXPECT_TRUE(valid_utf8("plain"));
    EXPECT_TRUE(valid_utf8("\xe2\x82\xac"));       // U+20AC
    EXPECT_TRUE(valid_utf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
    EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong '/'
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
    EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(valid_utf8("\xe2\x82"));          // truncated
    EXPECT_FALSE(valid_utf8("\x80"));              // stray continuation byte
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

TEST(Log, OutletsHaveTheirOwnLevelAndFormat) {
    std::ostringstream human, logfmt;
    LogOptions o;
    LogOutlet h;
    h.kind = LogOutlet::Kind::stream;
    h.out = &human;
    h.level = LogLevel::warn;
    LogOutlet l;
    l.kind = LogOutlet::Kind::stream;
    l.out = &logfmt;
    l.level = LogLevel::debug;
    l.format = LogFormat::logfmt;
    l.time = false;
    o.outlets = {h, l};
    log_init(o);
    Logger().with("job", "push1").with("filesystem", "pool/a b").debug("planned");
    Logger().with("job", "push1").warn("said \"no\"");
    log_init({});
    // The human outlet only has the warning, with its time; logfmt has both, without time.
    EXPECT_EQ(human.str().find("planned"), std::string::npos) << human.str();
    EXPECT_NE(human.str().find("[W] said \"no\"    job=push1"), std::string::npos) << human.str();
    EXPECT_EQ(human.str().substr(4, 1), "-") << "starts with the date: " << human.str();
    EXPECT_EQ(logfmt.str(),
              "level=debug msg=planned job=push1 filesystem=\"pool/a b\"\n"
              "level=warning msg=\"said \\\"no\\\"\" job=push1\n");
}

TEST(Log, LogfmtWithTimeStartsWithIt) {
    std::ostringstream out;
    LogOptions o;
    LogOutlet l;
    l.kind = LogOutlet::Kind::stream;
    l.out = &out;
    l.format = LogFormat::logfmt;
    o.outlets = {l};
    log_init(o);
    Logger().info("x");
    log_init({});
    EXPECT_EQ(out.str().rfind("time=", 0), 0u) << out.str();
    EXPECT_NE(out.str().find(" level=info msg=x\n"), std::string::npos) << out.str();
}

TEST(Log, SyslogFacilityNames) {
    EXPECT_GE(syslog_facility_code("local0"), 0);
    EXPECT_GE(syslog_facility_code("daemon"), 0);
    EXPECT_NE(syslog_facility_code("local0"), syslog_facility_code("local7"));
    EXPECT_EQ(syslog_facility_code("local8"), -1);
}

TEST(Log, WithReplacesSameKey) {
    Logger l = Logger().with("request", "a").with("request", "b");
    ASSERT_EQ(l.fields().size(), 1u);
    EXPECT_EQ(l.field("request"), "b");
}

}  // namespace
}  // namespace zferry
