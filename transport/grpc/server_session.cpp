#include "transport/grpc/server_session.hpp"

#include "transport/grpc/nghttp2_util.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <utility>

namespace zferry::transport::grpc {

using detail::as_view;
using detail::HeaderList;

struct ServerSession::Impl {
    struct Stream {
        explicit Stream(std::size_t max_message) : reader(max_message) {}
        std::string method, scheme, path, authority, content_type, timeout, encoding;
        std::vector<std::pair<std::string, std::string>> metadata;
        std::size_t header_bytes = 0;
        MessageReader reader;
        std::optional<TimePoint> deadline;
        bool request_ended = false;
        bool dispatched = false;  // handed to the owner as an IncomingCall
        bool answered = false;    // a response, a rejection or a deadline reset is on its way
        bool cancel_reported = false;
        bool reset_after_trailers = false;
        std::string out;  // the framed response message
        std::size_t out_pos = 0;
    };

    ServerSessionOptions opt;
    nghttp2_session* s = nullptr;
    TimePoint now;
    KeepalivePinger pinger;
    PingEnforcer enforcer;
    std::map<std::int32_t, Stream> streams;
    std::vector<IncomingCall> calls;
    std::vector<std::int32_t> cancelled;
    std::string close_reason;
    bool fatal = false;
    bool peer_dead = false;
    bool calm_goaway_queued = false;
    bool calm_goaway_sent = false;
    enum class Drain { running, notice_sent, final_sent } drain = Drain::running;
    TimePoint drain_deadline{};

    // grpc-go's drain ping payload.
    static constexpr std::uint8_t kDrainPing[8] = {1, 6, 1, 8, 0, 3, 3, 9};

