#include "http/beast_convert.h"

#include <boost/beast/http/verb.hpp>

#include "core/encoding.h"

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

namespace {

void append_head(std::string& out, const HttpResponse& resp, bool keep_alive) {
  out += "HTTP/1.1 ";
  out += std::to_string(resp.status);
  out += ' ';
  out += bhttp::obsolete_reason(static_cast<bhttp::status>(resp.status));
  out += "\r\n";
  for (const auto& [k, v] : resp.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(resp.body.size());
  out += keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
}

std::size_t head_estimate(const HttpResponse& resp) {
  std::size_t n = 128;
  for (const auto& [k, v] : resp.headers) n += k.size() + v.size() + 4;
  return n;
}

}  // namespace

std::string serialize_head(const HttpResponse& resp, bool keep_alive) {
  std::string out;
  out.reserve(head_estimate(resp));
  append_head(out, resp, keep_alive);
  return out;
}

namespace {

bool is_token(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<std::string> serialize_request(const HttpRequest& req, std::string_view host) {
  std::string wire;
  wire.reserve(128 + req.path.size() + req.query.size() + req.body.size() + req.headers.size() * 48);
  wire += req.method;
  wire += ' ';
  wire += req.path;
  if (!req.query.empty()) {
    wire += '?';
    wire += req.query;
  }
  wire += " HTTP/1.1\r\nHost: ";
  wire += host;
  wire += "\r\n";
  for (const auto& [k, v] : req.headers) {
    if (!is_token(k) || !is_safe_header_value(v)) {
      return Error::make(ErrorClass::kInternal, "request header '" + k + "' is not valid HTTP");
    }
    wire += k;
    wire += ": ";
    wire += v;
    wire += "\r\n";
  }
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    wire += "Content-Length: ";
    wire += std::to_string(req.body.size());
    wire += "\r\n";
  }
  wire += "\r\n";
  wire += req.body;
  return wire;
}

std::string serialize_response(const HttpResponse& resp, bool keep_alive) {
  std::string wire;
  wire.reserve(head_estimate(resp) + resp.body.size());
  append_head(wire, resp, keep_alive);
  wire += resp.body;
  return wire;
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
