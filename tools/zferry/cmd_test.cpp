// `zferry test ...`: zrepl's troubleshooting helpers. `filesystems` shows what a job's
// filesystems filter selects, `placeholder` which filesystems are placeholders (zrepl's
// `zrepl:placeholder` property), `decoderesumetoken` what a receive_resume_token holds. Each
// prints zrepl's format, so scripts written for zrepl's output keep working.
#include "tools/zferry/commands.hpp"
#include "tools/zferry/resume_token_format.hpp"
#include "tools/zferry/troubleshooting.hpp"

#include "core/log.hpp"
#include "daemon/config/config_loader.hpp"
#include "zfs/dataset_path.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/property_ops.hpp"
#include "zfs/resume_token.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <iostream>
#include <map>
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

// Runs one coroutine on its own io_context with a runner for `zfs_binary`.
// Warnings and errors reach stderr; the info lines about this zfs's capabilities would only
// clutter output that scripts read.
template <class F>
int run_with_zfs(const std::string& zfs_binary, F work) {
    LogOptions lo;
    lo.level = LogLevel::warn;
    log_init(lo);
    boost::asio::io_context ctx;
    zfs::ZfsRunnerOptions ro;
    ro.binary = zfs_binary;
    zfs::ZfsRunner runner(ctx.get_executor(), std::move(ro));
    auto f = boost::asio::co_spawn(ctx, work(runner), boost::asio::use_future);
    ctx.run();
    return f.get();
}

// Every filesystem and volume of this host, as `zfs list` orders them.
boost::asio::awaitable<Result<std::vector<std::string>>> host_datasets(zfs::ZfsRunner& runner) {
    auto listing = co_await zfs::list_filesystems(runner, std::string());
    if (!listing) co_return listing.error();
    std::vector<std::string> names;
    names.reserve(listing->size());
    for (auto& e : *listing) names.push_back(std::move(e.name));
    co_return names;
}

struct FilesystemsOptions {
    std::string config, job, input, zfs_binary = "zfs";
    bool all = false;
};

int test_filesystems(const FilesystemsOptions& o) {
    constexpr const char* me = "zferry test filesystems: ";
    if (o.all == !o.input.empty()) {
        std::cerr << me << "give one of --all (every filesystem and volume of this host) or --input FS\n";
        return 2;
    }
    if (!o.input.empty())
        if (auto p = zfs::DatasetPath::parse(o.input); !p) {
            std::cerr << me << "--input: " << p.error().context()
                      << " (a filesystem or volume name is expected)\n";
            return 2;
        }
    const auto path = o.config.empty() ? config::default_config_path() : o.config;
    auto c = config::load_config(path);
    if (!c) {
        std::cerr << me << c.error().message() << "\n";
        return 1;
    }
    auto filter = job_filesystems_filter(*c, o.job, path);
    if (!filter) {
        std::cerr << me << filter.error().context() << "\n";
        return 2;
    }
    std::vector<std::string> names;
    if (!o.input.empty()) {
        names.push_back(o.input);
    } else {
        int rc = run_with_zfs(o.zfs_binary, [&](zfs::ZfsRunner& runner) -> boost::asio::awaitable<int> {
            auto listed = co_await host_datasets(runner);
            if (!listed) {
                std::cerr << me << "could not list this host's filesystems: " << listed.error().message()
                          << "\n";
                co_return 1;
            }
            names = std::move(*listed);
            co_return 0;
        });
        if (rc != 0) return rc;
    }
    auto report = filter_report(**filter, names);
    std::cout << report.text;
    if (report.had_error) {
        std::cerr << me << "some names are no dataset paths (the ERROR lines say why)\n";
        return 1;
    }
    return 0;
}

struct PlaceholderOptions {
    std::string dataset, zfs_binary = "zfs";
    bool all = false;
};

// One `zfs get -r` per pool: a host with 10 000 filesystems costs a handful of zfs runs.
boost::asio::awaitable<Result<std::vector<PlaceholderRow>>> all_placeholder_rows(zfs::ZfsRunner& runner) {
    auto names = co_await host_datasets(runner);
    if (!names) co_return names.error();
    std::map<std::string, PlaceholderRow> found;
    for (const auto& pool : *names) {
        if (pool.find('/') != std::string::npos) continue;
        zfs::GetPropertiesOptions opts;
        opts.recursive = true;
        opts.filesystems_only = true;
        std::vector<std::string> props;
        props.emplace_back(zfs::kPlaceholderProperty);
        auto got = co_await zfs::get_properties(runner, pool, std::move(props), opts);
        if (!got) co_return got.error();
        for (const auto& d : *got) {
            PlaceholderRow row;
            row.dataset = d.name;
            row.is_placeholder = zfs::is_placeholder(d);
            if (const auto* v =
                    d.find(zfs::kPlaceholderProperty, static_cast<unsigned>(zfs::PropertySource::local)))
                row.raw_local_value = v->value;
            found.emplace(d.name, std::move(row));
        }
    }
    std::vector<PlaceholderRow> rows;
    for (const auto& n : *names)
        // A filesystem destroyed between the listing and its pool's `zfs get` is left out.
        if (auto it = found.find(n); it != found.end()) rows.push_back(std::move(it->second));
    co_return rows;
}

