#include <garage/api/s3/xml.hpp>

#include <sstream>

namespace garage::api::s3 {

xml_writer::xml_writer(std::string_view root, bool with_namespace)
{
    auto decl = doc_.append_child(pugi::node_declaration);
    decl.append_attribute("version") = "1.0";
    decl.append_attribute("encoding") = "UTF-8";
    root_ = doc_.append_child(std::string(root).c_str());
    if (with_namespace) {
        root_.append_attribute("xmlns") = std::string(s3_xmlns).c_str();
    }
}

pugi::xml_node xml_writer::text(pugi::xml_node parent, std::string_view name, std::string_view value)
{
    auto n = parent.append_child(std::string(name).c_str());
    n.append_child(pugi::node_pcdata).set_value(std::string(value).c_str());
    return n;
}

pugi::xml_node xml_writer::text(std::string_view name, std::string_view value)
{
    return text(root_, name, value);
}

pugi::xml_node xml_writer::child(std::string_view name)
{
    return root_.append_child(std::string(name).c_str());
}

std::string xml_writer::str() const
{
    std::ostringstream os;
    doc_.save(os, "", pugi::format_raw, pugi::encoding_utf8);
    return os.str();
}

util::result<pugi::xml_document*> parse_xml(pugi::xml_document& doc, std::string_view body)
{
    auto const r = doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!r) {
        return util::failure(util::error::decode_error, std::string("MalformedXML: ") + r.description() +
                                                            " at offset " + std::to_string(r.offset));
    }
    return &doc;
}

} // namespace garage::api::s3
