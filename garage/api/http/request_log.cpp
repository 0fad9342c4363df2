#include <garage/api/http/request_log.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cctype>
#include <exception>

namespace garage::api::http {

namespace {

/// An exchange that forwards to the server's and records the status and body sizes.
class recording_exchange final : public exchange {
public:
    explicit recording_exchange(exchange& inner) : inner_(inner) {}

    request_header const& request() const noexcept override { return inner_.request(); }
    std::string const& request_id() const noexcept override { return inner_.request_id(); }
    std::string const& remote() const noexcept override { return inner_.remote(); }
    net::awaitable<util::result<std::size_t>> read_some(std::span<char> buf) override
    {
        auto r = co_await inner_.read_some(buf);
        if (r) {
            bytes_in_ += *r;
        }
        co_return r;
    }
    net::awaitable<util::result<void>> respond(string_response response) override
    {
        if (!inner_.response_started()) {
            status_ = response.result_int();
        }
        co_return co_await inner_.respond(std::move(response));
    }
    net::awaitable<util::result<void>> write_header(response_header header) override
    {
        if (!inner_.response_started()) {
            status_ = header.result_int();
        }
        co_return co_await inner_.write_header(std::move(header));
    }
    net::awaitable<util::result<void>> write_body(std::string_view data, bool last) override
    {
        return inner_.write_body(data, last);
    }
    bool response_started() const noexcept override { return inner_.response_started(); }
    std::uint64_t body_bytes_sent() const noexcept override { return inner_.body_bytes_sent(); }

    unsigned status() const noexcept { return status_; }
    std::uint64_t bytes_in() const noexcept { return bytes_in_; }

private:
    exchange& inner_;
    unsigned status_ = 0;
    std::uint64_t bytes_in_ = 0;
};

struct log_state {
    handler inner;
    request_log_options options;
};

void finish(log_state const& st, recording_exchange const& rec, request_header const& req,
            std::chrono::steady_clock::time_point start, bool threw)
{
    request_record r;
    r.api = st.options.api;
    r.method = std::string(req.method_string());
    r.target = redact_target(req.target());
    r.status = (threw || rec.status() == 0) ? 500 : rec.status();
    r.bytes_in = rec.bytes_in();
    r.bytes_out = rec.body_bytes_sent();
    r.duration = std::chrono::steady_clock::now() - start;
    r.request_id = rec.request_id();
    r.remote = rec.remote();
    auto* logger = st.options.logger ? st.options.logger.get() : spdlog::default_logger_raw();
    auto const level = r.status >= 500 ? spdlog::level::warn : spdlog::level::info;
    if (logger != nullptr && logger->should_log(level)) {
        logger->log(level, "{}", format_request_line(r));
    }
    if (st.options.observer) {
        st.options.observer(req, r);
    }
}

net::awaitable<void> serve_logged(std::shared_ptr<log_state const> st, exchange& ex)
{
    auto const start = std::chrono::steady_clock::now();
    recording_exchange rec(ex);
    std::exception_ptr failure;
    try {
        co_await st->inner(rec);
    } catch (...) {
        failure = std::current_exception();
    }
    finish(*st, rec, ex.request(), start, failure != nullptr);
    if (failure) {
        std::rethrow_exception(failure);
    }
}

char lower(char c)
{
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = lower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/// The lower-cased, percent-decoded name of a query parameter.
std::string normalized_name(std::string_view raw)
{
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '%' && i + 2 < raw.size()) {
            int const h = hex_value(raw[i + 1]);
            int const l = hex_value(raw[i + 2]);
            if (h >= 0 && l >= 0) {
                out += lower(static_cast<char>(h * 16 + l));
                i += 2;
                continue;
            }
        }
        out += raw[i] == '+' ? ' ' : lower(raw[i]);
    }
    return out;
}

bool is_secret_param(std::string_view name)
{
    static constexpr std::array<std::string_view, 7> exact{
        "x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "awsaccesskeyid",
        "token",           "access_token"};
    for (auto e : exact) {
        if (name == e) {
            return true;
        }
    }
    // SSE-C keys and their MD5 (x-amz-server-side-encryption-customer-key[-md5], and the
    // copy-source variants), however a client spells them in a query
    return name.find("customer-key") != std::string_view::npos ||
           name.find("customer_key") != std::string_view::npos;
}

void append_escaped(std::string& out, std::string_view v)
{
    for (char c : v) {
        auto const u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            out += fmt::format("\\x{:02x}", u);
        } else {
            out += c;
        }
    }
}

} // namespace

handler with_request_log(handler inner, request_log_options options)
{
    auto st = std::make_shared<log_state const>(log_state{std::move(inner), std::move(options)});
    // not a coroutine: the state is handed to the coroutine as a parameter (rule 11)
    return [st](exchange& ex) { return serve_logged(st, ex); };
}

std::string redact_target(std::string_view target)
{
    auto const q = target.find('?');
    if (q == std::string_view::npos) {
        return std::string(target);
    }
    std::string out(target.substr(0, q + 1));
    std::string_view rest = target.substr(q + 1);
    bool first = true;
    while (true) {
        auto const amp = rest.find('&');
        auto const part = rest.substr(0, amp);
        if (!first) {
            out += '&';
        }
        first = false;
        auto const eq = part.find('=');
        auto const name = part.substr(0, eq);
        if (eq != std::string_view::npos && is_secret_param(normalized_name(name))) {
            out += name;
            out += "=REDACTED";
        } else {
            out += part;
        }
        if (amp == std::string_view::npos) {
            break;
        }
        rest = rest.substr(amp + 1);
    }
    return out;
}

std::string format_request_line(request_record const& r)
{
    std::string out;
    out.reserve(160 + r.target.size());
    out += "api=";
    out += r.api;
    out += " method=";
    append_escaped(out, r.method);
    out += " path=\"";
    append_escaped(out, r.target);
    out += "\" status=";
    out += fmt::format("{} bytes_in={} bytes_out={} duration_ms={:.3f} request_id=", r.status, r.bytes_in,
                       r.bytes_out, std::chrono::duration<double, std::milli>(r.duration).count());
    append_escaped(out, r.request_id);
    out += " remote=";
    append_escaped(out, r.remote);
    return out;
}

} // namespace garage::api::http
