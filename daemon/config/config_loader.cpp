#include "daemon/config/config_loader.hpp"

#include "core/overloaded.hpp"
#include "core/units.hpp"
#include "daemon/config/tcp_client_map.hpp"
#include "daemon/snapshotting/zone_loader.hpp"
#include "replication/logic/job_id.hpp"
#include "zfs/dataset_path.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>

namespace zferry::config {

std::string_view to_string(ConfigErrc e) noexcept {
    switch (e) {
        case ConfigErrc::io: return "io";
        case ConfigErrc::syntax: return "syntax";
        case ConfigErrc::unknown_key: return "unknown_key";
        case ConfigErrc::wrong_type: return "wrong_type";
        case ConfigErrc::missing_key: return "missing_key";
        case ConfigErrc::invalid_value: return "invalid_value";
        case ConfigErrc::duplicate_key: return "duplicate_key";
        case ConfigErrc::duplicate_job_name: return "duplicate_job_name";
        case ConfigErrc::internal_job_name: return "internal_job_name";
        case ConfigErrc::invalid_job_name: return "invalid_job_name";
        case ConfigErrc::overlapping_root_fs: return "overlapping_root_fs";
        case ConfigErrc::invalid_include: return "invalid_include";
    }
    return "unknown";
}

namespace {

class ConfigCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "zferry.config"; }
    std::string message(int ev) const override {
        return "invalid configuration (" + std::string(to_string(static_cast<ConfigErrc>(ev))) + ")";
    }
};

}  // namespace

const boost::system::error_category& config_category() noexcept {
    static const ConfigCategory c;
    return c;
}

std::string ConfigError::message() const {
    std::string out = mark.file.empty() ? std::string("<config>") : mark.file;
    if (mark.line > 0) out += ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column);
    out += ": ";
    if (!job.empty()) out += "job \"" + job + "\": ";
    if (!key.empty()) out += "key \"" + key + "\": ";
    out += what;
    return out;
}

void throw_exception_from_error(const ConfigError& e, const boost::source_location&) {
    throw ErrorException(e.to_error());
}

std::string_view to_string(LogLevel l) noexcept {
    switch (l) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
    }
    return "?";
}
std::string_view to_string(LogFormat f) noexcept {
    switch (f) {
        case LogFormat::human: return "human";
        case LogFormat::logfmt: return "logfmt";
        case LogFormat::json: return "json";
    }
    return "?";
}
std::string_view to_string(PlaceholderEncryption e) noexcept {
    switch (e) {
        case PlaceholderEncryption::unspecified: return "unspecified";
        case PlaceholderEncryption::inherit: return "inherit";
        case PlaceholderEncryption::off: return "off";
    }
    return "?";
}

std::string_view LoggingOutlet::type() const noexcept {
    static constexpr std::string_view names[] = {"stdout", "syslog", "tcp"};
    return names[outlet.index()];
}
std::string_view connect_type(const Connect& c) noexcept {
    static constexpr std::string_view names[] = {"tcp", "tls", "ssh+stdinserver", "local"};
    return names[c.index()];
}
std::string_view serve_type(const Serve& s) noexcept {
    static constexpr std::string_view names[] = {"tcp", "tls", "stdinserver", "local"};
    return names[s.index()];
}
ZferryConnectLimits zferry_limits(const Connect& c) noexcept {
    return std::visit(Overloaded{[](const LocalConnect&) { return ZferryConnectLimits{}; },
                                 [](const auto& x) { return x.zferry; }},
                      c);
}
ZferryServeLimits zferry_limits(const Serve& s) noexcept {
    return std::visit(Overloaded{[](const LocalServe&) { return ZferryServeLimits{}; },
                                 [](const auto& x) { return x.zferry; }},
                      s);
}
std::string_view snapshotting_type(const Snapshotting& s) noexcept {
    static constexpr std::string_view names[] = {"periodic", "cron", "manual"};
    return names[s.index()];
}
std::string_view Job::type() const noexcept {
    static constexpr std::string_view names[] = {"push", "sink", "pull", "source", "snap"};
    return names[spec.index()];
}
const Connect* Job::connect() const noexcept {
    if (auto* p = std::get_if<PushJob>(&spec)) return &p->connect;
    if (auto* p = std::get_if<PullJob>(&spec)) return &p->connect;
    return nullptr;
}
const Serve* Job::serve() const noexcept {
    if (auto* p = std::get_if<SinkJob>(&spec)) return &p->serve;
    if (auto* p = std::get_if<SourceJob>(&spec)) return &p->serve;
    return nullptr;
}
const Snapshotting* Job::snapshotting() const noexcept {
    if (auto* p = std::get_if<PushJob>(&spec)) return &p->snapshotting;
    if (auto* p = std::get_if<SourceJob>(&spec)) return &p->snapshotting;
    if (auto* p = std::get_if<SnapJob>(&spec)) return &p->snapshotting;
    return nullptr;
}
const Job* Config::find_job(std::string_view name) const noexcept {
    for (const auto& j : jobs)
        if (j.name == name) return &j;
    return nullptr;
}

namespace {

// Internal: the loader throws this and parse_config turns it into its result.
struct Failure {
    ConfigError error;
};

// The state of one file being read: its name for marks and the job being read.
struct Ctx {
    std::string file;
    std::string job;
    const LoadEnvironment* env = nullptr;

    Mark mark(const YAML::Node& n, const Mark& fallback = {}) const {
        if (!n.IsDefined()) return fallback;
        auto m = n.Mark();
        if (m.line < 0) return fallback.line > 0 ? fallback : Mark{file, 0, 0};
        return Mark{file, m.line + 1, m.column + 1};
    }
    [[noreturn]] void fail(ConfigErrc kind, const Mark& m, const std::string& key, std::string what) const {
        throw Failure{ConfigError{kind, m, job, key, std::move(what)}};
    }
    [[noreturn]] void fail(ConfigErrc kind, const YAML::Node& n, const std::string& key,
                           std::string what) const {
        fail(kind, mark(n, Mark{file, 0, 0}), key, std::move(what));
    }
};

std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

const char* kind_of(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Map: return "a map";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Scalar: return "a scalar";
        case YAML::NodeType::Null: return "nothing";
        default: return "nothing";
    }
}

// A YAML value with the key path that leads to it.
struct Value {
    Ctx* ctx;
    YAML::Node node;
    std::string key;
    Mark where;  // the mark of the value or, for an empty value, of its key

