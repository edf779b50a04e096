#include "provider/adapter.h"

#include "core/time_format.h"

namespace tollgate::provider {

Operation::Operation(const Provider& provider, const config::OperationConfig& cfg,
                     std::shared_ptr<const ResponseVerifier> verifier)
    : provider_(provider),
      encoder_(cfg.request, provider.config().base_path),
      decoder_(cfg.response, provider.name(), std::move(verifier)),
      dedupe_(cfg.dedupe),
      uses_nonce_(encoder_.references(config::PlaceholderRoot::kAttempt, "nonce") ||
                  provider.signer().uses_nonce()),
      uses_timestamp_(encoder_.references(config::PlaceholderRoot::kAttempt, "timestamp") ||
                      provider.signer().uses_time()),
      uses_timestamp_ms_(encoder_.references(config::PlaceholderRoot::kAttempt, "timestamp_ms") ||
                         provider.signer().uses_time()),
      uses_iso8601_(encoder_.references(config::PlaceholderRoot::kAttempt, "iso8601") ||
                    provider.signer().uses_time()),
      unsupported_params_(cfg.unsupported_params) {}

Result<HttpRequest> Operation::encode(const Call& call, const AttemptInfo& attempt) const {
  const std::string number = std::to_string(attempt.number);
  const std::string ts = uses_timestamp_ ? std::to_string(unix_seconds(attempt.now)) : std::string();
  const std::string ts_ms = uses_timestamp_ms_ ? std::to_string(unix_millis(attempt.now)) : std::string();
  const std::string iso = uses_iso8601_ ? format_iso8601(attempt.now) : std::string();
  RenderContext ctx;
  ctx.params = &call.params;
  ctx.call_id = call.id;
  ctx.caller = call.caller;
  ctx.capability = call.capability;
  ctx.attempt_number = number;
  ctx.nonce = attempt.nonce;
  ctx.timestamp = ts;
  ctx.timestamp_ms = ts_ms;
  ctx.iso8601 = iso;
  ctx.credentials = &provider_.config().credentials;

  auto req = encoder_.encode(ctx);
  if (!req) return req;
  auto signed_ok = provider_.signer().sign(*req, SignInput{ctx, provider_.host_header(), attempt.now});
  if (!signed_ok) return std::move(signed_ok).error();
  return req;
}

Provider::Provider(const config::ProviderConfig& cfg, std::unique_ptr<Signer> signer, Verifiers verifiers)
    : cfg_(cfg), signer_(std::move(signer)) {
  const bool default_port = (cfg.scheme == "https" && cfg.port == 443) ||
                            (cfg.scheme == "http" && cfg.port == 80);
  const bool v6 = cfg.host.find(':') != std::string::npos;
  host_header_ = v6 ? "[" + cfg.host + "]" : cfg.host;
  if (!default_port) host_header_ += ":" + std::to_string(cfg.port);
  for (const auto& [cap, op] : cfg.operations) {
    auto v = verifiers.find(cap);
    operations_.emplace(cap, std::make_unique<Operation>(*this, op, v == verifiers.end() ? nullptr : v->second));
  }
}

const Operation* Provider::operation(std::string_view capability) const {
  auto it = operations_.find(capability);
  return it == operations_.end() ? nullptr : it->second.get();
}

std::shared_ptr<const Catalog> Catalog::build(std::shared_ptr<const config::Config> cfg,
                                              std::vector<config::Problem>& problems) {
  auto catalog = std::shared_ptr<Catalog>(new Catalog());
  catalog->cfg_ = std::move(cfg);
  const size_t before = problems.size();
  for (const auto& [name, pcfg] : catalog->cfg_->providers) {
    auto signer = make_signer(pcfg, problems);
    Provider::Verifiers verifiers;
    for (const auto& [cap, op] : pcfg.operations) {
      if (!op.response.verify.enabled) continue;
      if (auto v = ResponseVerifier::make(pcfg, op, problems)) verifiers.emplace(cap, std::move(v));
    }
    if (!signer) continue;
    catalog->providers_.emplace(name, std::make_unique<Provider>(pcfg, std::move(signer), std::move(verifiers)));
  }
  if (problems.size() != before) return nullptr;
  return catalog;
}

const Provider* Catalog::provider(std::string_view name) const {
  auto it = providers_.find(name);
  return it == providers_.end() ? nullptr : it->second.get();
}

}  // namespace tollgate::provider
