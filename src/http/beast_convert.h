#pragma once
// Internal to http/: conversions between Beast messages and tollgate's plain
// HttpRequest/HttpResponse values. Only http/ includes Beast.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/http_message.h"

namespace tollgate::http {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;

HttpRequest from_beast(BeastRequest&& req);
BeastResponse to_beast(HttpResponse&& resp, bool keep_alive);
// Status line and headers (with Content-Length) of a response, as bytes.
std::string serialize_head(const HttpResponse& resp, bool keep_alive);

BeastRequest to_beast(HttpRequest&& req, std::string_view host);
HttpResponse from_beast(BeastResponse&& resp);

}  // namespace tollgate::http
