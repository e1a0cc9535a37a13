// Asio's SSL implementation, compiled once (BOOST_ASIO_SEPARATE_COMPILATION), like
// core/asio_impl.cpp for the rest of Asio.
#include <boost/asio/ssl/impl/src.hpp>
