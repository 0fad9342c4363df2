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
    /// A document whose root is `root`, with the S3 namespace unless `with_namespace` is false.
    explicit xml_writer(std::string_view root, bool with_namespace = true);

    /// The root element.
    pugi::xml_node root() const { return root_; }
    /// Appends `<name>value</name>` under `parent` (the root by default).
    pugi::xml_node text(std::string_view name, std::string_view value);
    static pugi::xml_node text(pugi::xml_node parent, std::string_view name, std::string_view value);
    /// Appends an empty element `<name/>` under the root, to fill in.
    pugi::xml_node child(std::string_view name);

    /// The document with its XML declaration.
    std::string str() const;

private:
    pugi::xml_document doc_;
    pugi::xml_node root_;
};

/** Parses an XML request body, with a size bound checked by the caller.
    @return the document, or an S3 `MalformedXML`-style failure (condition bad_request). */
util::result<pugi::xml_document*> parse_xml(pugi::xml_document& doc, std::string_view body);

} // namespace garage::api::s3
