#include "transport/relay_copy.hpp"

#include <boost/asio/local/connect_pair.hpp>

#include <fmt/format.h>

#include <unistd.h>

namespace zferry::transport {

Result<RelayPair> make_relay_pair(boost::asio::any_io_executor ex, std::string_view transport) {
    using LocalSocket = boost::asio::local::stream_protocol::socket;
    auto relay = std::make_unique<LocalSocket>(ex);
    LocalSocket theirs(ex);
    boost::system::error_code ec;
    boost::asio::local::connect_pair(*relay, theirs, ec);
    if (ec) return Error(ec, fmt::format("{}: creating the local socket pair", transport));
    // Room for a whole relay batch each way (the kernel caps it at net.core.[rw]mem_max): fewer
    // wakeups of the relay and of the endpoint on the pair. Best effort: the defaults work too.
    boost::system::error_code ignored;
    for (LocalSocket* s : {relay.get(), &theirs}) {
        s->set_option(boost::asio::socket_base::send_buffer_size(kRelayPairBuffer), ignored);
        s->set_option(boost::asio::socket_base::receive_buffer_size(kRelayPairBuffer), ignored);
    }
    const int fd = theirs.release(ec);
    if (ec) return Error(ec, fmt::format("{}: releasing the local socket", transport));
    boost::asio::ip::tcp::socket wire(ex);
    wire.assign(boost::asio::ip::tcp::v4(), fd, ec);
    if (ec) {
        ::close(fd);
        return Error(ec, fmt::format("{}: adopting the local socket", transport));
    }
    return RelayPair{std::move(relay), std::move(wire)};
}

}  // namespace zferry::transport
