#include "transport/grpc/client_session.hpp"

#include "transport/grpc/nghttp2_util.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace zferry::transport::grpc {

using detail::as_view;
using detail::HeaderList;

namespace {

// PROTOCOL-HTTP2.md's table, with grpc-go 1.78's two differences (http2ErrConvTab):
// FLOW_CONTROL -> RESOURCE_EXHAUSTED, anything unmapped -> UNKNOWN.
Status status_from_rst(std::uint32_t code) {
    const std::string text =
        std::string("stream terminated by RST_STREAM with error code: ") + nghttp2_http2_strerror(code);
    switch (code) {
        case NGHTTP2_NO_ERROR:
        case NGHTTP2_PROTOCOL_ERROR:
        case NGHTTP2_INTERNAL_ERROR:
        case NGHTTP2_STREAM_CLOSED:
        case NGHTTP2_FRAME_SIZE_ERROR:
        case NGHTTP2_COMPRESSION_ERROR:
        case NGHTTP2_CONNECT_ERROR: return {StatusCode::internal, text};
        case NGHTTP2_FLOW_CONTROL_ERROR: return {StatusCode::resource_exhausted, text};
        case NGHTTP2_REFUSED_STREAM: return {StatusCode::unavailable, text};
        case NGHTTP2_CANCEL: return {StatusCode::cancelled, text};
        case NGHTTP2_ENHANCE_YOUR_CALM: return {StatusCode::resource_exhausted, text};
        case NGHTTP2_INADEQUATE_SECURITY: return {StatusCode::permission_denied, text};
        default: return {StatusCode::unknown, text};
    }
}

// http-grpc-status-mapping.md: a response that carries no grpc-status.
StatusCode status_from_http(int http) {
    switch (http) {
        case 400: return StatusCode::internal;
        case 401: return StatusCode::unauthenticated;
        case 403: return StatusCode::permission_denied;
        case 404: return StatusCode::unimplemented;
        case 429:
        case 502:
        case 503:
        case 504: return StatusCode::unavailable;
        default: return StatusCode::unknown;
    }
}

}  // namespace

struct ClientSession::Impl {
    struct Stream {
        explicit Stream(std::size_t max_message) : reader(max_message) {}
        std::string request;  // framed
        std::size_t out_pos = 0;
        std::optional<TimePoint> deadline;
        int http_status = 0;
        std::optional<StatusCode> grpc_status;
        bool grpc_status_malformed = false;
        std::string grpc_message;
        std::string content_type;
        bool trailers = false;
        MessageReader reader;
        std::optional<Status> local;  // decided here: deadline, cancel, bad response
    };

    ClientSessionOptions opt;
    nghttp2_session* s = nullptr;
    TimePoint now;
    KeepalivePinger pinger;
    std::map<std::int32_t, Stream> streams;
    std::vector<CallResult> results;
    std::string close_reason;
    bool fatal = false;
    bool dead = false;
    bool goaway = false;
    bool too_many_pings = false;

    Impl(ClientSessionOptions o, TimePoint t) : opt(std::move(o)), now(t), pinger(opt.keepalive, t) {}

    Stream* find(std::int32_t id) {
        auto it = streams.find(id);
        return it == streams.end() ? nullptr : &it->second;
    }

    void finish(std::int32_t id, Status status, std::string message = {}) {
        results.push_back(CallResult{id, std::move(status), std::move(message)});
    }

    void end_all(const Status& st) {
        for (auto& [id, stream] : streams) finish(id, st);
        streams.clear();
    }

    void abort_stream(std::int32_t id, Stream& st, Status why) {
        if (st.local) return;
        st.local = std::move(why);
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    }

    CallResult result_of(std::int32_t id, Stream& st, std::uint32_t rst_code) {
        CallResult r;
        r.stream_id = id;
        if (st.local) {
            r.status = *st.local;
        } else if (rst_code == NGHTTP2_CANCEL && st.deadline && now >= *st.deadline) {
            // The server's deadline fired first (it resets without trailers): grpc-go reports
            // DEADLINE_EXCEEDED, not CANCELLED.
            r.status = {StatusCode::deadline_exceeded, "context deadline exceeded"};
        } else if (st.grpc_status_malformed) {
            r.status = {StatusCode::unknown, "malformed grpc-status"};
        } else if (st.grpc_status) {
            r.status = {*st.grpc_status, st.grpc_message};
            if (r.status.ok()) {
                if (st.reader.complete_messages() == 1 && !st.reader.partial()) {
                    r.message = *st.reader.take_message();
                } else {
                    r.status = {StatusCode::internal,
                                st.reader.complete_messages() == 0
                                    ? "grpc: the response carried no message"
                                    : "grpc: the response carried more than one message"};
                }
            }
        } else if (st.http_status != 0 && st.http_status != 200) {
            r.status = {
                status_from_http(st.http_status),
                "unexpected HTTP status code received from server: " + std::to_string(st.http_status)};
        } else if (rst_code != NGHTTP2_NO_ERROR || !st.trailers) {
            r.status =
                rst_code != NGHTTP2_NO_ERROR
                    ? status_from_rst(rst_code)
                    : Status{StatusCode::internal, "server closed the stream without sending trailers"};
            // No response began: the server did not process it (nghttp2 also closes the streams
            // a GOAWAY leaves out with this code).
            r.refused = rst_code == NGHTTP2_REFUSED_STREAM && st.http_status == 0;
        } else {
            r.status = {StatusCode::internal, "server closed the stream without sending trailers"};
        }
        return r;
    }