    [[noreturn]] void fail(ConfigErrc kind, std::string what) const {
        ctx->fail(kind, where, key, std::move(what));
    }
    [[noreturn]] void wrong_type(std::string_view expected) const {
        fail(ConfigErrc::wrong_type, "expected " + std::string(expected) + ", got " + kind_of(node));
    }
    bool null() const { return !node.IsDefined() || node.IsNull(); }

    std::string str() const {
        if (!node.IsScalar()) wrong_type("text");
        return node.Scalar();
    }
    // Text that must not be empty (paths, addresses, names).
    std::string nonempty(std::string_view what) const {
        auto s = str();
        if (s.empty()) fail(ConfigErrc::invalid_value, "must not be empty; expected " + std::string(what));
        return s;
    }
    bool boolean() const {
        bool b = false;
        if (!node.IsScalar() || !YAML::convert<bool>::decode(node, b))
            wrong_type("a boolean (true or false)");
        return b;
    }
    long long integer() const {
        if (!node.IsScalar()) wrong_type("an integer");
        long long v = 0;
        const auto& s = node.Scalar();
        std::size_t pos = 0;
        try {
            v = std::stoll(s, &pos, 10);
        } catch (const std::exception&) {
            pos = 0;
        }
        if (pos == 0 || pos != s.size())
            fail(ConfigErrc::wrong_type, "expected an integer, got \"" + s + "\"");
        return v;
    }
    seconds duration(bool positive) const {
        auto s = str();
        auto r = positive ? parse_positive_duration(s) : parse_duration(s);
        if (!r) fail(ConfigErrc::invalid_value, r.error().context());
        // Timeouts are "zero or positive" in zrepl; no duration here may be negative.
        if (r->count() < 0)
            fail(ConfigErrc::invalid_value, "\"" + s + "\" is negative; expected a duration >= 0");
        return *r;
    }
    template <class E>
    E choice(std::initializer_list<std::pair<std::string_view, E>> options) const {
        auto s = str();
        std::string all;
        for (const auto& [name, e] : options) {
            if (name == s) return e;
            all += (all.empty() ? "" : ", ") + std::string(name);
        }
        fail(ConfigErrc::invalid_value, "\"" + s + "\" is not one of: " + all);
    }
    std::vector<std::string> strings() const {
        std::vector<std::string> out;
        if (null()) return out;
        if (!node.IsSequence()) wrong_type("a list of text");
        for (std::size_t i = 0; i < node.size(); ++i) out.push_back(item(i).str());
        return out;
    }
    std::size_t size() const { return node.IsSequence() ? node.size() : 0; }
    Value item(std::size_t i) const {
        YAML::Node n = node[i];
        return Value{ctx, n, index(key, i), ctx->mark(n, where)};
    }
    // A list whose elements the caller reads; an empty value is an empty list.
    std::size_t list() const {
        if (null()) return 0;
        if (!node.IsSequence()) wrong_type("a list");
        return node.size();
    }
};

// A YAML map read key by key; done() rejects the keys nobody asked for, as zrepl's strict
// parser does. A null value (a key with nothing after it) reads as an empty map.
class Map {
public:
    explicit Map(const Value& v) : v_(v) {
        if (v.null()) return;
        if (!v.node.IsMap()) v.wrong_type("a map");
        for (auto it = v.node.begin(); it != v.node.end(); ++it) {
            const YAML::Node k = it->first;
            const Mark km = v.ctx->mark(k, v.where);
            if (!k.IsScalar()) v.ctx->fail(ConfigErrc::wrong_type, km, v.key, "map keys must be text");
            const std::string name = k.Scalar();
            for (const auto& e : entries_)
                if (e.name == name)
                    v.ctx->fail(ConfigErrc::duplicate_key, km, join(v.key, name),
                                "given twice (first at line " + std::to_string(e.key_mark.line) + ")");
            entries_.push_back(Entry{name, km, it->second, false});
        }
    }

    // The value under `key`, or nullopt when absent.
    std::optional<Value> get(std::string_view key) {
        for (auto& e : entries_)
            if (e.name == key) {
                e.used = true;
                return Value{v_.ctx, e.value, join(v_.key, key), value_mark(e)};
            }
        return std::nullopt;
    }
    // Absent or null both count as "not given" for optional sections.
    std::optional<Value> opt(std::string_view key) {
        auto v = get(key);
        if (v && v->null()) return std::nullopt;
        return v;
    }
    Value need(std::string_view key, std::string_view expected) {
        auto v = get(key);
        if (!v)
            v_.ctx->fail(ConfigErrc::missing_key, v_.where, join(v_.key, key),
                         "required key is missing; expected " + std::string(expected));
        if (v->null())
            v_.ctx->fail(ConfigErrc::missing_key, v->where, v->key,
                         "required key has no value; expected " + std::string(expected));
        return *v;
    }
    void done() const {
        for (const auto& e : entries_)
            if (!e.used)
                v_.ctx->fail(ConfigErrc::unknown_key, e.key_mark, join(v_.key, e.name),
                             "unknown key here" + hint());
    }
    const Value& value() const { return v_; }
    const std::vector<std::string> keys() const {
        std::vector<std::string> out;
        for (const auto& e : entries_) out.push_back(e.name);
        return out;
    }
    void set_known(std::initializer_list<std::string_view> known) { known_ = known; }
    const std::vector<std::pair<std::string, Value>> all() {
        std::vector<std::pair<std::string, Value>> out;
        for (auto& e : entries_) {
            e.used = true;
            out.emplace_back(e.name, Value{v_.ctx, e.value, join(v_.key, e.name), value_mark(e)});
        }
        return out;
    }
    Mark key_mark(std::string_view key) const {
        for (const auto& e : entries_)
            if (e.name == key) return e.key_mark;
        return v_.where;
    }

private:
    std::string hint() const {
        if (known_.empty()) return "";
        std::string s = " (expected one of: ";
        for (std::size_t i = 0; i < known_.size(); ++i) s += (i ? ", " : "") + std::string(known_[i]);
        return s + ")";
    }
    struct Entry {
        std::string name;
        Mark key_mark;
        YAML::Node value;
        bool used;
    };
    // An empty value has no position of its own (yaml-cpp gives the next token's): use its key's.
    Mark value_mark(const Entry& e) const {
        return e.value.IsNull() ? e.key_mark : v_.ctx->mark(e.value, e.key_mark);
    }
    Value v_;
    std::vector<Entry> entries_;
    std::vector<std::string_view> known_;
};

