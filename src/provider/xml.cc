#include "provider/xml.h"

#include <boost/json/object.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <sstream>

namespace tollgate::provider {
namespace {

namespace json = boost::json;
using boost::property_tree::ptree;

constexpr int kMaxDepth = 64;

// An upper bound of the element nesting, checked before parsing so a hostile
// answer cannot drive the recursive parser deep.
bool nesting_within_limit(std::string_view xml) {
  int depth = 0;
  for (size_t i = 0; i + 1 < xml.size(); ++i) {
    if (xml[i] != '<') continue;
    const char next = xml[i + 1];
    if (next == '/') {
      --depth;
    } else if (next != '?' && next != '!') {
      const size_t end = xml.find('>', i);
      if (end == std::string_view::npos) return false;
      if (xml[end - 1] != '/' && ++depth > kMaxDepth) return false;
      i = end;
    }
  }
  return true;
}

bool is_markup(const std::string& key) { return key == "<xmlattr>" || key == "<xmlcomment>"; }

json::value convert(const ptree& node) {
  bool has_elements = false;
  for (const auto& [key, child] : node) has_elements |= !is_markup(key);
  if (!has_elements) return json::value(node.data());
  json::object out;
  for (const auto& [key, child] : node) {
    if (is_markup(key)) continue;
    json::value v = convert(child);
    auto* existing = out.if_contains(key);
    if (!existing) {
      out[key] = std::move(v);
    } else if (existing->is_array()) {
      existing->as_array().push_back(std::move(v));
    } else {
      json::array both{std::move(*existing), std::move(v)};
      *existing = std::move(both);
    }
  }
  return out;
}

}  // namespace

std::optional<json::value> xml_to_json(std::string_view xml) {
  if (!nesting_within_limit(xml)) return std::nullopt;
  ptree tree;
  try {
    std::istringstream in{std::string(xml)};
    boost::property_tree::read_xml(in, tree, boost::property_tree::xml_parser::trim_whitespace);
  } catch (const boost::property_tree::ptree_error&) {
    return std::nullopt;
  }
  json::object root;
  for (const auto& [key, child] : tree) {
    if (!is_markup(key)) root[key] = convert(child);
  }
  if (root.empty()) return std::nullopt;
  return json::value(std::move(root));
}

}  // namespace tollgate::provider
