// `zfs send` and `zfs recv` as child processes connected to pipes, plus what the sender and
// the receiver ask ZFS around a transfer: the guard that validates a send request against
// the live dataset, the dry-run size estimate and a filesystem's receive resume token.
//
// The transport moves the bytes: it splices from SendStream::fd() and into RecvStream::fd().
// Both pipe ends zferry keeps are O_NONBLOCK and close-on-exec (a concurrently spawned child
// must never inherit them, or closing them here would not end the stream), with the pipe
// capacity raised so splice moves large chunks.
//
// Stopping is the subtle part (reference §5.1, zfs-fuse §4): zferry always closes its pipe
// end BEFORE waiting for the child. On OpenZFS a `zfs send` blocked on a full pipe only
// returns once the pipe's reader is gone (openzfs#12500); on zfs-fuse the zfs binary is a
// thin client that hands the pipe to the daemon, so killing it does not stop the transfer
// at all, and closing the pipe is the only thing that does.
#pragma once

#include "core/error.hpp"
#include "core/unique_fd.hpp"
#include "zfs/capabilities.hpp"
#include "zfs/command_errors.hpp"
#include "zfs/dry_send_info.hpp"
#include "zfs/send_command.hpp"
#include "zfs/send_validation.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zferry::zfs {

// The pipe capacity asked for (capped by /proc/sys/fs/pipe-max-size, 1 MiB by default).
inline constexpr std::size_t kStreamPipeCapacity = std::size_t{1} << 20;

// Which capability a send or receive needs that this ZFS lacks: ZfsErrc::unsupported
// (permanent: retrying on the same host cannot help) naming the capability and the flag.
Result<void> check_send_capabilities(const Capabilities& caps, const SendPolicy& policy,
                                     const SendSpec& spec);
// `-o` is not checked when `properties_after_receive` is set (see start_recv).
Result<void> check_recv_capabilities(const Capabilities& caps, const RecvOptions& options,
                                     bool properties_after_receive);

// What writes into a SendStream's pipe or reads from a RecvStream's when it is not a `zfs`
// child of this host: a transport moving the stream from or to a zfs on another machine (the
// remote endpoints). The stream closes its pipe end before it calls either.
class StreamPeer {
public:
    virtual ~StreamPeer() = default;
    // The transfer's outcome once the pipe end was closed: success only when every byte went
    // through and the other side's zfs succeeded.
    virtual boost::asio::awaitable<Result<void>> finish() = 0;
    // Stops the transfer and waits until it has stopped; never hangs, idempotent, runs even
    // when the caller was cancelled.
    virtual boost::asio::awaitable<void> abort() = 0;
};

// Creates the pipe for a stream moved by a StreamPeer: both ends close-on-exec, the capacity
// raised, the end kept by the stream object (read for a send, write for a receive)
// non-blocking. `what` names the stream in errors.
struct StreamPipe {
    UniqueFd read, write;
    std::size_t capacity = 0;
};
Result<StreamPipe> make_peer_stream_pipe(bool for_send, const std::string& what);

// A running `zfs send` writing into a pipe whose read end this object owns.
class SendStream {
public:
    SendStream() = default;  // empty: no process, fd() == -1
    // A stream written by a peer (a remote sender's transport); `description` names it in
    // errors.
    SendStream(UniqueFd fd, std::size_t capacity, std::string description, std::unique_ptr<StreamPeer> peer);
    SendStream(SendStream&& o) noexcept;
    SendStream& operator=(SendStream&& o) noexcept;
    SendStream(const SendStream&) = delete;
    SendStream& operator=(const SendStream&) = delete;
    // Closes the read end; a child not yet waited for is then killed and reaped by ZfsProcess.
    ~SendStream();

    // The read end (O_NONBLOCK), -1 once finish() or abort() closed it. Whoever reads from it
    // detaches (destroys its AsyncFd) before calling finish() or abort().
    int fd() const noexcept { return fd_.get(); }
    int pid() const noexcept;
    const std::vector<std::string>& args() const noexcept { return args_; }
    // The capacity the pipe actually got.
    std::size_t pipe_capacity() const noexcept { return capacity_; }

