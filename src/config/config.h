#pragma once
// The validated, immutable configuration snapshot. Built once by load_config()
// (config/loader.h); never mutated afterwards, so any thread may read it without
// locks. Reload builds a new snapshot and swaps a shared_ptr (see app/).
// Every field states its default; docs/config.md documents them for operators.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/template_syntax.h"
#include "core/call.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/url.h"
#include "policy/latency_model.h"
#include "policy/breaker.h"
#include "policy/health_window.h"
#include "policy/retry_budget.h"
#include "policy/strategy.h"

namespace tollgate::config {

// 1-based position of a value in the YAML file, for error messages.
struct SourceMark {
  int line = 0;
  int column = 0;
  std::string file;  // set when the line is in a file the config includes
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  int workers = 0;                        // 0: one per CPU core
  // Caller connections open at once; more are answered 503 and closed. tollgate
  // raises its open-file limit to the hard limit at start and warns when this
  // does not fit in it.
  int max_connections = 10000;
  std::size_t max_header_bytes = 8192;    // larger request heads get 431
  std::size_t max_body_bytes = 65536;     // larger bodies get 413
  Millis request_timeout{5000};           // to receive a request once its first byte arrived
  Millis idle_timeout{30000};             // keep-alive connection with no request
  std::string deadline_header = "X-Timeout-Ms";  // caller's deadline in milliseconds
};

struct AdminConfig {
  bool enabled = false;                   // the admin listener runs only when configured
  std::string host = "127.0.0.1";
  std::uint16_t port = 8081;
  std::string token;                      // bearer token for every admin request (required)
};

struct LogConfig {
  std::string level = "info";   // debug | info | warn | error (reloadable)
  bool json = true;             // format: json (one object per line) or text; read at start
  bool calls = true;            // one line per call
};

// Debug and stress traffic (never sent to providers).
struct TestTrafficConfig {
  std::string header = "X-Tollgate-Traffic";  // request header choosing live | debug | stress
  bool apply_provider_limits = true;   // stress calls meet providers' rate and concurrency limits
                                       // (their own counters, not live's); quotas never apply
  bool record_health = false;          // stress outcomes enter live health windows and breakers
  Millis horizon{3'600'000};           // recordings of live traffic cover this long
  Millis snapshot_every{60'000};       // recordings are saved to the store this often
  int min_samples = 50;                // recorded answers needed before shadows use them
};

struct StoreConfig {
  // sqlite (default): an embedded file, one instance. postgres: a database
  // shared by every instance of a cluster (docs/deploy.md).
  enum class Driver { kSqlite, kPostgres } driver = Driver::kSqlite;
  // postgres: postgresql://user:password@host:port/db (a secret: use ${ENV:...}).
  std::string url;
  // The SQLite file (WAL mode; -wal and -shm beside it). Empty (the default):
  // tollgate.db in the state directory (core/process.h: default_state_dir()).
  std::string path;
  bool sync_full = true;                 // full: fsync every group commit; normal: crash-safe only
  Millis idempotency_ttl{24 * 3600 * 1000};  // how long an Idempotency-Key is remembered
  Millis retention{7 * 24 * 3600 * 1000};    // finished calls are kept this long (dead letters: until replayed)
  bool record_sync_calls = true;         // keep plain synchronous calls for GET /v1/requests/{id}
};

struct JobsConfig {
  Millis lease{30000};                   // a claimed job is another process's again after this
  int max_attempts = 10;                 // job runs before dead-lettering
  Millis max_age{24 * 3600 * 1000};      // a job older than this is dead-lettered
  Millis base_backoff{1000};             // between runs: U(0, min(max, base * 2^n))
  Millis max_backoff{300000};
  int concurrency = 16;                  // jobs running at once in this process
  double drain_rps = 100;                // job runs started per second at most
  Millis poll_interval{250};             // how often the runner looks for due jobs
  int max_batch = 100;                   // items in one :batch request
  Millis callback_timeout{5000};
  int callback_max_tries = 8;            // then the callback is given up (state failed)
};

// One entry of a callback allow-list, parsed: "hooks.example.com", "*.example.com",
// "127.0.0.1:8099", "[::1]:8099".
struct HostPattern {
  std::string host;      // lower-case name, the suffix after "*." or a canonical IP literal
  bool wildcard = false; // "*.example.com": any name below example.com (not example.com itself)
  bool ip = false;       // host is an IP literal
  int port = -1;         // -1: any port
};

struct CallbackConfig {
  std::vector<std::string> allowed_hosts;  // as written
  std::vector<HostPattern> patterns;       // parsed from allowed_hosts
  std::string secret;                      // HMAC-SHA256 key for the signature
  bool enabled() const { return !allowed_hosts.empty(); }