// ---- sections ----------------------------------------------------------------------------

std::string type_of(Map& m, std::string_view expected) { return m.need("type", expected).str(); }

[[noreturn]] void bad_type(Map& m, const std::string& type, std::string_view expected) {
    auto v = *m.get("type");
    v.fail(ConfigErrc::invalid_value,
           "unknown type \"" + type + "\"; expected one of: " + std::string(expected));
}

replication::FilesystemFilter filesystems(const Value& v) {
    Map m(v);
    replication::FilesystemFilter f;
    for (auto& [pattern, val] : m.all()) {
        const bool accept = val.boolean();
        if (auto r = f.add(pattern, accept); !r)
            val.ctx->fail(ConfigErrc::invalid_value, m.key_mark(pattern), val.key, r.error().context());
    }
    return f;
}

replication::FilesystemFilter all_filesystems() {
    replication::FilesystemFilter f;
    (void)f.add("<", true);
    return f;
}

BandwidthLimit bandwidth_limit(const Value& v) {
    BandwidthLimit out;
    Map m(v);
    m.set_known({"max", "bucket_capacity"});
    if (auto max = m.opt("max")) {
        auto r = parse_data_size_bits(max->str());
        if (!r) max->fail(ConfigErrc::invalid_value, r.error().context());
        if (*r == 0)
            max->fail(ConfigErrc::invalid_value,
                      "must not be zero; expected a rate such as \"50 MiB\", or \"-1 B\" for unlimited");
        if (*r < 0 && *r != -8)
            max->fail(ConfigErrc::invalid_value, "a negative rate can only be \"-1 B\" (unlimited)");
        if (*r > 0) out.max_bytes_per_second = *r / 8;
    }
    if (auto cap = m.opt("bucket_capacity")) {
        auto r = parse_data_size_bits(cap->str());
        if (!r) cap->fail(ConfigErrc::invalid_value, r.error().context());
        if (*r <= 0) cap->fail(ConfigErrc::invalid_value, "must be positive, e.g. \"128 KiB\"");
        out.bucket_capacity_bytes = *r / 8;
    }
    m.done();
    return out;
}

SendOptions send_options(const Value& v) {
    SendOptions o;
    Map m(v);
    m.set_known({"encrypted", "raw", "send_properties", "backup_properties", "large_blocks", "compressed",
                 "embedded_data", "saved", "bandwidth_limit"});
    auto flag = [&](std::string_view key, bool& out) {
        if (auto x = m.opt(key)) out = x->boolean();
    };
    flag("encrypted", o.encrypted);
    flag("raw", o.raw);
    flag("send_properties", o.send_properties);
    flag("backup_properties", o.backup_properties);
    flag("large_blocks", o.large_blocks);
    flag("compressed", o.compressed);
    flag("embedded_data", o.embedded_data);
    flag("saved", o.saved);
    if (auto b = m.opt("bandwidth_limit")) o.bandwidth_limit = bandwidth_limit(*b);
    m.done();
    return o;
}

std::string property_name(const Value& v) {
    auto s = v.str();
    if (auto r = zfs::property_namecheck(s); !r) v.fail(ConfigErrc::invalid_value, r.error().context());
    return s;
}

RecvOptions recv_options(const Value& v) {
    RecvOptions o;
    Map m(v);
    m.set_known({"properties", "placeholder", "bandwidth_limit"});
    if (auto p = m.opt("properties")) {
        Map pm(*p);
        pm.set_known({"inherit", "override"});
        if (auto inh = pm.opt("inherit")) {
            const auto n = inh->list();
            for (std::size_t i = 0; i < n; ++i) o.properties_inherit.push_back(property_name(inh->item(i)));
        }
        if (auto ov = pm.opt("override")) {
            Map om(*ov);
            for (auto& [name, val] : om.all()) {
                if (auto r = zfs::property_namecheck(name); !r)
                    val.fail(ConfigErrc::invalid_value, r.error().context());
                o.properties_override.emplace_back(name, val.str());
            }
        }
        pm.done();
    }
    if (auto p = m.opt("placeholder")) {
        Map pm(*p);
        pm.set_known({"encryption"});
        if (auto e = pm.opt("encryption"))
            o.placeholder_encryption =
                e->choice<PlaceholderEncryption>({{"unspecified", PlaceholderEncryption::unspecified},
                                                  {"inherit", PlaceholderEncryption::inherit},
                                                  {"off", PlaceholderEncryption::off}});
        pm.done();
    }
    if (auto b = m.opt("bandwidth_limit")) o.bandwidth_limit = bandwidth_limit(*b);
    m.done();
    return o;
}

replication::GuaranteeKind guarantee(const Value& v) {
    return v.choice<replication::GuaranteeKind>(
        {{"guarantee_resumability", replication::GuaranteeKind::resumability},
         {"guarantee_incremental", replication::GuaranteeKind::incremental},
         {"guarantee_nothing", replication::GuaranteeKind::nothing}});
}

ReplicationOptions replication_options(const Value& v) {
    ReplicationOptions o;
    Map m(v);
    m.set_known({"protection", "concurrency", "coalesce"});
    if (auto p = m.opt("protection")) {
        Map pm(*p);
        pm.set_known({"initial", "incremental"});
        if (auto x = pm.opt("initial")) o.protection_initial = guarantee(*x);
        if (auto x = pm.opt("incremental")) o.protection_incremental = guarantee(*x);
        pm.done();
    }
    if (auto c = m.opt("concurrency")) {
        Map cm(*c);
        cm.set_known({"steps", "size_estimates"});
        auto count = [&](std::string_view key, int& out) {
            if (auto x = cm.opt(key)) {
                const auto n = x->integer();
                if (n < 1 || n > 1024)
                    x->fail(ConfigErrc::invalid_value, "expected an integer from 1 to 1024");
                out = static_cast<int>(n);
            }
        };
        count("steps", o.concurrency_steps);
        count("size_estimates", o.concurrency_size_estimates);
        cm.done();
    }
    if (auto c = m.opt("coalesce")) o.coalesce = c->boolean();
    m.done();
    return o;
}

replication::InitialReplicationPolicy conflict_resolution(const Value& v) {
    Map m(v);
    m.set_known({"initial_replication"});
    auto out = replication::InitialReplicationPolicy::most_recent;
    if (auto x = m.opt("initial_replication")) {
        auto p = replication::parse_initial_replication_policy(x->str());
        if (!p)
            x->fail(ConfigErrc::invalid_value, "\"" + x->str() + "\" is not one of: most_recent, all, fail");
        out = *p;
    }
    m.done();
    return out;
}

