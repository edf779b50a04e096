#pragma once
// RequestEncoder: one provider operation's request template, compiled once from
// config and rendered per attempt into an HttpRequest. Immutable; any thread.

#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/http_message.h"
#include "core/result.h"
#include "provider/render.h"

namespace tollgate::provider {

class RequestEncoder {
 public:
  // `base_path` is the provider URL's path, prefixed to every request path.
  RequestEncoder(const config::RequestTemplateConfig& cfg, std::string base_path);

  // Fails with invalid_request when a param cannot be placed where the template
  // puts it (e.g. a line break in a header).
  Result<HttpRequest> encode(const RenderContext& ctx) const;

  // Whether any part of the template uses this placeholder.
  bool references(config::PlaceholderRoot root, std::string_view name) const;

 private:
  struct JsonMember;
  struct JsonNode {
    config::JsonTemplate::Kind kind;
    std::string literal;  // kLiteral: canonical JSON text
    CompiledText text;    // kString
    std::vector<JsonMember> members;
    std::vector<JsonNode> items;
  };
  struct JsonMember {
    std::string first;
    JsonNode second;
  };
  static JsonNode compile_json(const config::JsonTemplate& t);
  // Appends the node's JSON; returns false when the node renders to nothing (a
  // lone placeholder for an absent optional param), so its member is omitted.
  static bool render_json(std::string& out, const JsonNode& node, const RenderContext& ctx);

  std::string method_;
  std::string base_path_;
  CompiledText path_;
  std::vector<std::pair<std::string, CompiledText>> query_;
  std::vector<std::pair<std::string, CompiledText>> headers_;
  config::RequestTemplateConfig::BodyKind body_kind_;
  JsonNode json_body_;
  std::vector<std::pair<std::string, CompiledText>> form_body_;
  bool has_content_type_ = false;
};

}  // namespace tollgate::provider