  // How a callback URL's host and port are admitted: not at all, by an exact
  // entry (a name or an IP literal), or only by a wildcard.
  enum class Match { kNone, kExact, kWildcard };
  Match match(const Url& url) const;
  // Whether tollgate may connect to `ip`, an address the URL's host resolved to.
  // Public addresses: always. Loopback and private ones: only when an exact entry
  // admitted the host (an internal service the operator named), never through a
  // wildcard. Link-local, unspecified and multicast ones (cloud metadata, 0.0.0.0):
  // only when the allow-list names that very address.
  bool allows_address(const Url& url, Match m, std::string_view ip) const;
};

// Parses one allow-list entry; nullopt when malformed.
std::optional<HostPattern> parse_host_pattern(std::string_view text);

struct CallerConfig {
  std::string name;
  std::string key_sha256;                 // lower-case hex SHA-256 of the API key
  std::vector<std::string> capabilities;  // "sms.send", "sms.*" or "*"
  double rps = 0;                         // caller rate limit; 0: none
  int burst = 0;                          // default: max(1, rps)
  std::optional<bool> deny_on_shared_loss;  // as for provider limits
  CallbackConfig callbacks;               // where async results may be POSTed
  // Traffic classes this caller may send; the first is used when the request does
  // not say (so [debug] makes a debug-only caller). Default: live, debug, stress.
  std::vector<Traffic> traffic = {Traffic::kLive, Traffic::kDebug, Traffic::kStress};
  SourceMark mark;

  bool allows(std::string_view capability) const;
};

enum class ParamType { kString, kInteger, kNumber, kBoolean, kObject, kArray };
enum class ParamFormat { kNone, kE164, kCnResidentId };

std::string_view to_string(ParamType t);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  bool required = false;                 // default: optional
  ParamFormat format = ParamFormat::kNone;
  std::optional<std::size_t> min_length;  // strings: in bytes
  std::optional<std::size_t> max_length;
  std::optional<double> minimum;          // integers and numbers
  std::optional<double> maximum;
  std::vector<std::string> one_of;        // strings: allowed values
  bool sensitive = false;                 // masked in logs and error messages
  // Object params: fields inside (names or dotted paths, at any depth) masked in
  // logs, e.g. [code] for {"template": "T1", "code": "4321"}. YAML: `sensitive:
  // [code]` instead of `sensitive: true`.
  std::vector<std::string> sensitive_fields;
  // Identifies the operation itself (a refund number, an order number): a provider
  // that deduplicates on it makes a repeated request safe, like {{call.id}}.
  bool idempotency_key = false;
};

struct RetryConfig {
  int max_attempts = 3;                   // attempts per call, over all providers
  Millis base_backoff{50};                // full jitter: sleep U(0, min(max, base*2^n))
  Millis max_backoff{1000};
};

struct HedgeConfig {
  bool enabled = false;                   // idempotent capabilities only
  bool use_p95 = false;                   // delay = the first provider's recent p95
  Millis delay{100};                      // fixed delay, or the floor when use_p95
};

struct AsyncConfig {
  bool allow = false;     // callers may ask for async (Prefer: respond-async, not_before, :batch)
  bool fallback = false;  // queue the call (202) when no provider can serve it now
};

struct CapabilityConfig {
  std::string name;                       // "sms.send": capability "sms", operation "send"
  std::vector<ParamSpec> params;
  bool idempotent = false;                // safe to repeat after an ambiguous failure
  // Results are secrets (access tokens): a plain synchronous call's answer is not
  // kept in the store for GET /v1/requests/{id} (an Idempotency-Key still keeps it).
  bool secret_results = false;
  Millis default_deadline{3000};          // when the caller sends no deadline header
  Millis max_deadline{30000};             // caller deadlines are clamped to this
  std::vector<std::string> providers;     // candidates
  policy::StrategyKind strategy = policy::StrategyKind::kPriority;
  policy::AdaptiveWeights adaptive;       // weights of the adaptive score
  RetryConfig retry;
  policy::RetryBudgetConfig retry_budget; // retries + hedges over calls
  HedgeConfig hedge;
  AsyncConfig async;
  SourceMark mark;
  SourceMark providers_mark;