    // For after the reader saw end of file: closes the read end, waits for `zfs send` and
    // classifies its exit. A send that had not written everything (the reader stopped early)
    // fails with EPIPE, reported as Errc::connection_closed, as are bytes left unread in the
    // pipe by a send that did finish (a small stream fits into the pipe). Other failures are
    // Errc::stream_source_error with zfs's message (permanent). Cancelling the awaiting coroutine kills
    // the child (TERM, then KILL after the runner's kill grace) and reaps it. Call once.
    boost::asio::awaitable<Result<void>> finish();

    // Stops the send early and never hangs: closes the read end first (a writer blocked on the
    // pipe then fails with EPIPE; on zfs-fuse this is what stops the daemon's transfer), waits
    // up to the kill grace for `zfs send` to exit by itself, then sends SIGTERM (a send that is
    // not writing, e.g. stalled reading the pool, notices no pipe) and SIGKILL after another
    // grace. Runs to completion even when the calling coroutine was already cancelled.
    // Idempotent.
    boost::asio::awaitable<void> abort();

private:
    friend boost::asio::awaitable<Result<SendStream>> start_send(ZfsRunner&, const SendPolicy&,
                                                                 const SendSpec&);
    SendStream(UniqueFd fd, std::size_t capacity, std::vector<std::string> args, ZfsProcess proc,
               std::chrono::milliseconds kill_grace);

    std::size_t capacity_ = 0;
    std::vector<std::string> args_;
    std::unique_ptr<ZfsProcess> proc_;  // reset once waited for; null when moved from
    std::unique_ptr<StreamPeer> peer_;  // instead of proc_: the stream comes from elsewhere
    std::chrono::milliseconds kill_grace_{};
    UniqueFd fd_;  // last: destroyed first (see ~SendStream)
};

// Starts `zfs send` for the spec (full, `-i @snap|#bookmark`, or `-t TOKEN`) with the policy's
// flags, after checking them against the runner's capabilities. The spec is used as given:
// a sender serving a peer runs validate_send_request first.
boost::asio::awaitable<Result<SendStream>> start_send(ZfsRunner& runner, const SendPolicy& policy,
                                                      const SendSpec& spec);

// A running `zfs recv` reading from a pipe whose write end this object owns.
class RecvStream {
public:
    RecvStream() = default;  // empty: no process, fd() == -1
    // A stream read by a peer (a remote receiver's transport).
    RecvStream(UniqueFd fd, std::size_t capacity, std::string description, std::unique_ptr<StreamPeer> peer);
    RecvStream(RecvStream&& o) noexcept;
    RecvStream& operator=(RecvStream&& o) noexcept;
    RecvStream(const RecvStream&) = delete;
    RecvStream& operator=(const RecvStream&) = delete;
    ~RecvStream();

    // The write end (O_NONBLOCK), -1 once finish() or abort() closed it.
    int fd() const noexcept { return fd_.get(); }
    int pid() const noexcept;
    const std::vector<std::string>& args() const noexcept { return args_; }
    std::size_t pipe_capacity() const noexcept { return capacity_; }

    // For after the whole stream was written: closes the write end (end of stream for zfs),
    // waits for `zfs recv` and classifies a failure (failure() then says how):
    //  - resumable: the partial state is saved; Errc::connection_closed (temporary: a retry
    //    resumes with `zfs send -t failure().resume_token`);
    //  - stream_read_failed: the stream broke before zfs got anything; Errc::connection_closed
    //    (the transport's own error is the better report, when there is one);
    //  - dataset_busy: zfs still holds the target (zfs-fuse tearing down an earlier receive,
    //    an asynchronous unmount); ZfsErrc::dataset_busy, temporary: retry_while_busy;
    //  - out_of_space: the receiving pool is full; ZfsErrc::out_of_space, permanent (space
    //    does not come back by itself within a run), naming the pool; with -s the partial
    //    state stays for the next run to resume;
    //  - encrypted_overwrite_refused (Errc::invalid_argument) and other
    //    (ZfsErrc::command_failed): permanent, with zfs's message.
    // On success, properties that this ZFS cannot take with `recv -o` (zfs-fuse) are set on
    // the received filesystem with one `zfs set` each. Cancelling kills the child. Call once.
    boost::asio::awaitable<Result<void>> finish();

