#include "daemon/control/control_api.hpp"

#include <boost/json.hpp>

namespace zferry::daemon {

namespace json = boost::json;

namespace {

ControlReply text(unsigned status, std::string body) {
    return {status, "text/plain", std::move(body) + "\n"};
}

ControlReply signal_request(const std::string& body, const ControlHandlers& h) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object())
        return text(400,
                    "/signal: the body must be a JSON object {\"Name\": JOB, \"Op\": \"wakeup\"|\"reset\"}");
    const auto& o = v.as_object();
    const auto* name = o.if_contains("Name");
    const auto* op = o.if_contains("Op");
    if (!name || !name->is_string() || !op || !op->is_string())
        return text(400, "/signal: \"Name\" and \"Op\" must be strings");
    const std::string job(name->as_string());
    const std::string what(op->as_string());
    if (what != "wakeup" && what != "reset")
        return text(400, "/signal: unknown operation \"" + what + "\" (wakeup or reset)");
    auto r = h.signal(job, what);
    if (!r)
        return text(r.error().code() == make_error_code(Errc::not_found) ? 404 : 409,
                    r.error().context().empty() ? r.error().message() : r.error().context());
    return {200, "application/json", "{}\n"};
}

}  // namespace

json::value version_json(const std::string& version) {
    json::object o;
    o["Version"] = version;
    o["Implementation"] = "zferry";
    return o;
}

ControlReply handle_control_request(const ControlRequest& req, const ControlHandlers& h) {
    if (req.method != "GET" && req.method != "POST")
        return text(405, "method " + req.method + " not allowed (GET or POST)");
    std::string target = req.target;
    if (auto q = target.find('?'); q != std::string::npos) target.resize(q);
    if (target == "/status") return {200, "application/json", json::serialize(h.status()) + "\n"};
    if (target == "/version")
        return {200, "application/json", json::serialize(version_json(h.version)) + "\n"};
    if (target == "/signal") {
        if (req.method != "POST") return text(405, "/signal takes POST");
        return signal_request(req.body, h);
    }
    return text(404, "unknown endpoint " + target + " (/status, /signal, /version)");
}

}  // namespace zferry::daemon
