#include <algorithm>
#include <mutex>

#include "provider/signer.h"

namespace tollgate::provider {
namespace {

class NoSigner final : public Signer {
 public:
  Result<void> sign(HttpRequest&, const SignInput&) const override { return ok(); }
};

std::unique_ptr<Signer> make_no_signer(SignerOptions&) { return std::make_unique<NoSigner>(); }

struct Registry {
  std::mutex mu;
  std::map<std::string, SignerFactory> factories = {
      {"none", &make_no_signer},
      {"bearer", &make_bearer_signer},
      {"basic", &make_basic_signer},
      {"hmac_sha256", &make_hmac_sha256_signer},
      {"rsa_sha256", &make_rsa_sha256_signer},
      {"twilio", &make_twilio_signer},
      {"aliyun_rpc", &make_aliyun_rpc_signer},
      {"acs3_hmac_sha256", &make_acs3_signer},
      {"tc3_hmac_sha256", &make_tc3_signer},
      {"aws_sigv4", &make_aws_sigv4_signer},
  };
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void register_signer(const std::string& type, SignerFactory factory) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.factories[type] = factory;
}

std::unique_ptr<Signer> make_signer(const config::ProviderConfig& provider,
                                    std::vector<config::Problem>& problems) {
  SignerFactory factory = nullptr;
  std::string known;
  {
    auto& r = registry();
    std::lock_guard lock(r.mu);
    if (auto it = r.factories.find(provider.signer.type); it != r.factories.end()) {
      factory = it->second;
    }
    for (const auto& [name, f] : r.factories) known += (known.empty() ? "" : ", ") + name;
  }
  if (!factory) {
    problems.push_back({provider.signer.mark, "provider '" + provider.name + "'.signer.type '" +
                                                  provider.signer.type + "' is unknown (known: " +
                                                  known + ")"});
    return nullptr;
  }
  const size_t before = problems.size();
  SignerOptions options(provider, problems);
  auto signer = factory(options);
  options.reject_unread();
  if (problems.size() != before) return nullptr;
  return signer;
}

SignerOptions::SignerOptions(const config::ProviderConfig& provider,
                             std::vector<config::Problem>& problems)
    : provider_(provider), problems_(problems), what_("provider '" + provider.name + "'.signer") {}

void SignerOptions::error(const std::string& key, const std::string& message) {
  auto it = provider_.signer.options.find(key);
  const config::SourceMark mark =
      it != provider_.signer.options.end() ? it->second.mark : provider_.signer.mark;
  problems_.push_back({mark, what_ + "." + key + ": " + message});
}

std::string SignerOptions::resolve(const config::SignerOption& opt, const std::string& key) {
  auto parsed = config::parse_template(opt.value);
  if (!parsed) {
    error(key, parsed.error().message);
    return {};
  }
  std::string out;
  for (const auto& seg : parsed->segments) {
    if (!seg.is_placeholder) {
      out += seg.literal;
      continue;
    }
    if (seg.placeholder.root != config::PlaceholderRoot::kCredentials) {
      error(key, "only {{credentials.*}} may be used here");
      continue;
    }
    auto it = provider_.credentials.find(seg.placeholder.name);
    if (it == provider_.credentials.end()) {
      error(key, "{{credentials." + seg.placeholder.name + "}} is not defined in provider '" +
                     provider_.name + "'.credentials");
      continue;
    }
    out += it->second;
  }
  return out;
}

std::string SignerOptions::required(const std::string& key) {
  read_.push_back(key);
  auto it = provider_.signer.options.find(key);
  if (it == provider_.signer.options.end() || it->second.is_list) {
    error(key, "is required for signer type '" + provider_.signer.type + "'");
    return {};
  }
  const size_t before = problems_.size();
  std::string v = resolve(it->second, key);
  if (v.empty() && problems_.size() == before) error(key, "must not be empty");
  return v;
}

std::string SignerOptions::optional(const std::string& key, std::string fallback) {
  read_.push_back(key);
  auto it = provider_.signer.options.find(key);
  if (it == provider_.signer.options.end()) return fallback;
  if (it->second.is_list) {
    error(key, "must be a single value");
    return fallback;
  }
  return resolve(it->second, key);
}

std::string SignerOptions::format(const std::string& key, std::string fallback) {
  read_.push_back(key);
  auto it = provider_.signer.options.find(key);
  if (it == provider_.signer.options.end()) return fallback;
  auto parsed = config::parse_template(it->second.value);
  if (!parsed) {
    error(key, parsed.error().message);
    return fallback;
  }
  check_template(key, *parsed, true);
  return it->second.value;
}

void SignerOptions::check_template(const std::string& key, const config::ParsedTemplate& t, bool allow_signature) {
  for (const auto& seg : t.segments) {
    if (!seg.is_placeholder) continue;
    const auto root = seg.placeholder.root;
    if (root == config::PlaceholderRoot::kCredentials) {
      if (!provider_.credentials.count(seg.placeholder.name)) {
        error(key, "{{credentials." + seg.placeholder.name + "}} is not defined");
      }
    } else if (root == config::PlaceholderRoot::kParams || (root == config::PlaceholderRoot::kSignature && !allow_signature)) {
      error(key, std::string("only ") + (allow_signature ? "{{signature}}, " : "") +
                     "{{credentials.*}}, {{attempt.*}} and {{call.*}} may be used here");
    }
  }
}

std::vector<std::string> SignerOptions::list(const std::string& key, bool required) {
  read_.push_back(key);
  auto it = provider_.signer.options.find(key);
  if (it == provider_.signer.options.end()) {
    if (required) error(key, "is required for signer type '" + provider_.signer.type + "'");
    return {};
  }
  if (!it->second.is_list) {
    error(key, "must be a list");
    return {};
  }
  return it->second.list;
}

void SignerOptions::reject_unread() {
  for (const auto& [key, opt] : provider_.signer.options) {
    if (std::find(read_.begin(), read_.end(), key) == read_.end()) {
      error(key, "is not an option of signer type '" + provider_.signer.type + "'");
    }
  }
}

}  // namespace tollgate::provider