    void final_goaway() {
        drain = Drain::final_sent;
        static constexpr std::string_view debug = "graceful_stop";
        nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s),
                              NGHTTP2_NO_ERROR, reinterpret_cast<const std::uint8_t*>(debug.data()),
                              debug.size());
    }

    Impl(ServerSessionOptions o, TimePoint t)
        : opt(o), now(t), pinger(o.keepalive, t), enforcer(o.enforcement) {
        // A server pings regardless of active streams (grpc-go http2_server keepalive()).
        opt.keepalive.permit_without_stream = true;
        pinger = KeepalivePinger(opt.keepalive, t);
    }

    Stream* find(std::int32_t id) {
        auto it = streams.find(id);
        return it == streams.end() ? nullptr : &it->second;
    }

    void report_cancel(std::int32_t id, Stream& st) {
        if (st.dispatched && !st.cancel_reported) {
            st.cancel_reported = true;
            cancelled.push_back(id);
        }
    }

    // Trailers-Only: one HEADERS+END_STREAM with :status, content-type and the status. A
    // request still arriving is then reset with NO_ERROR, as grpc-go does.
    void reject(std::int32_t id, Stream& st, int http_status, const Status& status) {
        if (st.answered) return;
        st.answered = true;
        HeaderList h;
        h.add(":status", std::to_string(http_status));
        h.add("content-type", "application/grpc");
        h.add("grpc-status", std::to_string(static_cast<int>(status.code)));
        h.add("grpc-message", percent_encode_message(status.message));
        auto nva = h.nva();
        nghttp2_submit_response(s, id, nva.data(), nva.size(), nullptr);
        // RST_STREAM(NO_ERROR) follows once the trailers are out (on_frame_send): submitted
        // now, nghttp2 would send it first and the status would be lost.
        st.reset_after_trailers = !st.request_ended;
    }

    void on_request_headers(std::int32_t id, Stream& st, bool end_stream) {
        pinger.on_stream_started(now);
        if (st.method != "POST") {
            reject(id, st, 405, {StatusCode::internal, "invalid gRPC request method " + st.method});
            return;
        }
        if (!detail::is_grpc_content_type(st.content_type)) {
            reject(id, st, 415,
                   {StatusCode::invalid_argument,
                    "invalid gRPC request content-type \"" + st.content_type + "\""});
            return;
        }
        if (!st.encoding.empty() && st.encoding != "identity") {
            reject(id, st, 200,
                   {StatusCode::unimplemented,
                    "grpc: Decompressor is not installed for grpc-encoding \"" + st.encoding + "\""});
            return;
        }
        if (!st.timeout.empty()) {
            auto t = parse_grpc_timeout(st.timeout);
            if (!t) {
                reject(id, st, 400, {StatusCode::internal, "malformed grpc-timeout: " + st.timeout});
                return;
            }
            const auto left = TimePoint::max() - now;
            st.deadline = *t >= left ? TimePoint::max() : now + std::chrono::duration_cast<Duration>(*t);
        }
        if (end_stream) on_request_end(id, st);
    }

    void on_request_end(std::int32_t id, Stream& st) {
        st.request_ended = true;
        if (st.answered) return;
        if (st.reader.complete_messages() != 1 || st.reader.partial()) {
            reject(id, st, 200,
                   {StatusCode::internal, st.reader.complete_messages() == 0
                                              ? "grpc: the request ended without a complete message"
                                              : "grpc: a unary request carried more than one message"});
            return;
        }
        st.dispatched = true;
        IncomingCall call;
        call.stream_id = id;
        call.path = std::move(st.path);
        call.authority = std::move(st.authority);
        call.deadline = st.deadline;
        call.metadata = std::move(st.metadata);
        call.message = *st.reader.take_message();
        calls.push_back(std::move(call));
    }

    // nghttp2 callbacks -----------------------------------------------------------------
    static Impl& self(void* p) { return *static_cast<Impl*>(p); }

    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* p) {
        auto& me = self(p);
        if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
            me.streams.emplace(f->hd.stream_id, Stream(me.opt.max_receive_message));
        return 0;
    }

    static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name,
                         std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                         void* p) {
        auto& me = self(p);
        Stream* st = me.find(f->hd.stream_id);
        if (!st) return 0;
        st->header_bytes += namelen + valuelen + 32;
        if (st->header_bytes > me.opt.max_header_list) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        if (f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers from a client: ignored
        const auto n = as_view(name, namelen);
        const auto v = as_view(value, valuelen);
        if (n == ":method")
            st->method = v;
        else if (n == ":scheme")
            st->scheme = v;
        else if (n == ":path")
            st->path = v;
        else if (n == ":authority")
            st->authority = v;
        else if (n == "content-type")
            st->content_type = v;
        else if (n == "grpc-timeout")
            st->timeout = v;
        else if (n == "grpc-encoding")
            st->encoding = v;
        else if (n == "te" || n.substr(0, 5) == "grpc-" || n.substr(0, 1) == ":") {
            // Transport headers, not metadata.
        } else {
            st->metadata.emplace_back(n, v);
        }
        return 0;
    }

    static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                             std::size_t len, void* p) {
        auto& me = self(p);
        Stream* st = me.find(id);
        if (!st || st->answered) return 0;
        if (!st->reader.feed({data, len})) me.reject(id, *st, 200, *st->reader.error());
        // A unary request has one message; refusing the second at once keeps a client from
        // queueing any number of small ones before END_STREAM.
        else if (st->reader.complete_messages() > 1)
            me.reject(id, *st, 200,
                      {StatusCode::internal, "grpc: a unary request carried more than one message"});
        return 0;
    }

    static int on_frame_recv(nghttp2_session* s, const nghttp2_frame* f, void* p) {
        auto& me = self(p);
        const bool end_stream = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        switch (f->hd.type) {
            case NGHTTP2_HEADERS:
                if (Stream* st = me.find(f->hd.stream_id)) {
                    if (f->headers.cat == NGHTTP2_HCAT_REQUEST)
                        me.on_request_headers(f->hd.stream_id, *st, end_stream);
                    else if (end_stream)
                        me.on_request_end(f->hd.stream_id, *st);
                }
                break;
            case NGHTTP2_DATA:
                if (Stream* st = me.find(f->hd.stream_id); st && end_stream)
                    me.on_request_end(f->hd.stream_id, *st);
                break;
            case NGHTTP2_PING:
                if (f->hd.flags & NGHTTP2_FLAG_ACK) {
                    if (me.drain == Drain::notice_sent &&
                        std::equal(std::begin(kDrainPing), std::end(kDrainPing), f->ping.opaque_data))
                        me.final_goaway();
                    break;
                }
                if (me.enforcer.on_ping(me.now, me.streams.size()) == PingEnforcer::Verdict::too_many_pings &&
                    !me.calm_goaway_queued) {
                    me.calm_goaway_queued = true;
                    me.close_reason = "too_many_pings";
                    static constexpr std::string_view debug = "too_many_pings";
                    nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s),
                                          NGHTTP2_ENHANCE_YOUR_CALM,
                                          reinterpret_cast<const std::uint8_t*>(debug.data()), debug.size());
                    for (auto& [id, st] : me.streams) me.report_cancel(id, st);
                }
                break;
            default: break;
        }
        return 0;
    }

    static int on_frame_send(nghttp2_session* s, const nghttp2_frame* f, void* p) {
        auto& me = self(p);
        if (f->hd.type == NGHTTP2_HEADERS && (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
            // grpc-go: trailers written while the client still sends are followed by
            // RST_STREAM(NO_ERROR), so it stops sending.
            if (Stream* st = me.find(f->hd.stream_id); st && st->reset_after_trailers && !st->request_ended)
                nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR);
        }
        if (f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA)
            me.enforcer.on_headers_or_data_sent();
        if (f->hd.type == NGHTTP2_GOAWAY && f->goaway.error_code == NGHTTP2_ENHANCE_YOUR_CALM)
            me.calm_goaway_sent = true;
        return 0;
    }

    static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* p) {
        auto& me = self(p);
        auto it = me.streams.find(id);
        if (it == me.streams.end()) return 0;
        // Closed before our response went out: the peer reset it (cancellation) or the
        // connection is ending. The handler's work is no longer wanted.
        if (!it->second.answered) me.report_cancel(id, it->second);
        me.streams.erase(it);
        return 0;
    }

    static ssize_t read_response(nghttp2_session* s, std::int32_t id, std::uint8_t* buf, std::size_t len,
                                 std::uint32_t* flags, nghttp2_data_source*, void* p) {
        auto& me = self(p);
        Stream* st = me.find(id);
        if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        const std::size_t n = std::min(len, st->out.size() - st->out_pos);
        std::copy_n(st->out.data() + st->out_pos, n, buf);
        st->out_pos += n;
        if (st->out_pos == st->out.size()) {
            *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
            HeaderList t;
            t.add("grpc-status", "0");
            t.add("grpc-message", "");
            auto nva = t.nva();
            if (nghttp2_submit_trailer(s, id, nva.data(), nva.size()) != 0)
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        return static_cast<ssize_t>(n);
    }
};

