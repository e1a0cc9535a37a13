#include "zfs/send_recv.hpp"

#include "core/async.hpp"
#include "core/io_engine.hpp"
#include "zfs/dataset_path.hpp"
#include "zfs/dry_send_info.hpp"
#include "zfs/properties.hpp"
#include "zfs/tsv.hpp"
#include "zfs/zfs_error.hpp"

#include <boost/asio/this_coro.hpp>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <map>

namespace zferry::zfs {
namespace {

namespace asio = boost::asio;

// A zfs failure zferry does not classify further: permanent.
Error zfs_failed(const ZfsOutput& out) { return Error(ZfsErrc::command_failed, out.describe()); }

Error missing_capability(std::string_view what, std::string_view capability) {
    return Error(ZfsErrc::unsupported, std::string(what) + ": this ZFS does not support it (capability '" +
                                           std::string(capability) + "' missing)");
}

struct Pipe {
    UniqueFd read, write;
};

// Both ends close-on-exec: a zfs process spawned concurrently (for another transfer) must not
// inherit them, or closing our end would no longer end this stream. The child gets its end as
// stdin/stdout through dup2, which clears the flag on the duplicate only.
Result<Pipe> make_stream_pipe(const std::string& what) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return Error(error_code(errno, boost::system::system_category()), "creating the pipe for " + what);
    Pipe p;
    p.read.reset(fds[0]);
    p.write.reset(fds[1]);
    return p;
}

std::string join_args(const std::vector<std::string>& args) {
    std::string s = "zfs";
    for (const auto& a : args) {
        s += ' ';
        // A resume token is long and says nothing to a reader of the message.
        if (a.size() > 80) {
            s.append(a, 0, 40);
            s += "...";
        } else {
            s += a;
        }
    }
    return s;
}

// Waits for a child that was told to stop, at most `grace`; then cancels the wait, which
// kills the process group and reaps it. Works in a coroutine that was already cancelled:
// cleanup must run to the end or a child would be left behind.
asio::awaitable<void> wait_stopping(ZfsProcess& proc, std::chrono::milliseconds grace) {
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    try {
        co_await with_timeout(proc.wait(), grace);
    } catch (const std::exception&) {
        // The wait itself failed (cancelled from outside as well); the child is reaped by
        // ZfsProcess either way, and there is nobody to report it to.
    }
    co_await asio::this_coro::throw_if_cancelled(throw_before);
}

// Stops a transfer early, in the only order that never hangs: our pipe end first (a writer
// blocked on the pipe then fails with EPIPE, a reader sees the stream end; on zfs-fuse closing
// it is what stops the daemon's transfer), then a bounded wait for the child to exit on its
// own, and only then SIGTERM and SIGKILL (by cancelling the wait). Idempotent.
//
// Why wait rather than signal at once: the zfs child exits when ZFS has given up the transfer,
// and not before. On zfs-fuse the client is a thin RPC stub; a SIGTERM ends the stub while the
// daemon is still tearing the aborted receive down, and the next receive into the same
// dataset then failed with "dataset is busy" (about one run in three). Waiting makes abort()
// return only once the dataset is free, at no cost when ZFS stops promptly (it does within
// milliseconds once its pipe is gone). The signals remain for a child that does not notice the
// closed pipe (a send stalled reading the pool). A "dataset is busy" that still happens (an
// asynchronous unmount, a child that had to be killed) is classified as ZfsErrc::dataset_busy,
// which is temporary: retry_while_busy retries it with a bounded backoff.
asio::awaitable<void> stop_transfer(UniqueFd& pipe_end, std::unique_ptr<ZfsProcess>& proc,
                                    std::chrono::milliseconds grace) {
    pipe_end.reset();
    if (!proc) co_return;
    co_await wait_stopping(*proc, grace);
    proc.reset();
}

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// argv lists are built outside coroutines: GCC 12 rejects braced lists of string literals
// in a coroutine body ("array used as initializer").
std::vector<std::string> resume_token_argv(std::string_view filesystem) {
    return {"get", "-Hp", "-o", "value", "--", "receive_resume_token", std::string(filesystem)};
}

// `zfs set` is the one command without "--": zfs-fuse and OpenZFS before 2.2 parse no
// options for it and refuse any first argument that starts with '-' ("invalid option '-'").
// That first argument is `k=v` with a name-checked k (never a leading '-'), and the
// filesystem is name-checked too.
std::vector<std::string> set_property_argv(const std::string& k, const std::string& v,
                                           const std::string& fs) {
    return {"set", k + "=" + v, fs};
}

// The guard's one lookup: the filesystem and the versions, GUIDs and encryption at once.
std::vector<std::string> guard_get_argv(bool with_encryption, std::vector<std::string> names) {
    std::vector<std::string> args = {"get", "-Hp", "-o", "name,property,value,source", "--",
                                     // A ZFS without raw sends has no encryption (and no such
                                     // property: zfs-fuse refuses the whole call).
                                     with_encryption ? "guid,encryption" : "guid"};
    args.insert(args.end(), names.begin(), names.end());
    return args;
}

std::string filesystem_of(std::string_view name) {
    auto at = name.find_first_of("@#");
    return std::string(name.substr(0, at));
}

}  // namespace

