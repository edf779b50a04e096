// tollgate-sim: a simulated third-party provider with fault injection, for
// tests, benchmarks and the demo. See docs/sim.md.
#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>

#include <csignal>
#include <iostream>

#include "core/process.h"
#include "http/server.h"
#include "http/workers.h"
#include "sim/sim_handler.h"

int main(int argc, char** argv) {
  using namespace tollgate;
  CLI::App app{"tollgate-sim: a simulated third-party provider with fault injection"};
  std::string listen = "127.0.0.1:0";
  std::string ready_file;
  int workers = 1;
  sim::Credentials creds;
  http::ServerOptions opts;
  opts.idle_timeout = std::chrono::seconds(120);
  opts.max_body_bytes = 1 << 20;
  std::string behavior;
  app.add_option("--listen", listen, "host:port to listen on (port 0: any free port)");
  app.add_option("--ready-file", ready_file, "write {\"port\": N} here once listening");
  app.add_option("--workers", workers, "worker threads");
  app.add_option("--token", creds.token, "json dialect: the bearer token it accepts");
  app.add_option("--key-id", creds.key_id, "form dialect: the key id it accepts");
  app.add_option("--secret", creds.secret, "form dialect: the HMAC secret");
  app.add_option("--tls-cert", opts.tls_cert_file, "serve HTTPS with this certificate chain (PEM)");
  app.add_option("--tls-key", opts.tls_key_file, "private key for --tls-cert (PEM)");
  app.add_option("--client-ca", opts.tls_client_ca_file, "require client certificates signed by this CA");
  app.add_option("--behavior", behavior, "initial behaviour as JSON (same as POST /_sim/behavior)");
  std::string merchant_key, platform_key, events_spec;
  sim::EventKeys event_keys;
  app.add_option("--events", events_spec, "initial event targets as JSON (same as POST /_sim/events)");
  app.add_option("--pay-api-v3-key", event_keys.pay_api_v3_key, "wxpay: the APIv3 key (32 bytes) refund notifications are encrypted with");
  app.add_option("--pay-platform-serial", event_keys.pay_platform_serial, "wxpay: the platform key serial notifications name");
  app.add_option("--pay-merchant-public-key", merchant_key, "wxpay: the merchant's public key (PEM) its requests are checked with");
  app.add_option("--pay-platform-private-key", platform_key, "wxpay: the private key (PEM) the channel signs its answers with");
  CLI11_PARSE(app, argc, argv);

  // The payment channel's keys, when given.
  auto load_key = [](const std::string& option, const std::string& path, bool is_private, RsaKey& out) {
    if (path.empty()) return true;
    auto pem = read_file(path);
    auto key = !pem ? Result<RsaKey>(Error::make(ErrorClass::kInvalidRequest, "cannot read it"))
               : is_private ? RsaKey::private_pem(*pem)
                            : RsaKey::public_pem(*pem);
    if (!key) {
      std::cerr << "tollgate-sim: " << option << " " << path << ": " << key.error().message << "\n";
      return false;
    }
    out = std::move(*key);
    return true;
  };
  if (!load_key("--pay-merchant-public-key", merchant_key, false, creds.pay_merchant_public) ||
      !load_key("--pay-platform-private-key", platform_key, true, creds.pay_platform_private)) {
    return 2;
  }
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "tollgate-sim: --listen must be host:port\n";
    return 2;
  }
  block_termination_signals();
  http::Workers pool(workers);
  std::unique_ptr<http::Server> server;
  if (!event_keys.pay_api_v3_key.empty() && event_keys.pay_api_v3_key.size() != 32) {
    std::cerr << "tollgate-sim: --pay-api-v3-key must be 32 bytes\n";
    return 2;
  }
  sim::SimHandler handler(creds, event_keys);
  if (!events_spec.empty()) {
    boost::system::error_code ec;
    auto v = boost::json::parse(events_spec, ec);
    auto set = ec ? Result<void>(Error::make(ErrorClass::kBadRequest, "not JSON")) : handler.events().set(v);
    if (!set) {
      std::cerr << "tollgate-sim: --events: " << set.error().message << "\n";
      return 2;
    }
  }
  if (!behavior.empty()) {
    boost::system::error_code ec;
    auto v = boost::json::parse(behavior, ec);
    auto set = ec ? Result<void>(Error::make(ErrorClass::kBadRequest, "not JSON")) : handler.behavior().set(v);
    if (!set) {
      std::cerr << "tollgate-sim: --behavior: " << set.error().message << "\n";
      return 2;
    }
  }
  server = std::make_unique<http::Server>(pool, opts, handler);
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto port = server->listen(host, static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1))));
  if (!port) {
    std::cerr << "tollgate-sim: " << port.error().message << "\n";
    return 1;
  }
  server->start();
  // With TLS on, a second plain-HTTP listener serves the same handler so tests
  // and scripts can reach /_sim/ without a client certificate.
  std::unique_ptr<http::Server> control;
  std::uint16_t control_port = *port;
  if (!opts.tls_cert_file.empty()) {
    http::ServerOptions plain = opts;
    plain.tls_cert_file.clear();
    plain.tls_key_file.clear();
    plain.tls_client_ca_file.clear();
    control = std::make_unique<http::Server>(pool, plain, handler);
    auto cport = control->listen(host, 0);
    if (!cport) {
      std::cerr << "tollgate-sim: " << cport.error().message << "\n";
      return 1;
    }
    control_port = *cport;
    control->start();
  }
  pool.start();
  std::cout << "tollgate-sim listening on " << host << ":" << *port << " (control: " << control_port << ")"
            << std::endl;
  if (!ready_file.empty() &&
      !write_file_atomically(ready_file, "{\"port\": " + std::to_string(*port) +
                                             ", \"control_port\": " + std::to_string(control_port) + "}\n")) {
    std::cerr << "tollgate-sim: cannot write " << ready_file << "\n";
    return 1;
  }
  int sig;
  while ((sig = wait_for_signal()) == SIGHUP) {
  }
  server->stop_accepting();
  if (control) control->stop_accepting();
  pool.stop();
  return 0;
}
