#pragma once
// A minimal blocking HTTP/1.1 client over loopback sockets, for tests and
// benchmark drivers: keep-alive connections, Content-Length bodies, raw bytes for
// misbehaving-client tests. Not for production use: no TLS, no chunked bodies.

#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <string>

namespace tollgate::testing {

struct Response {
  int status = 0;  // 0: no response (connection closed, timeout)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  // The body as JSON; an empty object when it is not JSON.
  boost::json::value json() const;
  std::string header(const std::string& lower_name) const;
};

// One keep-alive connection to 127.0.0.1:port.
class Connection {
 public:
  explicit Connection(int port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~Connection();
  bool ok() const { return fd_ >= 0; }
  Response request(const std::string& method, const std::string& target, const std::string& body = {},
                   const std::map<std::string, std::string>& headers = {});
  bool send_raw(const std::string& bytes);
  // Reads whatever arrives until the peer closes or the timeout; "" if closed.
  std::string read_some(std::chrono::milliseconds timeout);
  int fd() const { return fd_; }

 private:
  Response read_response();
  int fd_ = -1;
  std::string buffer_;
};

// One request on a fresh connection.
Response http(int port, const std::string& method, const std::string& target, const std::string& body = {},
              const std::map<std::string, std::string>& headers = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace tollgate::testing