    static Impl& self(void* p) { return *static_cast<Impl*>(p); }

    static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name,
                         std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                         void* p) {
        auto& me = self(p);
        Stream* st = me.find(f->hd.stream_id);
        if (!st || f->hd.type != NGHTTP2_HEADERS) return 0;
        const auto n = as_view(name, namelen);
        const auto v = as_view(value, valuelen);
        if (n == ":status") {
            int code = 0;
            for (char c : v) code = (c >= '0' && c <= '9' && code < 1000) ? code * 10 + (c - '0') : 1000;
            st->http_status = code;
        } else if (n == "content-type") {
            st->content_type = v;
        } else if (n == "grpc-status") {
            st->grpc_status = parse_grpc_status(v);
            st->grpc_status_malformed = !st->grpc_status;
        } else if (n == "grpc-message") {
            st->grpc_message = percent_decode_message(v);
        }
        return 0;
    }

    static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                             std::size_t len, void* p) {
        auto& me = self(p);
        Stream* st = me.find(id);
        if (!st || st->local) return 0;
        if (!st->reader.feed({data, len}))
            me.abort_stream(id, *st, *st->reader.error());
        else if (st->reader.complete_messages() > 1)
            me.abort_stream(id, *st,
                            {StatusCode::internal, "grpc: the response carried more than one message"});
        return 0;
    }

    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* p) {
        auto& me = self(p);
        if (f->hd.type == NGHTTP2_HEADERS && (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
            // Trailers, or Trailers-Only (which arrives as the response's first HEADERS).
            if (Stream* st = me.find(f->hd.stream_id)) st->trailers = true;
        } else if (f->hd.type == NGHTTP2_GOAWAY) {
            me.goaway = true;
            const auto debug = as_view(f->goaway.opaque_data, f->goaway.opaque_data_len);
            if (f->goaway.error_code == NGHTTP2_ENHANCE_YOUR_CALM && debug == "too_many_pings") {
                me.too_many_pings = true;
                me.close_reason = "server sent GOAWAY(ENHANCE_YOUR_CALM, \"too_many_pings\")";
            } else if (me.close_reason.empty()) {
                me.close_reason =
                    std::string("server sent GOAWAY(") + nghttp2_http2_strerror(f->goaway.error_code) + ")";
            }
        }
        return 0;
    }

    static int on_frame_not_send(nghttp2_session*, const nghttp2_frame* f, int, void* p) {
        auto& me = self(p);
        if (f->hd.type != NGHTTP2_HEADERS) return 0;
        auto it = me.streams.find(f->hd.stream_id);
        if (it == me.streams.end()) return 0;
        me.finish(it->first,
                  {StatusCode::unavailable, "the stream is rejected because the connection is closing"});
        me.results.back().unsent = true;  // its HEADERS never went out
        me.streams.erase(it);
        return 0;
    }

    static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* p) {
        auto& me = self(p);
        auto it = me.streams.find(id);
        if (it == me.streams.end()) return 0;
        me.results.push_back(me.result_of(id, it->second, code));
        me.streams.erase(it);
        return 0;
    }

    static ssize_t read_request(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t len,
                                std::uint32_t* flags, nghttp2_data_source*, void* p) {
        auto& me = self(p);
        Stream* st = me.find(id);
        if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        const std::size_t n = std::min(len, st->request.size() - st->out_pos);
        std::copy_n(st->request.data() + st->out_pos, n, buf);
        st->out_pos += n;
        if (st->out_pos == st->request.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
        return static_cast<ssize_t>(n);
    }
};

ClientSession::ClientSession(ClientSessionOptions options, TimePoint now)
    : impl_(std::make_unique<Impl>(std::move(options), now)) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &Impl::on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Impl::on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Impl::on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, &Impl::on_frame_not_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Impl::on_stream_close);
    nghttp2_session_client_new(&impl_->s, cb, impl_.get());
    nghttp2_session_callbacks_del(cb);
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
    nghttp2_submit_settings(impl_->s, NGHTTP2_FLAG_NONE, settings, std::size(settings));
}

ClientSession::~ClientSession() { nghttp2_session_del(impl_->s); }

