// The control socket's endpoints (reference §6.5) without I/O: a request (method, target,
// body) in, the reply (status, content type, body) out. zrepl's routes: `/status` (JSON of
// every job), `/signal` (JSON `{"Name": JOB, "Op": "wakeup"|"reset"}`), `/version`; GET and
// POST both answer (zrepl's client POSTs `{}`). A non-200 reply's body is the error text, as
// zrepl's client expects.
#pragma once

#include "core/error.hpp"

#include <boost/json/value.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace zferry::daemon {

struct ControlRequest {
    std::string method;  // "GET", "POST", ...
    std::string target;  // "/status"
    std::string body;
};

struct ControlReply {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
};

struct ControlHandlers {
    std::function<boost::json::value()> status;
    // Error codes: Errc::not_found for an unknown job, anything else a refused signal.
    std::function<Result<void>(const std::string& job, const std::string& op)> signal;
    std::string version;  // "0.1.0"
    // For zrepl_control_request_begin|finished: told of each request to /status, /signal or
    // /version (other targets are not counted: a label per made-up path would grow without
    // bound), and how long its handling took. Null: not told.
    std::function<void(std::string_view endpoint)> request_begin;
    std::function<void(std::string_view endpoint, double seconds)> request_finished;
};

ControlReply handle_control_request(const ControlRequest& req, const ControlHandlers& handlers);

// What `/version` answers (also what `zferry version` prints for the client).
boost::json::value version_json(const std::string& version);

}  // namespace zferry::daemon
