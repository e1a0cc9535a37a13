// `zferry configcheck`: loads the configuration as the daemon would (includes expanded, every
// value checked) and prints it, or prints the error and exits non-zero.
#include "tools/zferry/commands.hpp"

#include "core/overloaded.hpp"
#include "daemon/config/config_json.hpp"
#include "daemon/config/config_loader.hpp"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

namespace zferry::cli {
namespace {

namespace json = boost::json;

struct ConfigcheckOptions {
    std::string config;
    std::string format = "pretty";
    std::string what = "all";
    bool skip_cert_check = false;
};

void emit_yaml(YAML::Emitter& out, const json::value& v) {
    switch (v.kind()) {
        case json::kind::object:
            out << YAML::BeginMap;
            for (const auto& [k, x] : v.get_object()) {
                out << YAML::Key << std::string(k) << YAML::Value;
                emit_yaml(out, x);
            }
            out << YAML::EndMap;
            break;
        case json::kind::array:
            out << YAML::BeginSeq;
            for (const auto& x : v.get_array()) emit_yaml(out, x);
            out << YAML::EndSeq;
            break;
        case json::kind::string: out << std::string(v.get_string()); break;
        case json::kind::bool_: out << v.get_bool(); break;
        case json::kind::null: out << YAML::Null; break;
        default: out << json::serialize(v); break;
    }
}

std::string yaml_text(const json::value& v) {
    YAML::Emitter out;
    emit_yaml(out, v);
    return std::string(out.c_str()) + "\n";
}

// Pretty: the jobs as a table, the logging outlets one a line, the rest as YAML.
std::string pretty_jobs(const config::Config& c) {
    std::ostringstream ss;
    if (c.jobs.empty()) ss << "no jobs\n";
    for (const auto& j : c.jobs) {
        ss << std::left << std::setw(24) << j.name << " " << std::setw(6) << j.type();
        if (auto* x = j.connect()) ss << "  connect=" << config::connect_type(*x);
        if (auto* x = j.serve()) ss << "  serve=" << config::serve_type(*x);
        if (auto* x = j.snapshotting()) ss << "  snapshotting=" << config::snapshotting_type(*x);
        ss << "  (" << j.mark.file << ":" << j.mark.line << ")\n";
    }
    return ss.str();
}

std::string pretty_logging(const config::Global& g) {
    std::ostringstream ss;
    if (g.logging.empty()) ss << "no logging outlets\n";
    for (const auto& l : g.logging) {
        ss << std::left << std::setw(7) << l.type() << " level=" << config::to_string(l.level)
           << " format=" << config::to_string(l.format);
        std::visit(Overloaded{[&](const config::StdoutOutlet& s) {
                                  ss << " time=" << (s.time ? "true" : "false")
                                     << " color=" << (s.color ? "true" : "false");
                              },
                              [&](const config::SyslogOutlet& s) { ss << " facility=" << s.facility; },
                              [&](const config::TcpOutlet& s) {
                                  ss << " address=" << s.address << " net=" << s.net << (s.tls ? " tls" : "");
                              }},
                   l.outlet);
        ss << "\n";
    }
    return ss.str();
}

// What `--skip-cert-check` skips: the TLS files named by the configuration must be readable.
std::string check_cert_files(const config::Config& c) {
    auto readable = [](const std::string& path) -> std::string {
        std::ifstream in(path);
        if (in) return {};
        return std::strerror(errno);
    };
    auto check = [&](const std::string& where, const std::string& key,
                     const std::string& path) -> std::string {
        if (auto why = readable(path); !why.empty())
            return where + "key \"" + key + "\": cannot read " + path + ": " + why +
                   " (--skip-cert-check skips this check)";
        return {};
    };
    for (std::size_t i = 0; i < c.global.logging.size(); ++i)
        if (auto* t = std::get_if<config::TcpOutlet>(&c.global.logging[i].outlet); t && t->tls) {
            const auto base = "global.logging[" + std::to_string(i) + "].tls.";
            for (auto [k, p] : {std::pair{"ca", &t->tls->ca}, {"cert", &t->tls->cert}, {"key", &t->tls->key}})
                if (auto e = check("", base + k, *p); !e.empty()) return e;
        }
    for (const auto& j : c.jobs) {
        const auto where = "job \"" + j.name + "\": ";
        if (auto* x = j.connect())
            if (auto* t = std::get_if<config::TlsConnect>(x))
                for (auto [k, p] :
                     {std::pair{"connect.ca", &t->ca}, {"connect.cert", &t->cert}, {"connect.key", &t->key}})
                    if (auto e = check(where, k, *p); !e.empty()) return e;
        if (auto* x = j.serve())
            if (auto* t = std::get_if<config::TlsServe>(x))
                for (auto [k, p] :
                     {std::pair{"serve.ca", &t->ca}, {"serve.cert", &t->cert}, {"serve.key", &t->key}})
                    if (auto e = check(where, k, *p); !e.empty()) return e;
    }
    return {};
}

int configcheck(const ConfigcheckOptions& o) {
    const auto path = o.config.empty() ? config::default_config_path() : o.config;
    auto c = config::load_config(path);
    if (!c) {
        std::cerr << "zferry configcheck: " << c.error().message() << "\n";
        return 1;
    }
    if (!o.skip_cert_check)
        if (auto e = check_cert_files(*c); !e.empty()) {
            std::cerr << "zferry configcheck: " << path << ": " << e << "\n";
            return 1;
        }
    json::value v;
    if (o.what == "jobs")
        v = config::jobs_to_json(*c);
    else if (o.what == "logging")
        v = config::logging_to_json(c->global);
    else if (o.what == "config")
        v = config::to_json(*c);
    else
        v = json::object{{"config", config::to_json(*c)},
                         {"jobs", config::jobs_to_json(*c)},
                         {"logging", config::logging_to_json(c->global)}};
    if (o.format == "json") {
        std::cout << json::serialize(v) << "\n";
    } else if (o.format == "yaml") {
        std::cout << yaml_text(v);
    } else if (o.what == "jobs") {
        std::cout << pretty_jobs(*c);
    } else if (o.what == "logging") {
        std::cout << pretty_logging(c->global);
    } else if (o.what == "config") {
        std::cout << yaml_text(v);
    } else {
        std::cout << "configuration " << path << " is valid";
        if (!c->included_files.empty()) std::cout << " (" << c->included_files.size() << " included files)";
        std::cout << "\n\njobs:\n" << pretty_jobs(*c) << "\nlogging:\n" << pretty_logging(c->global);
    }
    return 0;
}

}  // namespace

void register_configcheck(CLI::App& app, ExitCode& rc, const GlobalOptions& global) {
    auto o = std::make_shared<ConfigcheckOptions>();
    auto* cmd = app.add_subcommand(
        "configcheck",
        "check the configuration and print it as loaded\n\n"
        "Loads the configuration as the daemon does (includes expanded, every value checked) and\n"
        "prints the part chosen by --what in the format chosen by --format. An invalid configuration\n"
        "is reported on stderr as file:line:column, job, key and what is expected; the exit status\n"
        "is then 1. Without --config the first existing file of /etc/zferry/zferry.yml,\n"
        "/etc/zrepl/zrepl.yml and /usr/local/etc/zrepl/zrepl.yml is used.");
    cmd->add_option("--config", o->config, "the configuration file (default: see above)");
    cmd->add_option("--format", o->format, "output format")
        ->check(CLI::IsMember({"pretty", "yaml", "json"}))
        ->default_str("pretty");
    cmd->add_option("--what", o->what,
                    "what to print: everything, the configuration, the jobs, the logging outlets")
        ->check(CLI::IsMember({"all", "config", "jobs", "logging"}))
        ->default_str("all");
    cmd->add_flag(
        "--skip-cert-check", o->skip_cert_check,
        "do not check that the TLS certificate and key files named by the configuration are readable");
    cmd->callback([o, &rc, &global] {
        if (o->config.empty()) o->config = global.config;
        rc.value = configcheck(*o);
    });
}

}  // namespace zferry::cli
