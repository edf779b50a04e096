#include "events/normalize.h"

#include <boost/json.hpp>

#include <algorithm>

#include "core/crypto.h"
#include "core/vendor_signatures.h"
#include "provider/response_decoder.h"

namespace tollgate::events {

namespace json = boost::json;

namespace {

constexpr size_t kMaxText = 128;

Error bad(std::string why) { return Error::make(ErrorClass::kBadRequest, std::move(why)); }

const json::value* at(const json::value& root, const std::string& ptr) {
  if (ptr.empty()) return &root;
  boost::system::error_code ec;
  return root.find_pointer(ptr, ec);
}

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7F; });
}

// A scalar's text, if it is a short printable scalar.
std::optional<std::string> text_at(const json::value& item, const std::string& ptr) {
  const auto* v = at(item, ptr);
  if (!v || v->is_object() || v->is_array() || v->is_null()) return std::nullopt;
  std::string t = provider::scalar_text(*v);
  if (t.empty() || t.size() > kMaxText || !printable(t)) return std::nullopt;
  return t;
}

Result<json::value> parse_document(const Verified& doc) {
  if (doc.form) {
    NameValues fields;
    if (!parse_name_values(doc.document, true, fields)) return bad("the form body is malformed");
    json::object o;
    for (auto& [k, v] : fields) o[k] = v;
    return json::value(std::move(o));
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  json::value v = json::parse(doc.document, ec, {}, opts);
  if (ec) return bad("the event is not valid JSON");
  return v;
}

}  // namespace

store::DeliveryOutcome delivery_of(std::string_view kind) {
  if (kind == "delivered") return store::DeliveryOutcome::kDelivered;
  if (kind == "undelivered") return store::DeliveryOutcome::kUndelivered;
  return store::DeliveryOutcome::kNone;
}

Result<std::vector<NormalizedEvent>> normalize(const config::EventsConfig& cfg, std::string_view provider,
                                               const Verified& doc) {
  auto root = parse_document(doc);
  if (!root) return root.error();
  std::vector<const json::value*> items;
  const json::value* list = cfg.items.empty() ? &*root : at(*root, cfg.items);
  if (!list) return bad("the event has nothing at " + cfg.items);
  if (list->is_array()) {
    for (const auto& it : list->get_array()) items.push_back(&it);
  } else if (cfg.items.empty() && list->is_object()) {
    items.push_back(list);
  } else {
    return bad("the events at '" + cfg.items + "' are not a list");
  }
  if (items.empty()) return bad("the request holds no event");
  if (items.size() > kMaxItems) return bad("more than " + std::to_string(kMaxItems) + " events in one request");
  std::vector<NormalizedEvent> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const json::value& item = *items[i];
    const std::string which = items.size() > 1 ? "event " + std::to_string(i + 1) : "the event";
    if (!item.is_object()) return bad(which + " is not an object");
    NormalizedEvent e;
    auto mid = text_at(item, cfg.message_id);
    if (!mid) return bad(which + " has no readable message id at " + cfg.message_id);
    e.message_id = std::move(*mid);
    auto status = text_at(item, cfg.kind_field);
    if (!status) return bad(which + " has no readable status at " + cfg.kind_field);
    e.status = std::move(*status);
    if (cfg.kind_map.empty()) {
      e.kind = e.status;
    } else if (auto k = cfg.kind_map.find(e.status); k != cfg.kind_map.end()) {
      e.kind = k->second;
    } else {
      e.kind = "other";
    }
    e.delivery = delivery_of(e.kind);
    if (!cfg.at_field.empty()) e.at = text_at(item, cfg.at_field).value_or("");
    if (!cfg.code_field.empty()) {
      if (const auto* c = at(item, cfg.code_field)) e.provider_code = provider::provider_code_text(*c);
    }
    std::string key(provider);
    for (const auto& ptr : cfg.dedupe) {
      key.push_back('\n');
      if (const auto* v = at(item, ptr)) key += provider::scalar_text(*v);
    }
    e.dedupe_key = sha256_hex(key);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace tollgate::events
