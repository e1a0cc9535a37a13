// transport's error category: every code, whether retrying can help (through core's
// Condition::temporary, as the replication driver asks), and what the message says.
#include "transport/transport_error.hpp"

#include "core/error.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace zferry::transport {
namespace {

TEST(TransportError, EveryCodeIsTemporaryOrPermanentAsTheDriverNeeds) {
    struct Case {
        TransportErrc code;
        bool temporary;
        const char* message;
    };
    const std::vector<Case> cases = {
        {TransportErrc::timeout, true, "timeout: no progress within the idle timeout"},
        {TransportErrc::connection_closed, true, "connection closed by peer"},
        {TransportErrc::shutdown, true, "connection shut down"},
        {TransportErrc::frame_too_large, false, "frame exceeds the maximum frame size"},
        {TransportErrc::reserved_frame_type, false, "frame type is reserved for another layer"},
        {TransportErrc::unexpected_frame_type, false, "protocol error: unexpected frame type"},
        {TransportErrc::handshake_mismatch, false, "protocol version mismatch"},
        {TransportErrc::handshake_malformed, false, "malformed protocol handshake"},
        {TransportErrc::handshake_too_long, false, "protocol handshake banner too long"},
        {TransportErrc::unknown_mux_label, false, "unknown connection label"},
        {TransportErrc::remote_error, false, "server error"},
        {TransportErrc::invalid_response, false, "invalid response header"},
        {TransportErrc::refused, false, "refused by the transport (authentication or configuration)"},
        {TransportErrc::remote_temporary, true, "server error, temporary on the server"},
    };
    std::set<int> seen;
    for (const auto& c : cases) {
        const error_code ec = make_error_code(c.code);
        seen.insert(ec.value());
        EXPECT_EQ(&ec.category(), &transport_category());
        EXPECT_STREQ(ec.category().name(), "transport");
        EXPECT_EQ(ec.message(), c.message);
        EXPECT_EQ(is_temporary(ec), c.temporary) << c.message;
        EXPECT_EQ(ec == make_error_condition(Condition::temporary), c.temporary) << c.message;
        EXPECT_EQ(Error(ec, "peer 10.0.0.1:8888").temporary(), c.temporary) << c.message;
        const std::string suffix = c.temporary ? "(temporary, retrying can help)" : "(permanent)";
        const std::string msg = Error(ec, "peer 10.0.0.1:8888").message();
        EXPECT_EQ(msg.substr(msg.size() - suffix.size()), suffix) << msg;
    }
    // The table covers every code (they are numbered from 1 without gaps).
    EXPECT_EQ(seen.size(), cases.size());
    EXPECT_EQ(*seen.rbegin(), static_cast<int>(cases.size()));
    EXPECT_EQ(make_error_code(static_cast<TransportErrc>(cases.size() + 1)).message(),
              "unknown transport error");
    EXPECT_FALSE(is_temporary(make_error_code(static_cast<TransportErrc>(cases.size() + 1))));
}

TEST(TransportError, IsNotCoresCodeOfTheSameName) {
    // Distinct categories: a transport timeout is not core's, though both are temporary.
    EXPECT_NE(make_error_code(TransportErrc::timeout), make_error_code(Errc::timeout));
    EXPECT_TRUE(is_temporary(make_error_code(Errc::timeout)));
}

}  // namespace
}  // namespace zferry::transport