ServerSession::ServerSession(ServerSessionOptions options, TimePoint now)
    : impl_(std::make_unique<Impl>(options, now)) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &Impl::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, &Impl::on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Impl::on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Impl::on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, &Impl::on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Impl::on_stream_close);
    nghttp2_session_server_new(&impl_->s, cb, impl_.get());
    nghttp2_session_callbacks_del(cb);
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(options.max_header_list)},
    };
    nghttp2_submit_settings(impl_->s, NGHTTP2_FLAG_NONE, settings, std::size(settings));
}

ServerSession::~ServerSession() { nghttp2_session_del(impl_->s); }

bool ServerSession::receive(std::span<const std::uint8_t> bytes, TimePoint now) {
    auto& me = *impl_;
    if (me.fatal) return false;
    me.now = now;
    if (!bytes.empty()) me.pinger.on_read(now);
    const ssize_t rv = nghttp2_session_mem_recv(me.s, bytes.data(), bytes.size());
    if (rv < 0 && nghttp2_is_fatal(static_cast<int>(rv))) {
        me.fatal = true;
        me.close_reason = std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(rv));
        for (auto& [id, st] : me.streams) me.report_cancel(id, st);
        return false;
    }
    return true;
}

void ServerSession::produce_output(std::string& out) {
    auto& me = *impl_;
    if (me.fatal) return;
    for (;;) {
        const std::uint8_t* p = nullptr;
        const ssize_t n = nghttp2_session_mem_send(me.s, &p);
        if (n < 0) {
            me.fatal = true;
            me.close_reason = std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(n));
            return;
        }
        if (n == 0) return;
        out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
    }
}

