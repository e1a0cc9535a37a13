#include "zfs/send_command.hpp"

namespace zferry::zfs {
namespace {

std::vector<std::string> common_send_args(const SendPolicy& p, const SendSpec& s) {
    if (!s.resume_token.empty()) return {"-t", s.resume_token};
    auto args = send_policy_flags(p);
    if (!s.from.empty()) {
        args.push_back(s.intermediates ? "-I" : "-i");
        args.push_back(s.filesystem + s.from);
    }
    args.push_back("--");
    args.push_back(s.filesystem + s.to);
    return args;
}

}  // namespace

std::vector<std::string> send_policy_flags(const SendPolicy& p) {
    std::vector<std::string> f;
    if (p.encrypted || p.raw) f.emplace_back("-w");
    if (p.send_properties) f.emplace_back("-p");
    if (p.backup_properties) f.emplace_back("-b");
    if (p.large_blocks) f.emplace_back("-L");
    if (p.compressed) f.emplace_back("-c");
    if (p.embedded_data) f.emplace_back("-e");
    if (p.saved) f.emplace_back("-S");
    return f;
}

std::vector<std::string> send_argv(const SendPolicy& p, const SendSpec& s) {
    std::vector<std::string> argv = {"send"};
    auto rest = common_send_args(p, s);
    argv.insert(argv.end(), rest.begin(), rest.end());
    return argv;
}

std::vector<std::string> dry_send_argv(const SendPolicy& p, const SendSpec& s) {
    std::vector<std::string> argv = {"send", "-n", "-v", "-P"};
    auto rest = common_send_args(p, s);
    argv.insert(argv.end(), rest.begin(), rest.end());
    return argv;
}

std::vector<std::string> recv_argv(const RecvOptions& o, std::string_view target_snapshot) {
    std::vector<std::string> argv = {"recv"};
    if (o.force_rollback) argv.emplace_back("-F");
    if (o.resumable) argv.emplace_back("-s");
    if (o.unmounted) argv.emplace_back("-u");
    for (const auto& [k, v] : o.set_properties) {
        argv.emplace_back("-o");
        argv.push_back(k + "=" + v);
    }
    for (const auto& k : o.exclude_properties) {
        argv.emplace_back("-x");
        argv.push_back(k);
    }
    argv.emplace_back("--");
    argv.emplace_back(target_snapshot);
    return argv;
}

std::vector<std::string> recv_abort_argv(std::string_view filesystem) {
    return {"recv", "-A", "--", std::string(filesystem)};
}

}  // namespace zferry::zfs
