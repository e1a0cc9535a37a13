// raw_splice: the "limit" of the side-by-side comparison (bench/compare.py) and the shared
// producer/consumer every variant is measured with.
//
//   raw_splice send HOST PORT   stdin pipe -> splice -> TCP socket (connects to HOST:PORT)
//   raw_splice recv PORT        listens on 127.0.0.1:PORT, accepts one connection,
//                               TCP socket -> splice -> stdout pipe
//   raw_splice copy-send HOST PORT / copy-recv PORT
//                               the same with read(2)/write(2) of 1 MiB blocks instead of
//                               splice: the other raw baseline (on some kernels splicing a
//                               pipe into a socket is slower than copying)
//   raw_splice produce N        writes N bytes of a cheap pseudo-random pattern to stdout
//   raw_splice consume N        reads stdin to EOF, prints "<bytes> <checksum-hex>"; exits 1
//                               if the byte count is not N
//   raw_splice expect N         prints "<N> <checksum-hex>" of what `produce N` writes,
//                               computed in memory, so the producer need not hash anything
//
// send/recv do no framing and no user-space copy: this is the cheapest way to move a pipe's
// bytes over TCP on Linux, so a transport that does more cannot be faster than this.
// Everything is blocking and single-threaded on purpose: the comparison wants the least CPU
// per byte, not cleverness.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t kChunk = size_t{1} << 20;  // 1 MiB: splice length, pipe size, block size
constexpr int kPipeSize = 1 << 20;          // the default pipe-max-size

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "raw_splice: %s: %s\n", what, std::strerror(errno));
    std::exit(2);
}

[[noreturn]] void usage() {
    std::fprintf(
        stderr,
        "usage: raw_splice send HOST PORT | recv PORT | copy-send HOST PORT | copy-recv PORT | produce N | "
        "consume N | expect N\n");
    std::exit(2);
}

uint64_t parse_u64(const char* s) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') usage();
    return v;
}

bool is_pipe(int fd) {
    struct stat st {};
    return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

// Bigger pipes mean fewer wakeups per byte; 1 MiB is what an unprivileged process may set.
void enlarge_pipe(int fd) {
    if (is_pipe(fd)) (void)fcntl(fd, F_SETPIPE_SZ, kPipeSize);
}

// ---- the pattern and the checksum ----------------------------------------------------------

// One 1 MiB block of xorshift output, generated once. Each block written is this block with
// its first 8 bytes replaced by the block index, so lost, duplicated or reordered blocks
// change the checksum, while producing costs no more than a write(2).
std::vector<unsigned char> make_pattern() {
    std::vector<unsigned char> buf(kChunk);
    uint64_t x = 0x2545F4914F6CDD1DULL;
    for (size_t i = 0; i < kChunk; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::memcpy(&buf[i], &x, 8);
    }
    return buf;
}

void stamp_block(std::vector<unsigned char>& buf, uint64_t index) { std::memcpy(buf.data(), &index, 8); }

// Four independent multiply lanes over 32-byte groups: fast enough to hide behind the pipe
// read, and any changed 64-bit word changes its lane (xor and odd multiply are bijections).
class Hasher {
public:
    void update(const unsigned char* p, size_t n) {
        total_ += n;
        if (ncarry_ > 0) {
            size_t take = std::min(n, sizeof carry_ - ncarry_);
            std::memcpy(carry_ + ncarry_, p, take);
            ncarry_ += take;
            p += take;
            n -= take;
            if (ncarry_ < sizeof carry_) return;
            group(carry_);
            ncarry_ = 0;
        }
        while (n >= 32) {
            group(p);
            p += 32;
            n -= 32;
        }
        std::memcpy(carry_, p, n);
        ncarry_ = n;
    }

    uint64_t finish() {
        uint64_t h = total_ * kMul;
        for (size_t i = 0; i < ncarry_; ++i) h = (h ^ carry_[i]) * kMul;
        for (uint64_t lane : lanes_) h = ((h ^ lane) * kMul) ^ (h >> 29);
        return h;
    }

    uint64_t total() const { return total_; }

private:
    static constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;

    void group(const unsigned char* p) {
        for (int i = 0; i < 4; ++i) {
            uint64_t w;
            std::memcpy(&w, p + 8 * i, 8);
            uint64_t v = (lanes_[i] ^ w) * kMul;
            lanes_[i] = (v << 31) | (v >> 33);  // rotate so high bits feed the next multiply
        }
    }

    uint64_t lanes_[4] = {1, 2, 3, 4};
    unsigned char carry_[32];
    size_t ncarry_ = 0;
    uint64_t total_ = 0;
};

void print_sum(uint64_t bytes, uint64_t sum) { std::printf("%" PRIu64 " %016" PRIx64 "\n", bytes, sum); }

// ---- modes ---------------------------------------------------------------------------------

int produce(uint64_t n) {
    enlarge_pipe(1);
    auto buf = make_pattern();
    for (uint64_t index = 0, left = n; left > 0; ++index) {
        stamp_block(buf, index);
        size_t len = left < kChunk ? size_t(left) : kChunk;
        for (size_t off = 0; off < len;) {
            ssize_t w = write(1, buf.data() + off, len - off);
            if (w < 0) {
                if (errno == EINTR) continue;
                die("produce: write");
            }
            off += size_t(w);
        }
        left -= len;
    }
    return 0;
}

int expect(uint64_t n) {
    auto buf = make_pattern();
    Hasher h;
    for (uint64_t index = 0, left = n; left > 0; ++index) {
        stamp_block(buf, index);
        size_t len = left < kChunk ? size_t(left) : kChunk;
        h.update(buf.data(), len);
        left -= len;
    }
    print_sum(n, h.finish());
    return 0;
}

int consume(uint64_t n) {
    enlarge_pipe(0);
    std::vector<unsigned char> buf(kChunk);
    Hasher h;
    for (;;) {
        ssize_t r = read(0, buf.data(), buf.size());
        if (r < 0) {
            if (errno == EINTR) continue;
            die("consume: read");
        }
        if (r == 0) break;
        h.update(buf.data(), size_t(r));
    }
    print_sum(h.total(), h.finish());
    std::fflush(stdout);
    if (h.total() != n) {
        std::fprintf(stderr, "raw_splice: consume: got %" PRIu64 " bytes, expected %" PRIu64 "\n", h.total(),
                     n);
        return 1;
    }
    return 0;
}

// Moves everything from `in` to `out` with read(2) and write(2) of up to 1 MiB.
uint64_t copy_all(int in, int out, const char* what) {
    static std::vector<unsigned char> buf(kChunk);
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(in, buf.data(), buf.size());
        if (r < 0) {
            if (errno == EINTR) continue;
            die(what);
        }
        if (r == 0) return total;
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf.data() + off, size_t(r - off));
            if (w < 0) {
                if (errno == EINTR) continue;
                die(what);
            }
            off += w;
        }
        total += uint64_t(r);
    }
}