    // Stops the receive early and never hangs: closes the write end (zfs sees a truncated
    // stream: with -s it keeps the partial state) and waits up to the kill grace for `zfs recv`
    // to exit by itself, which it does once ZFS has let go of the target (so the same receive
    // can start again at once); then SIGTERM, and SIGKILL after another grace. Idempotent;
    // runs even when already cancelled.
    boost::asio::awaitable<void> abort();

    // How the receive failed (kind other until finish() reported a failure).
    const RecvFailure& failure() const noexcept { return failure_; }

private:
    friend boost::asio::awaitable<Result<RecvStream>> start_recv(ZfsRunner&, const RecvOptions&, std::string);
    RecvStream(ZfsRunner& runner, UniqueFd fd, std::size_t capacity, std::vector<std::string> args,
               ZfsProcess proc, std::string filesystem,
               std::vector<std::pair<std::string, std::string>> properties_after);

    ZfsRunner* runner_ = nullptr;
    std::size_t capacity_ = 0;
    std::vector<std::string> args_;
    std::unique_ptr<ZfsProcess> proc_;  // reset once waited for; null when moved from
    std::unique_ptr<StreamPeer> peer_;  // instead of proc_: the stream goes elsewhere
    std::string filesystem_;
    std::vector<std::pair<std::string, std::string>> properties_after_;
    RecvFailure failure_;
    UniqueFd fd_;  // last: destroyed first, so zfs recv sees the end of its stream
};

// Starts `zfs recv` into `target` ("pool/fs" or "pool/fs@snap") with -F -s -u -o -x per the
// options, after checking them against the runner's capabilities: -s and -x on a ZFS without
// them (zfs-fuse) are a clear permanent error; -o is emulated there by setting the
// properties after a successful receive (documented fallback: unlike -o, the received
// filesystem briefly exists without them, so on such hosts receive with `unmounted`).
boost::asio::awaitable<Result<RecvStream>> start_recv(ZfsRunner& runner, const RecvOptions& options,
                                                      std::string target);

// A dry-run size estimate; nullopt bytes = unknown (not an error), with the reason.
struct SendSizeEstimate {
    std::optional<std::uint64_t> bytes;
    std::string unknown_reason;
};

// `zfs send -n -v -P <same args>` parsed with parse_dry_send_info. Unknown, without running
// anything, where this ZFS cannot estimate (zfs-fuse); unknown too when zfs answers with no
// usable number (OpenZFS < 0.7.12 prints none; absurd values, openzfs#12265). A failing dry
// run (missing snapshot, ...) is an error.
boost::asio::awaitable<Result<SendSizeEstimate>> estimate_send_size(ZfsRunner& runner,
                                                                    const SendPolicy& policy,
                                                                    const SendSpec& spec);

// `zfs send -n -v -P -I` (spec.intermediates set, no resume token): one estimate per snapshot
// of the package, in order, each from the one before (parse_dry_send_infos; 0 = unknown).
// Empty, without running anything, where this ZFS cannot estimate.
boost::asio::awaitable<Result<std::vector<DrySendInfo>>> estimate_send_sizes_per_snapshot(
    ZfsRunner& runner, const SendPolicy& policy, const SendSpec& spec);

// The filesystem's `receive_resume_token`; nullopt when there is no partial receive ('-'),
// and without running anything on a ZFS without resumable receive (zfs-fuse, where the
// property does not exist). A missing filesystem is ZfsErrc::dataset_not_found.
boost::asio::awaitable<Result<std::optional<std::string>>> receive_resume_token(ZfsRunner& runner,
                                                                                std::string_view filesystem);

// The sender's guard (reference §5.4): names checked, then one `zfs get` of the filesystem
// and the requested versions (GUIDs, encryption), then validate_send_args; each refusal is
// Errc::invalid_argument saying why. Also refuses what this ZFS cannot send (bookmark
// base, resume token, policy flags) with the missing capability named.
boost::asio::awaitable<Result<ValidatedSendArgs>> validate_send_request(ZfsRunner& runner,
                                                                        const SendRequest& request);

}  // namespace zferry::zfs