std::optional<std::int32_t> ClientSession::start_call(std::string_view path, std::string_view request,
                                                      std::optional<Duration> timeout, TimePoint now) {
    auto& me = *impl_;
    if (me.fatal || me.dead || me.goaway) return std::nullopt;
    me.now = now;
    // grpc-go's order: pseudo-headers, content-type, user-agent, te, grpc-timeout.
    HeaderList h;
    h.add(":method", "POST");
    h.add(":scheme", "http");
    h.add(":path", path);
    h.add(":authority", me.opt.authority);
    h.add("content-type", "application/grpc");
    h.add("user-agent", me.opt.user_agent);
    h.add("te", "trailers");
    if (timeout) h.add("grpc-timeout", format_grpc_timeout(*timeout));
    auto nva = h.nva();
    nghttp2_data_provider prd{};
    prd.read_callback = &Impl::read_request;
    const std::int32_t id = nghttp2_submit_request(me.s, nullptr, nva.data(), nva.size(), &prd, nullptr);
    if (id < 0) return std::nullopt;
    auto [it, inserted] = me.streams.emplace(id, Impl::Stream(me.opt.max_receive_message));
    it->second.request = encode_message(request);
    if (timeout) it->second.deadline = now + *timeout;
    me.pinger.on_stream_started(now);
    return id;
}

void ClientSession::cancel(std::int32_t stream_id) {
    auto& me = *impl_;
    if (Impl::Stream* st = me.find(stream_id))
        me.abort_stream(stream_id, *st, {StatusCode::cancelled, "context canceled"});
}

bool ClientSession::receive(std::span<const std::uint8_t> bytes, TimePoint now) {
    auto& me = *impl_;
    if (me.fatal) return false;
    me.now = now;
    if (!bytes.empty()) me.pinger.on_read(now);
    const ssize_t rv = nghttp2_session_mem_recv(me.s, bytes.data(), bytes.size());
    if (rv < 0 && nghttp2_is_fatal(static_cast<int>(rv))) {
        me.fatal = true;
        me.close_reason = std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(rv));
        me.end_all({StatusCode::unavailable, me.close_reason});
        return false;
    }
    return true;
}

void ClientSession::produce_output(std::string& out) {
    auto& me = *impl_;
    if (me.fatal) return;
    for (;;) {
        const std::uint8_t* p = nullptr;
        const ssize_t n = nghttp2_session_mem_send(me.s, &p);
        if (n < 0) {
            me.fatal = true;
            me.close_reason = std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(n));
            me.end_all({StatusCode::unavailable, me.close_reason});
            return;
        }
        if (n == 0) return;
        out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
    }
}

void ClientSession::on_timer(TimePoint now) {
    auto& me = *impl_;
    if (me.fatal || me.dead) return;
    me.now = now;
    for (auto& [id, st] : me.streams)
        if (st.deadline && *st.deadline <= now)
            me.abort_stream(id, st, {StatusCode::deadline_exceeded, "context deadline exceeded"});
    switch (me.pinger.on_timer(now, me.streams.size())) {
        case KeepalivePinger::Action::send_ping: nghttp2_submit_ping(me.s, NGHTTP2_FLAG_NONE, nullptr); break;
        case KeepalivePinger::Action::peer_dead:
            me.dead = true;
            me.close_reason = "keepalive ping failed to receive ACK within timeout";
            me.end_all({StatusCode::unavailable, me.close_reason});
            break;
        case KeepalivePinger::Action::none: break;
    }
}

std::optional<TimePoint> ClientSession::next_timer() const {
    const auto& me = *impl_;
    if (me.fatal || me.dead) return std::nullopt;
    std::optional<TimePoint> t = me.pinger.next_fire();
    for (const auto& [id, st] : me.streams)
        if (!st.local && st.deadline && (!t || *st.deadline < *t)) t = st.deadline;
    return t;
}

std::vector<CallResult> ClientSession::take_results() { return std::exchange(impl_->results, {}); }

void ClientSession::connection_lost(std::string_view why) {
    auto& me = *impl_;
    me.dead = true;
    if (me.close_reason.empty()) me.close_reason = why;
    me.end_all({StatusCode::unavailable, std::string(why)});
}

bool ClientSession::done() const {
    const auto& me = *impl_;
    if (me.fatal || me.dead) return true;
    return nghttp2_session_want_read(me.s) == 0 && nghttp2_session_want_write(me.s) == 0;
}

const std::string& ClientSession::close_reason() const { return impl_->close_reason; }
bool ClientSession::told_too_many_pings() const { return impl_->too_many_pings; }
std::size_t ClientSession::active_calls() const { return impl_->streams.size(); }

bool ClientSession::accepting_calls() const {
    const auto& me = *impl_;
    return !(me.fatal || me.dead || me.goaway);
}

}  // namespace zferry::transport::grpc
