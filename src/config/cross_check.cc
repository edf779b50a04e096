// Checks that span sections: references between callers, capabilities and
// providers, and the placeholders used in request templates.
#include <algorithm>

#include "config/parse_sections.h"

namespace tollgate::config::detail {
namespace {

struct TemplateScope {
  const CapabilityConfig* capability;
  const ProviderConfig* provider;
  const std::string& what;
};

void check_template(YamlReader& r, const TemplateScope& scope, const std::string& text,
                    SourceMark mark, bool* mentions_call_id) {
  auto parsed = parse_template(text);
  if (!parsed) {
    r.error(mark, scope.what + ": " + parsed.error().message);
    return;
  }
  for (const auto& seg : parsed->segments) {
    if (!seg.is_placeholder) continue;
    const auto& ph = seg.placeholder;
    switch (ph.root) {
      case PlaceholderRoot::kParams: {
        if (!scope.capability) break;
        const std::string top = ph.name.substr(0, ph.name.find('.'));
        const auto* param = scope.capability->param(top);
        if (!param) {
          r.error(mark, scope.what + ": {{params." + ph.name + "}} is not a param of capability '" +
                            scope.capability->name + "'");
        } else if (top != ph.name && param->type != ParamType::kObject) {
          r.error(mark, scope.what + ": {{params." + ph.name + "}} reaches into param '" + top +
                            "', which is not an object");
        } else if (param->idempotency_key && mentions_call_id) {
          *mentions_call_id = true;  // the provider can deduplicate on it, like the call id
        }
        break;
      }
      case PlaceholderRoot::kCredentials:
        if (!scope.provider->credentials.count(ph.name)) {
          r.error(mark, scope.what + ": {{credentials." + ph.name + "}} is not defined in provider '" +
                            scope.provider->name + "'.credentials");
        }
        break;
      case PlaceholderRoot::kSignature:
        r.error(mark, scope.what + ": {{signature}} is only available in a signer's format");
        break;
      case PlaceholderRoot::kCall:
        if (ph.name == "id" && mentions_call_id) *mentions_call_id = true;
        break;
      case PlaceholderRoot::kAttempt:
        break;
    }
  }
}

void check_json(YamlReader& r, const TemplateScope& scope, const JsonTemplate& t, bool* call_id) {
  switch (t.kind) {
    case JsonTemplate::Kind::kObject:
      for (const auto& [k, v] : t.members) check_json(r, scope, v, call_id);
      break;
    case JsonTemplate::Kind::kArray:
      for (const auto& v : t.items) check_json(r, scope, v, call_id);
      break;
    case JsonTemplate::Kind::kString:
      check_template(r, scope, t.text, t.mark, call_id);
      break;
    case JsonTemplate::Kind::kLiteral:
      break;
  }
}

void check_operation(YamlReader& r, const ProviderConfig& p, const OperationConfig& op,
                     const CapabilityConfig* cap) {
  const std::string what = "provider '" + p.name + "' operation '" + op.capability + "'";
  const TemplateScope scope{cap, &p, what};
  for (const auto& name : op.unsupported_params) {
    const auto* param = cap ? cap->param(name) : nullptr;
    if (cap && (!param || param->required)) {
      r.error(op.mark, what + ".unsupported_params: '" + name + "' is not an optional param of capability '" +
                           cap->name + "'");
    }
  }
  bool call_id = false;
  const auto& req = op.request;
  check_template(r, scope, req.path.text, req.path.mark, &call_id);
  for (const auto& [k, v] : req.query) check_template(r, scope, v.text, v.mark, &call_id);
  for (const auto& [k, v] : req.headers) check_template(r, scope, v.text, v.mark, &call_id);
  for (const auto& [k, v] : req.form_body) check_template(r, scope, v.text, v.mark, &call_id);
  if (req.body_kind == RequestTemplateConfig::BodyKind::kJson) {
    check_json(r, scope, req.json_body, &call_id);
  }
  if (op.dedupe && !call_id) {
    r.error(op.mark, what + ": dedupe is true but the request never sends {{call.id}} (or an "
                            "idempotency_key param) for the provider to deduplicate on");
  }
}

}  // namespace

void cross_check(YamlReader& r, const Config& cfg) {
  for (const auto& q : cfg.queues.consumers) {
    const CallerConfig* caller = nullptr;
    for (const auto& c : cfg.callers) {
      if (c.name == q.caller) caller = &c;
    }
    if (!caller) {
      r.error(q.mark, "queue '" + q.queue + "' acts for unknown caller '" + q.caller + "'");
    } else if (!q.capability.empty() && !cfg.capability(q.capability)) {
      r.error(q.mark, "queue '" + q.queue + "' names unknown capability '" + q.capability + "'");
    } else if (!q.capability.empty() && !caller->allows(q.capability)) {
      r.error(q.mark, "queue '" + q.queue + "': caller '" + q.caller + "' may not use " + q.capability);
    }
  }
  for (const auto& caller : cfg.callers) {
    for (const auto& c : caller.capabilities) {
      if (c == "*" || c.ends_with(".*")) continue;
      if (!cfg.capability(c)) {
        r.error(caller.mark, "caller '" + caller.name + "' allows unknown capability '" + c + "'");
      }
    }
  }
  for (const auto& [name, cap] : cfg.capabilities) {
    // A job's run must end before its lease does, or another process takes it over.
    if ((cap.async.allow || cap.async.fallback) && cap.default_deadline >= cfg.jobs.lease) {
      r.error(cap.mark, "capability '" + name + "' runs async jobs with a " +
                            std::to_string(cap.default_deadline.count()) + "ms deadline, not shorter than jobs.lease (" +
                            std::to_string(cfg.jobs.lease.count()) + "ms)");
    }
    for (const auto& pname : cap.providers) {
      const ProviderConfig* p = cfg.provider(pname);
      if (!p) {
        r.error(cap.providers_mark, "capability '" + name + "' names unknown provider '" + pname + "'");
      } else if (!p->operations.count(name)) {
        r.error(cap.providers_mark, "capability '" + name + "' names provider '" + pname +
                              "', which has no operation '" + name + "'");
      }
    }
  }
  for (const auto& [pname, p] : cfg.providers) {
    for (const auto& [opname, op] : p.operations) {
      if (p.breaker.min_delivery_rate > 0 && !p.events.enabled) {
        r.error(op.mark, "provider '" + pname + "' operation " + opname +
                             ": breaker.min_delivery_rate needs the provider's events (delivery receipts)");
      }
      if (p.breaker.min_delivery_rate > 0 && op.response.message_id.empty()) {
        r.error(op.mark, "provider '" + pname + "' operation " + opname +
                             ": breaker.min_delivery_rate needs response.message_id to tie receipts to sends");
      }
      const auto& mid = op.response.message_id;
      if (!mid.empty() && std::none_of(op.response.result.begin(), op.response.result.end(),
                                       [&](const auto& r) { return r.first == mid; })) {
        r.error(op.response.mark, "provider '" + pname + "' operation " + opname + ": response.message_id '" + mid +
                                      "' is not one of its result fields");
      }
    }
    for (const auto& [opname, op] : p.operations) {
      const CapabilityConfig* cap = cfg.capability(opname);
      if (!cap) {
        r.error(op.mark, "provider '" + pname + "' has an operation for unknown capability '" +
                             opname + "'");
      }
      check_operation(r, p, op, cap);
    }
  }
}

}  // namespace tollgate::config::detail