// ---- capability checks

Result<void> check_send_capabilities(const Capabilities& caps, const SendPolicy& policy,
                                     const SendSpec& spec) {
    const std::string what = "zfs send of " + spec.filesystem + spec.to;
    if (!spec.resume_token.empty()) {
        // A token carries its own flags; the policy's flags are not on the command line.
        if (!caps.resumable_send) return missing_capability(what + " resuming with -t", "resumable_send");
        return {};
    }
    if (spec.intermediates && (spec.from.empty() || spec.from[0] != '@'))
        return Error(Errc::invalid_argument,
                     what + " with intermediate snapshots (-I) needs a snapshot to start from, not '" +
                         spec.from + "'");
    if (!spec.from.empty() && spec.from[0] == '#' && !caps.bookmarks)
        return missing_capability(what + " from bookmark " + spec.filesystem + spec.from, "bookmarks");
    if ((policy.encrypted || policy.raw) && !caps.raw_send)
        return missing_capability(what + " as a raw/encrypted stream (-w)", "raw_send");
    if (policy.backup_properties && !caps.send_backup_properties)
        return missing_capability(what + " with backup properties (-b)", "send_backup_properties");
    if (policy.large_blocks && !caps.send_large_blocks)
        return missing_capability(what + " with large blocks (-L)", "send_large_blocks");
    if (policy.compressed && !caps.send_compressed)
        return missing_capability(what + " compressed (-c)", "send_compressed");
    if (policy.embedded_data && !caps.send_embedded_data)
        return missing_capability(what + " with embedded data (-e)", "send_embedded_data");
    if (policy.saved && !caps.send_saved)
        return missing_capability(what + " of saved partial state (-S)", "send_saved");
    return {};
}

Result<void> check_recv_capabilities(const Capabilities& caps, const RecvOptions& options,
                                     bool properties_after_receive) {
    if (options.resumable && !caps.resumable_recv)
        return missing_capability("zfs recv keeping partial state for resuming (-s)", "resumable_recv");
    if (!options.exclude_properties.empty() && !caps.recv_property_options)
        return missing_capability(
            "zfs recv excluding received properties (-x " + options.exclude_properties.front() + ")",
            "recv_property_options");
    if (!options.set_properties.empty() && !caps.recv_property_options && !properties_after_receive)
        return missing_capability(
            "zfs recv overriding properties (-o " + options.set_properties.front().first + ")",
            "recv_property_options");
    return {};
}

// ---- SendStream

SendStream::SendStream(UniqueFd fd, std::size_t capacity, std::vector<std::string> args, ZfsProcess proc,
                       std::chrono::milliseconds kill_grace)
    : capacity_(capacity),
      args_(std::move(args)),
      proc_(std::make_unique<ZfsProcess>(std::move(proc))),
      kill_grace_(kill_grace),
      fd_(std::move(fd)) {}

SendStream::SendStream(UniqueFd fd, std::size_t capacity, std::string description,
                       std::unique_ptr<StreamPeer> peer)
    : capacity_(capacity), peer_(std::move(peer)), fd_(std::move(fd)) {
    args_.push_back(std::move(description));
}

