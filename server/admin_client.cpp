#include <server/admin_client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace garage::server {

namespace net = boost::asio;
namespace http = boost::beast::http;

admin_client::admin_client(util::config const& cfg) : cfg_(cfg) {}

namespace {

template <class Socket>
util::result<boost::json::value> send_request(Socket& s, http::request<http::string_body> const& req)
{
    boost::system::error_code ec;
    http::write(s, req, ec);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    if (!ec) {
        http::read(s, buf, res, ec);
    }
    if (ec) {
        return util::failure(util::error::io_error, "admin API: " + ec.message());
    }
    boost::json::value body;
    if (!res.body().empty()) {
        boost::system::error_code jec;
        body = boost::json::parse(res.body(), jec);
        if (jec) {
            body = boost::json::string(res.body());
        }
    }
    if (res.result_int() >= 400) {
        std::string msg = res.body();
        if (body.is_object() && body.as_object().contains("message")) {
            msg = std::string(body.at("message").as_string());
        }
        auto const cond =
            res.result_int() == 404 ? util::error::config_missing_key : util::error::config_invalid_value;
        return util::failure(cond, msg);
    }
    return body;
}

} // namespace

util::result<boost::json::value> admin_client::call(std::string_view method, std::string const& target,
                                                    boost::json::value const* body) const
{
    if (!cfg_.admin.api_bind_addr) {
        return util::failure(
            util::error::config_missing_key,
            "the configuration has no `admin.api_bind_addr`: the `garage` command talks to the "
            "node through its admin API");
    }
    if (!cfg_.admin.admin_token) {
        return util::failure(util::error::config_missing_key,
                             "the configuration has no `admin.admin_token` (or `admin_token_file`)");
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "localhost");
    req.set(http::field::authorization, "Bearer " + *cfg_.admin.admin_token);
    if (body) {
        req.set(http::field::content_type, "application/json");
        req.body() = boost::json::serialize(*body);
    }
    req.prepare_payload();
    net::io_context ioc;
    boost::system::error_code ec;
    if (auto const* sa = std::get_if<util::socket_address>(&*cfg_.admin.api_bind_addr)) {
        std::string ip = sa->ip;
        if (ip == "0.0.0.0") {
            ip = "127.0.0.1";
        } else if (ip == "::") {
            ip = "::1";
        }
        net::ip::tcp::socket s(ioc);
        s.connect({net::ip::make_address(ip, ec), sa->port}, ec);
        if (ec) {
            return util::failure(util::error::io_error, "cannot reach the node's admin API at " + ip + ":" +
                                                            std::to_string(sa->port) + ": " + ec.message() +
                                                            " (is `garage server` running?)");
        }
        return send_request(s, req);
    }
    auto const& path = std::get<std::filesystem::path>(*cfg_.admin.api_bind_addr);
    net::local::stream_protocol::socket s(ioc);
    s.connect(net::local::stream_protocol::endpoint(path.string()), ec);
    if (ec) {
        return util::failure(util::error::io_error,
                             "cannot reach the node's admin API at " + path.string() + ": " + ec.message());
    }
    return send_request(s, req);
}

} // namespace garage::server