// Moves everything from `in` to `out` with splice(2); one side must be a pipe.
uint64_t splice_all(int in, int out, const char* what) {
    uint64_t total = 0;
    for (;;) {
        ssize_t r = splice(in, nullptr, out, nullptr, kChunk, SPLICE_F_MOVE | SPLICE_F_MORE);
        if (r < 0) {
            if (errno == EINTR) continue;
            die(what);
        }
        if (r == 0) return total;
        total += uint64_t(r);
    }
}

int send_mode(const char* host, const char* port, bool copy) {
    if (!is_pipe(0)) {
        std::fprintf(stderr, "raw_splice: send: stdin must be a pipe (splice needs one)\n");
        return 2;
    }
    enlarge_pipe(0);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = getaddrinfo(host, port, &hints, &res); rc != 0) {
        std::fprintf(stderr, "raw_splice: send: %s:%s: %s\n", host, port, gai_strerror(rc));
        return 2;
    }
    int sock = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) die("send: socket");
    if (connect(sock, res->ai_addr, res->ai_addrlen) < 0) die("send: connect");
    freeaddrinfo(res);
    if (copy)
        copy_all(0, sock, "copy-send: read/write");
    else
        splice_all(0, sock, "send: splice");
    // An orderly FIN, then close: the receiver sees EOF after the last byte.
    if (shutdown(sock, SHUT_WR) < 0) die("send: shutdown");
    close(sock);
    return 0;
}

int recv_mode(const char* port, bool copy) {
    if (!is_pipe(1)) {
        std::fprintf(stderr, "raw_splice: recv: stdout must be a pipe (splice needs one)\n");
        return 2;
    }
    enlarge_pipe(1);
    int lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lsock < 0) die("recv: socket");
    int one = 1;
    (void)setsockopt(lsock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(parse_u64(port)));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only, never a real interface
    if (bind(lsock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) die("recv: bind");
    if (listen(lsock, 1) < 0) die("recv: listen");
    int sock = accept4(lsock, nullptr, nullptr, SOCK_CLOEXEC);
    if (sock < 0) die("recv: accept");
    close(lsock);
    if (copy)
        copy_all(sock, 1, "copy-recv: read/write");
    else
        splice_all(sock, 1, "recv: splice");
    close(sock);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) usage();
    std::string mode = argv[1];
    if (mode == "send" && argc == 4) return send_mode(argv[2], argv[3], false);
    if (mode == "recv" && argc == 3) return recv_mode(argv[2], false);
    if (mode == "copy-send" && argc == 4) return send_mode(argv[2], argv[3], true);
    if (mode == "copy-recv" && argc == 3) return recv_mode(argv[2], true);
    if (mode == "produce" && argc == 3) return produce(parse_u64(argv[2]));
    if (mode == "consume" && argc == 3) return consume(parse_u64(argv[2]));
    if (mode == "expect" && argc == 3) return expect(parse_u64(argv[2]));
    usage();
}
