#include "tools/zferry/troubleshooting.hpp"

#include "core/overloaded.hpp"

#include <variant>

namespace zferry::cli {

Result<const replication::FilesystemFilter*> job_filesystems_filter(const config::Config& c,
                                                                    std::string_view job,
                                                                    std::string_view config_file) {
    const std::string where = "job \"" + std::string(job) + "\"";
    const auto* j = c.find_job(job);
    if (!j) {
        std::string known;
        for (const auto& x : c.jobs) known += (known.empty() ? "" : ", ") + x.name;
        return Error(Errc::not_found,
                     where + " is not defined in " + std::string(config_file) +
                         (known.empty() ? " (it defines no jobs)" : " (jobs: " + known + ")"));
    }
    return std::visit(
        Overloaded{[](const config::PushJob& p) -> Result<const replication::FilesystemFilter*> {
                       return &p.filesystems;
                   },
                   [](const config::SourceJob& s) -> Result<const replication::FilesystemFilter*> {
                       return &s.filesystems;
                   },
                   [](const config::SnapJob& s) -> Result<const replication::FilesystemFilter*> {
                       return &s.filesystems;
                   },
                   [&](const config::SinkJob& s) -> Result<const replication::FilesystemFilter*> {
                       return Error(Errc::invalid_argument,
                                    where +
                                        " is a sink job and has no filesystems filter: it receives what its "
                                        "clients push, below root_fs \"" +
                                        s.root_fs + "\"; test the filter of the push job that sends to it");
                   },
                   [&](const config::PullJob& p) -> Result<const replication::FilesystemFilter*> {
                       return Error(
                           Errc::invalid_argument,
                           where +
                               " is a pull job and has no filesystems filter: the source job it pulls "
                               "from decides what it gets (received below root_fs \"" +
                               p.root_fs + "\"); test that source job on the source host");
                   }},
        j->spec);
}

FilterReport filter_report(const replication::FilesystemFilter& filter,
                           std::span<const std::string> datasets) {
    FilterReport r;
    for (const auto& d : datasets) {
        auto pass = filter.passes(d);
        if (!pass) {
            r.had_error = true;
            r.text += "ERROR\t" + d + "\t" + pass.error().context() + "\n";
        } else {
            r.text += (*pass ? "ACCEPT\t" : "REJECT\t") + d + "\t\n";
        }
    }
    return r;
}

std::string placeholder_report(std::span<const PlaceholderRow> rows) {
    std::string out = "IS_PLACEHOLDER\tDATASET\tzrepl:placeholder\n";
    for (const auto& r : rows)
        out += (r.is_placeholder ? "yes\t" : "no\t") + r.dataset + "\t" + r.raw_local_value + "\n";
    return out;
}

}  // namespace zferry::cli
