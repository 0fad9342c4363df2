// libFuzzer target: POST-policy form uploads (garage/api/common/post_policy.hpp) — the
// multipart/form-data parser fed in pieces of varying size, and the policy document parser and
// checker over what the form carried.
//
// The input is: a Content-Type line, then the form body. The first byte of the body also
// chooses how the body is cut into feeds. Every parser must return (never crash, never read out
// of bounds, never buffer beyond its limits), and the oracles below must hold.

#include <garage/api/common/post_policy.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace post = garage::api::post;

void require(bool condition, char const* what)
{
    if (!condition) {
        std::fprintf(stderr, "oracle failed: %s\n", what);
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    std::string_view input(reinterpret_cast<char const*>(data), size);
    auto const nl = input.find('\n');
    if (nl == std::string_view::npos) {
        return 0;
    }
    auto const content_type = input.substr(0, nl);
    auto const body = input.substr(nl + 1);

    auto boundary = post::form_boundary(content_type);
    if (!boundary) {
        require(!boundary.error().message.empty(), "errors carry a message");
        return 0;
    }
    require(!boundary->empty(), "a boundary is never empty");

    post::form_limits limits;
    limits.max_field_size = 512;
    limits.max_header_size = 512;
    limits.max_fields = 16;
    post::form_parser parser(*boundary, limits);
    std::size_t const piece = body.empty() ? 1 : 1 + static_cast<unsigned char>(body[0]) % 64;
    std::size_t fed = 0;
    std::vector<post::form_field> fields;
    std::string file;
    bool in_file = false;
    for (int steps = 0; steps < 100000; ++steps) {
        if (in_file) {
            auto done = parser.read_file(file);
            if (!done) {
                break;
            }
            if (*done) {
                in_file = false;
                continue;
            }
        } else {
            auto ev = parser.next();
            if (!ev) {
                require(!ev.error().message.empty(), "form errors carry a message");
                break;
            }
            if (*ev == post::form_event::end) {
                break;
            }
            if (*ev == post::form_event::field) {
                require(parser.value().size() <= limits.max_field_size, "field within its limit");
                fields.push_back({parser.head().name, parser.value()});
                require(fields.size() <= limits.max_fields, "no more fields than the limit");
                continue;
            }
            if (*ev == post::form_event::file) {
                in_file = true;
                continue;
            }
        }
        // need_input (or a file part waiting for bytes): feed the next piece, or end.
        if (fed < body.size()) {
            auto const n = std::min(piece, body.size() - fed);
            parser.feed(body.substr(fed, n));
            fed += n;
        } else {
            parser.end_of_input();
        }
    }
    require(file.size() <= body.size(), "the file is part of the body");

    // The policy and authentication checks over whatever fields came out.
    auto const now = std::chrono::system_clock::now();
    if (auto p = post::find_field(fields, "policy")) {
        if (auto doc = post::decode_policy(*p)) {
            fields.push_back({"bucket", "fuzz-bucket"});
            if (auto range = post::check_policy(*doc, fields, now)) {
                if (range->min <= range->max) {
                    require(range->check(range->min).has_value(), "the least size passes");
                    require(range->check(range->max).has_value(), "the largest size passes");
                    if (range->max < UINT64_MAX) {
                        require(range->check(range->max + 1).has_error(), "one more is too large");
                    }
                }
            }
        }
    }
    for (auto const& f : fields) {
        (void)post::is_exempt_field(f.name);
        if (auto t = post::parse_iso8601(f.value); t) {
            (void)t->time_since_epoch();
        }
        if (auto d = post::parse_policy(f.value); d) {
            for (auto const& c : d->conditions) {
                require(!c.to_string().empty(), "conditions print");
            }
        }
    }
    return 0;
}