SendStream::SendStream(SendStream&&) noexcept = default;
SendStream& SendStream::operator=(SendStream&&) noexcept = default;
// fd_ is declared last, so it closes first: a child blocked writing sees EPIPE while
// ZfsProcess's destructor kills and reaps it.
SendStream::~SendStream() = default;

int SendStream::pid() const noexcept { return proc_ ? proc_->pid() : -1; }

asio::awaitable<Result<void>> SendStream::finish() {
    // A small stream fits into the pipe: zfs can exit successfully while its bytes still sit
    // unread in the pipe. Closing would throw them away, so that must not look like success.
    int unread = 0;
    if (fd_ && ::ioctl(fd_.get(), FIONREAD, &unread) != 0) unread = 0;
    fd_.reset();
    if (peer_) {
        auto peer = std::move(peer_);
        auto r = co_await peer->finish();
        if (!r) co_return r;
        if (unread > 0)
            co_return Error(Errc::connection_closed,
                            args_.front() + ": finished with " + std::to_string(unread) +
                                " stream bytes unread in the pipe (the reader stopped early)");
        co_return Result<void>{};
    }
    if (!proc_) co_return Error(Errc::invalid_argument, join_args(args_) + ": already finished or aborted");
    auto out = co_await proc_->wait();
    proc_.reset();
    if (!out) {
        auto e = out.error();
        co_return e.wrap("waiting for " + join_args(args_));
    }
    if (unread > 0)
        co_return Error(Errc::connection_closed,
                        join_args(args_) + ": finished with " + std::to_string(unread) +
                            " stream bytes unread in the pipe (the reader stopped early)");
    if (out->ok()) co_return Result<void>{};
    const auto& r = out->result;
    if (r.signal == SIGPIPE || contains(r.err, "Broken pipe"))
        co_return Error(Errc::connection_closed,
                        out->describe() + " (the stream's reader closed the pipe before the end)");
    co_return Error(Errc::stream_source_error, out->describe());
}

asio::awaitable<void> SendStream::abort() {
    if (peer_) {
        fd_.reset();
        auto peer = std::move(peer_);
        co_await peer->abort();
        co_return;
    }
    co_await stop_transfer(fd_, proc_, kill_grace_);
}

Result<StreamPipe> make_peer_stream_pipe(bool for_send, const std::string& what) {
    auto pipe = make_stream_pipe(what);
    if (!pipe) return pipe.error();
    StreamPipe out;
    out.read = std::move(pipe->read);
    out.write = std::move(pipe->write);
    UniqueFd& ours = for_send ? out.read : out.write;
    out.capacity = raise_pipe_capacity(ours.get(), kStreamPipeCapacity);
    if (auto ec = set_nonblocking(ours.get()))
        return Error(ec, "making the pipe for " + what + " non-blocking");
    return out;
}

asio::awaitable<Result<SendStream>> start_send(ZfsRunner& runner, const SendPolicy& policy,
                                               const SendSpec& spec) {
    auto caps = co_await runner.capabilities();
    if (!caps) co_return caps.error();
    if (auto c = check_send_capabilities(*caps, policy, spec); !c) co_return c.error();

    auto args = send_argv(policy, spec);
    auto pipe = make_stream_pipe(join_args(args));
    if (!pipe) co_return pipe.error();
    const std::size_t capacity = raise_pipe_capacity(pipe->read.get(), kStreamPipeCapacity);
    // Only our end: the child's end stays blocking, as zfs expects.
    if (auto ec = set_nonblocking(pipe->read.get()))
        co_return Error(ec, "making the read end of the zfs send pipe non-blocking");

    auto proc = co_await runner.start(args, -1, pipe->write.get());
    // The child has its duplicate; ours must go or the reader would never see end of file.
    pipe->write.reset();
    if (!proc) {
        auto e = proc.error();
        co_return e.wrap("starting " + join_args(args));
    }
    co_return SendStream(std::move(pipe->read), capacity, std::move(args), std::move(*proc),
                         runner.options().kill_grace);
}

// ---- RecvStream

RecvStream::RecvStream(ZfsRunner& runner, UniqueFd fd, std::size_t capacity, std::vector<std::string> args,
                       ZfsProcess proc, std::string filesystem,
                       std::vector<std::pair<std::string, std::string>> properties_after)
    : runner_(&runner),
      capacity_(capacity),
      args_(std::move(args)),
      proc_(std::make_unique<ZfsProcess>(std::move(proc))),
      filesystem_(std::move(filesystem)),
      properties_after_(std::move(properties_after)),
      fd_(std::move(fd)) {}

