#pragma once
// Internal to http/: conversions between Beast messages and tollgate's plain
// HttpRequest/HttpResponse values. Only http/ includes Beast.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/http_message.h"
#include "core/result.h"

namespace tollgate::http {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;

HttpRequest from_beast(BeastRequest&& req);
// Status line and headers (with Content-Length) of a response, as bytes.
std::string serialize_head(const HttpResponse& resp, bool keep_alive);

// A request as bytes on the wire, in one buffer (one write, one syscall). Fails
// when a header name is not a token or a value holds CR, LF or NUL.
Result<std::string> serialize_request(const HttpRequest& req, std::string_view host);
// A response as bytes on the wire, head and body in one buffer.
std::string serialize_response(const HttpResponse& resp, bool keep_alive);
HttpResponse from_beast(BeastResponse&& resp);

}  // namespace tollgate::http
