#pragma once
// JSON text written straight into a string: for answers and log lines built on
// every call, where a boost::json::object (one allocation per key, value and
// table, then a serialisation) costs more than the text itself. Pure functions.

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace tollgate {

// Appends `s` escaped for the inside of a JSON string literal (quotes,
// backslashes and control bytes; other bytes as they are).
void json_escape_to(std::string& out, std::string_view s);

// Appends `v` as compact JSON, exactly as boost::json::serialize writes it.
void append_json(std::string& out, const boost::json::value& v);
void append_json(std::string& out, const boost::json::object& v);

// Writes one JSON object into `out`, member by member (keys escaped like
// strings); the object is closed by close() or the destructor.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  ~JsonObjectWriter() { close(); }
  JsonObjectWriter(const JsonObjectWriter&) = delete;
  JsonObjectWriter& operator=(const JsonObjectWriter&) = delete;

  JsonObjectWriter& string(std::string_view key, std::string_view v);
  JsonObjectWriter& number(std::string_view key, std::int64_t v);
  JsonObjectWriter& boolean(std::string_view key, bool v);
  JsonObjectWriter& value(std::string_view key, const boost::json::value& v);
  JsonObjectWriter& value(std::string_view key, const boost::json::object& v);
  // Starts a member and returns the string its value is to be appended to.
  std::string& member(std::string_view key);
  void close();

 private:
  std::string& out_;
  bool first_ = true;
  bool closed_ = false;
};

}  // namespace tollgate