RecvStream::RecvStream(UniqueFd fd, std::size_t capacity, std::string description,
                       std::unique_ptr<StreamPeer> peer)
    : capacity_(capacity), peer_(std::move(peer)), filesystem_(description), fd_(std::move(fd)) {
    args_.push_back(std::move(description));
}

RecvStream::RecvStream(RecvStream&&) noexcept = default;
RecvStream& RecvStream::operator=(RecvStream&&) noexcept = default;
RecvStream::~RecvStream() = default;

int RecvStream::pid() const noexcept { return proc_ ? proc_->pid() : -1; }

asio::awaitable<Result<void>> RecvStream::finish() {
    fd_.reset();
    if (peer_) {
        auto peer = std::move(peer_);
        co_return co_await peer->finish();
    }
    if (!proc_) co_return Error(Errc::invalid_argument, join_args(args_) + ": already finished or aborted");
    auto out = co_await proc_->wait();
    proc_.reset();
    if (!out) {
        auto e = out.error();
        co_return e.wrap("waiting for " + join_args(args_));
    }
    if (!out->ok()) {
        failure_ = classify_recv_failure(out->result.err + out->result.out);
        switch (failure_.kind) {
            case RecvFailure::Kind::resumable:
                co_return Error(Errc::connection_closed, out->describe() + " (partial receive saved on " +
                                                             filesystem_ +
                                                             "; resume with its receive_resume_token)");
            case RecvFailure::Kind::stream_read_failed:
                co_return Error(Errc::connection_closed,
                                out->describe() + " (the stream ended before zfs could read it)");
            case RecvFailure::Kind::dataset_busy:
                co_return Error(make_error_code(ZfsErrc::dataset_busy),
                                out->describe() + " (zfs still holds " + filesystem_ +
                                    " for an earlier receive or an unmount; retry the step shortly)");
            case RecvFailure::Kind::encrypted_overwrite_refused:
                co_return Error(Errc::invalid_argument, out->describe());
            case RecvFailure::Kind::out_of_space: {
                const std::string pool = filesystem_.substr(0, filesystem_.find('/'));
                const bool resumable = std::find(args_.begin(), args_.end(), "-s") != args_.end();
                co_return Error(make_error_code(ZfsErrc::out_of_space),
                                "receiving pool '" + pool + "' is out of space: " + out->describe() +
                                    (resumable ? " (what arrived is kept on " + filesystem_ +
                                                     " as a partial receive; free space on pool '" + pool +
                                                     "' and the next run resumes it)"
                                               : " (nothing was kept; free space on pool '" + pool +
                                                     "' and the next run sends the step again)"));
            }
            case RecvFailure::Kind::other: co_return zfs_failed(*out);
        }
    }
    // zfs-fuse has no `recv -o`: set what it would have set, one property per `zfs set`
    // (zfs-fuse takes only one k=v per call).
    for (const auto& [k, v] : properties_after_) {
        auto set = co_await runner_->run(set_property_argv(k, v, filesystem_));
        if (!set) co_return set.error();
        if (!set->ok()) {
            auto e = zfs_failed(*set);
            co_return e.wrap("received " + filesystem_ + ", but setting " + k +
                             " after the receive (this ZFS has no recv -o) failed");
        }
    }
    co_return Result<void>{};
}

asio::awaitable<void> RecvStream::abort() {
    if (peer_) {
        fd_.reset();
        auto peer = std::move(peer_);
        co_await peer->abort();
        co_return;
    }
    if (!runner_) {
        fd_.reset();
        co_return;
    }
    co_await stop_transfer(fd_, proc_, runner_->options().kill_grace);
}

