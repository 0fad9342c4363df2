// libFuzzer target: the S3 request parsers that see raw client input before any handler runs —
// the router (method, Host, target), percent-decoding, virtual-host bucket names, the Range
// header, HTTP dates (conditional headers) and XML request bodies.
//
// The input is: method, Host, target, Range header, an HTTP date, one per line, then the rest
// of the input as an XML body. Every parser must return (never crash, never read out of
// bounds), and the oracles below must hold.

#include <garage/api/s3/impl/get_object.hpp>
#include <garage/api/s3/router.hpp>
#include <garage/api/s3/xml.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace garage::api::s3;

void require(bool condition, char const* what)
{
    if (!condition) {
        std::fprintf(stderr, "oracle failed: %s\n", what);
        std::abort();
    }
}

/// Takes the next line off `text`.
std::string_view next_line(std::string_view& text)
{
    auto const nl = text.find('\n');
    auto line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    return line;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    std::string_view input(reinterpret_cast<char const*>(data), size);
    auto const method = next_line(input);
    auto const host = next_line(input);
    auto const target = next_line(input);
    auto const range = next_line(input);
    auto const date = next_line(input);
    auto const body = input;

    // Routing, path style and virtual-hosted style, with and without a copy source.
    for (std::string_view const root : {std::string_view{}, std::string_view{".s3.garage.localhost"}}) {
        for (bool const copy : {false, true}) {
            auto r = route_request(method, host, target, root, copy);
            if (!r) {
                require(!r.error().message.empty(), "routing errors carry a message");
                continue;
            }
            require(!name(r->ep).empty(), "every endpoint has a name");
            require(r->key.empty() || !r->bucket.empty(), "a key only under a bucket");
        }
        if (auto b = host_to_bucket(host, root)) {
            require(!root.empty(), "no bucket from the host without a root domain");
            require(b->size() < host.size(), "the bucket is a part of the host");
        }
    }
    if (auto d = percent_decode(target); d) {
        require(d->size() <= target.size(), "decoding never grows");
    }

    // Range against a few object sizes.
    for (std::uint64_t const object_size : {0ull, 1ull, 4096ull, (1ull << 40) + 7}) {
        try {
            if (auto r = detail::parse_range(range, object_size)) {
                require(r->start <= r->end && r->end <= object_size, "range within the object");
                require(object_size == 0 || r->start < object_size, "range starts inside");
            }
        } catch (detail::s3_exception const& e) {
            require(e.err.status == 416, "only 416 is thrown");
            require(e.content_range.has_value(), "416 names the size");
        }
    }

    // Conditional headers' dates.
    if (auto ms = detail::parse_http_date(date)) {
        require(*ms % 1000 == 0, "HTTP dates have second precision");
    }

    // XML bodies: parse, and walk whatever came out.
    pugi::xml_document doc;
    if (auto d = parse_xml(doc, body); d) {
        std::size_t nodes = 0;
        for (auto const& n : doc.select_nodes("//*")) {
            nodes += n.node().text().as_string() != nullptr ? 1 : 0;
        }
        require(nodes <= body.size(), "no more elements than bytes");
    } else {
        require(!d.error().message.empty(), "XML errors carry a message");
    }
    return 0;
}
