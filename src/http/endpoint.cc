#include "http/endpoint.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/process.h"

namespace tollgate::http {

namespace asio = boost::asio;

namespace {

// A fingerprint of a file's contents, so a pool notices a renewed certificate.
std::string file_digest(const std::string& path) {
  if (path.empty()) return "-";
  auto text = read_file(path);
  return text ? sha256_hex(*text).substr(0, 16) : "unreadable";
}

}  // namespace

Endpoint::Endpoint(EndpointOptions options) : options_(std::move(options)) {}

Endpoint::~Endpoint() = default;

Result<std::shared_ptr<const Endpoint>> Endpoint::make(EndpointOptions o) {
  auto ep = std::shared_ptr<Endpoint>(new Endpoint(o));
  const bool v6 = o.host.find(':') != std::string::npos;
  const bool default_port = (o.scheme == "https" && o.port == 443) || (o.scheme == "http" && o.port == 80);
  ep->host_header_ = (v6 ? "[" + o.host + "]" : o.host) + (default_port ? "" : ":" + std::to_string(o.port));
  if (!o.proxy.empty()) {
    auto proxy = parse_http_url(o.proxy, UrlRules{.allow_userinfo = true, .allow_path = false,
                                                  .allow_query = false, .what = "proxy"});
    if (!proxy || proxy->scheme != "http") {
      return Error::make(ErrorClass::kInternal, "proxy must be http://[user:pass@]host:port");
    }
    if (!proxy->userinfo.empty()) ep->proxy_authorization_ = "Basic " + base64_encode(proxy->userinfo);
    ep->proxy_ = std::move(*proxy);
  }
  if (o.scheme == "https") {
    boost::system::error_code ec;
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    if (o.tls_verify) {
      ctx->set_verify_mode(asio::ssl::verify_peer);
      if (o.ca_file.empty()) {
        ctx->set_default_verify_paths(ec);
      } else {
        ctx->load_verify_file(o.ca_file, ec);
      }
      if (ec) return Error::make(ErrorClass::kInternal, "cannot load CA file '" + o.ca_file + "': " + ec.message());
    } else {
      ctx->set_verify_mode(asio::ssl::verify_none);
    }
    if (!o.client_cert.empty()) {
      ctx->use_certificate_chain_file(o.client_cert, ec);
      if (ec) {
        return Error::make(ErrorClass::kInternal,
                           "cannot load client certificate '" + o.client_cert + "': " + ec.message());
      }
      ctx->use_private_key_file(o.client_key, asio::ssl::context::pem, ec);
      if (ec) return Error::make(ErrorClass::kInternal, "cannot load client key '" + o.client_key + "': " + ec.message());
    }
    ep->tls_ = std::move(ctx);
    ep->verify_name_ = o.server_name.empty() ? o.host : o.server_name;
    ep->sni_ = !is_ip_literal(ep->verify_name_);  // SNI carries host names, never IP literals
  }
  ep->pool_key_ = o.scheme + "://" + ep->host_header_ + ":" + std::to_string(o.port) + "|proxy=" + o.proxy +
                  "|connect=" + std::to_string(o.connect_timeout.count()) +
                  "|idle=" + std::to_string(o.idle_timeout.count()) + "|verify=" + (o.tls_verify ? "1" : "0") +
                  "|ca=" + o.ca_file + "@" + (o.scheme == "https" ? file_digest(o.ca_file) : "-") +
                  "|cert=" + o.client_cert + "@" + file_digest(o.client_cert) + "|key=" + file_digest(o.client_key) +
                  "|sni=" + o.server_name + "|tag=" + o.pool_tag;
  return std::shared_ptr<const Endpoint>(std::move(ep));
}

Result<std::shared_ptr<const TransportEndpoint>> make_endpoint(const EndpointOptions& options) {
  auto made = Endpoint::make(options);
  if (!made) return std::move(made).error();
  return std::shared_ptr<const TransportEndpoint>(std::move(*made));
}

}  // namespace tollgate::http
