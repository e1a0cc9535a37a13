// How a subcommand fails: the exact text OpenZFS prints and its exit code. Thrown by the
// commands and printed once by main().
#pragma once

#include <stdexcept>
#include <string>

namespace zfssim {

// A runtime error (exit 1 unless told otherwise). `text` is printed verbatim to stderr
// and must end with a newline when it is more than one line.
struct SimError : std::runtime_error {
    explicit SimError(std::string text, int code = 1)
        : std::runtime_error(std::move(text)), exit_code(code) {}
    int exit_code;
};

// A usage error: `text` (e.g. "invalid option 'X'"), then the subcommand's usage, exit 2.
struct UsageError : std::runtime_error {
    explicit UsageError(std::string text) : std::runtime_error(std::move(text)) {}
};

// Errors already printed (e.g. several datasets failed one after another): just exit.
struct ExitStatus {
    int code;
};

}  // namespace zfssim