asio::awaitable<Result<RecvStream>> start_recv(ZfsRunner& runner, const RecvOptions& options,
                                               std::string target) {
    const bool is_snapshot = target.find('@') != std::string::npos;
    if (auto c = entity_namecheck(target, is_snapshot ? EntityType::snapshot : EntityType::filesystem); !c) {
        auto e = c.error();
        co_return e.wrap("zfs recv target '" + target + "'");
    }
    auto caps = co_await runner.capabilities();
    if (!caps) co_return caps.error();
    if (auto c = check_recv_capabilities(*caps, options, true); !c) co_return c.error();

    // Every -o/-x name is checked: zfs must never read one as an option, and the fallback
    // below puts k=v first on a `zfs set` line.
    for (const auto& [k, v] : options.set_properties)
        if (auto c = property_namecheck(k); !c)
            co_return Error(c.error()).wrap("zfs recv -o for '" + target + "'");
    for (const auto& k : options.exclude_properties)
        if (auto c = property_namecheck(k); !c)
            co_return Error(c.error()).wrap("zfs recv -x for '" + target + "'");

    RecvOptions effective = options;
    std::vector<std::pair<std::string, std::string>> after;
    if (!caps->recv_property_options && !options.set_properties.empty()) {
        after = std::move(effective.set_properties);
        effective.set_properties.clear();
        runner.log().info("this ZFS has no recv -o: setting {} propert{} on {} after the receive",
                          after.size(), after.size() == 1 ? "y" : "ies", filesystem_of(target));
    }

    auto args = recv_argv(effective, target);
    auto pipe = make_stream_pipe(join_args(args));
    if (!pipe) co_return pipe.error();
    const std::size_t capacity = raise_pipe_capacity(pipe->write.get(), kStreamPipeCapacity);
    if (auto ec = set_nonblocking(pipe->write.get()))
        co_return Error(ec, "making the write end of the zfs recv pipe non-blocking");

    auto proc = co_await runner.start(args, pipe->read.get(), -1);
    // Ours must go, or zfs recv would never see the end of the stream.
    pipe->read.reset();
    if (!proc) {
        auto e = proc.error();
        co_return e.wrap("starting " + join_args(args));
    }
    co_return RecvStream(runner, std::move(pipe->write), capacity, std::move(args), std::move(*proc),
                         filesystem_of(target), std::move(after));
}

// ---- dry run, resume token, guard

asio::awaitable<Result<SendSizeEstimate>> estimate_send_size(ZfsRunner& runner, const SendPolicy& policy,
                                                             const SendSpec& spec) {
    auto caps = co_await runner.capabilities();
    if (!caps) co_return caps.error();
    if (auto c = check_send_capabilities(*caps, policy, spec); !c) co_return c.error();
    if (!caps->send_size_estimate)
        co_return SendSizeEstimate{std::nullopt, "this ZFS cannot estimate send sizes (no send -n -v -P)"};

    auto out = co_await runner.run(dry_send_argv(policy, spec));
    if (!out) co_return out.error();
    if (!out->ok()) co_return zfs_failed(*out);
    // OpenZFS prints the dry run on stdout; some versions used stderr.
    auto info = parse_dry_send_info(out->result.out + out->result.err);
    if (!info) {
        auto e = info.error();
        co_return e.wrap("parsing the output of " + join_args(out->args));
    }
    if (info->size_estimate == 0) co_return SendSizeEstimate{std::nullopt, "zfs printed no usable estimate"};
    co_return SendSizeEstimate{info->size_estimate, {}};
}

asio::awaitable<Result<std::vector<DrySendInfo>>> estimate_send_sizes_per_snapshot(ZfsRunner& runner,
                                                                                   const SendPolicy& policy,
                                                                                   const SendSpec& spec) {
    if (!spec.intermediates || !spec.resume_token.empty() || !spec.from.starts_with("@"))
        co_return Error(Errc::invalid_argument,
                        "estimating per snapshot needs an -I package from a snapshot, not a resume");
    auto caps = co_await runner.capabilities();
    if (!caps) co_return caps.error();
    if (auto c = check_send_capabilities(*caps, policy, spec); !c) co_return c.error();
    if (!caps->send_size_estimate) {
        std::vector<DrySendInfo> none;  // (not a braced temporary: GCC 12 coroutines)
        co_return none;
    }
    auto out = co_await runner.run(dry_send_argv(policy, spec));
    if (!out) co_return out.error();
    if (!out->ok()) co_return zfs_failed(*out);
    auto infos = parse_dry_send_infos(out->result.out + out->result.err);
    if (!infos) {
        auto e = infos.error();
        co_return e.wrap("parsing the output of " + join_args(out->args));
    }
    co_return std::move(*infos);
}

