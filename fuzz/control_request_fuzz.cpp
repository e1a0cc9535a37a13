// Fuzzes the daemon's control socket requests as the server receives them: the bytes go
// through Beast's request parser with the server's header and body limits
// (parse_control_request), a parsed request through the routing (handle_control_request) with
// handlers that record what they were asked. Invariants: a too-large request is answered 413
// and a parsed body is within the limit; a reply's status is one the API defines (200, 400,
// 404, 405, 409), a refusal is text/plain ending in a newline; the signal handler is asked
// only for POST /signal with "wakeup" or "reset", and its answer decides the status.
#include "daemon/control/control_parse.hpp"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace zferry;
using namespace zferry::daemon;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "control_request_fuzz: %s\n", what);
    std::abort();
}

std::string path_of(const std::string& target) { return target.substr(0, target.find('?')); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::size_t limit = 64 * 1024;  // ControlServerLimits' default
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const ControlParse parsed = parse_control_request(bytes, limit);
    if (parsed.outcome == ControlParse::Outcome::too_large) {
        auto r = reply_for_read_error(parsed.error, limit);
        if (!r || r->status != 413) fail("a too-large request is not answered 413");
        return 0;
    }
    if (parsed.outcome != ControlParse::Outcome::request) {
        if (!parsed.error) fail("a refused request without a reason");
        if (reply_for_read_error(parsed.error, limit)) fail("a malformed request gets a reply");
        return 0;
    }
    const ControlRequest& req = parsed.request;
    if (req.body.size() > limit) fail("a body over the limit was accepted");

    int status_calls = 0;
    int signal_calls = 0;
    std::string asked_job;
    std::string asked_op;
    ControlHandlers h;
    h.version = "0.1.0";
    h.status = [&] {
        ++status_calls;
        boost::json::object o;
        o["Jobs"] = boost::json::object();
        return boost::json::value(o);
    };
    h.signal = [&](const std::string& job, const std::string& op) -> Result<void> {
        ++signal_calls;
        asked_job = job;
        asked_op = op;
        if (job == "missing") return Error(Errc::not_found, "job missing does not exist");
        if (job == "busy") return Error(Errc::invalid_argument, "job busy refuses");
        return {};
    };
    const ControlReply reply = handle_control_request(req, h);

    switch (reply.status) {
        case 200:
        case 400:
        case 404:
        case 405:
        case 409: break;
        default: fail("a reply status the API does not define");
    }
    if (reply.body.empty() || reply.body.back() != '\n') fail("a reply body without its final newline");
    if (reply.status != 200 && reply.content_type != "text/plain") fail("a refusal that is not text/plain");
    if (reply.status == 200 && reply.content_type != "application/json") fail("a 200 that is not JSON");
    if (reply.status == 200) {
        boost::system::error_code ec;
        (void)boost::json::parse(reply.body, ec);
        if (ec) fail("a 200 whose body is not JSON");
    }
    const std::string path = path_of(req.target);
    const bool get_or_post = req.method == "GET" || req.method == "POST";
    if (!get_or_post && reply.status != 405) fail("a method other than GET or POST was not refused 405");
    if (status_calls > 0 && (path != "/status" || reply.status != 200))
        fail("status asked for outside /status");
    if (get_or_post && path == "/status" && status_calls != 1) fail("/status did not ask the status once");
    if (signal_calls > 1) fail("the signal handler was asked twice");
    if (signal_calls == 1) {
        if (req.method != "POST" || path != "/signal") fail("a signal outside POST /signal");
        if (asked_op != "wakeup" && asked_op != "reset") fail("a signal with an unknown operation");
        const unsigned want = asked_job == "missing" ? 404 : asked_job == "busy" ? 409 : 200;
        if (reply.status != want) fail("the signal's answer did not decide the status");
    } else if (reply.status == 200 && path == "/signal") {
        fail("a signal answered 200 without asking the handler");
    }
    if (get_or_post && path != "/status" && path != "/version" && path != "/signal" && reply.status != 404)
        fail("an unknown endpoint not answered 404");
    return 0;
}
