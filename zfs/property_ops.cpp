#include "zfs/property_ops.hpp"

#include "zfs/command_errors.hpp"
#include "zfs/ops_support.hpp"

#include <algorithm>

namespace zferry::zfs {
namespace {

EntityType type_of(std::string_view name) {
    if (name.find('@') != std::string_view::npos) return EntityType::snapshot;
    if (name.find('#') != std::string_view::npos) return EntityType::bookmark;
    return EntityType::filesystem;
}

Error not_found(std::string_view what, std::string_view name) {
    return Error(make_error_code(ZfsErrc::dataset_not_found),
                 std::string(what) + ": " + std::string(name) + " does not exist");
}

bool contains(std::string_view s, std::string_view w) { return s.find(w) != std::string_view::npos; }

}  // namespace

boost::asio::awaitable<Result<std::vector<DatasetProperties>>> get_properties(ZfsRunner& runner,
                                                                              std::string path,
                                                                              std::vector<std::string> props,
                                                                              GetPropertiesOptions opts) {
    std::string list;
    for (const auto& p : props) list += (list.empty() ? "" : ",") + p;
    const std::string what = "getting " + list + " of " + path;
    if (auto r = detail::check_name(what, path, type_of(path)); !r) co_return r.error();
    if (props.empty()) co_return Error(Errc::invalid_argument, what + ": no property requested");
    for (const auto& p : props)
        if (auto r = property_namecheck(p); !r) co_return Error(r.error()).wrap(what);

    std::vector<std::string> argv = {"get", "-Hp", "-o", "name,property,value,source"};
    if (opts.recursive) {
        argv.push_back("-r");
        if (opts.depth >= 0) argv.insert(argv.end(), {"-d", std::to_string(opts.depth)});
        if (opts.filesystems_only) {
            auto caps = co_await detail::capabilities(runner, what);
            if (!caps) co_return caps.error();
            // zfs-fuse's get has no -t (the same vintage as the missing list -p).
            if (caps->list_parsable) argv.insert(argv.end(), {"-t", "filesystem,volume"});
        }
    }
    argv.push_back("--");
    argv.push_back(list);
    argv.push_back(path);
    auto out = co_await runner.run(std::move(argv));
    if (!out) co_return Error(out.error()).wrap(what);
    if (!out->ok()) {
        if (is_dataset_not_found(out->result.err, path)) co_return not_found(what, path);
        if (auto bad = invalid_property(out->result.err))
            co_return Error(make_error_code(ZfsErrc::unsupported),
                            what + ": this zfs has no property '" + *bad + "'");
        co_return detail::command_error(ZfsErrc::command_failed, what, *out);
    }
    auto parsed = parse_properties(out->result.out, props);
    if (!parsed) co_return Error(parsed.error()).wrap(what);
    if (opts.filesystems_only)
        std::erase_if(*parsed, [](const DatasetProperties& d) {
            return d.name.find_first_of("@#") != std::string::npos;
        });
    co_return std::move(*parsed);
}

boost::asio::awaitable<Result<PropertyValue>> get_property(ZfsRunner& runner, std::string path,
                                                           std::string prop) {
    std::vector<std::string> props{prop};
    auto r = co_await get_properties(runner, path, std::move(props));
    if (!r) co_return r.error();
    for (const auto& d : *r)
        if (d.name == path)
            if (const auto* v = d.find(prop)) co_return *v;
    co_return Error(Errc::parse_error,
                    "getting " + prop + " of " + path + ": zfs get printed no value for it");
}

boost::asio::awaitable<Result<void>> set_properties(ZfsRunner& runner, std::string path,
                                                    std::vector<std::pair<std::string, std::string>> props) {
    std::string what = "setting";
    for (const auto& [k, v] : props) what += " " + k + "=" + v;
    what += " on " + path;
    if (auto r = detail::check_name(what, path, type_of(path)); !r) co_return r.error();
    for (const auto& [k, v] : props) {
        if (auto r = property_namecheck(k); !r) co_return Error(r.error()).wrap(what);
        if (v.find_first_of(std::string_view("\0\n", 2)) != std::string::npos)
            co_return Error(Errc::invalid_argument, what + ": value of " + k + " contains NUL or newline");
    }
    if (props.empty()) co_return Result<void>{};
    auto caps = co_await detail::capabilities(runner, what);
    if (!caps) co_return caps.error();

    // No "--" for `zfs set` (see set_property_argv): its first argument is a name-checked k=v.
    std::vector<std::vector<std::string>> commands;
    if (caps->resumable_recv || props.size() == 1) {
        std::vector<std::string> argv = {"set"};
        for (const auto& [k, v] : props) argv.push_back(k + "=" + v);
        argv.push_back(path);
        commands.push_back(std::move(argv));
    } else {
        detail::log_degraded_once(runner, "set_properties",
                                  "zfs set takes one property per call here: one zfs set per property");
        for (const auto& [k, v] : props) commands.push_back({"set", k + "=" + v, path});
    }
    for (auto& argv : commands) {
        const std::string step = commands.size() == 1 ? what : "setting " + argv[1] + " on " + path;
        auto out = co_await runner.run(std::move(argv));
        if (!out) co_return Error(out.error()).wrap(step);
        if (!out->ok()) {
            if (is_dataset_not_found(out->result.err, path)) co_return not_found(step, path);
            co_return detail::command_error(ZfsErrc::command_failed, step, *out);
        }
    }
    co_return Result<void>{};
}

boost::asio::awaitable<Result<PlaceholderState>> get_placeholder_state(ZfsRunner& runner,
                                                                       std::string filesystem) {
    if (auto r = detail::check_name("getting the placeholder state of " + filesystem, filesystem,
                                    EntityType::filesystem);
        !r)
        co_return r.error();
    std::vector<std::string> props{std::string(kPlaceholderProperty)};
    auto r = co_await get_properties(runner, filesystem, std::move(props));
    PlaceholderState st;
    if (!r) {
        if (r.error().code() == ZfsErrc::dataset_not_found) co_return st;
        co_return r.error();
    }
    for (const auto& d : *r) {
        if (d.name != filesystem) continue;
        st.exists = true;
        st.is_placeholder = is_placeholder(d);
        if (const auto* v = d.find(kPlaceholderProperty, static_cast<unsigned>(PropertySource::local)))
            st.raw_local_value = v->value;
    }
    co_return st;
}

boost::asio::awaitable<Result<void>> set_placeholder(ZfsRunner& runner, std::string filesystem,
                                                     bool placeholder) {
    if (auto r = detail::check_name("setting the placeholder flag of " + filesystem, filesystem,
                                    EntityType::filesystem);
        !r)
        co_return r.error();
    std::vector<std::pair<std::string, std::string>> props;
    props.emplace_back(kPlaceholderProperty, placeholder ? "on" : "off");
    co_return co_await set_properties(runner, filesystem, std::move(props));
}

boost::asio::awaitable<Result<void>> create_placeholder(ZfsRunner& runner, std::string filesystem,
                                                        PlaceholderEncryption encryption) {
    const std::string what = "creating placeholder " + filesystem;
    if (auto r = detail::check_name(what, filesystem, EntityType::filesystem); !r) co_return r.error();
    auto caps = co_await detail::capabilities(runner, what);
    if (!caps) co_return caps.error();
    std::vector<std::string> argv = {"create", "-o", std::string(kPlaceholderProperty) + "=on", "-o",
                                     "mountpoint=none"};
    // Raw send and the encryption property arrived together (OpenZFS 0.8); without them
    // nothing is encrypted and `encryption` is an unknown property.
    if (encryption == PlaceholderEncryption::off && caps->raw_send)
        argv.insert(argv.end(), {"-o", "encryption=off"});
    argv.push_back("--");
    argv.push_back(filesystem);
    auto out = co_await runner.run(std::move(argv));
    if (!out) co_return Error(out.error()).wrap(what);
    if (out->ok()) co_return Result<void>{};
    const auto& err = out->result.err;
    if (contains(err, "dataset already exists"))
        co_return Error(make_error_code(ZfsErrc::dataset_exists),
                        what + ": " + filesystem + " already exists");
    if (contains(err, "parent does not exist") || dataset_not_found_path(err)) {
        auto slash = filesystem.rfind('/');
        co_return not_found(what + ": its parent",
                            slash == std::string::npos ? filesystem : filesystem.substr(0, slash));
    }
    co_return detail::command_error(ZfsErrc::command_failed, what, *out);
}

}  // namespace zferry::zfs
