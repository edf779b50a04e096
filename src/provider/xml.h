#pragma once
// Reads a vendor's XML answer (e.g. AWS query APIs) into the JSON shape response
// mappings point into: <A><B>x</B><C>1</C><C>2</C></A> becomes
// {"A": {"B": "x", "C": ["1", "2"]}}. Text-only elements become strings;
// attributes, comments and processing instructions are dropped. No entities are
// expanded beyond XML's five. nullopt when the text is not well-formed XML or
// nests deeper than 64 elements.

#include <boost/json/value.hpp>

#include <optional>
#include <string_view>

namespace tollgate::provider {

std::optional<boost::json::value> xml_to_json(std::string_view xml);

}  // namespace tollgate::provider
