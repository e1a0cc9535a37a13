#include "daemon/logging/tcp_log_sink.hpp"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

namespace zferry::daemon {
namespace {

constexpr std::chrono::seconds kIoTimeout{5};

// host:port or [v6]:port into its parts; false when malformed.
bool split_address(const std::string& a, std::string& host, std::string& port) {
    const auto colon = a.rfind(':');
    if (colon == std::string::npos || colon + 1 == a.size()) return false;
    host = a.substr(0, colon);
    port = a.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return !host.empty();
}

// One connection to the collector: a socket with send/receive timeouts, TLS on top if asked.
class Connection {
public:
    ~Connection() {
        if (ssl_) {
            SSL_shutdown(ssl_);
            SSL_free(ssl_);
        }
        if (ctx_) SSL_CTX_free(ctx_);
        if (fd_ >= 0) ::close(fd_);
    }

    // Empty on success, else why not.
    std::string open(const TcpLogSinkOptions& o) {
        std::string host, port;
        if (!split_address(o.address, host, port)) return "address '" + o.address + "' is not host:port";
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_family = o.net == "tcp4" ? AF_INET : o.net == "tcp6" ? AF_INET6 : AF_UNSPEC;
        addrinfo* res = nullptr;
        if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
            return "resolving " + o.address + ": " + ::gai_strerror(rc);
        std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
        std::string why = "no address";
        for (auto* ai = res; ai; ai = ai->ai_next) {
            const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
            if (fd < 0) continue;
            timeval tv{static_cast<time_t>(kIoTimeout.count()), 0};
            ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // also bounds connect()
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
                fd_ = fd;
                break;
            }
            why = std::string("connecting to ") + o.address + ": " + std::strerror(errno);
            ::close(fd);
        }
        if (fd_ < 0) return why;
        if (!o.tls) return {};
        ctx_ = SSL_CTX_new(TLS_client_method());
        if (!ctx_ || SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION) != 1 ||
            SSL_CTX_load_verify_locations(ctx_, o.tls->ca.c_str(), nullptr) != 1 ||
            SSL_CTX_use_certificate_chain_file(ctx_, o.tls->cert.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx_, o.tls->key.c_str(), SSL_FILETYPE_PEM) != 1)
            return "TLS setup (ca " + o.tls->ca + ", cert " + o.tls->cert + ", key " + o.tls->key +
                   "): " + openssl_error();
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        SSL_set_tlsext_host_name(ssl_, host.c_str());
        SSL_set1_host(ssl_, host.c_str());  // the collector's certificate must name the host
        if (SSL_connect(ssl_) != 1) return "TLS handshake with " + o.address + ": " + openssl_error();
        return {};
    }

    // Whether the collector has closed or reset the connection (it never sends us data: a
    // FIN, an RST or an error shows as POLLRDHUP, POLLHUP or POLLERR).
    bool peer_closed() const {
        pollfd p{fd_, POLLRDHUP, 0};
        return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
    }

    // Empty on success.
    std::string send(const std::string& data) {
        std::size_t done = 0;
        while (done < data.size()) {
            if (ssl_) {
                const int n = SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done));
                if (n <= 0) return "TLS write: " + openssl_error();
                done += static_cast<std::size_t>(n);
            } else {
                const ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    return std::string("write: ") + std::strerror(errno);
                }
                done += static_cast<std::size_t>(n);
            }
        }
        return {};
    }

private:
    static std::string openssl_error() {
        const unsigned long e = ERR_get_error();
        ERR_clear_error();
        if (e == 0) return errno ? std::strerror(errno) : "unknown error";
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        return buf;
    }

    int fd_ = -1;
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
};

}  // namespace

TcpLogSink::TcpLogSink(TcpLogSinkOptions options) : options_(std::move(options)) {
    thread_ = std::thread([this] { run(); });
}

TcpLogSink::~TcpLogSink() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void TcpLogSink::write(LogLevel, std::string_view line) {
    {
        std::lock_guard lock(mu_);
        if (queue_.size() >= options_.max_queued_lines) {
            queue_.pop_front();
            ++dropped_;
        }
        queue_.emplace_back(line);
    }
    cv_.notify_one();
}

void TcpLogSink::run() {
    std::unique_ptr<Connection> conn;
    std::string last_failure;
    std::unique_lock lock(mu_);
    while (!stopping_) {
        if (!conn) {
            lock.unlock();
            auto c = std::make_unique<Connection>();
            std::string why = c->open(options_);
            lock.lock();
            if (!why.empty()) {
                // Said once per outage on stderr: logging through the logger would queue here.
                if (why != last_failure) std::fprintf(stderr, "zferry: tcp log outlet: %s\n", why.c_str());
                last_failure = why;
                cv_.wait_for(lock, options_.retry_interval, [&] { return stopping_; });
                continue;
            }
            last_failure.clear();
            conn = std::move(c);
        }
        // Idle, the connection is looked at every second, and before each write: lines are
        // never written into a connection the collector has already closed (they would be lost
        // with it), and a collector that restarted is reconnected to before it is needed.
        while (!stopping_ && queue_.empty()) {
            cv_.wait_for(lock, std::chrono::seconds(1));
            if (queue_.empty() && conn->peer_closed()) break;
        }
        if (stopping_) break;
        if (conn->peer_closed()) {
            conn.reset();
            continue;
        }
        std::string batch;
        if (dropped_ > 0) {
            batch = "zferry: " + std::to_string(dropped_) +
                    " log line(s) dropped while this outlet could not keep up or was unreachable\n";
            dropped_ = 0;
        }
        while (!queue_.empty() && batch.size() < 64 * 1024) {
            batch += queue_.front();
            batch += '\n';
            queue_.pop_front();
        }
        lock.unlock();
        std::string why = conn->send(batch);
        lock.lock();
        if (!why.empty()) {
            // The batch is lost with the connection (zrepl's outlet drops it too); say so.
            std::fprintf(stderr, "zferry: tcp log outlet %s: %s; reconnecting in %lld ms\n",
                         options_.address.c_str(), why.c_str(),
                         static_cast<long long>(options_.retry_interval.count()));
            conn.reset();
            cv_.wait_for(lock, options_.retry_interval, [&] { return stopping_; });
        }
    }
    // Stopping: what is queued goes out on a live connection (the daemon's last lines say why
    // it stopped), bounded by the socket's send timeout.
    if (conn && !queue_.empty()) {
        std::string rest;
        for (const auto& l : queue_) rest += l + "\n";
        queue_.clear();
        lock.unlock();
        (void)conn->send(rest);
    }
}

}  // namespace zferry::daemon
