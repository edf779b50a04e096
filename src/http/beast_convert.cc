#include "http/beast_convert.h"

#include <boost/beast/http/verb.hpp>

namespace tollgate::http {

namespace bhttp = boost::beast::http;

HttpRequest from_beast(BeastRequest&& req) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  const std::string_view target = req.target();
  const auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  out.headers.reserve(8);
  for (const auto& f : req) {
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }
  out.body = std::move(req.body());
  return out;
}

BeastResponse to_beast(HttpResponse&& resp, bool keep_alive) {
  BeastResponse res{static_cast<bhttp::status>(resp.status), 11};
  for (auto& [k, v] : resp.headers) res.insert(k, v);
  res.keep_alive(keep_alive);
  res.body() = std::move(resp.body);
  res.prepare_payload();
  return res;
}

std::string serialize_head(const HttpResponse& resp, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " +
                    std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(resp.status))) +
                    "\r\n";
  for (const auto& [k, v] : resp.headers) out += k + ": " + v + "\r\n";
  out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  return out + "\r\n";
}

BeastRequest to_beast(HttpRequest&& req, std::string_view host) {
  BeastRequest out;
  out.method_string(req.method);
  out.target(req.query.empty() ? req.path : req.path + "?" + req.query);
  out.version(11);
  out.set(bhttp::field::host, host);
  for (auto& [k, v] : req.headers) out.insert(k, v);
  out.body() = std::move(req.body);
  if (!out.body().empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    out.prepare_payload();
  }
  return out;
}

HttpResponse from_beast(BeastResponse&& resp) {
  HttpResponse out;
  out.status = static_cast<int>(resp.result_int());
  out.headers.reserve(8);
  for (const auto& f : resp) {
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }
  out.body = std::move(resp.body());
  return out;
}

}  // namespace tollgate::http
