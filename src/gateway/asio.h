// The one place the gateway includes Boost.Asio and Boost.Beast.
//
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>, so with g++ 12 every
// translation unit that uses coroutines must include <utility> first; doing it here keeps that
// ordering in a single file.
#pragma once

#include <utility>  // must precede <boost/asio.hpp>, see above

#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace warden::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

template <typename T = void>
using Task = net::awaitable<T>;

// Completion token that stores the error in `ec` instead of throwing: nothing on the data plane
// may throw.
inline auto NoThrow(error_code& ec) { return net::redirect_error(net::use_awaitable, ec); }

}  // namespace warden::gateway
