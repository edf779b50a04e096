#include "provider/request_encoder.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <functional>

#include "core/encoding.h"

namespace tollgate::provider {
namespace {

using BodyKind = config::RequestTemplateConfig::BodyKind;

std::vector<std::pair<std::string, CompiledText>> compile_pairs(
    const std::vector<std::pair<std::string, config::TemplateText>>& in) {
  std::vector<std::pair<std::string, CompiledText>> out;
  out.reserve(in.size());
  for (const auto& [k, v] : in) out.emplace_back(k, compile_text(v.text));
  return out;
}

Error unplaceable(std::string_view header) {
  return Error::make(ErrorClass::kInvalidRequest,
                     "a param contains characters (line break or control) that cannot be sent "
                     "in the provider's '" + std::string(header) + "' header");
}

// '.' and '..' are unreserved, so percent-encoding leaves them as they are; a
// param that is exactly one of them would change which resource the path names.
bool has_dot_segment(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const auto seg = path.substr(start, end - start);
    if (seg == "." || seg == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

RequestEncoder::RequestEncoder(const config::RequestTemplateConfig& cfg, std::string base_path)
    : method_(cfg.method),
      base_path_(std::move(base_path)),
      path_(compile_text(cfg.path.text)),
      query_(compile_pairs(cfg.query)),
      headers_(compile_pairs(cfg.headers)),
      body_kind_(cfg.body_kind),
      json_body_(compile_json(cfg.json_body)),
      form_body_(compile_pairs(cfg.form_body)) {
  for (const auto& [k, v] : cfg.headers) {
    has_content_type_ = has_content_type_ || iequals(k, "Content-Type");
  }
}

RequestEncoder::JsonNode RequestEncoder::compile_json(const config::JsonTemplate& t) {
  JsonNode n{t.kind, {}, {}, {}, {}};
  switch (t.kind) {
    case config::JsonTemplate::Kind::kObject:
      for (const auto& [k, v] : t.members) n.members.push_back(JsonMember{k, compile_json(v)});
      break;
    case config::JsonTemplate::Kind::kArray:
      for (const auto& v : t.items) n.items.push_back(compile_json(v));
      break;
    case config::JsonTemplate::Kind::kLiteral: {
      boost::system::error_code ec;
      auto v = boost::json::parse(t.text, ec);
      // A YAML scalar like "1." or ".5" is not JSON: send it as a string instead.
      n.literal = ec ? boost::json::serialize(boost::json::string(t.text)) : boost::json::serialize(v);
      break;
    }
    case config::JsonTemplate::Kind::kString:
      n.text = compile_text(t.text);
      break;
  }
  return n;
}

bool RequestEncoder::render_json(std::string& out, const JsonNode& node, const RenderContext& ctx) {
  using Kind = config::JsonTemplate::Kind;
  switch (node.kind) {
    case Kind::kLiteral:
      out += node.literal;
      return true;
    case Kind::kString: {
      const auto& parsed = node.text.parsed();
      if (parsed.single_placeholder()) {
        const Resolved r = resolve(parsed.segments[0].placeholder, ctx);
        if (!r.present) return false;
        if (r.json) {
          append_json(out, *r.json);  // keeps numbers, objects, ...
        } else {
          out.push_back('"');
          json_escape_to(out, r.text);
          out.push_back('"');
        }
        return true;
      }
      out.push_back('"');
      node.text.render(out, ctx, Placement::kJsonString);
      out.push_back('"');
      return true;
    }
    case Kind::kObject: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, child] : node.members) {
        const size_t mark = out.size();
        if (!first) out.push_back(',');
        out.push_back('"');
        json_escape_to(out, key);
        out += "\":";
        if (render_json(out, child, ctx)) {
          first = false;
        } else {
          out.resize(mark);  // absent optional value: omit the member
        }
      }
      out.push_back('}');
      return true;
    }
    case Kind::kArray: {
      out.push_back('[');
      bool first = true;
      for (const auto& child : node.items) {
        const size_t mark = out.size();
        if (!first) out.push_back(',');
        if (render_json(out, child, ctx)) {
          first = false;
        } else {
          out.resize(mark);
        }
      }
      out.push_back(']');
      return true;
    }
  }
  return false;
}

bool RequestEncoder::references(config::PlaceholderRoot root, std::string_view name) const {
  auto in_pairs = [&](const std::vector<std::pair<std::string, CompiledText>>& pairs) {
    for (const auto& [k, v] : pairs) {
      if (v.parsed().references(root, name)) return true;
    }
    return false;
  };
  std::function<bool(const JsonNode&)> in_json = [&](const JsonNode& n) {
    if (n.text.parsed().references(root, name)) return true;
    for (const auto& [k, child] : n.members) {
      if (in_json(child)) return true;
    }
    for (const auto& child : n.items) {
      if (in_json(child)) return true;
    }
    return false;
  };
  return path_.parsed().references(root, name) || in_pairs(query_) || in_pairs(headers_) ||
         in_pairs(form_body_) || in_json(json_body_);
}

Result<HttpRequest> RequestEncoder::encode(const RenderContext& ctx) const {
  HttpRequest req;
  req.method = method_;
  req.path = base_path_;
  path_.render(req.path, ctx, Placement::kPathSegment);
  if (has_dot_segment(req.path)) {
    return Error::make(ErrorClass::kInvalidRequest,
                       "a param renders to '.' or '..' as a path segment, which cannot be sent");
  }
  for (const auto& [key, value] : query_) {
    if (!req.query.empty()) req.query.push_back('&');
    percent_encode_to(req.query, key);
    req.query.push_back('=');
    value.render(req.query, ctx, Placement::kQuery);
  }
  req.headers.reserve(headers_.size() + 2);
  for (const auto& [name, value] : headers_) {
    std::string v = value.render(ctx, Placement::kHeader);
    if (!is_safe_header_value(v)) return unplaceable(name);
    req.headers.emplace_back(name, std::move(v));
  }
  switch (body_kind_) {
    case BodyKind::kNone:
      break;
    case BodyKind::kJson:
      req.body.reserve(256);
      render_json(req.body, json_body_, ctx);
      if (!has_content_type_) req.headers.emplace_back("Content-Type", "application/json");
      break;
    case BodyKind::kForm:
      for (const auto& [key, value] : form_body_) {
        if (!req.body.empty()) req.body.push_back('&');
        percent_encode_to(req.body, key);
        req.body.push_back('=');
        value.render(req.body, ctx, Placement::kQuery);
      }
      if (!has_content_type_) {
        req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      }
      break;
  }
  return req;
}

}  // namespace tollgate::provider