pruning::KeepRuleConfig keep_rule(const Value& v) {
    Map m(v);
    const auto type = type_of(m, "not_replicated, last_n, regex or grid");
    pruning::KeepRuleConfig out;
    if (type == "not_replicated") {
        m.set_known({"type", "keep_snapshot_at_cursor"});
        pruning::NotReplicatedConfig c;
        if (auto x = m.opt("keep_snapshot_at_cursor")) c.keep_snapshot_at_cursor = x->boolean();
        out = c;
    } else if (type == "last_n") {
        m.set_known({"type", "count", "regex"});
        pruning::LastNConfig c;
        c.count = m.need("count", "a positive integer").integer();
        if (auto x = m.opt("regex")) c.regex = x->str();
        out = c;
    } else if (type == "regex") {
        m.set_known({"type", "regex", "negate"});
        pruning::RegexConfig c;
        c.regex = m.need("regex", "a regular expression (RE2 syntax)").str();
        if (auto x = m.opt("negate")) c.negate = x->boolean();
        out = c;
    } else if (type == "grid") {
        m.set_known({"type", "grid", "regex"});
        pruning::GridConfig c;
        c.grid = m.need("grid", "a grid such as \"1x1h(keep=all) | 24x1h | 30x1d\"").str();
        c.regex = m.need("regex", "a regular expression (RE2 syntax)").str();
        out = c;
    } else {
        bad_type(m, type, "not_replicated, last_n, regex, grid");
    }
    m.done();
    if (auto r = pruning::KeepRule::make(out); !r) v.fail(ConfigErrc::invalid_value, r.error().context());
    return out;
}

KeepRules keep_rules(const Value& v) {
    KeepRules out;
    const auto n = v.list();
    for (std::size_t i = 0; i < n; ++i) out.push_back(keep_rule(v.item(i)));
    return out;
}

HookConfig hook(const Value& v) {
    Map m(v);
    HookConfig h;
    h.type = type_of(m, "command, postgres-checkpoint or mysql-lock-tables");
    h.filesystems = all_filesystems();
    if (auto x = m.opt("err_is_fatal")) h.err_is_fatal = x->boolean();
    if (auto x = m.opt("filesystems")) h.filesystems = filesystems(*x);
    auto timeout = [&]() {
        seconds t{30};
        if (auto x = m.opt("timeout")) t = x->duration(true);
        return t;
    };
    if (h.type == "command") {
        m.set_known({"type", "path", "timeout", "err_is_fatal", "filesystems"});
        CommandHookConfig c;
        auto p = m.need("path", "the absolute path of an executable");
        c.path = p.str();
        if (c.path.empty() || c.path.front() != '/')
            p.fail(ConfigErrc::invalid_value,
                   "\"" + c.path + "\" is not absolute; expected the absolute path of an executable");
        c.timeout = timeout();
        h.settings = c;
    } else if (h.type == "postgres-checkpoint" || h.type == "mysql-lock-tables") {
        m.set_known({"type", "dsn", "timeout", "err_is_fatal", "filesystems"});
        DatabaseHookConfig c;
        c.dsn = m.need("dsn", "the database connection string").nonempty("a connection string");
        c.timeout = timeout();
        h.settings = c;
    } else {
        bad_type(m, h.type, "command, postgres-checkpoint, mysql-lock-tables");
    }
    m.done();
    return h;
}

// Checks prefix + timestamp format + location as the snapshotter will use them.
void check_naming(Ctx& ctx, Map& m, const Value& prefix, const std::string& p, const std::string& format,
                  const std::string& location) {
    auto zone = ctx.env->load_zone(location);
    if (!zone) {
        auto v = m.get("timestamp_location");
        (v ? *v : prefix).fail(ConfigErrc::invalid_value, zone.error().context());
    }
    auto tf = snapshotting::TimestampFormat::make(format, *zone);
    if (!tf) {
        auto v = m.get("timestamp_format");
        (v ? *v : prefix).fail(ConfigErrc::invalid_value, tf.error().context());
    }
    if (auto n = snapshotting::SnapshotNaming::make(p, *tf); !n)
        prefix.fail(ConfigErrc::invalid_value, n.error().context());
}

std::vector<HookConfig> hooks(const Value& v) {
    std::vector<HookConfig> out;
    const auto n = v.list();
    for (std::size_t i = 0; i < n; ++i) out.push_back(hook(v.item(i)));
    return out;
}

Snapshotting snapshotting_section(Ctx& ctx, const Value& v) {
    Map m(v);
    const auto type = type_of(m, "periodic, cron or manual");
    Snapshotting out;
    auto common = [&](auto& s) {
        auto prefix = m.need("prefix", "the snapshot name prefix, e.g. zrepl_");
        s.prefix = prefix.str();
        if (auto x = m.opt("timestamp_format")) s.timestamp_format = x->str();
        if (auto x = m.opt("timestamp_location")) s.timestamp_location = x->str();
        if (auto x = m.opt("hooks")) s.hooks = hooks(*x);
        check_naming(ctx, m, prefix, s.prefix, s.timestamp_format, s.timestamp_location);
    };
    if (type == "periodic") {
        m.set_known({"type", "prefix", "interval", "timestamp_format", "timestamp_location", "hooks"});
        PeriodicSnapshotting s;
        s.interval = m.need("interval", "a positive duration such as 10m").duration(true);
        common(s);
        out = std::move(s);
    } else if (type == "cron") {
        m.set_known({"type", "prefix", "cron", "timestamp_format", "timestamp_location", "hooks"});
        CronSnapshotting s;
        auto cron = m.need("cron", "a cron spec such as \"*/15 * * * *\"");
        s.cron = cron.str();
        auto spec = snapshotting::CronSpec::parse(s.cron);
        if (!spec) cron.fail(ConfigErrc::invalid_value, spec.error().context());
        if (!spec->time_zone_name().empty())
            if (auto z = ctx.env->load_zone(spec->time_zone_name()); !z)
                cron.fail(ConfigErrc::invalid_value, z.error().context());
        common(s);
        out = std::move(s);
    } else if (type == "manual") {
        m.set_known({"type"});
        out = ManualSnapshotting{};
    } else {
        bad_type(m, type, "periodic, cron, manual");
    }
    m.done();
    return out;
}

