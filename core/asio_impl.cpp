// The one translation unit that compiles Asio's implementation
// (BOOST_ASIO_SEPARATE_COMPILATION is set for every target linking zferry_asio).
#include <boost/asio/impl/src.hpp>