  const ParamSpec* param(std::string_view n) const;
};

// A template string as written, with its position.
struct TemplateText {
  std::string text;
  SourceMark mark;
};

// A JSON body template: the YAML tree under `body.json`. Scalars are strings that
// may contain placeholders; plain (unquoted) YAML scalars that look like numbers,
// booleans or null keep that JSON type.
struct JsonTemplateMember;  // a key and its template (defined below: the types nest)
struct JsonTemplate {
  enum class Kind { kObject, kArray, kString, kLiteral } kind = Kind::kString;
  std::string text;  // kString: the template text; kLiteral: the JSON literal (1, true, null)
  std::vector<JsonTemplateMember> members;  // kObject (key order kept)
  std::vector<JsonTemplate> items;          // kArray
  SourceMark mark;
};
struct JsonTemplateMember {
  std::string first;   // the key
  JsonTemplate second;
};

struct RequestTemplateConfig {
  std::string method = "POST";
  TemplateText path{"/", {}};
  std::vector<std::pair<std::string, TemplateText>> query;    // order kept
  std::vector<std::pair<std::string, TemplateText>> headers;
  enum class BodyKind { kNone, kJson, kForm } body_kind = BodyKind::kNone;
  JsonTemplate json_body;
  std::vector<std::pair<std::string, TemplateText>> form_body;
};

struct ResponseMappingConfig {
  std::vector<int> success_status;        // default: any 2xx
  std::string success_field;              // JSON pointer; empty: status decides alone
  std::vector<std::string> success_equals;  // the field's values on success, as text ("0", "OK")
  // For APIs that add an error code only on failure (WeChat's errcode): an answer
  // carrying this field with a value other than 0 is a failure.
  std::string failure_field;
  std::vector<std::pair<std::string, std::string>> result;  // result name -> JSON pointer
  // Result fields whose raw values are normalised: name -> (raw value -> value).
  // A raw value not listed is not a success (the provider answered something unexpected).
  std::map<std::string, std::map<std::string, std::string>> result_values;
  // Verification of the provider's signature over successful answers.
  struct Verify {
    bool enabled = false;
    std::string public_key;       // PEM text, or {{credentials.NAME}}
    std::string public_key_file;  // or a PEM file (a public key or certificate)
    std::vector<std::string> canonical;  // response parts (provider/canonical.h)
    std::string separator = "\n";
    std::string signature;        // where the signature is: "header:<Name>"
    std::string encoding = "base64";
    SourceMark mark;
  } verify;
  // JSON pointers to the provider's error code and message (operators only); the
  // first present wins (e.g. a request-level and a per-recipient code).
  std::vector<std::string> error_code_fields;
  std::vector<std::string> error_message_fields;
  enum class Format { kJson, kXml } format = Format::kJson;  // the answer's body; pointers address it as JSON
  std::map<std::string, ErrorClass> errors;  // provider code -> class; HTTP status if no code
  // The result field holding the provider's id of what it did (a message id, an
  // order number): recorded with the call so that the provider's events about it
  // find their call. Empty: none.
  std::string message_id;
  // Results larger than this (serialized) are refused: the answer is unusable
  // (ambiguous: the provider did act). Default 64 KiB.
  std::size_t max_result_bytes = 64 << 10;
  // Bodies larger than this are not parsed for the mapping (an error answer's
  // code is then unread; a success is malformed). Default 1 MiB.
  std::size_t max_body_bytes = 1 << 20;
  SourceMark mark;
};

// Limits on what tollgate sends a provider (or one of its operations).
struct LimitsConfig {
  double rps = 0;                         // requests per second (GCRA); 0: unlimited
  int burst = 0;                          // default: max(1, rps)
  int max_concurrent = 0;                 // calls in flight at once; 0: unlimited
  std::uint64_t daily_quota = 0;          // 0: none
  std::uint64_t monthly_quota = 0;        // 0: none
  std::chrono::minutes quota_utc_offset{0};  // the provider's billing day starts at midnight here
  // With shared limits (shared: in the config) and Redis unreachable: enforce
  // the limit divided by shared.expected_instances locally (false), or refuse
  // (true). Default: shared.on_shared_loss.
  std::optional<bool> deny_on_shared_loss;
  bool any() const { return rps > 0 || max_concurrent > 0 || daily_quota > 0 || monthly_quota > 0; }
  bool operator==(const LimitsConfig&) const = default;
};

struct OperationConfig {
  std::string capability;
  LimitsConfig limits;
  RequestTemplateConfig request;
  ResponseMappingConfig response;
  // The request carries {{call.id}} in a field the provider deduplicates on, so a
  // retry after an ambiguous failure cannot act twice. Default: false.
  bool dedupe = false;
  // Optional params of the capability this provider cannot honour (e.g. a face
  // photo for a name-and-number-only check): calls carrying one skip it.
  std::vector<std::string> unsupported_params;
  SourceMark mark;
};

struct TlsConfig {
  bool verify = true;         // verify the provider's certificate and host name
  std::string ca_file;        // default: the system's CA store
  std::string client_cert;    // PEM, for providers that require mutual TLS
  std::string client_key;     // PEM
  std::string server_name;    // SNI and name to verify; default: the URL's host
};

// Signer options stay generic here; provider/ validates them per signer type.
struct SignerOption {
  std::string value;
  std::vector<std::string> list;  // for list-valued options (e.g. canonical parts)
  bool is_list = false;
  SourceMark mark;
};

struct SignerConfig {
  std::string type = "none";  // none | bearer | basic | hmac_sha256
  std::map<std::string, SignerOption> options;
  SourceMark mark;
};

// An active health check (engine/health_check.h): a cheap request to the
// provider, sent only while one of its breakers is open or half-open; its
// passing decides when the breaker lets live probes through.
struct HealthCheckConfig {
  bool enabled = false;
  std::string method = "GET";                  // GET | HEAD | POST
  std::string path;                            // after the base URL's path; may carry a query
  std::string body;                            // POST only, sent as application/json
  std::map<std::string, std::string> headers;  // static (${ENV:...} for tokens): values are secrets
  std::vector<int> expect_status;              // empty: any 2xx
  Millis interval{1000};
  Millis timeout{1000};
  int healthy_after = 1;                       // passes in a row before the breaker half-opens
  double ramp_from = 0.5;                      // the slow start's first share after a proven recovery
  bool operator==(const HealthCheckConfig&) const = default;
};

// Events a provider sends back (delivery receipts, payment notifications): where
// they arrive, how they are verified, and how they read (docs/events.md).
struct EventsConfig {
  bool enabled = false;
  std::vector<std::string> kinds = {"status"};  // paths /events/<provider>/<kind>
  // Verification: twilio (X-Twilio-Signature), wxpay_v3 (Wechatpay-Signature +
  // AEAD_AES_256_GCM resource), token (a secret path segment + source addresses).
  enum class Verify { kTwilio, kWxpayV3, kToken } verify = Verify::kToken;
  std::string secret;                   // twilio: auth token; wxpay_v3: APIv3 key (32 bytes); token: the path token
  std::string public_url;               // twilio: the URL the vendor signs (what it was told to call);
                                        // "" = rebuilt from the request's Host header and path
  std::map<std::string, std::string> platform_keys;  // wxpay_v3: serial -> PEM public key
  std::vector<std::string> allowed_sources;  // token: IPs or CIDRs the vendor calls from; empty: any
  Millis max_age{300000};               // wxpay_v3: older timestamps are refused
  enum class Format { kJson, kForm } format = Format::kJson;
  std::string items;                    // JSON pointer to an array of events (batches); "" = one event
  // Normalisation, with the response mapping's language: pointers into an event.
  std::string message_id;               // required: the provider's id of the message/order
  std::string kind_field;               // its status
  std::map<std::string, std::string> kind_map;  // vendor status -> delivered | undelivered | paid | refunded | ...
  std::string at_field;                 // when it happened (text, kept as given)
  std::string code_field;               // the vendor's code (operators)
  std::vector<std::string> dedupe;      // pointers whose values identify one event; default: message id + status
  // The acknowledgement the vendor expects, sent once the event is durable.
  int ack_status = 200;
  std::string ack_body;
  std::string ack_content_type = "application/json";
  SourceMark mark;
};

struct ProviderConfig {
  std::string name;
  std::string base_url;       // scheme://host[:port][/base/path]
  std::string scheme;         // "http" | "https" (derived)
  std::string host;           // derived
  std::uint16_t port = 0;     // derived (default 80 / 443)
  std::string base_path;      // derived, without trailing '/'
  Millis connect_timeout{1000};
  Millis attempt_timeout{3000};  // per attempt, further bounded by the call's deadline
  Millis idle_timeout{30000};    // pooled keep-alive connections older than this are closed
  int max_connections = 64;      // over all workers: the provider's bulkhead
  TlsConfig tls;
  std::string proxy;          // http://[user:pass@]host:port for HTTP CONNECT; empty: direct
  std::map<std::string, std::string> credentials;  // secrets: never logged
  SignerConfig signer;
  double weight = 1;             // share under the weighted strategy
  double price = 0;              // cost of one successful call (cost/adaptive, metrics)
  policy::HealthConfig health;   // health window
  policy::BreakerConfig breaker;
  LimitsConfig limits;
  Millis throttle_default{1000}; // how long to leave a throttling provider alone without Retry-After
  bool forward_trace = false;    // send the caller's W3C traceparent to this provider
  // Stress answers' latency until enough live traffic is recorded.
  policy::LatencyModel shadow_latency{policy::LatencyModel::Kind::kLogNormal, 50, 500};
  std::map<std::string, OperationConfig> operations;  // by capability name
  EventsConfig events;
  HealthCheckConfig health_check;
  SourceMark mark;
};

// What the instances of a cluster share through Redis (docs/deploy.md). Absent:
// every instance is on its own (limits and quotas per instance).
struct SharedConfig {
  bool enabled = false;
  std::string redis_url;          // redis://[:password@]host[:port][/db] (a secret: ${ENV:...})
  Millis timeout{50};             // per Redis command; past it, the local fallback
  std::string prefix = "tollgate:";  // of every key and channel (one Redis, several gateways)
  int expected_instances = 2;     // fallback limits are the limit divided by this
  bool deny_on_shared_loss = false;  // default for every limit: local (false) or deny
};

// The inbound listener for providers' events (separate from the caller API and
// the admin listener: providers call it from the internet).
struct InboundConfig {
  bool enabled = false;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8082;
  std::size_t max_body_bytes = 262144;
  std::string tls_cert;                 // PEM; with tls_key: HTTPS
  std::string tls_key;
  Millis hold{600000};                  // an event whose call is not known yet waits this long
  int max_held = 10000;                 // events waiting for their call, at most
  Millis receipt_due{60000};            // a send is counted in the delivery rate once this old
  Millis delivery_window{600000};       // the delivery rate covers sends this recent
  int min_delivery_samples = 20;        // fewer sends due in the window: the rate is unknown
  Millis delivery_interval{5000};       // how often the rate is recomputed (and held events swept)
};

// Queue mode (docs/queues.md): requests consumed from RabbitMQ queues, each
// queue acting for one configured caller; results published to reply_to.
struct QueueConsumerConfig {
  std::string queue;                // the request queue
  std::string caller;               // the configured caller it acts for
  std::string capability;           // fixed capability, or empty: named in each message
  int prefetch = 32;                // unacknowledged requests in flight, at most
  int delivery_limit = 5;           // deliveries before a request is dead-lettered (quorum queue)
  bool declare = true;              // declare the queue (quorum, delivery limit, DLX) and its DLX
  std::string dead_letter_exchange; // default: <queue>.dlx, bound to the queue <queue>.dead
  SourceMark mark;
};

struct QueuesConfig {
  bool enabled = false;
  std::string url;                  // amqp[s]://user:password@host[:port]/vhost (a secret: never logged)
  Millis heartbeat{10000};
  Millis reconnect_min{200};
  Millis reconnect_max{10000};
  std::vector<QueueConsumerConfig> consumers;
};

struct Config {
  std::string source;  // the file it came from
  QueuesConfig queues;
  SharedConfig shared;
  InboundConfig inbound;
  ServerConfig server;
  AdminConfig admin;
  LogConfig log;
  TestTrafficConfig test_traffic;
  StoreConfig store;
  JobsConfig jobs;
  std::vector<CallerConfig> callers;
  std::map<std::string, CapabilityConfig> capabilities;
  std::map<std::string, ProviderConfig> providers;

  const CapabilityConfig* capability(std::string_view name) const;
  const ProviderConfig* provider(std::string_view name) const;
};

}  // namespace tollgate::config
