#pragma once
/** @file
    Small helpers over pugixml for S3's XML bodies.
*/

#include <garage/util/error.hpp>

#include <pugixml.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace garage::api::s3 {

/// The S3 XML namespace, set on the root of most responses.
inline constexpr std::string_view s3_xmlns = "http://s3.amazonaws.com/doc/2006-03-01/";

/** Builds an XML document: a root element, then children appended in order.

    @par Example
    @code
    xml_writer w("ListAllMyBucketsResult");
    auto buckets = w.child("Buckets");
    @endcode
*/
class xml_writer {
public:
    /** A document with its root element and nothing else.
        @param root           The root element's name, e.g. `ListBucketResult`.
        @param with_namespace Whether the root gets `xmlns` = @ref s3_xmlns (error bodies have none). */
    explicit xml_writer(std::string_view root, bool with_namespace = true);

    /// @return The root element (a handle into this document).
    pugi::xml_node root() const { return root_; }
    /** Appends `<name>value</name>` under the root (the value is escaped when written).
        @param name  The element name.
        @param value The element's text.
        @return The new element. */
    pugi::xml_node text(std::string_view name, std::string_view value);
    /** Appends `<name>value</name>` under any element (the value is escaped when written).
        @param parent The element to append to (of any document).
        @param name   The element name.
        @param value  The element's text.
        @return The new element. */
    static pugi::xml_node text(pugi::xml_node parent, std::string_view name, std::string_view value);
    /** Appends an empty element `<name/>` under the root, to fill in.
        @param name The element name.
        @return The new element. */
    pugi::xml_node child(std::string_view name);

    /// @return The document with its XML declaration, unindented, in UTF-8.
    std::string str() const;

private:
    pugi::xml_document doc_;
    pugi::xml_node root_;
};

/** Parses an XML request body, with a size bound checked by the caller.
    @param doc  The document to fill (replacing its contents).
    @param body The body, UTF-8.
    @return `&doc`, or a `util::error::decode_error` failure (condition bad_request) whose
    message starts with `MalformedXML:` and gives pugixml's reason and offset. */
util::result<pugi::xml_document*> parse_xml(pugi::xml_document& doc, std::string_view body);

} // namespace garage::api::s3