asio::awaitable<Result<std::optional<std::string>>> receive_resume_token(ZfsRunner& runner,
                                                                         std::string_view filesystem) {
    auto caps = co_await runner.capabilities();
    if (!caps) co_return caps.error();
    // Without resumable receive there is no partial state and no such property.
    if (!caps->resumable_recv) co_return std::optional<std::string>{};

    auto out = co_await runner.run(resume_token_argv(filesystem));
    if (!out) co_return out.error();
    if (!out->ok()) {
        if (is_dataset_not_found(out->result.err, filesystem))
            co_return Error(ZfsErrc::dataset_not_found, out->describe());
        co_return zfs_failed(*out);
    }
    std::string_view v = out->result.out;
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.remove_suffix(1);
    if (v.find('\n') != std::string_view::npos)
        co_return Error(Errc::parse_error,
                        join_args(out->args) + ": expected one value, got '" + std::string(v) + "'");
    co_return receive_resume_token_value(v);
}

asio::awaitable<Result<ValidatedSendArgs>> validate_send_request(ZfsRunner& runner,
                                                                 const SendRequest& request) {
    // Names first: nothing unchecked reaches a zfs command line.
    if (auto c = check_send_request_names(request); !c) co_return c.error();
    auto refuse = [&](std::string why) {
        return Error(Errc::invalid_argument, "refusing to send from '" + request.filesystem + "': " + why);
    };

    auto caps = co_await runner.capabilities();
    if (!caps) co_return caps.error();
    const SendSpec spec{request.filesystem, request.from ? request.from->relative_name : std::string(),
                        request.to->relative_name, request.resume_token};
    if (auto c = check_send_capabilities(*caps, request.policy, spec); !c)
        co_return refuse(c.error().context());

    const std::string& fs = request.filesystem;
    const std::string to_name = fs + request.to->relative_name;
    const std::string from_name = request.from ? fs + request.from->relative_name : std::string();
    std::vector<std::string> names{fs, to_name};
    if (request.from) names.push_back(from_name);
    auto out = co_await runner.run(guard_get_argv(caps->raw_send, std::move(names)));
    if (!out) co_return out.error();
    // A missing version is an answer ("does not exist"), anything else on stderr is a failure.
    bool unexpected = false;
    tsv::for_each_line(out->result.err, [&](std::size_t, std::string_view line) {
        if (line.empty()) return true;
        auto missing = dataset_not_found_path(line);
        if (!missing || (*missing != fs && *missing != to_name && *missing != from_name)) unexpected = true;
        return !unexpected;
    });
    if (unexpected || (!out->ok() && out->result.err.empty())) co_return zfs_failed(*out);

    auto props = parse_properties(out->result.out, {});
    if (!props) {
        auto e = props.error();
        co_return e.wrap("parsing the output of " + join_args(out->args));
    }
    std::map<std::string, const DatasetProperties*, std::less<>> by_name;
    for (const auto& d : *props) by_name[d.name] = &d;

    auto guid_of = [&](const std::string& name) -> Result<std::optional<std::uint64_t>> {
        auto it = by_name.find(name);
        if (it == by_name.end()) return std::optional<std::uint64_t>{};
        const auto* v = it->second->find("guid");
        auto g = v ? tsv::parse_u64(v->value) : std::nullopt;
        if (!g) return Error(Errc::parse_error, join_args(out->args) + ": no numeric guid for " + name);
        return g;
    };

    if (!by_name.count(fs)) co_return refuse("the filesystem does not exist");
    SendFacts facts;
    auto to_guid = guid_of(to_name);
    if (!to_guid) co_return to_guid.error();
    facts.to_guid = *to_guid;
    if (request.from) {
        auto from_guid = guid_of(from_name);
        if (!from_guid) co_return from_guid.error();
        facts.from_guid = *from_guid;
    }
    if (caps->raw_send) {
        const auto* enc = by_name[fs]->find("encryption");
        if (!enc)
            co_return Error(Errc::parse_error, join_args(out->args) + ": no encryption property for " + fs);
        facts.filesystem_encrypted = enc->value != "off" && enc->value != "-";
    }
    co_return validate_send_args(request, facts);
}

}  // namespace zferry::zfs
