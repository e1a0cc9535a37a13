// SHA-512/256 (FIPS 180-4), needed only to recognise zrepl 0.0.x placeholder values (the hex
// digest of the dataset path). Small and dependency-free on purpose.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace zferry::zfs {

std::array<std::uint8_t, 32> sha512_256(std::string_view data);
std::string sha512_256_hex(std::string_view data);

}  // namespace zferry::zfs