std::string identity(const Value& v) {
    auto s = v.str();
    if (auto r = zfs::component_namecheck(s); !r)
        v.fail(ConfigErrc::invalid_value,
               "\"" + s +
                   "\" is not a valid client identity (one dataset name component): " + r.error().context());
    return s;
}

// An integer from `lo` to `hi` (a count or limit of zferry's own keys).
std::size_t count_in(const Value& x, long long lo, long long hi, std::string_view meaning) {
    const auto n = x.integer();
    if (n < lo || n > hi)
        x.fail(ConfigErrc::invalid_value, "expected an integer from " + std::to_string(lo) + " to " +
                                              std::to_string(hi) + " (" + std::string(meaning) + ")");
    return static_cast<std::size_t>(n);
}

// `connect.zferry` (tcp, tls, ssh+stdinserver): zferry's own keys, see docs/configuration.md.
void connect_limits(Map& m, ZferryConnectLimits& out) {
    auto z = m.opt("zferry");
    if (!z) return;
    Map zm(*z);
    zm.set_known({"dataconn_idle_max", "dataconn_idle_timeout"});
    if (auto x = zm.opt("dataconn_idle_max"))
        out.dataconn_idle_max = count_in(*x, 0, 1024, "idle data connections kept; 0 keeps none");
    if (auto x = zm.opt("dataconn_idle_timeout")) out.dataconn_idle_timeout = x->duration(true);
    zm.done();
}

// `serve.zferry` (tcp, tls, stdinserver).
void serve_limits(Map& m, ZferryServeLimits& out) {
    auto z = m.opt("zferry");
    if (!z) return;
    Map zm(*z);
    zm.set_known(
        {"dataconn_next_request_timeout", "control_connections_per_identity", "control_connections_max"});
    if (auto x = zm.opt("dataconn_next_request_timeout"))
        out.dataconn_next_request_timeout = x->duration(true);
    if (auto x = zm.opt("control_connections_per_identity"))
        out.control_connections_per_identity = count_in(*x, 0, 65536, "0 means no limit");
    if (auto x = zm.opt("control_connections_max"))
        out.control_connections_max = count_in(*x, 0, 65536, "0 means no limit");
    zm.done();
}

seconds dial_timeout(Map& m) {
    if (auto x = m.opt("dial_timeout")) return x->duration(false);
    return seconds{10};
}

Connect connect_section(const Value& v) {
    Map m(v);
    const auto type = type_of(m, "tcp, tls, ssh+stdinserver or local");
    Connect out;
    if (type == "tcp") {
        m.set_known({"type", "address", "dial_timeout", "zferry"});
        TcpConnect c;
        c.address = m.need("address", "host:port").nonempty("host:port");
        c.dial_timeout = dial_timeout(m);
        connect_limits(m, c.zferry);
        out = c;
    } else if (type == "tls") {
        m.set_known({"type", "address", "ca", "cert", "key", "server_cn", "dial_timeout", "zferry"});
        TlsConnect c;
        c.address = m.need("address", "host:port").nonempty("host:port");
        c.ca = m.need("ca", "the path of the CA certificate (PEM)").nonempty("a file path");
        c.cert = m.need("cert", "the path of this client's certificate (PEM)").nonempty("a file path");
        c.key = m.need("key", "the path of this client's private key (PEM)").nonempty("a file path");
        c.server_cn = m.need("server_cn", "the server certificate's common name").nonempty("a common name");
        c.dial_timeout = dial_timeout(m);
        connect_limits(m, c.zferry);
        out = c;
    } else if (type == "ssh+stdinserver") {
        m.set_known({"type", "host", "user", "port", "identity_file", "transport_open_command", "ssh_command",
                     "options", "dial_timeout", "zferry"});
        SshConnect c;
        c.host = m.need("host", "the ssh server's host name").nonempty("a host name");
        c.user = m.need("user", "the ssh user").nonempty("a user name");
        auto port = m.need("port", "the ssh port (1-65535)");
        const auto p = port.integer();
        if (p < 1 || p > 65535) port.fail(ConfigErrc::invalid_value, "expected a port from 1 to 65535");
        c.port = static_cast<std::uint16_t>(p);
        c.identity_file = m.need("identity_file", "the path of the ssh private key").nonempty("a file path");
        if (auto x = m.opt("transport_open_command")) c.transport_open_command = x->strings();
        if (auto x = m.opt("ssh_command")) c.ssh_command = x->nonempty("the ssh binary");
        if (auto x = m.opt("options")) c.options = x->strings();
        c.dial_timeout = dial_timeout(m);
        connect_limits(m, c.zferry);
        out = c;
    } else if (type == "local") {
        m.set_known({"type", "listener_name", "client_identity", "dial_timeout"});
        LocalConnect c;
        c.listener_name =
            m.need("listener_name", "the listener_name of a local sink or source").nonempty("a name");
        c.client_identity =
            identity(m.need("client_identity", "this client's identity (one dataset name component)"));
        c.dial_timeout = dial_timeout(m);
        out = c;
    } else {
        bad_type(m, type, "tcp, tls, ssh+stdinserver, local");
    }
    m.done();
    return out;
}