void ServerSession::on_timer(TimePoint now) {
    auto& me = *impl_;
    if (me.fatal || me.peer_dead) return;
    me.now = now;
    for (auto& [id, st] : me.streams) {
        if (st.answered || !st.deadline || *st.deadline > now) continue;
        // grpc-go: RST_STREAM(CANCEL) without trailers; the client reports DEADLINE_EXCEEDED.
        st.answered = true;
        me.report_cancel(id, st);
        nghttp2_submit_rst_stream(me.s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    }
    if (me.drain == Impl::Drain::notice_sent && me.drain_deadline <= now) me.final_goaway();
    switch (me.pinger.on_timer(now, me.streams.size())) {
        case KeepalivePinger::Action::send_ping: nghttp2_submit_ping(me.s, NGHTTP2_FLAG_NONE, nullptr); break;
        case KeepalivePinger::Action::peer_dead:
            me.peer_dead = true;
            me.close_reason = "keepalive ping not acked within timeout";
            for (auto& [id, st] : me.streams) me.report_cancel(id, st);
            break;
        case KeepalivePinger::Action::none: break;
    }
}

std::optional<TimePoint> ServerSession::next_timer() const {
    const auto& me = *impl_;
    if (me.fatal || me.peer_dead) return std::nullopt;
    std::optional<TimePoint> t = me.pinger.next_fire();
    for (const auto& [id, st] : me.streams)
        if (!st.answered && st.deadline && (!t || *st.deadline < *t)) t = st.deadline;
    if (me.drain == Impl::Drain::notice_sent && (!t || me.drain_deadline < *t)) t = me.drain_deadline;
    return t;
}

void ServerSession::begin_shutdown(TimePoint now, Duration drain_wait) {
    auto& me = *impl_;
    if (me.fatal || me.drain != Impl::Drain::running) return;
    me.now = now;
    me.drain = Impl::Drain::notice_sent;
    me.drain_deadline = now + drain_wait;
    nghttp2_submit_shutdown_notice(me.s);
    nghttp2_submit_ping(me.s, NGHTTP2_FLAG_NONE, Impl::kDrainPing);
}

std::vector<IncomingCall> ServerSession::take_calls() { return std::exchange(impl_->calls, {}); }
std::vector<std::int32_t> ServerSession::take_cancelled() { return std::exchange(impl_->cancelled, {}); }

void ServerSession::respond(std::int32_t stream_id, std::string_view message) {
    auto& me = *impl_;
    Impl::Stream* st = me.find(stream_id);
    if (!st || st->answered || me.fatal || me.calm_goaway_queued) return;
    st->answered = true;
    st->out = encode_message(message);
    HeaderList h;
    h.add(":status", "200");
    h.add("content-type", "application/grpc");
    auto nva = h.nva();
    nghttp2_data_provider prd{};
    prd.read_callback = &Impl::read_response;
    nghttp2_submit_response(me.s, stream_id, nva.data(), nva.size(), &prd);
}

void ServerSession::fail(std::int32_t stream_id, const Status& status) {
    auto& me = *impl_;
    Impl::Stream* st = me.find(stream_id);
    if (!st || me.fatal || me.calm_goaway_queued) return;
    me.reject(stream_id, *st, 200, status);
}

bool ServerSession::done() const {
    const auto& me = *impl_;
    if (me.fatal || me.peer_dead) return true;
    const bool want_write = nghttp2_session_want_write(me.s) != 0;
    if (me.calm_goaway_sent && !want_write) return true;
    return !want_write && nghttp2_session_want_read(me.s) == 0;
}

const std::string& ServerSession::close_reason() const { return impl_->close_reason; }
std::size_t ServerSession::active_calls() const { return impl_->streams.size(); }
int ServerSession::ping_strikes() const { return impl_->enforcer.strikes(); }

}  // namespace zferry::transport::grpc
