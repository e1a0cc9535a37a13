#include "tools/zferry/commands.hpp"
#include "tools/zferry/resume_token_format.hpp"

#include "zfs/resume_token.hpp"

#include <iostream>
#include <memory>

namespace zferry::cli {
namespace {

struct DecodeOptions {
    std::string positional, flag;
    bool json = false;
};

int decode_resume_token(const DecodeOptions& o) {
    if (!o.positional.empty() && !o.flag.empty() && o.positional != o.flag) {
        std::cerr << "zferry: give the token either as argument or with --token, not both\n";
        return 2;
    }
    const std::string& token = o.flag.empty() ? o.positional : o.flag;
    if (token.empty()) {
        std::cerr << "zferry: a resume token is required (TOKEN or --token TOKEN)\n";
        return 2;
    }
    auto t = zfs::decode_resume_token(token);
    if (!t) {
        // The decoder's message already reads "resume token is corrupt: <why>".
        std::cerr << "zferry: " << t.error().context() << "\n";
        return 1;
    }
    std::cout << (o.json ? resume_token_json(*t) : resume_token_human(*t));
    return 0;
}

}  // namespace

void register_test(CLI::App& app, ExitCode& rc) {
    auto* test = app.add_subcommand("test", "offline helpers for troubleshooting");
    test->require_subcommand(1);
    auto opts = std::make_shared<DecodeOptions>();
    auto* dec = test->add_subcommand(
        "decoderesumetoken", "decode a receive_resume_token without running zfs (like zfs send -nvt)");
    dec->add_option("TOKEN", opts->positional, "the token (zfs get receive_resume_token)");
    dec->add_option("--token", opts->flag, "the token (zrepl-compatible spelling)");
    dec->add_flag("--json", opts->json, "print one JSON object");
    dec->callback([opts, &rc] { rc.value = decode_resume_token(*opts); });
}

}  // namespace zferry::cli