Serve serve_section(const Value& v) {
    Map m(v);
    const auto type = type_of(m, "tcp, tls, stdinserver or local");
    Serve out;
    auto freebind = [&]() {
        if (auto x = m.opt("listen_freebind")) return x->boolean();
        return false;
    };
    if (type == "tcp") {
        m.set_known({"type", "listen", "listen_freebind", "clients", "zferry"});
        TcpServe s;
        s.listen = m.need("listen", "[host]:port").nonempty("[host]:port");
        s.listen_freebind = freebind();
        auto clients = m.need("clients", "a map of client IP or CIDR to identity");
        Map cm(clients);
        for (auto& [k, val] : cm.all()) {
            s.clients.emplace_back(k, val.str());
            std::pair<std::string, std::string> one[] = {s.clients.back()};
            if (auto r = TcpClientMap::make(one); !r)
                val.fail(ConfigErrc::invalid_value, r.error().context());
        }
        serve_limits(m, s.zferry);
        out = s;
    } else if (type == "tls") {
        m.set_known({"type", "listen", "listen_freebind", "ca", "cert", "key", "client_cns",
                     "handshake_timeout", "zferry"});
        TlsServe s;
        s.listen = m.need("listen", "[host]:port").nonempty("[host]:port");
        s.listen_freebind = freebind();
        s.ca = m.need("ca", "the path of the CA certificate (PEM)").nonempty("a file path");
        s.cert = m.need("cert", "the path of this server's certificate (PEM)").nonempty("a file path");
        s.key = m.need("key", "the path of this server's private key (PEM)").nonempty("a file path");
        auto cns = m.need("client_cns", "a list of client certificate common names");
        const auto n = cns.list();
        for (std::size_t i = 0; i < n; ++i) s.client_cns.push_back(identity(cns.item(i)));
        if (auto x = m.opt("handshake_timeout")) s.handshake_timeout = x->duration(false);
        serve_limits(m, s.zferry);
        out = s;
    } else if (type == "stdinserver") {
        m.set_known({"type", "client_identities", "zferry"});
        StdinserverServe s;
        auto ids = m.need("client_identities", "a list of client identities");
        const auto n = ids.list();
        for (std::size_t i = 0; i < n; ++i) s.client_identities.push_back(identity(ids.item(i)));
        serve_limits(m, s.zferry);
        out = s;
    } else if (type == "local") {
        m.set_known({"type", "listener_name"});
        LocalServe s;
        s.listener_name =
            m.need("listener_name", "a name local push or pull jobs connect to").nonempty("a name");
        out = s;
    } else {
        bad_type(m, type, "tcp, tls, stdinserver, local");
    }
    m.done();
    return out;
}

DebugSettings debug_section(const Value& v) {
    DebugSettings d;
    Map m(v);
    m.set_known({"conn", "rpc_log"});
    if (auto c = m.opt("conn")) {
        Map cm(*c);
        cm.set_known({"read_dump", "write_dump"});
        if (auto x = cm.opt("read_dump")) d.conn_read_dump = x->str();
        if (auto x = cm.opt("write_dump")) d.conn_write_dump = x->str();
        cm.done();
    }
    if (auto x = m.opt("rpc_log")) d.rpc_log = x->boolean();
    m.done();
    return d;
}

std::string root_fs(const Value& v) {
    auto s = v.str();
    auto p = zfs::DatasetPath::parse(s);
    if (!p) v.fail(ConfigErrc::invalid_value, p.error().context());
    if (p->empty())
        v.fail(ConfigErrc::invalid_value, "must name a dataset below the pool root, e.g. pool/backups");
    return s;
}

void pruning_sender_receiver(Map& m, KeepRules& sender, KeepRules& receiver) {
    auto p = m.need("pruning", "keep_sender and keep_receiver rules");
    Map pm(p);
    pm.set_known({"keep_sender", "keep_receiver"});
    sender = keep_rules(pm.need("keep_sender", "a list of keep rules"));
    receiver = keep_rules(pm.need("keep_receiver", "a list of keep rules"));
    pm.done();
}

Job job(Ctx& ctx, const Value& v, std::size_t i) {
    ctx.job = "jobs[" + std::to_string(i) + "]";
    // Name the job in errors found before its name is read (a duplicate key, say).
    if (v.node.IsMap())
        if (const auto n = v.node["name"]; n.IsDefined() && n.IsScalar() && !n.Scalar().empty())
            ctx.job = n.Scalar();
    Job j;
    j.mark = v.where;
    Value jv = v;
    jv.key.clear();  // keys inside a job are named from the job
    Map m(jv);
    auto name = m.need("name", "the job's name");
    j.name = name.str();
    if (!j.name.empty()) ctx.job = j.name;
    if (!j.name.empty() && j.name.front() == '_')
        name.fail(ConfigErrc::internal_job_name,
                  "job names starting with '_' are reserved for internal jobs");
    if (auto id = replication::JobId::make(j.name); !id)
        name.fail(ConfigErrc::invalid_job_name, id.error().context());
    const auto type = type_of(m, "push, sink, pull, source or snap");
    if (auto d = m.opt("debug")) j.debug = debug_section(*d);
    if (type == "push") {
        m.set_known({"name", "type", "debug", "connect", "filesystems", "snapshotting", "send", "replication",
                     "conflict_resolution", "pruning"});
        PushJob p;
        p.connect =
            connect_section(m.need("connect", "a connect section (type tcp, tls, ssh+stdinserver or local)"));
        p.filesystems = filesystems(m.need("filesystems", "a filesystem filter such as {\"pool<\": true}"));
        p.snapshotting = snapshotting_section(
            ctx, m.need("snapshotting", "a snapshotting section (type periodic, cron or manual)"));
        if (auto x = m.opt("send")) p.send = send_options(*x);
        if (auto x = m.opt("replication")) p.replication = replication_options(*x);
        if (auto x = m.opt("conflict_resolution")) p.initial_replication = conflict_resolution(*x);
        pruning_sender_receiver(m, p.keep_sender, p.keep_receiver);
        j.spec = std::move(p);
    } else if (type == "pull") {
        m.set_known({"name", "type", "debug", "connect", "root_fs", "interval", "recv", "replication",
                     "conflict_resolution", "pruning"});
        PullJob p;
        p.connect =
            connect_section(m.need("connect", "a connect section (type tcp, tls, ssh+stdinserver or local)"));
        p.root_fs = root_fs(m.need("root_fs", "the dataset to receive into"));
        auto iv = m.need("interval", "a positive duration such as 10m, or manual");
        auto r = parse_positive_duration_or_manual(iv.str());
        if (!r) iv.fail(ConfigErrc::invalid_value, r.error().context());
        p.interval_manual = r->manual;
        p.interval = r->interval;
        if (auto x = m.opt("recv")) p.recv = recv_options(*x);
        if (auto x = m.opt("replication")) p.replication = replication_options(*x);
        if (auto x = m.opt("conflict_resolution")) p.initial_replication = conflict_resolution(*x);
        pruning_sender_receiver(m, p.keep_sender, p.keep_receiver);
        j.spec = std::move(p);
    } else if (type == "sink") {
        m.set_known({"name", "type", "debug", "serve", "root_fs", "recv"});
        SinkJob s;
        s.serve = serve_section(m.need("serve", "a serve section (type tcp, tls, stdinserver or local)"));
        s.root_fs = root_fs(m.need("root_fs", "the dataset to receive into"));
        if (auto x = m.opt("recv")) s.recv = recv_options(*x);
        j.spec = std::move(s);
    } else if (type == "source") {
        m.set_known({"name", "type", "debug", "serve", "filesystems", "snapshotting", "send"});
        SourceJob s;
        s.serve = serve_section(m.need("serve", "a serve section (type tcp, tls, stdinserver or local)"));
        s.filesystems = filesystems(m.need("filesystems", "a filesystem filter such as {\"pool<\": true}"));
        s.snapshotting = snapshotting_section(
            ctx, m.need("snapshotting", "a snapshotting section (type periodic, cron or manual)"));
        if (auto x = m.opt("send")) s.send = send_options(*x);
        j.spec = std::move(s);
    } else if (type == "snap") {
        m.set_known({"name", "type", "debug", "filesystems", "snapshotting", "pruning"});
        SnapJob s;
        s.filesystems = filesystems(m.need("filesystems", "a filesystem filter such as {\"pool<\": true}"));
        s.snapshotting = snapshotting_section(
            ctx, m.need("snapshotting", "a snapshotting section (type periodic, cron or manual)"));
        auto p = m.need("pruning", "keep rules");
        Map pm(p);
        pm.set_known({"keep"});
        auto keep = pm.need("keep", "a list of keep rules");
        s.keep = keep_rules(keep);
        if (auto r = pruning::reject_not_replicated(s.keep, "pruning.keep"); !r)
            keep.fail(ConfigErrc::invalid_value, r.error().context());
        pm.done();
        j.spec = std::move(s);
    } else {
        bad_type(m, type, "push, sink, pull, source, snap");
    }
    m.done();
    ctx.job.clear();
    return j;
}

