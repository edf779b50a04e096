#pragma once
// Internal to http/: conversions between Beast messages and tollgate's plain
// HttpRequest/HttpResponse values. Only http/ includes Beast.

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <memory_resource>
#include <tuple>

#include "core/http_message.h"
#include "core/result.h"

namespace tollgate::http {

// Beast allocates every header field of a parsed message on its own. A message
// read off the wire lives only while it is converted to tollgate's types, so
// its fields go into one arena instead: a single block small enough for the
// allocator's per-thread cache (kept off the reading coroutine's frame, which
// would otherwise outgrow that cache); the heap is used only past the arena's
// size, for unusually large heads.
using FieldAllocator = std::pmr::polymorphic_allocator<char>;
using ArenaFields = boost::beast::http::basic_fields<FieldAllocator>;
using BeastRequest = boost::beast::http::request<boost::beast::http::string_body, ArenaFields>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body, ArenaFields>;

// Holds the fields of one parsed message: create it before the parser that
// uses it, so that it outlives the parser and the message taken from it.
class FieldArena {
 public:
  FieldArena() = default;
  FieldArena(const FieldArena&) = delete;
  FieldArena& operator=(const FieldArena&) = delete;
  FieldAllocator allocator() { return FieldAllocator(&resource_); }

 private:
  // A typical head (a handful of fields, the request target) fits.
  alignas(std::max_align_t) std::byte bytes_[768];
  std::pmr::monotonic_buffer_resource resource_{bytes_, sizeof bytes_};
};

template <bool isRequest>
using ArenaParser = boost::beast::http::parser<isRequest, boost::beast::http::string_body, FieldAllocator>;
// A parser whose message keeps its fields in `arena`.
template <bool isRequest>
ArenaParser<isRequest> parser_in(FieldArena& arena) {
  return ArenaParser<isRequest>(std::piecewise_construct, std::make_tuple(), std::make_tuple(arena.allocator()));
}

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
