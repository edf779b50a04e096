#pragma once
// Reads a vendor's XML answer (e.g. AWS query APIs) into the JSON shape response
// mappings point into: <A><B>x</B><C>1</C><C>2</C></A> becomes
// {"A": {"B": "x", "C": ["1", "2"]}}. Text-only elements become strings (CDATA
// included); attributes, comments, processing instructions and the text beside
// child elements are dropped. XML's five entities and numeric character
// references are decoded; a DOCTYPE is refused, so no other entity ever is.
//
// The parser is a single pass with an explicit stack: no recursion, so a hostile
// answer cannot exhaust the stack; input size and element depth are bounded
// before any tree is built. nullopt when the text is not well-formed XML or is
// over a limit. Pure; any thread.

#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string_view>

namespace tollgate::provider {

struct XmlLimits {
  std::size_t max_bytes = 1 << 20;  // larger answers are refused unread
  std::size_t max_depth = 64;       // nested elements
};

std::optional<boost::json::value> xml_to_json(std::string_view xml, const XmlLimits& limits = {});

}  // namespace tollgate::provider