int test_placeholder(const PlaceholderOptions& o) {
    constexpr const char* me = "zferry test placeholder: ";
    if (o.all == !o.dataset.empty()) {
        std::cerr << me << "give one of --all (every filesystem and volume of this host) or --dataset FS\n";
        return 2;
    }
    if (!o.dataset.empty())
        if (auto r = zfs::entity_namecheck(o.dataset, zfs::EntityType::filesystem); !r) {
            std::cerr << me << "--dataset: " << r.error().context()
                      << " (a filesystem or volume name is expected)\n";
            return 2;
        }
    return run_with_zfs(o.zfs_binary, [&](zfs::ZfsRunner& runner) -> boost::asio::awaitable<int> {
        std::vector<PlaceholderRow> rows;
        if (o.all) {
            auto all = co_await all_placeholder_rows(runner);
            if (!all) {
                std::cerr << me << "cannot get the placeholder state: " << all.error().message() << "\n";
                co_return 1;
            }
            rows = std::move(*all);
        } else {
            auto st = co_await zfs::get_placeholder_state(runner, o.dataset);
            if (!st) {
                std::cerr << me << "cannot get the placeholder state: " << st.error().message() << "\n";
                co_return 1;
            }
            if (!st->exists) {
                std::cerr << me << "filesystem \"" << o.dataset << "\" does not exist\n";
                co_return 1;
            }
            PlaceholderRow row;
            row.dataset = o.dataset;
            row.is_placeholder = st->is_placeholder;
            row.raw_local_value = st->raw_local_value;
            rows.push_back(std::move(row));
        }
        std::cout << placeholder_report(rows);
        co_return 0;
    });
}

}  // namespace

void register_test(CLI::App& app, ExitCode& rc, const GlobalOptions& global) {
    auto* test = app.add_subcommand("test", "troubleshooting helpers: filters, placeholders, resume tokens");
    test->require_subcommand(1);

    auto fso = std::make_shared<FilesystemsOptions>();
    auto* fs = test->add_subcommand(
        "filesystems",
        "show which filesystems a job's filesystems filter selects\n\n"
        "Loads the configuration and evaluates the `filesystems` filter of the push, source or snap\n"
        "job JOB, for every filesystem and volume of this host (--all, one `zfs list`) or for one\n"
        "name (--input, which need not exist). Prints zrepl's lines, tab-separated:\n"
        "  ACCEPT<TAB>FS<TAB>      the job replicates or snapshots FS\n"
        "  REJECT<TAB>FS<TAB>      it does not\n"
        "  ERROR<TAB>FS<TAB>WHY    FS is no dataset path (exit status 1)\n"
        "Exit status 2: bad arguments, an unknown job, or a sink or pull job (they have no such\n"
        "filter); 1: the configuration is invalid or zfs failed.");
    fs->add_option("--job", fso->job, "the push, source or snap job whose filter is tested")->required();
    auto* fs_all = fs->add_flag("--all", fso->all, "test every filesystem and volume of this host");
    fs->add_option("--input", fso->input, "test this one filesystem name")->excludes(fs_all);
    fs->add_option("--config", fso->config, "the configuration file (default: as zferry --config)");
    fs->add_option("--zfs", fso->zfs_binary, "the zfs binary")->capture_default_str();
    fs->callback([fso, &rc, &global] {
        if (fso->config.empty()) fso->config = global.config;
        rc.value = test_filesystems(*fso);
    });

    auto pho = std::make_shared<PlaceholderOptions>();
    auto* ph = test->add_subcommand(
        "placeholder",
        "show whether filesystems are placeholders (zfs property zrepl:placeholder)\n\n"
        "A placeholder is a filesystem a receiving job created only so that a child can be received\n"
        "below it; it holds no replicated data. zferry and zrepl count it as one when its\n"
        "zrepl:placeholder property is set locally (not inherited) to \"on\" or to zrepl 0.0.x's\n"
        "hash of the dataset's name. Prints zrepl's table, tab-separated, with a header:\n"
        "  IS_PLACEHOLDER<TAB>DATASET<TAB>zrepl:placeholder\n"
        "  yes|no<TAB>FS<TAB>the local value (empty when not set locally)\n"
        "Needs no configuration. Exit status 2: bad arguments; 1: FS does not exist or zfs failed.");
    auto* ph_all = ph->add_flag("--all", pho->all, "every filesystem and volume of this host");
    ph->add_option("--dataset", pho->dataset, "this one filesystem")->excludes(ph_all);
    ph->add_option("--zfs", pho->zfs_binary, "the zfs binary")->capture_default_str();
    ph->callback([pho, &rc] { rc.value = test_placeholder(*pho); });

    auto opts = std::make_shared<DecodeOptions>();
    auto* dec = test->add_subcommand(
        "decoderesumetoken", "decode a receive_resume_token without running zfs (like zfs send -nvt)");
    dec->add_option("TOKEN", opts->positional, "the token (zfs get receive_resume_token)");
    dec->add_option("--token", opts->flag, "the token (zrepl-compatible spelling)");
    dec->add_flag("--json", opts->json, "print one JSON object");
    dec->callback([opts, &rc] { rc.value = decode_resume_token(*opts); });
}

}  // namespace zferry::cli
