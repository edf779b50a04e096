#pragma once
// Plain HTTP request/response values passed between the engine, the provider
// adapters and the http part, so that only http/ and sim/ include Beast.
// Header names keep their case; lookups are case-insensitive.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// First value of a header, case-insensitive; empty when absent.
std::string_view find_header(const HeaderList& headers, std::string_view name);
bool has_header(const HeaderList& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";
  std::string path = "/";  // already encoded, starts with '/'
  std::string query;       // already encoded, without '?'
  HeaderList headers;
  std::string body;
  // Set only by an in-process door (queue mode), never from the wire: the
  // configured caller the request comes from (no key to check), and where its
  // final status goes if it becomes an async job (e.g. amqp:reply_to?...).
  std::string door_caller;
  std::string door_reply;

  std::string target() const { return query.empty() ? path : path + "?" + query; }
  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;
  std::string body;

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

}  // namespace tollgate
