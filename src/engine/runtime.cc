#include "engine/runtime.h"

#include "core/crypto.h"

namespace tollgate::engine {

int CapabilityRuntime::candidate_index(std::string_view provider) const {
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].provider->name() == provider) return static_cast<int>(i);
  }
  return -1;
}

std::shared_ptr<const Runtime> Runtime::build(std::shared_ptr<const config::Config> cfg, int workers,
                                              StateRegistry& registry, const EndpointFactory& endpoints,
                                              std::vector<config::Problem>& problems) {
  const size_t before = problems.size();
  auto catalog = provider::Catalog::build(cfg, problems);
  if (!catalog) return nullptr;
  auto rt = std::shared_ptr<Runtime>(new Runtime());
  rt->catalog_ = catalog;
  const auto& c = catalog->config();
  workers = std::max(1, workers);
  for (const auto& [name, pcfg] : c.providers) {
    EndpointOptions o;
    o.scheme = pcfg.scheme;
    o.host = pcfg.host;
    o.port = pcfg.port;
    o.connect_timeout = pcfg.connect_timeout;
    o.idle_timeout = pcfg.idle_timeout;
    o.max_connections = (pcfg.max_connections + workers - 1) / workers;
    o.tls_verify = pcfg.tls.verify;
    o.ca_file = pcfg.tls.ca_file;
    o.client_cert = pcfg.tls.client_cert;
    o.client_key = pcfg.tls.client_key;
    o.server_name = pcfg.tls.server_name;
    o.proxy = pcfg.proxy;
    auto ep = endpoints(o);
    if (!ep) {
      problems.push_back({pcfg.mark, "provider '" + name + "': " + ep.error().message});
      continue;
    }
    rt->providers_.emplace(name, ProviderRuntime{catalog->provider(name), *ep, nullptr});
  }
  if (problems.size() != before) return nullptr;
  // Valid: only now take state from the registry, so a rejected config leaves it
  // exactly as the running snapshot uses it.
  for (auto& [name, p] : rt->providers_) p.state = registry.provider(p.config());
  for (const auto& caller : c.callers) {
    rt->callers_by_hash_.emplace(caller.key_sha256, CallerRuntime{&caller, registry.caller(caller)});
  }
  for (const auto& [name, cap] : c.capabilities) {
    CapabilityRuntime cr{&cap, {}, registry.capability(cap), &c.test_traffic, &registry, registry.shared()};
    for (const auto& pname : cap.providers) {
      const ProviderRuntime* p = rt->provider(pname);
      cr.candidates.push_back(
          CandidateRuntime{p, p->adapter->operation(name),
                           registry.route(p->config(), p->config().operations.at(name), c.test_traffic.horizon)});
    }
    rt->capabilities_.emplace(name, std::move(cr));
  }
  return rt;
}

const CallerRuntime* Runtime::caller_by_key(std::string_view api_key) const {
  auto it = callers_by_hash_.find(sha256_hex(api_key));
  return it == callers_by_hash_.end() ? nullptr : &it->second;
}

const CallerRuntime* Runtime::caller_by_name(std::string_view name) const {
  for (const auto& [hash, c] : callers_by_hash_) {
    if (c.config->name == name) return &c;
  }
  return nullptr;
}

const CapabilityRuntime* Runtime::capability(std::string_view name) const {
  auto it = capabilities_.find(std::string(name));
  return it == capabilities_.end() ? nullptr : &it->second;
}

const ProviderRuntime* Runtime::provider(std::string_view name) const {
  auto it = providers_.find(std::string(name));
  return it == providers_.end() ? nullptr : &it->second;
}

Loaded load_runtime(const std::string& path, int workers, StateRegistry& registry, const EndpointFactory& endpoints) {
  Loaded out;
  auto loaded = config::load_config_file(path);
  out.problems = std::move(loaded.problems);
  if (!loaded.ok()) return out;
  out.runtime = Runtime::build(loaded.config, workers, registry, endpoints, out.problems);
  return out;
}

}  // namespace tollgate::engine