void jobs(Ctx& ctx, const Value& v, std::vector<Job>& out) {
    const auto n = v.list();
    for (std::size_t i = 0; i < n; ++i) out.push_back(job(ctx, v.item(i), out.size()));
}

LogLevel log_level(const Value& v) {
    return v.choice<LogLevel>({{"debug", LogLevel::debug},
                               {"info", LogLevel::info},
                               {"warn", LogLevel::warn},
                               {"error", LogLevel::error}});
}

Global global(const Value& v) {
    Global g;
    Map m(v);
    m.set_known({"logging", "monitoring", "control", "serve"});
    if (auto l = m.get("logging")) {
        g.logging.clear();
        const auto n = l->list();
        for (std::size_t i = 0; i < n; ++i) {
            Map om(l->item(i));
            LoggingOutlet o;
            const auto type = type_of(om, "stdout, syslog or tcp");
            o.level = log_level(om.need("level", "debug, info, warn or error"));
            o.format = om.need("format", "human, logfmt or json")
                           .choice<LogFormat>({{"human", LogFormat::human},
                                               {"logfmt", LogFormat::logfmt},
                                               {"json", LogFormat::json}});
            if (type == "stdout") {
                om.set_known({"type", "level", "format", "time", "color"});
                StdoutOutlet s;
                if (auto x = om.opt("time")) s.time = x->boolean();
                if (auto x = om.opt("color")) s.color = x->boolean();
                o.outlet = s;
            } else if (type == "syslog") {
                om.set_known({"type", "level", "format", "facility", "retry_interval"});
                SyslogOutlet s;
                if (auto x = om.opt("facility"))
                    s.facility = std::string(x->choice<std::string_view>(
                        {{"kern", "kern"},     {"user", "user"},         {"mail", "mail"},
                         {"daemon", "daemon"}, {"auth", "auth"},         {"syslog", "syslog"},
                         {"lpr", "lpr"},       {"news", "news"},         {"uucp", "uucp"},
                         {"cron", "cron"},     {"authpriv", "authpriv"}, {"ftp", "ftp"},
                         {"local0", "local0"}, {"local1", "local1"},     {"local2", "local2"},
                         {"local3", "local3"}, {"local4", "local4"},     {"local5", "local5"},
                         {"local6", "local6"}, {"local7", "local7"}}));
                if (auto x = om.opt("retry_interval")) s.retry_interval = x->duration(true);
                o.outlet = s;
            } else if (type == "tcp") {
                om.set_known({"type", "level", "format", "address", "net", "retry_interval", "tls"});
                TcpOutlet s;
                s.address = om.need("address", "host:port").nonempty("host:port");
                if (auto x = om.opt("net"))
                    s.net = std::string(
                        x->choice<std::string_view>({{"tcp", "tcp"}, {"tcp4", "tcp4"}, {"tcp6", "tcp6"}}));
                if (auto x = om.opt("retry_interval")) s.retry_interval = x->duration(true);
                if (auto x = om.opt("tls")) {
                    Map tm(*x);
                    tm.set_known({"ca", "cert", "key"});
                    TcpOutletTls t;
                    t.ca = tm.need("ca", "the path of the CA certificate").nonempty("a file path");
                    t.cert = tm.need("cert", "the path of the client certificate").nonempty("a file path");
                    t.key = tm.need("key", "the path of the client key").nonempty("a file path");
                    tm.done();
                    s.tls = t;
                }
                o.outlet = s;
            } else {
                bad_type(om, type, "stdout, syslog, tcp");
            }
            om.done();
            g.logging.push_back(std::move(o));
        }
    }
    if (auto mon = m.opt("monitoring")) {
        const auto n = mon->list();
        for (std::size_t i = 0; i < n; ++i) {
            Map pm(mon->item(i));
            const auto type = type_of(pm, "prometheus");
            if (type != "prometheus") bad_type(pm, type, "prometheus");
            pm.set_known({"type", "listen", "listen_freebind"});
            PrometheusMonitoring p;
            p.listen = pm.need("listen", "[host]:port, e.g. \":9811\"").nonempty("[host]:port");
            if (auto x = pm.opt("listen_freebind")) p.listen_freebind = x->boolean();
            pm.done();
            g.monitoring.push_back(std::move(p));
        }
    }
    if (auto c = m.opt("control")) {
        Map cm(*c);
        cm.set_known({"sockpath"});
        if (auto x = cm.opt("sockpath")) g.control_sockpath = x->nonempty("a unix socket path");
        cm.done();
    }
    if (auto s = m.opt("serve")) {
        Map sm(*s);
        sm.set_known({"stdinserver"});
        if (auto x = sm.opt("stdinserver")) {
            Map xm(*x);
            xm.set_known({"sockdir"});
            if (auto d = xm.opt("sockdir")) g.stdinserver_sockdir = d->nonempty("a directory");
            xm.done();
        }
        sm.done();
    }
    m.done();
    return g;
}

