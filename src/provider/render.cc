#include "provider/render.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/encoding.h"

namespace tollgate::provider {

Resolved resolve(const config::Placeholder& ph, const RenderContext& ctx) {
  using config::PlaceholderRoot;
  auto text = [](std::string_view v) { return Resolved{nullptr, v, true}; };
  switch (ph.root) {
    case PlaceholderRoot::kParams: {
      if (!ctx.params) return {};
      // A dotted name walks into object params: params.vars.code
      const boost::json::object* obj = ctx.params;
      std::string_view rest = ph.name;
      for (;;) {
        const size_t dot = rest.find('.');
        const auto* v = obj->if_contains(rest.substr(0, dot));
        if (!v || v->is_null()) return {};
        if (dot == std::string_view::npos) return Resolved{v, {}, true};
        if (!v->is_object()) return {};
        obj = &v->get_object();
        rest = rest.substr(dot + 1);
      }
    }
    case PlaceholderRoot::kCall:
      if (ph.name == "id") return text(ctx.call_id);
      if (ph.name == "caller") return text(ctx.caller);
      return text(ctx.capability);
    case PlaceholderRoot::kAttempt:
      if (ph.name == "number") return text(ctx.attempt_number);
      if (ph.name == "nonce") return text(ctx.nonce);
      if (ph.name == "timestamp") return text(ctx.timestamp);
      if (ph.name == "timestamp_ms") return text(ctx.timestamp_ms);
      return text(ctx.iso8601);
    case PlaceholderRoot::kCredentials: {
      if (!ctx.credentials) return {};
      auto it = ctx.credentials->find(ph.name);
      if (it == ctx.credentials->end()) return {};
      return text(it->second);
    }
    case PlaceholderRoot::kSignature:
      return text(ctx.signature);
  }
  return {};
}

void append_text(std::string& out, const Resolved& r) {
  if (!r.present) return;
  if (!r.json) {
    out += r.text;
  } else if (r.json->is_string()) {
    const auto& s = r.json->get_string();
    out.append(s.data(), s.size());
  } else {
    out += boost::json::serialize(*r.json);
  }
}

void CompiledText::render(std::string& out, const RenderContext& ctx, Placement placement) const {
  std::string scratch;
  for (const auto& seg : parsed_.segments) {
    if (!seg.is_placeholder) {
      out += seg.literal;  // written by the operator: trusted as is
      continue;
    }
    const Resolved r = resolve(seg.placeholder, ctx);
    if (placement == Placement::kText || placement == Placement::kHeader) {
      append_text(out, r);
      continue;
    }
    scratch.clear();
    append_text(scratch, r);
    if (placement == Placement::kJsonString) {
      json_escape_to(out, scratch);
    } else {
      percent_encode_to(out, scratch);
    }
  }
}

CompiledText compile_text(std::string_view text) {
  auto parsed = config::parse_template(text);
  return parsed ? CompiledText(std::move(parsed.value())) : CompiledText();
}

}  // namespace tollgate::provider
