#include "tools/zferry/status_live.hpp"

#include "daemon/control/control_server.hpp"
#include "tools/zferry/status_view.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <stdexcept>

namespace zferry::cli {
namespace {

int signal_pipe_write = -1;

extern "C" void on_signal(int sig) {
    const int saved = errno;
    const unsigned char b = static_cast<unsigned char>(sig);
    [[maybe_unused]] auto n = ::write(signal_pipe_write, &b, 1);
    errno = saved;
}

void write_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
        const auto n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error(std::string("writing to the terminal: ") + std::strerror(errno));
        off += static_cast<std::size_t>(n);
    }
}

// The signals that end, resize, stop or continue the view arrive as bytes on a pipe the loop
// polls; the previous handlers come back when this goes.
class SignalPipe {
public:
    SignalPipe() {
        if (::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0)
            throw std::runtime_error(std::string("creating the signal pipe: ") + std::strerror(errno));
        signal_pipe_write = fds_[1];
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        ::sigemptyset(&sa.sa_mask);
        for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
    }
    ~SignalPipe() {
        for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
        signal_pipe_write = -1;
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    SignalPipe(const SignalPipe&) = delete;
    SignalPipe& operator=(const SignalPipe&) = delete;
    int fd() const { return fds_[0]; }

    // Ctrl-Z, after the terminal is restored: the default action of SIGTSTP (the process stops
    // here), then our handler again once `fg` or `bg` continued it.
    static void stop_now() {
        struct sigaction dfl {
        }, ours{};
        dfl.sa_handler = SIG_DFL;
        ::sigemptyset(&dfl.sa_mask);
        ::sigaction(SIGTSTP, &dfl, &ours);
        ::raise(SIGTSTP);
        ::sigaction(SIGTSTP, &ours, nullptr);
    }

private:
    static constexpr std::array<int, 6> kSignals = {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP, SIGCONT};
    int fds_[2] = {-1, -1};
    std::array<struct sigaction, 6> old_{};
};

// Keys without Enter and without echo (signals from the keyboard stay on: Ctrl-C is SIGINT,
// Ctrl-Z is SIGTSTP), the alternate screen, the cursor hidden; all undone by leave() (before
// the process stops) and by the destructor, and done again by enter() (once continued).
class TerminalMode {
public:
    TerminalMode() {
        if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_) == 0) have_saved_ = true;
        enter();
    }
    ~TerminalMode() { leave(); }
    TerminalMode(const TerminalMode&) = delete;
    TerminalMode& operator=(const TerminalMode&) = delete;
    bool keys() const { return have_saved_; }

    void enter() {
        // The screen first: if writing fails, nothing is left to undo.
        write_all(STDOUT_FILENO, "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J");
        entered_ = true;
        if (have_saved_) {
            termios raw = saved_;
            raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
            raw.c_cc[VMIN] = 0;
            raw.c_cc[VTIME] = 0;
            termios_set_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
        }
    }
    void leave() {
        if (!entered_) return;
        entered_ = false;
        const std::string restore = "\x1b[?25h\x1b[?1049l";
        [[maybe_unused]] auto n = ::write(STDOUT_FILENO, restore.data(), restore.size());
        if (termios_set_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
        termios_set_ = false;
    }

private:
    termios saved_{};
    bool have_saved_ = false;
    bool entered_ = false;
    bool termios_set_ = false;
};

ViewOptions terminal_options(const std::string& only_job) {
    ViewOptions o;
    o.only_job = only_job;
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        o.width = ws.ws_col;
        o.height = ws.ws_row;
    }
    const char* term = std::getenv("TERM");
    const char* no_colour = std::getenv("NO_COLOR");
    o.colour = !(term && std::string(term) == "dumb") && !(no_colour && *no_colour);
    return o;
}

// What the last poll got, so a resize re-renders it without asking the daemon again.
struct LastPoll {
    std::optional<boost::json::value> status;  // empty: not reachable
    std::string why;
    std::optional<RateSample> previous;  // the sample before it
    WallClock::time_point at;
};

std::vector<std::string> render(const LastPoll& p, const ViewOptions& opts, RateSample* next) {
    if (!p.status) return render_unreachable(p.why, p.at, opts);
    auto screen = render_live(*p.status, p.previous ? &*p.previous : nullptr, p.at, opts);
    if (next) *next = std::move(screen.sample);
    return std::move(screen.lines);
}

int loop(const std::string& sockpath, const std::string& only_job) {
    SignalPipe signals;
    TerminalMode term;
    auto opts = terminal_options(only_job);
    LastPoll last;
    std::optional<RateSample> sample;  // of the last successful poll
    auto next_poll = std::chrono::steady_clock::now();
    bool stdin_open = term.keys();
    for (;;) {
        if (std::chrono::steady_clock::now() >= next_poll) {
            last = LastPoll{};
            last.at = WallClock::now();
            auto body = daemon::control_request(sockpath, "/status", "{}", std::chrono::seconds(1));
            if (!body) {
                last.why = body.error().message();
            } else {
                boost::system::error_code ec;
                auto v = boost::json::parse(*body, ec);
                if (ec)
                    last.why = "the daemon's answer is not JSON: " + ec.message();
                else
                    last.status = std::move(v);
            }
            last.previous = sample;
            RateSample next;
            write_all(STDOUT_FILENO, compose_frame(render(last, opts, &next)));
            if (last.status) sample = std::move(next);
            next_poll = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        }
        pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
            next_poll - std::chrono::steady_clock::now());
        const int n = ::poll(fds, 2, static_cast<int>(std::max<long>(wait.count(), 0)));
        if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
        if (n <= 0) continue;
        if (fds[0].revents & POLLIN) {
            unsigned char sig[16];
            const auto got = ::read(signals.fd(), sig, sizeof sig);
            for (ssize_t i = 0; i < got; ++i) {
                if (sig[i] == SIGTSTP) {
                    // The shell gets its terminal back as it gave it; we come back to it on SIGCONT.
                    term.leave();
                    SignalPipe::stop_now();
                }
                if (sig[i] == SIGTSTP || sig[i] == SIGCONT) {
                    // Continued (also after a SIGSTOP that nobody caught): raw mode and the screen
                    // again, which the shell has had meanwhile.
                    term.leave();
                    term.enter();
                } else if (sig[i] != SIGWINCH) {
                    return 0;
                }
                opts = terminal_options(only_job);  // the size may have changed while stopped
                write_all(STDOUT_FILENO, compose_frame(render(last, opts, nullptr)));
            }
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            char keys[64];
            const auto got = ::read(STDIN_FILENO, keys, sizeof keys);
            if (got <= 0) {
                if (got == 0 || (errno != EINTR && errno != EAGAIN)) stdin_open = false;  // no keys any more
                continue;
            }
            for (ssize_t i = 0; i < got; ++i)
                if (keys[i] == 'q' || keys[i] == 'Q' || keys[i] == '\x03') return 0;
        }
    }
}

}  // namespace

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

int run_live_status(const std::string& sockpath, const std::string& only_job) {
    try {
        return loop(sockpath, only_job);
    } catch (const std::exception& e) {
        // The terminal is restored by now (the guards unwound).
        std::cerr << "zferry status: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace zferry::cli