YAML::Node parse_yaml(const Ctx& ctx, std::string_view text) {
    try {
        return YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        Mark m{ctx.file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0};
        ctx.fail(ConfigErrc::syntax, m, "", "not valid YAML: " + e.msg);
    }
}

// The receiving sides (sinks and pulls) must not receive into each other's datasets; zrepl
// compares the strings, zferry compares dataset components ("pool/a" and "pool/ab" do not overlap).
void check_root_fs_overlap(const Config& c) {
    struct Recv {
        const Job* job;
        zfs::DatasetPath path;
    };
    std::vector<Recv> recv;
    for (const auto& j : c.jobs) {
        const std::string* rfs = nullptr;
        if (auto* s = std::get_if<SinkJob>(&j.spec)) rfs = &s->root_fs;
        if (auto* p = std::get_if<PullJob>(&j.spec)) rfs = &p->root_fs;
        if (rfs) recv.push_back({&j, *zfs::DatasetPath::parse(*rfs)});
    }
    for (std::size_t b = 1; b < recv.size(); ++b)
        for (std::size_t a = 0; a < b; ++a) {
            const auto& first = recv[a];
            const auto& later = recv[b];
            if (!later.path.has_prefix(first.path) && !first.path.has_prefix(later.path)) continue;
            throw Failure{
                ConfigError{ConfigErrc::overlapping_root_fs, later.job->mark, later.job->name, "root_fs",
                            "receiving jobs \"" + first.job->name + "\" (root_fs " + first.path.to_string() +
                                ") and \"" + later.job->name + "\" (root_fs " + later.path.to_string() +
                                ") use overlapping root filesystems; give each its own dataset"}};
        }
}

Config parse(std::string_view text, const std::string& file, const LoadEnvironment& env) {
    Ctx ctx{file, "", &env};
    Config c;
    c.file = file;
    const YAML::Node root = parse_yaml(ctx, text);
    Value rv{&ctx, root, "", Mark{file, 1, 1}};
    Map m(rv);
    m.set_known({"global", "jobs", "include"});
    if (auto g = m.opt("global")) c.global = global(*g);
    if (auto j = m.opt("jobs")) jobs(ctx, *j, c.jobs);
    if (auto inc = m.opt("include")) {
        const auto entries = inc->strings();
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const auto item = inc->item(i);
            if (!env.resolve_include)
                item.fail(ConfigErrc::invalid_include, "include is not available here (no file system)");
            auto files = env.resolve_include(file, entries[i], item.where);
            if (!files) throw Failure{files.error()};
            for (const auto& f : *files) {
                Ctx ictx{f.path, "", &env};
                const YAML::Node iroot = parse_yaml(ictx, f.text);
                Map im(Value{&ictx, iroot, "", Mark{f.path, 1, 1}});
                for (const auto& k : im.keys())
                    if (k != "jobs")
                        ictx.fail(ConfigErrc::invalid_include, im.key_mark(k), k,
                                  "an included file may only contain jobs (no global, no nested include)");
                if (auto j = im.opt("jobs")) jobs(ictx, *j, c.jobs);
                c.included_files.push_back(f.path);
            }
        }
    }
    m.done();
    for (std::size_t a = 0; a < c.jobs.size(); ++a)
        for (std::size_t b = 0; b < a; ++b)
            if (c.jobs[a].name == c.jobs[b].name)
                throw Failure{
                    ConfigError{ConfigErrc::duplicate_job_name, c.jobs[a].mark, c.jobs[a].name, "name",
                                "duplicate job name (also used by the job at " + c.jobs[b].mark.file + ":" +
                                    std::to_string(c.jobs[b].mark.line) + "); job names must be unique"}};
    check_root_fs_overlap(c);
    return c;
}

ConfigResult<std::string> read_text(const std::string& path, const Mark& where) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const std::string what = where.file == path ? "cannot read the file: " : "cannot read " + path + ": ";
        return ConfigError{ConfigErrc::io, where, "", "", what + std::strerror(errno)};
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

ConfigResult<Config> parse_config(std::string_view text, const std::string& file,
                                  const LoadEnvironment& env) {
    try {
        return parse(text, file, env);
    } catch (const Failure& f) {
        return f.error;
    } catch (const YAML::Exception& e) {
        return ConfigError{ConfigErrc::syntax, Mark{file, e.mark.line + 1, e.mark.column + 1}, "", "",
                           "not valid YAML: " + e.msg};
    }
}

LoadEnvironment LoadEnvironment::file_system() {
    LoadEnvironment env;
    env.resolve_include = [](const std::string& from, const std::string& entry,
                             const Mark& mark) -> ConfigResult<std::vector<IncludedFile>> {
        namespace fs = std::filesystem;
        auto fail = [&](std::string what) {
            return ConfigError{ConfigErrc::invalid_include, mark, "", "include", std::move(what)};
        };
        fs::path p(entry);
        if (p.is_relative()) p = fs::path(from).parent_path() / p;
        p = p.lexically_normal();
        std::error_code ec;
        std::vector<fs::path> files;
        if (fs::is_directory(p, ec)) {
            for (const auto& e : fs::directory_iterator(p, ec))
                if (e.path().extension() == ".yml" && e.is_regular_file()) files.push_back(e.path());
            if (ec) return fail("cannot list directory " + p.string() + ": " + ec.message());
            std::sort(files.begin(), files.end());
        } else if (p.extension() == ".yml") {
            files.push_back(p);
        } else {
            return fail("\"" + entry + "\" is neither a directory nor a file ending in .yml");
        }
        std::vector<IncludedFile> out;
        for (const auto& f : files) {
            auto text = read_text(f.string(), mark);
            if (!text) {
                auto e = text.error();
                e.kind = ConfigErrc::invalid_include;
                e.key = "include";
                return e;
            }
            out.push_back({f.string(), std::move(*text)});
        }
        return out;
    };
    env.load_zone = [](std::string_view name) { return snapshotting::load_time_zone(name); };
    return env;
}

ConfigResult<Config> load_config(const std::string& path) {
    auto text = read_text(path, Mark{path, 0, 0});
    if (!text) return text.error();
    return parse_config(*text, path, LoadEnvironment::file_system());
}

std::string default_config_path(const std::vector<std::string>& candidates) {
    for (const auto& p : candidates) {
        std::error_code ec;
        if (std::filesystem::exists(p, ec)) return p;
    }
    return candidates.size() > 1 ? candidates[1] : candidates.empty() ? std::string() : candidates[0];
}

}  // namespace zferry::config
